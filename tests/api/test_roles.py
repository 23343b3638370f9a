"""Every endpoint for every role: a table of role × endpoint → expected status.

The resources belong to the carrier of the carrier account and are loaded at the loader's site,
so a 403 here is the role, never the tenant; tenant isolation (404) is tested per router. The
table must name every operation of the OpenAPI document.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
from fastapi.testclient import TestClient

from maps import assets
from tests.api import apps
from tests.api.apps import Headers, Tenant, record_json
from tests.api.test_restrictions_api import _layer
from tests.geodata.routing_fixtures import feature, ladder
from tests.transport import alert_events, fleet
from transport.accounts import Role
from transport.fixes import Fix

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

ROLES = ("anonymous", "police", "carrier", "loader", "planner", "admin")


class World:
    """One application with a tenant, a caller of each role, and makers of fresh resources."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        client.app.state.network = ladder()  # type: ignore[attr-defined]  # routes and maps
        admin = apps.add_account(client, Role.ADMIN)
        self.tenant: Tenant = apps.new_tenant(client, admin)
        self.headers: dict[str, Headers] = {
            "anonymous": {},
            "police": apps.add_account(client, Role.POLICE),
            "carrier": self.tenant.headers,
            "loader": apps.add_account(client, Role.LOADER, loader_site=apps.LOADER_SITE),
            "planner": apps.add_account(client, Role.PLANNER),
            "admin": admin,
        }
        self.waybill_id = self.waybill(dispatched=True)
        self.alert_id = self.alert()
        self.layer_id = self.layer()
        apps.record_positions(
            client, [Fix(self.tenant.plate, datetime.now(UTC), 114.0, 22.5, 40.0)]
        )

    def waybill(self, *, dispatched: bool = False) -> int:
        """A new waybill of the tenant on a vehicle of its own (draft, or dispatched)."""
        vehicle = self.client.post(
            "/v1/vehicles",
            json=record_json(fleet.vehicle(self.tenant.carrier_id)),
            headers=self.tenant.headers,
        ).json()
        waybill_id: int = apps.create_waybill(self.client, self.tenant, vehicle_id=vehicle["id"])[
            "id"
        ]
        if dispatched:
            path = f"/v1/waybills/{waybill_id}/dispatch"
            assert self.client.post(path, json={}, headers=self.tenant.headers).status_code == 200
        return waybill_id

    def ladder_waybill(self) -> int:
        """A new draft waybill of the tenant between two points of the ladder network."""
        vehicle = self.client.post(
            "/v1/vehicles",
            json=record_json(fleet.vehicle(self.tenant.carrier_id)),
            headers=self.tenant.headers,
        ).json()
        places = {
            "loading_place": {"name": "油库", "lon": 114.0, "lat": 22.5},
            "unloading_place": {"name": "加油站", "lon": 114.03, "lat": 22.5},
        }
        waybill = apps.create_waybill(self.client, self.tenant, vehicle_id=vehicle["id"], **places)
        return int(waybill["id"])

    def alert(self) -> int:
        """A new alert of the tenant's vehicle."""
        [stored] = apps.record_alerts(self.client, [alert_events.opened(self.tenant.plate)])
        return int(stored.id)

    def layer(self) -> int:
        """A new restriction layer."""
        response = self.client.post(
            "/v1/restrictions", json=_layer(), headers=self.headers["planner"]
        )
        assert response.status_code == 201, response.text
        return int(response.json()["id"])


@dataclass(frozen=True)
class Case:
    """One endpoint: method, OpenAPI path, how to build the URL and body, status per role."""

    method: str
    path: str
    url: Callable[[World], str]
    statuses: tuple[int, ...]
    body: Callable[[World], Any] | None = None
    content_type: str | None = None


def _csv(world: World) -> str:
    response = world.client.get("/v1/registry/people.csv", headers=world.tenant.headers)
    return response.text


def _load(**fields: Any) -> dict[str, Any]:
    return {"depart_at": "2025-10-15T12:00:00+08:00",
            "cargo": [{"un_number": "1203", "quantity": 20}]} | fields  # fmt: skip


T = (401,)  # anonymous
CASES = [
    Case("POST", "/v1/auth/token", lambda w: "/v1/auth/token", (401,) * len(ROLES),
         body=lambda w: {"username": "nobody", "password": "wrong password"}),
    Case("GET", "/v1/auth/me", lambda w: "/v1/auth/me", (*T, 200, 200, 200, 200, 200)),
    Case("GET", "/v1/accounts", lambda w: "/v1/accounts", (*T, 403, 403, 403, 403, 200)),
    Case("POST", "/v1/accounts", lambda w: "/v1/accounts", (*T, 403, 403, 403, 403, 201),
         body=lambda w: {"username": fleet.unique("planner"), "role": "planner",
                         "password": "a long enough password"}),
    Case("GET", "/v1/accounts/{account_id}", lambda w: "/v1/accounts/1",
         (*T, 403, 403, 403, 403, 200)),
    Case("POST", "/v1/carriers", lambda w: "/v1/carriers", (*T, 403, 403, 403, 403, 201),
         body=lambda w: record_json(fleet.carrier())),
    Case("GET", "/v1/carriers", lambda w: "/v1/carriers", (*T, 200, 200, 403, 403, 200)),
    Case("GET", "/v1/carriers/{carrier_id}", lambda w: f"/v1/carriers/{w.tenant.carrier_id}",
         (*T, 200, 200, 403, 403, 200)),
    Case("GET", "/v1/vehicles", lambda w: "/v1/vehicles", (*T, 200, 200, 403, 403, 403)),
    Case("POST", "/v1/vehicles", lambda w: "/v1/vehicles", (*T, 403, 201, 403, 403, 403),
         body=lambda w: record_json(fleet.vehicle(w.tenant.carrier_id))),
    Case("GET", "/v1/vehicles/{vehicle_id}", lambda w: f"/v1/vehicles/{w.tenant.vehicle_id}",
         (*T, 200, 200, 403, 403, 403)),
    Case("GET", "/v1/vehicles/{vehicle_id}/track.geojson",
         lambda w: f"/v1/vehicles/{w.tenant.vehicle_id}/track.geojson"
         "?since=2025-01-01T00:00:00%2B08:00&until=2025-01-02T00:00:00%2B08:00",
         (*T, 200, 200, 403, 403, 403)),
    Case("GET", "/v1/vehicles/{vehicle_id}/waybill-uploads",
         lambda w: f"/v1/vehicles/{w.tenant.vehicle_id}/waybill-uploads",
         (*T, 200, 200, 403, 403, 403)),
    Case("GET", "/v1/tanks", lambda w: "/v1/tanks", (*T, 200, 200, 403, 403, 403)),
    Case("POST", "/v1/tanks", lambda w: "/v1/tanks", (*T, 403, 201, 403, 403, 403),
         body=lambda w: record_json(fleet.tank(w.tenant.carrier_id))),
    Case("GET", "/v1/tanks/{tank_id}", lambda w: f"/v1/tanks/{w.tenant.tank_id}",
         (*T, 200, 200, 403, 403, 403)),
    Case("GET", "/v1/people", lambda w: "/v1/people", (*T, 200, 200, 403, 403, 403)),
    Case("POST", "/v1/people", lambda w: "/v1/people", (*T, 403, 201, 403, 403, 403),
         body=lambda w: record_json(fleet.person(w.tenant.carrier_id))),
    Case("GET", "/v1/people/{person_id}", lambda w: f"/v1/people/{w.tenant.driver_id}",
         (*T, 200, 200, 403, 403, 403)),
    Case("GET", "/v1/registry/{kind}.csv", lambda w: "/v1/registry/people.csv",
         (*T, 200, 200, 403, 403, 403)),
    Case("POST", "/v1/registry/{kind}.csv", lambda w: "/v1/registry/people.csv",
         (*T, 403, 200, 403, 403, 403), body=_csv, content_type="text/csv"),
    Case("GET", "/v1/waybills", lambda w: "/v1/waybills", (*T, 200, 200, 200, 403, 403)),
    Case("POST", "/v1/waybills", lambda w: "/v1/waybills", (*T, 403, 201, 403, 403, 403),
         body=lambda w: apps.waybill_body(w.tenant)),
    Case("GET", "/v1/waybills/{waybill_id}", lambda w: f"/v1/waybills/{w.waybill_id}",
         (*T, 200, 200, 200, 403, 403)),
    *[
        Case("POST", f"/v1/waybills/{{waybill_id}}/{event}",
             lambda w, e=event, d=dispatched: f"/v1/waybills/{w.waybill(dispatched=d)}/{e}",
             (*T, 403, expected, 403, 403, 403), body=lambda w: {"actor": "张伟"})
        for event, dispatched, expected in (
            ("dispatch", False, 200), ("cancel", False, 200), ("depart", True, 409),
            ("arrive", True, 409), ("archive", True, 409),
        )
    ],
    Case("POST", "/v1/waybills/{waybill_id}/loading-checks",
         lambda w: f"/v1/waybills/{w.waybill(dispatched=True)}/loading-checks",
         (*T, 403, 403, 201, 403, 403),
         body=lambda w: {"checked_by": "陈刚", "place": {"name": "大铲湾油库"},
                         "loading_at": fleet.LOADING_AT.isoformat(), "loaded_as_stated": True}),
    Case("GET", "/v1/waybills/{waybill_id}/loading-checks",
         lambda w: f"/v1/waybills/{w.waybill_id}/loading-checks", (*T, 200, 200, 200, 403, 403)),
    Case("POST", "/v1/waybills/{waybill_id}/route",
         lambda w: f"/v1/waybills/{w.ladder_waybill()}/route", (*T, 403, 200, 403, 403, 403)),
    Case("POST", "/v1/routes", lambda w: "/v1/routes", (*T, 200, 200, 403, 200, 403),
         body=lambda w: _load(origin={"lon": 114.0, "lat": 22.5},
                              destination={"lon": 114.03, "lat": 22.5})),
    Case("POST", "/v1/routes/check", lambda w: "/v1/routes/check", (*T, 200, 200, 403, 200, 403),
         body=lambda w: _load(route={"type": "LineString",
                                     "coordinates": [[114.0, 22.5], [114.03, 22.5]]})),
    Case("POST", "/v1/whatif", lambda w: "/v1/whatif", (*T, 403, 403, 403, 200, 403),
         body=lambda w: {"restriction": feature("proposed", "forbidden_segment",
                                                osm_way_ids=[12])}),
    Case("GET", "/v1/alerts", lambda w: "/v1/alerts", (*T, 200, 200, 403, 403, 403)),
    *[
        Case("GET", f"/v1/alerts/{{alert_id}}{tail}",
             lambda w, t=tail: f"/v1/alerts/{w.alert_id}{t}", (*T, 200, 200, 403, 403, 403))
        for tail in ("", "/history", "/evidence.geojson")
    ],
    *[
        Case("GET", f"/v1/alerts/{{alert_id}}{tail}",
             lambda w, t=tail: f"/v1/alerts/{w.alert_id}{t}", (*T, 200, 403, 403, 403, 403))
        for tail in ("/export.geojson", "/export.csv")
    ],
    *[
        Case("POST", f"/v1/alerts/{{alert_id}}/{action}",
             lambda w, a=action: f"/v1/alerts/{w.alert()}/{a}",
             (*T, 200, 403, 403, 403, 403), body=lambda w: {"note": "处理"})
        for action in ("acknowledge", "close")
    ],
    Case("POST", "/v1/alerts/{alert_id}/notes", lambda w: f"/v1/alerts/{w.alert_id}/notes",
         (*T, 201, 201, 403, 403, 403), body=lambda w: {"note": "司机已联系"}),
    Case("GET", "/v1/live/positions.geojson", lambda w: "/v1/live/positions.geojson",
         (*T, 200, 200, 403, 403, 403)),
    Case("GET", "/v1/live/alerts.geojson", lambda w: "/v1/live/alerts.geojson",
         (*T, 200, 200, 403, 403, 403)),
    Case("GET", "/v1/restrictions", lambda w: "/v1/restrictions", (*T, 200, 200, 403, 200, 403)),
    Case("POST", "/v1/restrictions", lambda w: "/v1/restrictions", (*T, 403, 403, 403, 201, 403),
         body=lambda w: _layer()),
    Case("GET", "/v1/restrictions/audit", lambda w: "/v1/restrictions/audit",
         (*T, 200, 403, 403, 200, 403)),
    Case("GET", "/v1/restrictions/{layer_id}", lambda w: f"/v1/restrictions/{w.layer_id}",
         (*T, 200, 200, 403, 200, 403)),
    Case("PUT", "/v1/restrictions/{layer_id}", lambda w: f"/v1/restrictions/{w.layer()}",
         (*T, 403, 403, 403, 200, 403), body=lambda w: _layer()),
    Case("DELETE", "/v1/restrictions/{layer_id}", lambda w: f"/v1/restrictions/{w.layer()}",
         (*T, 403, 403, 403, 200, 403)),
    Case("GET", "/v1/restrictions/{layer_id}/versions",
         lambda w: f"/v1/restrictions/{w.layer_id}/versions", (*T, 200, 200, 403, 200, 403)),
    Case("GET", "/v1/restrictions/{layer_id}/versions/{version}",
         lambda w: f"/v1/restrictions/{w.layer_id}/versions/1", (*T, 200, 200, 403, 200, 403)),
    Case("GET", "/v1/restrictions/{layer_id}/audit",
         lambda w: f"/v1/restrictions/{w.layer_id}/audit", (*T, 200, 403, 403, 200, 403)),
    Case("GET", "/maps/static/{name}",
         lambda w: f"/maps/static/{assets.asset_name(assets.LEAFLET_CSS)}", (200,) * len(ROLES)),
    Case("GET", "/maps/live", lambda w: "/maps/live", (*T, 200, 200, 403, 403, 403)),
    Case("GET", "/maps/live/positions.geojson", lambda w: "/maps/live/positions.geojson",
         (*T, 200, 200, 403, 403, 403)),
    Case("GET", "/maps/vehicles/{vehicle_id}/playback",
         lambda w: f"/maps/vehicles/{w.tenant.vehicle_id}/playback", (*T, 200, 200, 403, 403, 403)),
    Case("GET", "/maps/alerts/{alert_id}/evidence",
         lambda w: f"/maps/alerts/{w.alert_id}/evidence", (*T, 200, 200, 403, 403, 403)),
    Case("GET", "/maps/planner", lambda w: "/maps/planner", (*T, 200, 403, 403, 200, 403)),
]  # fmt: skip


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One world on SQLite (roles do not depend on the database; tenancy is tested on both)."""
    with apps.api_client("sqlite", tmp_path_factory.mktemp("roles")) as client:
        yield World(client)


def test_the_table_names_every_operation(world: World) -> None:
    operations = {
        (method.upper(), path)
        for path, item in world.client.app.openapi()["paths"].items()  # type: ignore[attr-defined]
        for method in item
    }
    assert {(case.method, case.path) for case in CASES} == operations


@pytest.mark.parametrize(
    ("case", "role"),
    [
        pytest.param(case, role, id=f"{case.method} {case.path} as {role}")
        for case in CASES
        for role in ROLES
    ],
)
def test_role_gets_expected_status(world: World, case: Case, role: str) -> None:
    expected = case.statuses[ROLES.index(role)]
    headers = dict(world.headers[role])
    kwargs: dict[str, Any] = {}
    if case.body is not None:
        body = case.body(world)
        if case.content_type:
            kwargs["content"] = body.encode()
            headers["content-type"] = case.content_type
        else:
            kwargs["json"] = body
    response = world.client.request(case.method, case.url(world), headers=headers, **kwargs)
    assert response.status_code == expected, response.text
    if expected == 401:
        assert response.headers["www-authenticate"] == "Bearer"
