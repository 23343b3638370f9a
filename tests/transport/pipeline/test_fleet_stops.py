"""The shared table of current stops: in memory and on a real redis-server, same behaviour."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

import pytest
import redis

from tests.transport.manual_clock import ManualClock
from tests.transport.redis_process import RedisProcess
from transport.matched import MatchedFix
from transport.pipeline import fleet_stops
from transport.pipeline.batch import Batch
from transport.pipeline.steps import refresh_fleet
from transport.rules.fleet_view import FleetStop

NOON = dt.datetime(2026, 3, 2, 4, 0, tzinfo=dt.UTC)
MAX_AGE_S = 600.0


def stop(vehicle_id: str, *, seen_min: float = 0.0, x: float = 0.0) -> FleetStop:
    """A loaded vehicle's stop in lot ``L``, heard from `seen_min` minutes after noon."""
    return FleetStop(
        vehicle_id, x, 0.0, NOON - dt.timedelta(minutes=30),
        NOON + dt.timedelta(minutes=seen_min), ("L",), ("3",), True,
    )  # fmt: skip


StoreFactory = Callable[[], fleet_stops.StopStore]


@pytest.fixture(params=["memory", "redis"])
def new_store(request: pytest.FixtureRequest) -> Iterator[StoreFactory]:
    """A factory of stores sharing one table: workers on one Redis, or one in-memory store."""
    if request.param == "memory":
        shared = fleet_stops.MemoryStopStore(max_age_s=MAX_AGE_S)
        yield lambda: shared
        return
    server: RedisProcess = request.getfixturevalue("redis_server")
    opened: list[fleet_stops.RedisStopStore] = []

    def factory() -> fleet_stops.StopStore:
        opened.append(fleet_stops.RedisStopStore(server.url, prefix="t", max_age_s=MAX_AGE_S))
        return opened[-1]

    yield factory
    for store in opened:
        store.close()


def ids(store: fleet_stops.StopStore, minutes: float = 0.0) -> list[str]:
    """The vehicles in the view at noon plus `minutes`."""
    view = store.view(at=NOON + dt.timedelta(minutes=minutes))
    return sorted(view.vehicle_ids.tolist())


def test_stops_published_by_one_worker_are_seen_by_another(new_store: StoreFactory) -> None:
    first, second = new_store(), new_store()
    first.publish({"A": stop("A"), "B": stop("B", x=5.0)})
    second.publish({"C": stop("C")})
    view = second.view(at=NOON)
    assert sorted(view.vehicle_ids.tolist()) == ["A", "B", "C"]
    assert view.stops[view.vehicle_ids.tolist().index("B")] == stop("B", x=5.0)
    assert view.in_lot("L").size == 3


def test_a_vehicle_that_moves_is_withdrawn(new_store: StoreFactory) -> None:
    store = new_store()
    store.publish({"A": stop("A"), "B": stop("B")})
    store.publish({"A": None, "Z": None})
    assert ids(store) == ["B"]


def test_stale_stops_are_dropped_and_deleted(new_store: StoreFactory) -> None:
    store = new_store()
    store.publish({"A": stop("A"), "B": stop("B", seen_min=8)})
    assert ids(store, minutes=15) == ["B"]  # A was last heard 15 min ago, over 10
    assert ids(store, minutes=0) == ["B"]  # deleted, not only hidden


def test_redis_table_is_one_hash_that_expires(redis_server: RedisProcess) -> None:
    store = fleet_stops.RedisStopStore(redis_server.url, prefix="t", max_age_s=MAX_AGE_S)
    try:
        store.publish({"A": stop("A")})
        client = redis.Redis.from_url(redis_server.url)
        assert client.hkeys("t:fleet_stops") == [b"A"]
        assert 0 < client.ttl("t:fleet_stops") <= MAX_AGE_S
        client.close()
    finally:
        store.close()


def batch_at(minutes: float) -> Batch:
    """A batch holding one matched fix of vehicle ``Z``, `minutes` after noon."""
    fix = MatchedFix(
        vehicle_id="Z", fix_at=NOON + dt.timedelta(minutes=minutes), x=0.0, y=0.0, lon=114.0,
        lat=22.5, speed_kmh=0.0, edge_id=-1, offset_m=float("nan"), path_edge_ids=(),
        alarm_bits=0, is_backfill=False, heading_deg=0.0,
    )  # fmt: skip
    return Batch((), {}, matched=(fix,))


def seen(step: refresh_fleet.RefreshFleet, minutes: float = 0.0) -> list[str]:
    """The vehicles in the fleet view the step attaches to a batch."""
    fleet = step(batch_at(minutes)).fleet
    assert fleet is not None
    return sorted(fleet.vehicle_ids.tolist())


def test_each_batch_reads_the_stops_anew_by_default(new_store: StoreFactory) -> None:
    store = new_store()
    step = refresh_fleet.RefreshFleet(store)
    store.publish({"A": stop("A")})
    assert seen(step) == ["A"]
    store.publish({"B": stop("B")})
    assert seen(step) == ["A", "B"]


def test_a_read_serves_the_batches_of_its_max_age_then_is_read_again(
    new_store: StoreFactory,
) -> None:
    store, clock = new_store(), ManualClock()
    step = refresh_fleet.RefreshFleet(store, max_view_age_s=1.0, clock=clock)
    store.publish({"A": stop("A")})
    assert seen(step) == ["A"]
    store.publish({"B": stop("B")})
    clock.now_s += 0.9
    assert seen(step, minutes=0.01) == ["A"]  # the snapshot of 0.9 s ago serves this batch
    clock.now_s += 0.1
    assert seen(step, minutes=0.01) == ["A", "B"]


def test_a_batch_without_matched_fixes_gets_no_view(new_store: StoreFactory) -> None:
    step = refresh_fleet.RefreshFleet(new_store())
    assert step(Batch((), {})).fleet is None


def test_a_read_is_renewed_once_fix_time_passed_its_max_age(new_store: StoreFactory) -> None:
    store, clock = new_store(), ManualClock()  # a backlog: fix time runs ahead of the clock
    step = refresh_fleet.RefreshFleet(store, max_view_age_s=1.0, clock=clock)
    store.publish({"A": stop("A")})
    assert seen(step) == ["A"]
    store.publish({"B": stop("B")})
    assert seen(step, minutes=0.01) == ["A"]  # 0.6 s of fix time later
    assert seen(step, minutes=0.02) == ["A", "B"]  # 1.2 s
