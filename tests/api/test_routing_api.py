"""Routing API on the ladder network: compliant routes explained, blocked trips, route checks,
waybill routes, what-if; restrictions come from stored layers, compiled once per version."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import TYPE_CHECKING, Any

import pandas as pd
import pytest

from geodata import track_archive
from tests.api import apps
from tests.api.apps import Headers, Tenant
from tests.geodata.routing_fixtures import box, feature, ladder
from tests.transport import fleet
from transport.accounts import Role

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from fastapi.testclient import TestClient

SZ = zoneinfo.ZoneInfo("Asia/Shanghai")
ORIGIN, TARGET, SPUR_END = (114.00, 22.50), (114.03, 22.50), (114.05, 22.50)
GASOLINE = [{"un_number": "1203", "quantity": 20}]
NIGHT_BAN = feature("night-ban-12", "forbidden_segment", schedule="19:00-06:00", osm_way_ids=[12])
SPUR_BAN = feature("spur-ban-38", "forbidden_segment", schedule="20:00-23:00", osm_way_ids=[38])
MAIN_ROAD = {"type": "LineString", "coordinates": [[114.0, 22.5], [114.03, 22.5]]}


def _layer_body(*features: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "hazmat_layer_version": 1,
        "name": fleet.unique("ladder-"),
        "authority": {"zh": "测试", "en": "test"},
        "features": list(features),
    }


def _at(hour: int, minute: int = 0) -> str:
    return dt.datetime(2025, 10, 15, hour, minute, tzinfo=SZ).isoformat()


def _trip(origin: tuple[float, float], target: tuple[float, float], depart: str,
          **changes: Any) -> dict[str, Any]:  # fmt: skip
    return {
        "origin": {"lon": origin[0], "lat": origin[1]},
        "destination": {"lon": target[0], "lat": target[1]},
        "depart_at": depart,
        "cargo": GASOLINE,
    } | changes


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with apps.api_client("sqlite", tmp_path_factory.mktemp("routing-api")) as test_client:
        test_client.app.state.network = ladder()  # type: ignore[attr-defined]
        yield test_client


@pytest.fixture(scope="module")
def planner(client: TestClient) -> Headers:
    return apps.add_account(client, Role.PLANNER)


@pytest.fixture(scope="module")
def tenants(client: TestClient) -> tuple[Tenant, Tenant]:
    admin = apps.add_account(client, Role.ADMIN)
    return apps.new_tenant(client, admin), apps.new_tenant(client, admin)


@pytest.fixture(scope="module")
def layer_id(client: TestClient, planner: Headers) -> int:
    """A stored layer with the night ban on the main road and the evening ban on the spur."""
    response = client.post(
        "/v1/restrictions", json=_layer_body(NIGHT_BAN, SPUR_BAN), headers=planner
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def test_route_detours_around_the_night_ban_and_names_it(
    client: TestClient, tenants: tuple[Tenant, Tenant], layer_id: int
) -> None:
    response = client.post(
        "/v1/routes", json=_trip(ORIGIN, TARGET, _at(20)), headers=tenants[0].headers
    )
    assert response.status_code == 200, response.text
    plan = response.json()
    assert plan["compliant"] and plan["network"] == "ladder"
    assert plan["route"]["geometry"]["type"] == "LineString"
    assert plan["route"]["properties"]["km"] > plan["unrestricted"]["properties"]["km"]
    assert plan["extra_min"] > 0
    [detour] = plan["detours"]
    assert detour["restriction_ids"] == ["night-ban-12"]
    assert detour["restrictions"] == [{"id": "night-ban-12", "name_zh": "测试限制 night-ban-12",
                                       "name_en": "Test restriction night-ban-12"}]  # fmt: skip
    assert {"layer_id": layer_id, "version": 1} in plan["layers"]
    daytime = client.post(
        "/v1/routes", json=_trip(ORIGIN, TARGET, _at(12)), headers=tenants[0].headers
    ).json()
    assert daytime["detours"] == [] and daytime["extra_km"] == 0


def test_blocked_trip_names_the_ban_and_the_earliest_departure(
    client: TestClient, planner: Headers, layer_id: int
) -> None:
    response = client.post("/v1/routes", json=_trip(ORIGIN, SPUR_END, _at(21)), headers=planner)
    assert response.status_code == 200, response.text
    plan = response.json()
    assert not plan["compliant"] and plan["route"] is None
    assert [v["restriction_id"] for v in plan["blocking"]] == ["spur-ban-38"]
    earliest = dt.datetime.fromisoformat(plan["earliest_depart_at"])
    assert (
        dt.datetime(2025, 10, 15, 22, 45, tzinfo=SZ)
        <= earliest
        <= dt.datetime(2025, 10, 15, 23, 0, tzinfo=SZ)
    )
    assert plan["earliest_route"]["properties"]["km"] > 0
    assert any("spur-ban-38" in line for line in plan["explanation"])


def test_check_names_where_and_when_for_edges_and_drawn_line(
    client: TestClient, planner: Headers, layer_id: int
) -> None:
    free = client.post("/v1/routes", json=_trip(ORIGIN, TARGET, _at(20)), headers=planner).json()
    edges = free["unrestricted"]["properties"]["edge_ids"]
    body = {"depart_at": _at(20), "cargo": GASOLINE}
    by_edges = client.post("/v1/routes/check", json=body | {"edge_ids": edges}, headers=planner)
    assert by_edges.status_code == 200, by_edges.text
    [violation] = by_edges.json()["violations"]
    assert violation["restriction_id"] == "night-ban-12"
    assert violation["lon"] == pytest.approx(114.01) and violation["lat"] == pytest.approx(22.5)
    assert dt.datetime.fromisoformat(violation["entered_at"]) > dt.datetime.fromisoformat(_at(20))
    by_line = client.post("/v1/routes/check", json=body | {"route": MAIN_ROAD}, headers=planner)
    assert by_line.status_code == 200, by_line.text
    assert [v["restriction_id"] for v in by_line.json()["violations"]] == ["night-ban-12"]
    noon = client.post(
        "/v1/routes/check", json=body | {"route": MAIN_ROAD, "depart_at": _at(12)}, headers=planner
    ).json()
    assert noon["compliant"] and noon["violations"] == []


@pytest.mark.parametrize(
    ("path", "changes", "loc"),
    [
        ("/v1/routes", {"depart_at": "2025-10-15T20:00:00"}, ["body", "depart_at"]),
        ("/v1/routes", {"cargo": [{"un_number": "9999", "quantity": 1}]}, ["body", "cargo"]),
        ("/v1/routes", {"cargo": [{"un_number": "1203", "quantity": 0}]},
         ["body", "cargo", 0, "quantity"]),
        ("/v1/routes", {"permits": ["Fuel Supply"]}, ["body", "permits", 0]),
        ("/v1/routes", {"origin": {"lon": 116.4, "lat": 39.9}}, ["body", "origin"]),
        ("/v1/routes", {"destination": {"lon": 114.02, "lat": 22.53}}, ["body", "destination"]),
        ("/v1/routes/check", {"edge_ids": [999_999]}, ["body", "edge_ids", 0]),
        ("/v1/routes/check", {"route": {"type": "Point", "coordinates": [114, 22.5]}},
         ["body", "route"]),
        ("/v1/routes/check", {"route": MAIN_ROAD, "edge_ids": [0]}, ["body"]),
    ],
    ids=["naive-depart", "unknown-un", "zero-quantity", "bad-permit", "far-origin",
         "no-road-near", "unknown-edge", "not-a-line", "line-and-edges"],
)  # fmt: skip
def test_invalid_requests_are_422_naming_the_field(
    client: TestClient, planner: Headers, path: str, changes: dict[str, Any], loc: list[Any]
) -> None:
    body = _trip(ORIGIN, TARGET, _at(12)) if path == "/v1/routes" else {
        "depart_at": _at(12), "cargo": GASOLINE}  # fmt: skip
    response = client.post(path, json=body | changes, headers=planner)
    assert response.status_code == 422, response.text
    assert any(item["loc"][: len(loc)] == loc for item in response.json()["detail"]), response.text


def test_new_layer_version_is_compiled_and_used(
    client: TestClient, planner: Headers, tenants: tuple[Tenant, Tenant]
) -> None:
    body = _layer_body(feature("late-ban-56", "forbidden_segment", osm_way_ids=[56]))
    created = client.post("/v1/restrictions", json=body, headers=planner).json()
    trip = _trip(ORIGIN, TARGET, _at(20))
    first = client.post("/v1/routes", json=trip, headers=planner).json()
    again = client.post("/v1/routes", json=trip, headers=planner).json()
    assert first == again
    cache = client.app.state.routing_indexes  # type: ignore[attr-defined]
    kept = len(cache._items)
    assert not first["compliant"]  # main road banned at night, parallel road banned always
    lifted = body | {"features": [feature("late-ban-56", "forbidden_segment", schedule="Jan 01",
                                          osm_way_ids=[56])]}  # fmt: skip
    replaced = client.put(f"/v1/restrictions/{created['id']}", json=lifted, headers=planner)
    assert replaced.status_code == 200, replaced.text
    after = client.post("/v1/routes", json=trip, headers=planner).json()
    assert after["compliant"] and {"layer_id": created["id"], "version": 2} in after["layers"]
    assert len(cache._items) == kept + 1
    client.delete(f"/v1/restrictions/{created['id']}", headers=planner)


def _ladder_waybill(client: TestClient, tenant: Tenant, target: tuple[float, float],
                    depart: str, **changes: Any) -> dict[str, Any]:  # fmt: skip
    vehicle = client.post(
        "/v1/vehicles", json=apps.record_json(fleet.vehicle(tenant.carrier_id)),
        headers=tenant.headers,
    ).json()  # fmt: skip
    fields: dict[str, Any] = {
        "vehicle_id": vehicle["id"],
        "loading_place": {"name": "油库", "lon": ORIGIN[0], "lat": ORIGIN[1]},
        "unloading_place": {"name": "加油站", "lon": target[0], "lat": target[1]},
        "planned_departure_at": depart,
        "planned_route": None,
    }
    return apps.create_waybill(client, tenant, **(fields | changes))


def test_waybill_route_is_computed_and_stored_as_planned_route(
    client: TestClient, tenants: tuple[Tenant, Tenant], layer_id: int
) -> None:
    own, other = tenants
    waybill = _ladder_waybill(client, own, TARGET, _at(20))
    path = f"/v1/waybills/{waybill['id']}/route"
    assert client.post(path, headers=other.headers).status_code == 404
    response = client.post(path, headers=own.headers)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["plan"]["detours"][0]["restriction_ids"] == ["night-ban-12"]
    stored = client.get(f"/v1/waybills/{waybill['id']}", headers=own.headers).json()
    assert stored["planned_route_geojson"] == answer["waybill"]["planned_route_geojson"]
    lats = {round(lat, 3) for _, lat in stored["planned_route_geojson"]["coordinates"]}
    assert 22.51 in lats  # the parallel road: the main road's middle is banned at 20:00


def test_waybill_without_compliant_route_is_409_with_earliest_departure(
    client: TestClient, tenants: tuple[Tenant, Tenant], layer_id: int
) -> None:
    own = tenants[0]
    waybill = _ladder_waybill(client, own, SPUR_END, _at(21))
    response = client.post(f"/v1/waybills/{waybill['id']}/route", headers=own.headers)
    assert response.status_code == 409, response.text
    [detail] = response.json()["detail"]
    assert detail["type"] == "no_compliant_route" and "spur-ban-38" in detail["msg"]
    assert "最早可行出发时间" in detail["msg_zh"] and detail["earliest_depart_at"].startswith(
        "2025-10-15T22:"
    )
    stored = client.get(f"/v1/waybills/{waybill['id']}", headers=own.headers).json()
    assert stored["planned_route_geojson"] is None


@pytest.mark.parametrize(
    "loading_place",
    [{"name": "油库"}, {"name": "大铲湾油库", "lon": 113.87, "lat": 22.53}],
    ids=["no-coordinates", "off-network"],
)
def test_waybill_place_without_coordinates_or_off_network_is_409(
    client: TestClient, tenants: tuple[Tenant, Tenant], loading_place: dict[str, Any]
) -> None:
    own = tenants[0]
    waybill = _ladder_waybill(client, own, TARGET, _at(12), loading_place=loading_place)
    response = client.post(f"/v1/waybills/{waybill['id']}/route", headers=own.headers)
    assert response.status_code == 409, response.text
    [detail] = response.json()["detail"]
    assert detail["loc"] == ["body", "loading_place"] and detail["msg_zh"]


def _archive(folder: Path) -> Path:
    """Two trips at noon: one through the middle of the main road, one on the parallel road."""
    at = pd.Timestamp("2025-10-15 12:00", tz=SZ)
    rows = [
        {"trip_id": trip, "vehicle_id": f"v-{trip}", "carrier_id": carrier,
         "fix_at": at + pd.Timedelta(seconds=30 * k), "lon": 114.0 + 0.005 * k, "lat": lat,
         "classes": "3", "un_numbers": "1203"}
        for trip, carrier, lat in (("t1", "c1", 22.50), ("t2", "c2", 22.51))
        for k in range(7)
    ]  # fmt: skip
    track_archive.write_archive(pd.DataFrame(rows), folder)
    return folder


def test_whatif_finds_planned_routes_and_past_trips(
    client: TestClient, planner: Headers, tenants: tuple[Tenant, Tenant], tmp_path: Path
) -> None:
    own = tenants[1]
    hit = _ladder_waybill(client, own, TARGET, _at(12), planned_route=MAIN_ROAD)
    parallel = {"type": "LineString", "coordinates": [[114.0, 22.51], [114.03, 22.51]]}
    missed = _ladder_waybill(client, own, TARGET, _at(12), planned_route=parallel)
    proposal = feature("proposed-zone", "zone", geometry=box(114.013, 22.497, 114.017, 22.503))
    app: Any = client.app
    settings = app.state.settings
    app.state.settings = settings.model_copy(update={"track_archive": _archive(tmp_path / "a")})
    try:
        response = client.post("/v1/whatif", json={"restriction": proposal}, headers=planner)
    finally:
        app.state.settings = settings
    assert response.status_code == 200, response.text
    answer = response.json()
    hit_ids = [w["waybill_id"] for w in answer["waybills_hit"]]
    assert hit["id"] in hit_ids and missed["id"] not in hit_ids
    [found] = [w for w in answer["waybills_hit"] if w["waybill_id"] == hit["id"]]
    assert [v["restriction_id"] for v in found["violations"]] == ["proposed-zone"]
    archive = answer["archive"]
    assert archive["trips"] == 1 and archive["per_carrier"] == {"c1": 1}
    assert archive["per_hour"][12] == 1 and sum(archive["per_hour"]) == 1
    assert archive["listed"][0]["trip_id"] == "t1"
    without = client.post("/v1/whatif", json={"restriction": proposal}, headers=planner).json()
    assert without["archive"] is None


def test_whatif_refuses_a_faulty_proposal_naming_the_field(
    client: TestClient, planner: Headers
) -> None:
    proposal = feature("bad", "zone", geometry=None)
    response = client.post("/v1/whatif", json={"restriction": proposal}, headers=planner)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"][:2] == ["body", "restriction"]
