"""Store fixtures: every store test runs on SQLite and on PostgreSQL, each migrated once."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy.orm import Session

from tests.transport import fleet
from tests.transport.store import databases
from transport import goods
from transport.registry import PersonRole, Vehicle
from transport.store import registries
from transport.store import waybills as waybill_store
from transport.store.engine import make_engine
from transport.waybills import Waybill, WaybillEvent

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sqlalchemy import Engine

    from transport.stream_recorder import StreamRecorder


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


def plate_of(session: Session, stored: Fleet) -> str:
    """The plate of the fleet's tanker."""
    vehicle = registries.get_record(
        session, Vehicle, record_id=stored.vehicle_id, carrier_id=stored.carrier_id
    )
    assert vehicle is not None
    return vehicle.plate


def dispatched_waybill(session: Session, stored: Fleet, **changes: object) -> Waybill:
    """Create a waybill for the fleet (`changes` to its fields), dispatch it, and commit."""
    waybill = Waybill.model_validate(fleet.waybill_fields(**(stored.refs() | changes)))
    created = waybill_store.create_waybill(
        session, waybill, carrier_id=stored.carrier_id, catalogue=goods.load_builtin_catalogue()
    )
    assert created.id is not None
    dispatched = waybill_store.apply_event(
        session, waybill_id=created.id, event=WaybillEvent.DISPATCH,
        carrier_id=stored.carrier_id, actor="dispatcher",
    )  # fmt: skip
    session.commit()
    assert dispatched is not None
    return dispatched


def record_due(recorder: StreamRecorder[Any, Any]) -> None:
    """Let a stream recorder record what is due once, then close it."""

    async def scenario() -> None:
        try:
            await recorder.record_once()
        finally:
            await recorder.close()

    asyncio.run(scenario())
