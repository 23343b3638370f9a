"""The registries and waybills API on both databases: a fleet, a waybill, checks, refusals."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from tests.transport import fleet
from tests.transport.store import databases
from transport.settings import Settings

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture(scope="module", params=databases.BACKENDS)
def client(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    """A client of an application on a fresh database of each backend."""
    with databases.database(request.param, tmp_path_factory.mktemp("api"), migrated=False) as url:
        app = create_app(Settings(database_url=url))
        with TestClient(app) as test_client:
            yield test_client
        app.state.engine.dispose()


def _json(record: Any) -> dict[str, Any]:
    return record.model_dump(mode="json", exclude={"id", "carrier_id"})


@pytest.fixture
def tenant(client: TestClient) -> dict[str, int]:
    """A fresh carrier with a tanker, tank, driver and escort registered through the API."""
    carrier = client.post("/carriers", json=_json(fleet.carrier()))
    assert carrier.status_code == 201, carrier.text
    cid = carrier.json()["id"]
    vehicle = client.post(f"/carriers/{cid}/vehicles", json=_json(fleet.vehicle(cid))).json()
    tank = client.post(
        f"/carriers/{cid}/tanks", json=_json(fleet.tank(cid)) | {"vehicle_id": vehicle["id"]}
    )
    driver = client.post(f"/carriers/{cid}/people", json=_json(fleet.person(cid)))
    escort = client.post(f"/carriers/{cid}/people", json=_json(fleet.person(cid, "escort")))
    return {
        "carrier_id": cid,
        "vehicle_id": vehicle["id"],
        "tank_id": tank.json()["id"],
        "driver_id": driver.json()["id"],
        "escort_id": escort.json()["id"],
    }


def _waybill_body(tenant: dict[str, int], **changes: Any) -> dict[str, Any]:
    refs = {k: v for k, v in tenant.items() if k != "carrier_id"}
    fields = fleet.waybill_fields(**refs)
    fields["planned_route"] = fields.pop("planned_route_wkt")
    fields["planned_departure_at"] = fields["planned_departure_at"].isoformat()
    return fields | changes


def _create(client: TestClient, tenant: dict[str, int], **changes: Any) -> dict[str, Any]:
    response = client.post(
        f"/carriers/{tenant['carrier_id']}/waybills", json=_waybill_body(tenant, **changes)
    )
    assert response.status_code == 201, response.text
    return response.json()


def _check_body(**changes: Any) -> dict[str, Any]:
    body = {
        "checked_by": "装货员 陈刚",
        "place": {"name": "大铲湾油库", "lon": 113.87, "lat": 22.53},
        "loading_at": fleet.LOADING_AT.isoformat(),
        "loaded_as_stated": True,
    }
    return body | changes


def test_full_trip_through_the_api(client: TestClient, tenant: dict[str, int]) -> None:
    cid = tenant["carrier_id"]
    waybill = _create(client, tenant)
    base = f"/carriers/{cid}/waybills/{waybill['id']}"
    assert waybill["state"] == "draft"
    assert waybill["document"]["vehicle_plate"].startswith("粤B")
    assert waybill["planned_route_geojson"]["type"] == "LineString"
    assert client.post(f"{base}/dispatch", json={"actor": "调度"}).json()["state"] == "dispatched"
    run = client.post(f"{base}/loading-checks", json=_check_body())
    assert run.status_code == 201, run.text
    assert run.json()["passed"] is True and run.json()["state_after"] == "loading_checked"
    assert {r["outcome"] for r in run.json()["results"]} == {"pass", "not_applicable"}
    for event, state in (("depart", "departed"), ("arrive", "arrived"), ("archive", "archived")):
        response = client.post(f"{base}/{event}", json={"actor": "张伟"})
        assert response.status_code == 200, response.text
        assert response.json()["state"] == state
    assert len(client.get(f"{base}/loading-checks").json()) == 1


def test_depart_after_failed_check_is_409_with_reason(
    client: TestClient, tenant: dict[str, int]
) -> None:
    cid = tenant["carrier_id"]
    waybill = _create(client, tenant, lines=[{"un_number": "1203", "quantity": 35, "unit": "t"}])
    base = f"/carriers/{cid}/waybills/{waybill['id']}"
    client.post(f"{base}/dispatch", json={"actor": "调度"})
    run = client.post(f"{base}/loading-checks", json=_check_body()).json()
    assert run["passed"] is False
    [overload] = [r for r in run["results"] if r["outcome"] == "fail"]
    assert overload["check_id"] == "rated_load"
    assert "35000 kg exceed the rated load of 30000 kg" in overload["reason_en"]
    assert "超过核定载质量" in overload["reason_zh"]
    response = client.post(f"{base}/depart", json={"actor": "张伟"})
    assert response.status_code == 409
    [detail] = response.json()["detail"]
    assert detail["type"] == "check_not_passed"
    assert "did not pass" in detail["msg"] and "不得发车" in detail["msg_zh"]
    assert client.get(base).json()["state"] == "dispatched"


def test_second_dispatch_of_vehicle_is_409(client: TestClient, tenant: dict[str, int]) -> None:
    cid = tenant["carrier_id"]
    first, second = _create(client, tenant), _create(client, tenant)
    client.post(f"/carriers/{cid}/waybills/{first['id']}/dispatch", json={"actor": "a"})
    response = client.post(f"/carriers/{cid}/waybills/{second['id']}/dispatch", json={"actor": "a"})
    assert response.status_code == 409
    assert response.json()["detail"][0]["type"] == "vehicle_has_active_waybill"


def test_invalid_waybill_is_422_naming_each_field(
    client: TestClient, tenant: dict[str, int]
) -> None:
    body = _waybill_body(
        tenant,
        planned_departure_at="2025-06-10T09:00:00",
        lines=[{"un_number": "12", "quantity": -1, "unit": "t"}],
        planned_route="POINT (1 2)",
    )
    del body["consignee"]
    response = client.post(f"/carriers/{tenant['carrier_id']}/waybills", json=body)
    assert response.status_code == 422
    locs = {tuple(item["loc"]) for item in response.json()["detail"]}
    assert {
        ("body", "consignee"),
        ("body", "lines", 0, "un_number"),
        ("body", "lines", 0, "quantity"),
        ("body", "planned_departure_at"),
        ("body", "planned_route"),
    } <= locs


def test_domain_refusal_of_waybill_is_422_naming_fields(
    client: TestClient, tenant: dict[str, int]
) -> None:
    body = _waybill_body(
        tenant, vehicle_id=999_999, lines=[{"un_number": "9999", "quantity": 1, "unit": "t"}]
    )
    response = client.post(f"/carriers/{tenant['carrier_id']}/waybills", json=body)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert [item["loc"] for item in detail] == [["body", "vehicle_id"], ["body", "lines", 0]]
    assert all(item["msg_zh"] for item in detail)


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/carriers/999999", id="carrier"),
        pytest.param("/carriers/{cid}/vehicles/999999", id="vehicle"),
        pytest.param("/carriers/{cid}/waybills/999999", id="waybill"),
        pytest.param("/carriers/{other}/vehicles/{vehicle_id}", id="vehicle-of-other-carrier"),
    ],
)
def test_unknown_ids_are_404(client: TestClient, tenant: dict[str, int], path: str) -> None:
    other = client.post("/carriers", json=_json(fleet.carrier())).json()["id"]
    url = path.format(cid=tenant["carrier_id"], other=other, vehicle_id=tenant["vehicle_id"])
    assert client.get(url).status_code == 404


def test_waybill_of_other_carrier_is_404(client: TestClient, tenant: dict[str, int]) -> None:
    waybill = _create(client, tenant)
    other = client.post("/carriers", json=_json(fleet.carrier())).json()["id"]
    assert client.get(f"/carriers/{other}/waybills/{waybill['id']}").status_code == 404
    response = client.post(
        f"/carriers/{other}/waybills/{waybill['id']}/dispatch", json={"actor": "x"}
    )
    assert response.status_code == 404


def test_registry_csv_round_trip(client: TestClient, tenant: dict[str, int]) -> None:
    cid = tenant["carrier_id"]
    exported = client.get(f"/carriers/{cid}/registry/people.csv")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    text = exported.text.replace("13800138000", "13700137000")
    imported = client.post(
        f"/carriers/{cid}/registry/people.csv",
        content=text.encode(),
        headers={"content-type": "text/csv"},
    )
    assert imported.status_code == 200, imported.text
    assert sorted(imported.json()["updated_ids"]) == sorted(
        [tenant["driver_id"], tenant["escort_id"]]
    )
    phones = {p["phone"] for p in client.get(f"/carriers/{cid}/people").json()}
    assert phones == {"13700137000"}


def test_registry_csv_with_bad_cells_is_422_and_stores_nothing(
    client: TestClient, tenant: dict[str, int]
) -> None:
    cid = tenant["carrier_id"]
    text = (
        "plate,licence_number,licence_valid_until,operating_certificate_number,"
        "operating_certificate_valid_until,rated_load_kg,is_tank\n"
        "粤B77001,X1,2026-01-01,Y1,2026-01-01,30000,true\n"
        "BAD,X2,2026-13-01,Y2,2026-01-01,30000,true\n"
    )
    response = client.post(
        f"/carriers/{cid}/registry/vehicles.csv",
        content=text.encode(),
        headers={"content-type": "text/csv"},
    )
    assert response.status_code == 422
    locs = [item["loc"] for item in response.json()["detail"]]
    assert locs == [["body", "row 3", "plate"], ["body", "row 3", "licence_valid_until"]]
    assert len(client.get(f"/carriers/{cid}/vehicles").json()) == 1


def test_expired_certificate_at_loading_fails_though_valid_at_creation(client: TestClient) -> None:
    carrier = client.post("/carriers", json=_json(fleet.carrier())).json()["id"]
    expiring = fleet.LOADING_AT.date() - timedelta(days=1)
    vehicle = client.post(
        f"/carriers/{carrier}/vehicles", json=_json(fleet.vehicle(carrier))
    ).json()["id"]
    tank = client.post(f"/carriers/{carrier}/tanks", json=_json(fleet.tank(carrier))).json()["id"]
    driver = client.post(
        f"/carriers/{carrier}/people",
        json=_json(fleet.person(carrier, certificate_valid_until=expiring)),
    ).json()["id"]
    escort = client.post(
        f"/carriers/{carrier}/people", json=_json(fleet.person(carrier, "escort"))
    ).json()["id"]
    tenant = {
        "carrier_id": carrier,
        "vehicle_id": vehicle,
        "tank_id": tank,
        "driver_id": driver,
        "escort_id": escort,
    }
    waybill = _create(client, tenant)
    base = f"/carriers/{carrier}/waybills/{waybill['id']}"
    client.post(f"{base}/dispatch", json={"actor": "调度"})
    run = client.post(f"{base}/loading-checks", json=_check_body()).json()
    failed = [r["check_id"] for r in run["results"] if r["outcome"] == "fail"]
    assert failed == ["personnel_qualifications"]
