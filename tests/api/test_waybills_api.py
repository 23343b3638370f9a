"""The registries and waybills API on both databases: a fleet, a waybill, checks, refusals.

The carrier creates and moves its waybills, the loader of the loading site runs the checks.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from fastapi.testclient import TestClient

from tests.api import apps
from tests.api.apps import Headers, Tenant, record_json
from tests.transport import fleet
from tests.transport.store import databases
from transport.accounts import Role

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture(scope="module", params=databases.BACKENDS)
def client(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    """A client of an application on a fresh database of each backend."""
    with apps.api_client(request.param, tmp_path_factory.mktemp("api")) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def admin(client: TestClient) -> Headers:
    """An admin caller (registers carriers)."""
    return apps.add_account(client, Role.ADMIN)


@pytest.fixture(scope="module")
def loader(client: TestClient) -> Headers:
    """The loader of the fleet's loading site."""
    return apps.add_account(client, Role.LOADER, loader_site=apps.LOADER_SITE)


@pytest.fixture
def tenant(client: TestClient, admin: Headers) -> Tenant:
    """A fresh carrier with a tanker, tank, driver and escort registered through the API."""
    return apps.new_tenant(client, admin)


def _create(client: TestClient, tenant: Tenant, **changes: Any) -> dict[str, Any]:
    return apps.create_waybill(client, tenant, **changes)


def _check_body(**changes: Any) -> dict[str, Any]:
    body = {
        "checked_by": "装货员 陈刚",
        "place": {"name": "大铲湾油库", "lon": 113.87, "lat": 22.53},
        "loading_at": fleet.LOADING_AT.isoformat(),
        "loaded_as_stated": True,
    }
    return body | changes


def test_full_trip_through_the_api(client: TestClient, tenant: Tenant, loader: Headers) -> None:
    waybill = _create(client, tenant)
    base = f"/v1/waybills/{waybill['id']}"
    me = tenant.headers
    assert waybill["state"] == "draft"
    assert waybill["document"]["vehicle_plate"].startswith("粤B")
    assert waybill["planned_route_geojson"]["type"] == "LineString"
    dispatched = client.post(f"{base}/dispatch", json={"actor": "调度"}, headers=me)
    assert dispatched.json()["state"] == "dispatched"
    run = client.post(f"{base}/loading-checks", json=_check_body(), headers=loader)
    assert run.status_code == 201, run.text
    assert run.json()["passed"] is True and run.json()["state_after"] == "loading_checked"
    assert {r["outcome"] for r in run.json()["results"]} == {"pass", "not_applicable"}
    for event, state in (("depart", "departed"), ("arrive", "arrived"), ("archive", "archived")):
        response = client.post(f"{base}/{event}", json={"actor": "张伟"}, headers=me)
        assert response.status_code == 200, response.text
        assert response.json()["state"] == state
    assert len(client.get(f"{base}/loading-checks", headers=me).json()) == 1
    assert len(client.get(f"{base}/loading-checks", headers=loader).json()) == 1


def test_event_without_actor_records_the_account(client: TestClient, tenant: Tenant) -> None:
    waybill = _create(client, tenant)
    response = client.post(f"/v1/waybills/{waybill['id']}/cancel", json={}, headers=tenant.headers)
    assert response.status_code == 200, response.text
    assert response.json()["state"] == "cancelled"


def test_depart_after_failed_check_is_409_with_reason(
    client: TestClient, tenant: Tenant, loader: Headers
) -> None:
    waybill = _create(client, tenant, lines=[{"un_number": "1203", "quantity": 35, "unit": "t"}])
    base = f"/v1/waybills/{waybill['id']}"
    client.post(f"{base}/dispatch", json={"actor": "调度"}, headers=tenant.headers)
    run = client.post(f"{base}/loading-checks", json=_check_body(), headers=loader).json()
    assert run["passed"] is False
    [overload] = [r for r in run["results"] if r["outcome"] == "fail"]
    assert overload["check_id"] == "rated_load"
    assert "35000 kg exceed the rated load of 30000 kg" in overload["reason_en"]
    assert "超过核定载质量" in overload["reason_zh"]
    response = client.post(f"{base}/depart", json={"actor": "张伟"}, headers=tenant.headers)
    assert response.status_code == 409
    [detail] = response.json()["detail"]
    assert detail["type"] == "check_not_passed"
    assert "did not pass" in detail["msg"] and "不得发车" in detail["msg_zh"]
    assert client.get(base, headers=tenant.headers).json()["state"] == "dispatched"


def test_loader_of_another_site_gets_404(client: TestClient, tenant: Tenant) -> None:
    waybill = _create(client, tenant)
    base = f"/v1/waybills/{waybill['id']}"
    client.post(f"{base}/dispatch", json={"actor": "调度"}, headers=tenant.headers)
    elsewhere = apps.add_account(client, Role.LOADER, loader_site="盐田油库")
    assert client.get(base, headers=elsewhere).status_code == 404
    response = client.post(f"{base}/loading-checks", json=_check_body(), headers=elsewhere)
    assert response.status_code == 404
    assert waybill["id"] not in [
        w["id"] for w in client.get("/v1/waybills", headers=elsewhere).json()
    ]


def test_second_dispatch_of_vehicle_is_409(client: TestClient, tenant: Tenant) -> None:
    first, second = _create(client, tenant), _create(client, tenant)
    me = tenant.headers
    client.post(f"/v1/waybills/{first['id']}/dispatch", json={"actor": "a"}, headers=me)
    response = client.post(f"/v1/waybills/{second['id']}/dispatch", json={"actor": "a"}, headers=me)
    assert response.status_code == 409
    assert response.json()["detail"][0]["type"] == "vehicle_has_active_waybill"


def test_invalid_waybill_is_422_naming_each_field(client: TestClient, tenant: Tenant) -> None:
    body = apps.waybill_body(
        tenant,
        planned_departure_at="2025-06-10T09:00:00",
        lines=[{"un_number": "12", "quantity": -1, "unit": "t"}],
        planned_route="POINT (1 2)",
    )
    del body["consignee"]
    response = client.post("/v1/waybills", json=body, headers=tenant.headers)
    assert response.status_code == 422
    locs = {tuple(item["loc"]) for item in response.json()["detail"]}
    assert {
        ("body", "consignee"),
        ("body", "lines", 0, "un_number"),
        ("body", "lines", 0, "quantity"),
        ("body", "planned_departure_at"),
        ("body", "planned_route"),
    } <= locs


def test_domain_refusal_of_waybill_is_422_naming_fields(client: TestClient, tenant: Tenant) -> None:
    body = apps.waybill_body(
        tenant, vehicle_id=999_999, lines=[{"un_number": "9999", "quantity": 1, "unit": "t"}]
    )
    response = client.post("/v1/waybills", json=body, headers=tenant.headers)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert [item["loc"] for item in detail] == [["body", "vehicle_id"], ["body", "lines", 0]]
    assert all(item["msg_zh"] for item in detail)


def test_waybill_naming_another_carriers_vehicle_is_422(
    client: TestClient, tenant: Tenant, admin: Headers
) -> None:
    other = apps.new_tenant(client, admin)
    body = apps.waybill_body(tenant, vehicle_id=other.vehicle_id)
    response = client.post("/v1/waybills", json=body, headers=tenant.headers)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "vehicle_id"]


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/v1/carriers/999999", id="carrier"),
        pytest.param("/v1/vehicles/999999", id="vehicle"),
        pytest.param("/v1/waybills/999999", id="waybill"),
        pytest.param("/v1/carriers/{other_carrier}", id="other-carrier"),
        pytest.param("/v1/vehicles/{other_vehicle}", id="vehicle-of-other-carrier"),
        pytest.param("/v1/tanks/{other_tank}", id="tank-of-other-carrier"),
        pytest.param("/v1/people/{other_driver}", id="person-of-other-carrier"),
    ],
)
def test_unknown_or_other_carriers_ids_are_404(
    client: TestClient, tenant: Tenant, admin: Headers, path: str
) -> None:
    other = apps.new_tenant(client, admin)
    url = path.format(
        other_carrier=other.carrier_id,
        other_vehicle=other.vehicle_id,
        other_tank=other.tank_id,
        other_driver=other.driver_id,
    )
    assert client.get(url, headers=tenant.headers).status_code == 404


def test_lists_hold_only_the_callers_records(
    client: TestClient, tenant: Tenant, admin: Headers
) -> None:
    other = apps.new_tenant(client, admin)
    police = apps.add_account(client, Role.POLICE)
    mine = {v["id"] for v in client.get("/v1/vehicles", headers=tenant.headers).json()}
    everyone = {v["id"] for v in client.get("/v1/vehicles", headers=police).json()}
    assert mine == {tenant.vehicle_id}
    assert {tenant.vehicle_id, other.vehicle_id} <= everyone
    carriers = client.get("/v1/carriers", headers=tenant.headers).json()
    assert [c["id"] for c in carriers] == [tenant.carrier_id]


def test_waybill_of_other_carrier_is_404(
    client: TestClient, tenant: Tenant, admin: Headers
) -> None:
    waybill = _create(client, tenant)
    other = apps.new_tenant(client, admin)
    assert client.get(f"/v1/waybills/{waybill['id']}", headers=other.headers).status_code == 404
    response = client.post(
        f"/v1/waybills/{waybill['id']}/dispatch", json={"actor": "x"}, headers=other.headers
    )
    assert response.status_code == 404
    listed = client.get("/v1/waybills", headers=other.headers).json()
    assert waybill["id"] not in [w["id"] for w in listed]


def test_registry_csv_round_trip(client: TestClient, tenant: Tenant) -> None:
    me = tenant.headers
    exported = client.get("/v1/registry/people.csv", headers=me)
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    text = exported.text.replace("13800138000", "13700137000")
    imported = client.post(
        "/v1/registry/people.csv",
        content=text.encode(),
        headers=me | {"content-type": "text/csv"},
    )
    assert imported.status_code == 200, imported.text
    assert sorted(imported.json()["updated_ids"]) == sorted([tenant.driver_id, tenant.escort_id])
    phones = {p["phone"] for p in client.get("/v1/people", headers=me).json()}
    assert phones == {"13700137000"}


def test_registry_csv_with_bad_cells_is_422_and_stores_nothing(
    client: TestClient, tenant: Tenant
) -> None:
    text = (
        "plate,licence_number,licence_valid_until,operating_certificate_number,"
        "operating_certificate_valid_until,rated_load_kg,is_tank\n"
        "粤B77001,X1,2026-01-01,Y1,2026-01-01,30000,true\n"
        "BAD,X2,2026-13-01,Y2,2026-01-01,30000,true\n"
    )
    response = client.post(
        "/v1/registry/vehicles.csv",
        content=text.encode(),
        headers=tenant.headers | {"content-type": "text/csv"},
    )
    assert response.status_code == 422
    locs = [item["loc"] for item in response.json()["detail"]]
    assert locs == [["body", "row 3", "plate"], ["body", "row 3", "licence_valid_until"]]
    assert len(client.get("/v1/vehicles", headers=tenant.headers).json()) == 1


def test_expired_certificate_at_loading_fails_though_valid_at_creation(
    client: TestClient, admin: Headers, loader: Headers
) -> None:
    tenant = apps.new_tenant(client, admin)
    expiring = fleet.LOADING_AT.date() - timedelta(days=1)
    driver = client.post(
        "/v1/people",
        json=record_json(fleet.person(tenant.carrier_id, certificate_valid_until=expiring)),
        headers=tenant.headers,
    ).json()["id"]
    waybill = _create(client, tenant, driver_id=driver)
    base = f"/v1/waybills/{waybill['id']}"
    client.post(f"{base}/dispatch", json={"actor": "调度"}, headers=tenant.headers)
    run = client.post(f"{base}/loading-checks", json=_check_body(), headers=loader).json()
    failed = [r["check_id"] for r in run["results"] if r["outcome"] == "fail"]
    assert failed == ["personnel_qualifications"]
