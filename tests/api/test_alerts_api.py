"""Alerts API on both databases: list, read, acknowledge, note, close, export; tenant 404s."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from fastapi.testclient import TestClient

from tests.api import apps
from tests.api.apps import Headers, Tenant
from tests.transport import alert_events
from tests.transport.store import databases
from transport.accounts import Role
from transport.alerts.handling import AlertAction
from transport.fixes import Fix
from transport.store.reminder_steps import ReminderStep, record_reminder_steps

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture(scope="module", params=databases.BACKENDS)
def client(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    with apps.api_client(request.param, tmp_path_factory.mktemp("alerts")) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def admin(client: TestClient) -> Headers:
    return apps.add_account(client, Role.ADMIN)


@pytest.fixture(scope="module")
def police(client: TestClient) -> Headers:
    return apps.add_account(client, Role.POLICE, username=f"police-{id(client)}")


@pytest.fixture
def tenant(client: TestClient, admin: Headers) -> Tenant:
    return apps.new_tenant(client, admin)


@pytest.fixture
def alert(client: TestClient, tenant: Tenant) -> dict[str, Any]:
    """An open alert of the tenant's vehicle, with its track stored around it."""
    event = alert_events.opened(tenant.plate)
    fixes = [
        Fix(tenant.plate, f.fix_at, f.lon, f.lat, f.speed_kmh) for f in event.alert.evidence.fixes
    ]
    apps.record_positions(client, fixes)
    [stored] = apps.record_alerts(client, [event])
    return {"id": stored.id, "event": event}


def test_carrier_lists_and_reads_its_alert(
    client: TestClient, tenant: Tenant, alert: dict[str, Any]
) -> None:
    page = client.get("/v1/alerts", headers=tenant.headers).json()
    assert [a["id"] for a in page["items"]] == [alert["id"]] and page["total"] == 1
    detail = client.get(f"/v1/alerts/{alert['id']}", headers=tenant.headers).json()
    assert detail["rule"] == {"zh": "禁行路段", "en": "Forbidden road"}
    assert detail["legal_basis"]["en"] == "Art. 40 of the Measures"
    assert detail["vehicle_id"] == tenant.vehicle_id and detail["state"] == "new"
    assert len(detail["evidence"]["fixes"]) == 3


def test_other_carriers_alert_is_404_everywhere(
    client: TestClient, admin: Headers, alert: dict[str, Any]
) -> None:
    other = apps.new_tenant(client, admin)
    for path in ("", "/history", "/evidence.geojson"):
        response = client.get(f"/v1/alerts/{alert['id']}{path}", headers=other.headers)
        assert response.status_code == 404, path
    note = client.post(
        f"/v1/alerts/{alert['id']}/notes", json={"note": "不是我们的车"}, headers=other.headers
    )
    assert note.status_code == 404
    assert client.get("/v1/alerts", headers=other.headers).json()["total"] == 0


def test_police_handle_an_alert_and_the_history_says_who(
    client: TestClient, tenant: Tenant, police: Headers, alert: dict[str, Any]
) -> None:
    base = f"/v1/alerts/{alert['id']}"
    acked = client.post(f"{base}/acknowledge", json={}, headers=police)
    assert acked.status_code == 200 and acked.json()["state"] == "acknowledged"
    assert acked.json()["acknowledged_by"].startswith("police user")
    again = client.post(f"{base}/acknowledge", json={}, headers=police)
    assert again.status_code == 409 and again.json()["detail"][0]["msg_zh"]
    noted = client.post(f"{base}/notes", json={"note": "司机已联系"}, headers=tenant.headers)
    assert noted.status_code == 201
    closed = client.post(f"{base}/close", json={"note": "已处罚"}, headers=police)
    assert closed.status_code == 200 and closed.json()["state"] == "closed"
    history = client.get(f"{base}/history", headers=tenant.headers).json()
    assert [h["action"] for h in history] == ["opened", "acknowledged", "note", "closed"]
    assert history[2]["actor"].startswith("carrier user") and history[3]["note"] == "已处罚"
    assert client.post(f"{base}/close", json={}, headers=police).status_code == 409


def test_list_filters_by_state_and_pages(
    client: TestClient, tenant: Tenant, police: Headers
) -> None:
    stored = apps.record_alerts(client, [alert_events.opened(tenant.plate) for _ in range(3)])
    client.post(f"/v1/alerts/{stored[0].id}/close", json={}, headers=police)
    me = tenant.headers
    assert client.get("/v1/alerts?state=closed", headers=me).json()["total"] == 1
    page = client.get("/v1/alerts?state=new&limit=1&offset=1", headers=me).json()
    assert page["total"] == 2 and len(page["items"]) == 1
    assert client.get("/v1/alerts?since=2025-06-10T09:00:00", headers=me).status_code == 422


def test_export_geojson_holds_track_fixes_rule_and_legal_basis(
    client: TestClient, police: Headers, alert: dict[str, Any]
) -> None:
    response = client.get(f"/v1/alerts/{alert['id']}/export.geojson", headers=police)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geo+json"
    package = response.json()
    kinds = [f["properties"]["kind"] for f in package["features"]]
    assert kinds == ["alert", "track", "evidence_fix", "evidence_fix", "evidence_fix"]
    assert package["properties"]["legal_basis"]["zh"].startswith("《危险货物")
    assert package["properties"]["rule_id"] == "forbidden_road"
    assert len(package["features"][1]["geometry"]["coordinates"]) == 3


def test_export_csv_has_a_row_per_point_and_the_rule_on_each(
    client: TestClient, police: Headers, alert: dict[str, Any]
) -> None:
    response = client.get(f"/v1/alerts/{alert['id']}/export.csv", headers=police)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["kind"] for r in rows] == ["track"] * 3 + ["evidence_fix"] * 3
    assert {r["legal_basis_en"] for r in rows} == {"Art. 40 of the Measures"}
    assert {r["rule_zh"] for r in rows} == {"禁行路段"}


def test_live_alerts_geojson_shows_open_alerts_in_scope(
    client: TestClient, tenant: Tenant, police: Headers, alert: dict[str, Any]
) -> None:
    mine = client.get("/v1/live/alerts.geojson", headers=tenant.headers).json()
    assert [f["properties"]["id"] for f in mine["features"]] == [alert["id"]]
    assert mine["features"][0]["geometry"] == {"type": "Point", "coordinates": [113.9, 22.53]}
    client.post(f"/v1/alerts/{alert['id']}/close", json={}, headers=police)
    assert client.get("/v1/live/alerts.geojson", headers=tenant.headers).json()["features"] == []


def test_history_shows_the_reminder_steps_with_labels(
    client: TestClient, tenant: Tenant, alert: dict[str, Any]
) -> None:
    key = alert["event"].alert.alert_id
    at = alert["event"].alert.started_at
    steps = [
        ReminderStep(f"{tenant.plate}#{i}-0", key, action, actor, note, at + timedelta(seconds=i))
        for i, (action, actor, note) in enumerate([
            (AlertAction.REMINDER_QUEUED, "system", "gateway=gw-1"),
            (AlertAction.REMINDER_SENT, "gw-1", "gateway=gw-1 phone=013800138000 serial=7"),
            (AlertAction.REMINDER_ACKNOWLEDGED, "gw-1", "gateway=gw-1 serial=7 result=ok"),
        ], start=1)
    ]  # fmt: skip
    app: Any = client.app
    with app.state.session_factory() as session, session.begin():
        record_reminder_steps(session, steps, all_carriers=True)
    history = client.get(f"/v1/alerts/{alert['id']}/history", headers=tenant.headers).json()
    assert [h["action"] for h in history] == [
        "opened", "reminder_queued", "reminder_sent", "reminder_acknowledged"
    ]  # fmt: skip
    assert history[3]["label"] == {
        "zh": "终端已应答提醒",
        "en": "terminal acknowledged the reminder",
    }
    assert history[2]["actor"] == "gw-1" and history[3]["note"].endswith("result=ok")
    assert history[0]["label"]["zh"] == "告警产生"
