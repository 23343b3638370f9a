"""Store fixtures: every store test runs on SQLite and on PostgreSQL, each migrated once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest
from sqlalchemy.orm import Session

from tests.transport import fleet
from tests.transport.store import databases
from transport.registry import PersonRole
from transport.store import registries
from transport.store.engine import make_engine

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sqlalchemy import Engine


@pytest.fixture(scope="session", params=databases.BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """URL of a migrated database, one per backend and session."""
    with databases.database(request.param, tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    """Engine on the session's database."""
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session; what a test does not commit is rolled back."""
    with Session(engine, expire_on_commit=False) as session:
        yield session
        session.rollback()


@dataclass(frozen=True)
class Fleet:
    """Ids of a freshly stored carrier and its tanker, tank, driver and escort."""

    carrier_id: int
    vehicle_id: int
    tank_id: int
    driver_id: int
    escort_id: int

    def refs(self) -> dict[str, int]:
        """Waybill reference fields."""
        return {
            "carrier_id": self.carrier_id,
            "vehicle_id": self.vehicle_id,
            "tank_id": self.tank_id,
            "driver_id": self.driver_id,
            "escort_id": self.escort_id,
        }


def store_fleet(session: Session) -> Fleet:
    """Store a new carrier with one tanker, tank, driver and escort, and commit."""
    carrier = registries.add_carrier(session, fleet.carrier())
    cid = carrier.id
    assert cid is not None
    vehicle = registries.add_record(session, fleet.vehicle(cid), carrier_id=cid)
    tank = registries.add_record(session, fleet.tank(cid, vehicle_id=vehicle.id), carrier_id=cid)
    driver = registries.add_record(session, fleet.person(cid), carrier_id=cid)
    escort = registries.add_record(session, fleet.person(cid, PersonRole.ESCORT), carrier_id=cid)
    session.commit()
    ids = (vehicle.id, tank.id, driver.id, escort.id)
    assert all(i is not None for i in ids)
    return Fleet(cid, *ids)  # type: ignore[arg-type]


@pytest.fixture
def stored_fleet(session: Session) -> Fleet:
    """A fresh tenant per test: its own carrier and fleet."""
    return store_fleet(session)
