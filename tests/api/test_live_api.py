"""Live API: the websocket delivers what the caller may see (and nothing else) within a second;
GeoJSON of live positions and of a vehicle's track."""

from __future__ import annotations

import queue
import threading
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from tests.api import apps
from tests.api.apps import Headers, Tenant
from tests.transport import alert_events
from tests.transport.store import databases
from transport.accounts import Role
from transport.fixes import Fix
from transport.gateway.terminal_registry import KeptWaybill
from transport.store import waybill_uploads

if TYPE_CHECKING:
    from collections.abc import Iterator

    from starlette.testclient import WebSocketTestSession

DELIVERY_LIMIT_S = 1.0


@pytest.fixture(scope="module", params=databases.BACKENDS)
def client(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    with apps.api_client(request.param, tmp_path_factory.mktemp("live")) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def admin(client: TestClient) -> Headers:
    return apps.add_account(client, Role.ADMIN)


@pytest.fixture
def tenant(client: TestClient, admin: Headers) -> Tenant:
    return apps.new_tenant(client, admin)


def _token(headers: Headers) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


def _receive_within(ws: WebSocketTestSession, seconds: float) -> dict[str, Any]:
    """Return the next message, failing when none comes within `seconds`."""
    box: queue.Queue[dict[str, Any]] = queue.Queue()
    threading.Thread(target=lambda: box.put(ws.receive_json()), daemon=True).start()
    try:
        return box.get(timeout=seconds)
    except queue.Empty:
        pytest.fail(f"no live message within {seconds} s")


def _connect(client: TestClient, headers: Headers, **params: str) -> Any:
    query = "&".join(f"{k}={v}" for k, v in ({"access_token": _token(headers)} | params).items())
    return client.websocket_connect(f"/v1/live?{query}")


def test_published_alert_reaches_its_carrier_within_a_second_and_not_another(
    client: TestClient, tenant: Tenant, admin: Headers
) -> None:
    other = apps.new_tenant(client, admin)
    police = apps.add_account(client, Role.POLICE)
    with (
        _connect(client, tenant.headers) as mine,
        _connect(client, other.headers) as theirs,
        _connect(client, police) as watch,
    ):
        for ws in (mine, theirs, watch):
            assert ws.receive_json()["type"] == "ready"
        [stored] = apps.record_alerts(client, [alert_events.opened(tenant.plate)])
        message = _receive_within(mine, DELIVERY_LIMIT_S)
        assert message["type"] == "alert" and message["data"]["id"] == stored.id
        assert message["data"]["carrier_id"] == tenant.carrier_id
        assert _receive_within(watch, DELIVERY_LIMIT_S)["data"]["id"] == stored.id
        # The other carrier's next message is its own vehicle's position: the alert never came.
        now = datetime.now(UTC)
        apps.record_positions(client, [Fix(other.plate, now, 114.0, 22.5, 30.0)])
        message = _receive_within(theirs, DELIVERY_LIMIT_S)
        assert message["type"] == "position" and message["data"]["vehicle_key"] == other.plate


def test_kinds_parameter_filters_positions_out(client: TestClient, tenant: Tenant) -> None:
    with _connect(client, tenant.headers, kinds="alert") as ws:
        ws.receive_json()
        apps.record_positions(client, [Fix(tenant.plate, datetime.now(UTC), 114.0, 22.5)])
        [stored] = apps.record_alerts(client, [alert_events.opened(tenant.plate)])
        assert _receive_within(ws, DELIVERY_LIMIT_S)["data"]["id"] == stored.id


@pytest.mark.parametrize("role", [None, Role.PLANNER, Role.LOADER, Role.ADMIN], ids=str)
def test_websocket_refuses_callers_without_live_rights(
    client: TestClient, role: Role | None
) -> None:
    site = "x" if role is Role.LOADER else None
    token = "forged" if role is None else _token(apps.add_account(client, role, loader_site=site))
    query = f"access_token={token}"
    with (
        pytest.raises(WebSocketDisconnect) as refused,
        client.websocket_connect(f"/v1/live?{query}"),
    ):
        pass
    assert refused.value.code == 1008


def test_websocket_accepts_a_bearer_header(client: TestClient, tenant: Tenant) -> None:
    with client.websocket_connect("/v1/live", headers=tenant.headers) as ws:
        assert ws.receive_json() == {
            "type": "ready",
            "role": "carrier",
            "carrier_id": tenant.carrier_id,
        }


def test_live_positions_are_the_newest_fix_per_vehicle_in_scope(
    client: TestClient, tenant: Tenant, admin: Headers
) -> None:
    other = apps.new_tenant(client, admin)
    now = datetime.now(UTC).replace(microsecond=0)
    fixes = [
        Fix(tenant.plate, now - timedelta(seconds=60), 114.00, 22.50, 40.0),
        Fix(tenant.plate, now - timedelta(seconds=30), 114.01, 22.50, 45.0),
        Fix(other.plate, now - timedelta(seconds=30), 114.20, 22.60, 50.0),
    ]
    apps.record_positions(client, fixes)
    apps.record_positions(client, fixes)  # delivered twice: stored once
    mine = client.get("/v1/live/positions.geojson", headers=tenant.headers).json()
    [feature] = mine["features"]
    assert feature["geometry"]["coordinates"] == [114.01, 22.5]
    assert feature["properties"]["vehicle_id"] == tenant.vehicle_id
    police = apps.add_account(client, Role.POLICE)
    everyone = client.get("/v1/live/positions.geojson", headers=police).json()
    keys = {f["properties"]["vehicle_key"] for f in everyone["features"]}
    assert {tenant.plate, other.plate} <= keys


def test_vehicle_track_over_a_period(client: TestClient, tenant: Tenant, admin: Headers) -> None:
    start = datetime(2025, 6, 10, 0, 0, tzinfo=UTC)
    fixes = [
        Fix(tenant.plate, start + timedelta(seconds=30 * i), 114 + i / 1000, 22.5) for i in range(5)
    ]
    apps.record_positions(client, fixes)
    url = f"/v1/vehicles/{tenant.vehicle_id}/track.geojson"
    params = {
        "since": (start + timedelta(seconds=30)).isoformat(),
        "until": (start + timedelta(seconds=90)).isoformat(),
    }
    track = client.get(url, params=params, headers=tenant.headers).json()
    assert [f["properties"]["kind"] for f in track["features"]] == ["track", "fix", "fix", "fix"]
    assert track["features"][0]["geometry"]["coordinates"][0] == [114.001, 22.5]
    other = apps.new_tenant(client, admin)
    assert client.get(url, params=params, headers=other.headers).status_code == 404
    backwards = {"since": params["until"], "until": params["since"]}
    assert client.get(url, params=backwards, headers=tenant.headers).status_code == 422


def test_vehicle_waybill_uploads_newest_first_for_its_carrier_and_police(
    client: TestClient, tenant: Tenant, admin: Headers
) -> None:
    at = datetime(2025, 6, 10, 1, 0, tzinfo=UTC)
    uploads = {
        f"test#{tenant.plate}-{k}": KeptWaybill("013800138000", tenant.plate, content,
                                                at + timedelta(minutes=k))
        for k, content in enumerate([b"\xff\x00", "运单 WB-1".encode("gbk")])
    }  # fmt: skip
    app: Any = client.app
    with app.state.session_factory() as session, session.begin():
        waybill_uploads.record_waybill_uploads(session, uploads, all_carriers=True)
    url = f"/v1/vehicles/{tenant.vehicle_id}/waybill-uploads"

    newest, oldest = client.get(url, headers=tenant.headers).json()

    assert (newest["content_text"], newest["content_hex"]) == ("运单 WB-1", "d4cbb5a52057422d31")
    assert (oldest["content_hex"], oldest["vehicle_id"]) == ("ff00", tenant.vehicle_id)
    assert newest["received_at"] == "2025-06-10T01:01:00Z"
    assert "content" not in newest  # given as hex and text only
    police = apps.add_account(client, Role.POLICE)
    assert len(client.get(url, params={"limit": 1}, headers=police).json()) == 1
    other = apps.new_tenant(client, admin)
    assert client.get(url, headers=other.headers).status_code == 404
