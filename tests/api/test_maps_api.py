"""Map pages API: who may open which page (401, 403, 404), the token in the address, the assets.

The pages' rendering in a real browser is tested in `tests/maps/test_served_pages.py`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from maps import assets
from tests.api import apps
from tests.api.apps import Headers, Tenant
from tests.transport import alert_events
from transport.accounts import Role
from transport.fixes import Fix

if TYPE_CHECKING:
    from collections.abc import Iterator

    from fastapi.testclient import TestClient

UNAUTHENTICATED = (
    "not authenticated: give a valid bearer token or ?access_token= / 未认证：请提供有效令牌"
)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with apps.api_client("sqlite", tmp_path_factory.mktemp("maps-api")) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def admin(client: TestClient) -> Headers:
    return apps.add_account(client, Role.ADMIN)


@pytest.fixture(scope="module")
def tenants(client: TestClient, admin: Headers) -> tuple[Tenant, Tenant]:
    """Two carriers, each with a vehicle driving now and an open alert."""
    pair = (apps.new_tenant(client, admin), apps.new_tenant(client, admin))
    now = datetime.now(UTC)
    for tenant in pair:
        fixes = [
            Fix(tenant.plate, now - timedelta(seconds=10 * (4 - i)), 114.0 + i * 1e-4, 22.5, 30.0)
            for i in range(5)
        ]
        apps.record_positions(client, fixes)
        apps.record_alerts(
            client, [alert_events.opened(tenant.plate, started_at=now - timedelta(minutes=1))]
        )
    return pair


def _alert_id(client: TestClient, tenant: Tenant) -> int:
    alert_id: int = client.get("/v1/alerts", headers=tenant.headers).json()["items"][0]["id"]
    return alert_id


def _token(headers: Headers) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


def _pages(client: TestClient, tenant: Tenant) -> dict[str, str]:
    """Every map page of the tenant's own vehicle and alert."""
    return {
        "live": "/maps/live",
        "live-feed": "/maps/live/positions.geojson",
        "playback": f"/maps/vehicles/{tenant.vehicle_id}/playback",
        "evidence": f"/maps/alerts/{_alert_id(client, tenant)}/evidence",
        "planner": "/maps/planner",
    }


PAGE_NAMES = ("live", "live-feed", "playback", "evidence", "planner")


@pytest.mark.parametrize("page", PAGE_NAMES)
@pytest.mark.parametrize(
    "token", [None, "forged", ""], ids=["no-token", "forged-query-token", "empty-query-token"]
)
def test_page_without_valid_token_is_401(
    client: TestClient, tenants: tuple[Tenant, Tenant], page: str, token: str | None
) -> None:
    url = _pages(client, tenants[0])[page]
    params = {} if token is None else {"access_token": token}
    response = client.get(url, params=params)
    assert response.status_code == 401
    assert response.json()["detail"] == UNAUTHENTICATED
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    ("page", "role"),
    [
        pytest.param(page, role, id=f"{page}-{role.value}")
        for page in ("live", "live-feed", "playback", "evidence")
        for role in (Role.PLANNER, Role.LOADER, Role.ADMIN)
    ]
    + [
        pytest.param("planner", role, id=f"planner-{role.value}")
        for role in (Role.CARRIER, Role.LOADER, Role.ADMIN)
    ],
)
def test_page_for_role_without_the_right_is_403(
    client: TestClient, tenants: tuple[Tenant, Tenant], page: str, role: Role
) -> None:
    carrier_id = tenants[0].carrier_id if role is Role.CARRIER else None
    site = apps.LOADER_SITE if role is Role.LOADER else None
    headers = apps.add_account(client, role, carrier_id=carrier_id, loader_site=site)
    response = client.get(
        _pages(client, tenants[0])[page], params={"access_token": _token(headers)}
    )
    assert response.status_code == 403
    assert response.json()["detail"].startswith(f"role {role.value} may not do this")


@pytest.mark.parametrize("page", ["playback", "evidence"])
def test_page_of_other_carriers_vehicle_or_alert_is_404(
    client: TestClient, tenants: tuple[Tenant, Tenant], page: str
) -> None:
    mine, theirs = tenants
    response = client.get(
        _pages(client, theirs)[page], params={"access_token": _token(mine.headers)}
    )
    assert response.status_code == 404
    what = "vehicle" if page == "playback" else "alert"
    assert response.json()["detail"].startswith(f"{what} ")


@pytest.mark.parametrize(
    ("url", "detail"),
    [
        pytest.param("/maps/vehicles/999999/playback", "vehicle 999999", id="unknown-vehicle"),
        pytest.param("/maps/alerts/999999/evidence", "alert 999999", id="unknown-alert"),
    ],
)
def test_page_of_unknown_record_is_404_for_police(
    client: TestClient, tenants: tuple[Tenant, Tenant], url: str, detail: str
) -> None:
    police = apps.add_account(client, Role.POLICE)
    response = client.get(url, headers=police)
    assert response.status_code == 404
    assert response.json()["detail"].startswith(detail)


def test_playback_of_a_period_without_positions_is_404(
    client: TestClient, tenants: tuple[Tenant, Tenant]
) -> None:
    tenant = tenants[0]
    params = {"since": "2020-01-01T00:00:00+08:00", "until": "2020-01-02T00:00:00+08:00"}
    url = f"/maps/vehicles/{tenant.vehicle_id}/playback"
    response = client.get(url, params=params, headers=tenant.headers)
    assert response.status_code == 404
    assert response.json()["detail"] == (
        f"vehicle {tenant.vehicle_id} has no position in the period / 该时段无轨迹"
    )


def test_playback_longer_than_31_days_is_422(
    client: TestClient, tenants: tuple[Tenant, Tenant]
) -> None:
    tenant = tenants[0]
    params = {"since": "2026-01-01T00:00:00Z", "until": "2026-03-01T00:00:00Z"}
    url = f"/maps/vehicles/{tenant.vehicle_id}/playback"
    response = client.get(url, params=params, headers=tenant.headers)
    assert response.status_code == 422
    assert response.json()["detail"].startswith("`until` must follow `since` by at most 31 days")


@pytest.mark.parametrize("auth", ["query", "header"])
def test_live_feed_gives_a_carrier_only_its_vehicles(
    client: TestClient, tenants: tuple[Tenant, Tenant], auth: str
) -> None:
    mine, _ = tenants
    kwargs = (
        {"params": {"access_token": _token(mine.headers)}}
        if auth == "query"
        else {"headers": mine.headers}
    )
    response = client.get("/maps/live/positions.geojson", **kwargs)  # type: ignore[arg-type]
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geo+json"
    plates = [f["properties"]["plate"] for f in response.json()["features"]]
    assert plates == [mine.plate]
    assert response.json()["features"][0]["properties"]["state"] == "alert"


def test_live_feed_gives_police_every_vehicle(
    client: TestClient, tenants: tuple[Tenant, Tenant]
) -> None:
    police = apps.add_account(client, Role.POLICE)
    response = client.get("/maps/live/positions.geojson", headers=police)
    plates = {f["properties"]["plate"] for f in response.json()["features"]}
    assert {t.plate for t in tenants} <= plates


def test_live_page_passes_its_token_to_the_polled_feed_and_is_not_cached(
    client: TestClient, tenants: tuple[Tenant, Tenant]
) -> None:
    mine, theirs = tenants
    token = _token(mine.headers)
    response = client.get("/maps/live", params={"access_token": token})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "connect-src 'self'" in response.headers["content-security-policy"]
    [refresh] = re.findall(r"var refreshUrl = \"([^\"]+)\";", response.text)
    assert refresh == f"/maps/live/positions.geojson?access_token={token}"
    assert mine.plate in response.text
    assert theirs.plate not in response.text
    # Every script and stylesheet comes from this server's asset route.
    assert not re.search(r"(?:src|href)=\"(?:https?:)?//", response.text)
    for name in re.findall(r"(?:src|href)=\"/maps/static/([^\"]+)\"", response.text):
        assert client.get(f"/maps/static/{name}").status_code == 200


def test_static_asset_is_served_with_its_media_type(client: TestClient) -> None:
    name = assets.asset_name(assets.LEAFLET_JS)
    response = client.get(f"/maps/static/{name}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.content == assets.read_asset(name)[0]
    css = client.get(f"/maps/static/{assets.asset_name(assets.LEAFLET_CSS)}")
    assert css.headers["content-type"].startswith("text/css")


@pytest.mark.parametrize(
    ("name", "detail"),
    [
        pytest.param("leaflet.js", "no map asset 'leaflet.js' / 无此文件", id="cdn-name"),
        pytest.param("88d58c69be-leaflet.jsx", "no map asset '88d58c69be-leaflet.jsx' / 无此文件",
                     id="near-miss"),
        pytest.param("..%2F..%2Fetc%2Fpasswd", "Not Found", id="path-traversal"),
    ],
)  # fmt: skip
def test_unknown_static_asset_is_404(client: TestClient, name: str, detail: str) -> None:
    response = client.get(f"/maps/static/{name}")
    assert response.status_code == 404
    assert response.json()["detail"] == detail
