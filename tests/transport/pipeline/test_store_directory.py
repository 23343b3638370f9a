"""Vehicle contexts from the waybill store: active waybill → cargo, waybill id, corridor; TTL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import shapely
from sqlalchemy.orm import Session, sessionmaker

from geodata import sources
from geodata.network import RoadNetwork
from tests.transport.manual_clock import ManualClock
from tests.transport.store import databases
from tests.transport.store.conftest import dispatched_waybill, plate_of, store_fleet
from transport.pipeline.store_directory import StoreDirectory
from transport.store import waybills as waybill_store
from transport.store.engine import make_engine, make_session_factory
from transport.waybills import WaybillEvent

HELSINKI_ROUTE = "LINESTRING (24.9384 60.1699, 24.9414 60.1719, 24.9458 60.1733)"


@pytest.fixture(scope="module")
def network() -> RoadNetwork:
    return sources.load_network()


@pytest.fixture
def session_factory(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    with databases.sqlite_database(tmp_path) as url:
        engine = make_engine(url)
        yield make_session_factory(engine)
        engine.dispose()


def test_unknown_vehicle_is_an_empty_vehicle(
    network: RoadNetwork, session_factory: sessionmaker[Session]
) -> None:
    context = StoreDirectory(session_factory, network).context_of("粤B99999")
    assert (context.vehicle_id, context.cargo, context.waybill_id, context.corridor) == (
        "粤B99999", None, None, None,
    )  # fmt: skip


def test_active_waybill_gives_cargo_waybill_and_corridor_by_plate_and_terminal(
    network: RoadNetwork, session_factory: sessionmaker[Session]
) -> None:
    with session_factory() as session:
        stored = store_fleet(session)
        plate = plate_of(session, stored)
        waybill = dispatched_waybill(session, stored, planned_route_wkt=HELSINKI_ROUTE)
    directory = StoreDirectory(session_factory, network, corridor_width_m=100.0)
    for key in (plate, "jt808:013800138000"):
        context = directory.context_of(key)
        assert context.cargo is not None and context.cargo.un_numbers == ("1203",)
        assert context.waybill_id == str(waybill.id)
        assert context.corridor is not None
        start = network.from_lonlat.transform(24.9384, 60.1699)
        assert context.corridor.covers(shapely.Point(start))
        assert 60.0 < shapely.minimum_bounding_radius(context.corridor) < 2_000.0


def test_a_batch_of_vehicles_is_read_at_once_and_only_the_stale_ones(
    network: RoadNetwork, session_factory: sessionmaker[Session]
) -> None:
    clock = ManualClock()
    with session_factory() as session:
        loaded = store_fleet(session)
        loaded_plate = plate_of(session, loaded)
        dispatched_waybill(session, loaded, planned_route_wkt=None)
        idle_plate = plate_of(session, store_fleet(session))
    directory = StoreDirectory(session_factory, network, ttl_s=30.0, clock=clock)
    keys = [loaded_plate, idle_plate, "粤B99999"]
    contexts = directory.contexts_of(keys)
    assert list(contexts) == keys and directory.reads == 3
    assert contexts[loaded_plate].cargo is not None
    assert contexts[idle_plate].cargo is None and contexts["粤B99999"].cargo is None
    clock.now_s += 20.0
    again = directory.contexts_of([*keys, "粤B88888"])
    assert directory.reads == 4  # only the vehicle not seen before
    assert all(again[key] is contexts[key] for key in keys)


def test_context_is_kept_within_ttl_and_reread_after_the_waybill_ends(
    network: RoadNetwork, session_factory: sessionmaker[Session]
) -> None:
    clock = ManualClock()
    with session_factory() as session:
        stored = store_fleet(session)
        plate = plate_of(session, stored)
        waybill = dispatched_waybill(session, stored, planned_route_wkt=None)
    directory = StoreDirectory(session_factory, network, ttl_s=30.0, clock=clock)
    first = directory.context_of(plate)
    assert first.cargo is not None and first.corridor is None
    clock.now_s += 31.0
    assert directory.context_of(plate) is first  # re-read, unchanged: same object
    assert directory.reads == 2
    with session_factory() as session:
        waybill_store.apply_event(
            session, waybill_id=waybill.id, event=WaybillEvent.CANCEL,  # type: ignore[arg-type]
            carrier_id=stored.carrier_id, actor="dispatcher",
        )  # fmt: skip
        session.commit()
    clock.now_s += 10.0
    assert directory.context_of(plate) is first  # within the TTL: from memory
    clock.now_s += 30.0
    ended = directory.context_of(plate)
    assert ended is not first and ended.cargo is None and ended.waybill_id is None


def test_negative_ttl_is_refused(network: RoadNetwork, session_factory) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="`ttl_s` must be >= 0"):
        StoreDirectory(session_factory, network, ttl_s=-1.0)
