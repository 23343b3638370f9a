"""Applications on real databases and callers of every role, for the API tests.

Accounts are stored directly with one password hash computed per session (argon2 is slow by
design) and given tokens signed with the application's key; `test_auth.py` covers the real
login. A tenant is a fresh carrier with its own carrier account and fleet, made through the API.
"""

from __future__ import annotations

import functools
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi.testclient import TestClient

from api import security
from api.main import create_app
from tests.transport import fleet
from tests.transport.store import databases
from transport.accounts import Role
from transport.settings import Settings
from transport.store import accounts, alert_recording, tracks

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

PASSWORD = "correct horse battery staple"
SECRET_KEY = "test-signing-key-of-at-least-32-characters"
LOADER_SITE = fleet.waybill_fields()["loader"]["name"]

Headers = dict[str, str]


@functools.cache
def password_hash() -> str:
    """The hash of `PASSWORD`, computed once."""
    return security.hash_password(PASSWORD)


@contextmanager
def api_client(backend: str, folder: Path) -> Iterator[TestClient]:
    """Yield a client of an application on a fresh, unmigrated database of one backend."""
    with databases.database(backend, folder, migrated=False) as url:
        app = create_app(Settings(database_url=url, auth_secret_key=SECRET_KEY))
        with TestClient(app) as client:
            yield client
        app.state.engine.dispose()


def add_account(
    client: TestClient,
    role: Role | str,
    *,
    carrier_id: int | None = None,
    loader_site: str | None = None,
    username: str | None = None,
) -> Headers:
    """Store an account of a role and return the headers of a caller holding its token."""
    with client.app.state.session_factory() as session, session.begin():  # type: ignore[attr-defined]
        account = accounts.add_account(
            session,
            username=username or fleet.unique(f"{Role(role).value}-"),
            password_hash=password_hash(),
            role=Role(role),
            carrier_id=carrier_id,
            loader_site=loader_site,
            display_name=f"{Role(role).value} user",
        )
    token = security.create_access_token(
        account_id=account.id,
        secret_key=client.app.state.token_secret,  # type: ignore[attr-defined]
        ttl_s=600,
    )
    return {"Authorization": f"Bearer {token}"}


def record_json(record: Any) -> dict[str, Any]:
    """Return a registry record as a request body (no id, no carrier)."""
    return record.model_dump(mode="json", exclude={"id", "carrier_id"})


@dataclass(frozen=True)
class Tenant:
    """A carrier, its account's headers and its fleet's ids."""

    carrier_id: int
    headers: Headers
    vehicle_id: int
    plate: str
    tank_id: int
    driver_id: int
    escort_id: int

    def refs(self) -> dict[str, int]:
        """Waybill reference fields."""
        return {
            "vehicle_id": self.vehicle_id,
            "tank_id": self.tank_id,
            "driver_id": self.driver_id,
            "escort_id": self.escort_id,
        }


def _created(response: Any) -> dict[str, Any]:
    """Return the body of a 201 answer."""
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def new_tenant(client: TestClient, admin: Headers) -> Tenant:
    """Register a carrier (as admin), its account, and a tanker, tank, driver and escort."""
    cid = _created(client.post("/v1/carriers", json=record_json(fleet.carrier()), headers=admin))[
        "id"
    ]
    headers = add_account(client, Role.CARRIER, carrier_id=cid)
    vehicle = _created(
        client.post("/v1/vehicles", json=record_json(fleet.vehicle(cid)), headers=headers)
    )
    tank_body = record_json(fleet.tank(cid)) | {"vehicle_id": vehicle["id"]}
    tank = _created(client.post("/v1/tanks", json=tank_body, headers=headers))
    driver = _created(
        client.post("/v1/people", json=record_json(fleet.person(cid)), headers=headers)
    )
    escort_body = record_json(fleet.person(cid, "escort"))
    escort = _created(client.post("/v1/people", json=escort_body, headers=headers))
    return Tenant(
        cid, headers, vehicle["id"], vehicle["plate"], tank["id"], driver["id"], escort["id"]
    )


def waybill_body(tenant: Tenant, **changes: Any) -> dict[str, Any]:
    """Return the body of a new waybill of a tenant's fleet."""
    fields = fleet.waybill_fields(**tenant.refs())
    fields["planned_route"] = fields.pop("planned_route_wkt")
    fields["planned_departure_at"] = fields["planned_departure_at"].isoformat()
    return fields | changes


def create_waybill(client: TestClient, tenant: Tenant, **changes: Any) -> dict[str, Any]:
    """Create a waybill as the tenant and return it."""
    response = client.post(
        "/v1/waybills", json=waybill_body(tenant, **changes), headers=tenant.headers
    )
    return _created(response)


def record_alerts(client: TestClient, events: list[Any]) -> list[Any]:
    """Store alert events as the pipeline does, then publish them to the app's live hub."""
    app: Any = client.app
    with app.state.session_factory() as session, session.begin():
        stored = alert_recording.record_alert_events(session, events, all_carriers=True)
    app.state.live_hub.publish_alerts(stored)
    return stored


def record_positions(client: TestClient, fixes: list[Any]) -> list[Any]:
    """Store fixes as the pipeline does, then publish them to the app's live hub."""
    app: Any = client.app
    with app.state.session_factory() as session, session.begin():
        points = tracks.record_positions(session, fixes, all_carriers=True)
    app.state.live_hub.publish_positions(points)
    return points
