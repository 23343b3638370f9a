"""The match → rules → publish steps of the worker chain, on the real default network."""

from __future__ import annotations

import asyncio
import dataclasses
import math
import sqlite3
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest
import redis
import shapely
from sqlalchemy import exc as sa_errors

from geodata import restriction_index, restrictions, sources
from geodata.matching.matcher import MatchParams
from geodata.network import RoadNetwork
from tests.transport.manual_clock import ManualClock
from tests.transport.redis_process import RedisProcess
from transport.alerts.lifecycle import AlertChange, AlertEvent
from transport.bus.memory import MemoryBus
from transport.cargo import CargoProfile
from transport.fixes import Fix
from transport.matched import MatchedFix
from transport.pipeline import chain, fleet_stops, runner
from transport.pipeline.batch import Batch
from transport.pipeline.checkpoint import (
    CheckpointStore,
    MemoryCheckpointStore,
    RedisCheckpointStore,
)
from transport.pipeline.context import StaticDirectory
from transport.pipeline.fix_store import BufferedFixStore, SqliteFixStore
from transport.pipeline.steps.evaluate_rules import EvaluateRules
from transport.pipeline.steps.match import Match
from transport.rules import forbidden
from transport.rules.base import RoadContext, VehicleContext
from transport.rules.fleet_view import FleetStop
from transport.simulation import SimulatedTrip, simulate_fleet, trip_fixes

START_AT = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
MATCH_LAG = 2


@pytest.fixture(scope="module")
def network() -> RoadNetwork:
    return sources.load_network()


@pytest.fixture(scope="module")
def trip(network: RoadNetwork) -> SimulatedTrip:
    return simulate_fleet(network, 1, seed=11, start_at=START_AT, interval_s=10.0)[0]


@pytest.fixture(scope="module")
def road(network: RoadNetwork, trip: SimulatedTrip) -> RoadContext:
    """A 24/7 no-entry zone around the middle third of the trip's true path."""
    middle = trip.true_edge_ids[len(trip.true_edge_ids) // 3 : 2 * len(trip.true_edge_ids) // 3]
    zone_m = shapely.union_all(network.geometries[middle]).buffer(30.0)
    zone = shapely.transform(zone_m, lambda xy: np.column_stack(network.to_lonlat.transform(*xy.T)))
    layer = restrictions.load_layer(
        {
            "type": "FeatureCollection",
            "hazmat_layer_version": 1,
            "name": "test",
            "authority": {"zh": "测试", "en": "test"},
            "features": [
                {
                    "type": "Feature",
                    "geometry": shapely.geometry.mapping(zone),
                    "properties": {
                        "id": "no-entry",
                        "kind": "zone",
                        "name": {"zh": "禁行区", "en": "No-entry zone"},
                        "legal_basis": {"zh": "测试", "en": "test"},
                        "cargo": {"all_dangerous_goods": True},
                        "severity": "violation",
                        "source": {"kind": "notice", "ref": "T-1"},
                    },
                }
            ],
        }
    )
    return RoadContext.from_network(network, restriction_index.compile_layers(network, [layer]))


@pytest.fixture
def fix_store(tmp_path: Path) -> Iterator[SqliteFixStore]:
    store = SqliteFixStore(tmp_path / "fixes.sqlite")
    yield store
    store.close()


class Collector:
    """A sink that keeps what it is given."""

    def __init__(self) -> None:
        self.items: list[object] = []

    def __call__(self, items: Sequence[object]) -> None:
        self.items.extend(items)


def build(
    network,
    road,
    fix_store,
    checkpoints,
    alerts,
    positions,
    *,
    stop_store=None,
    directory_type=StaticDirectory,
) -> chain.Chain:  # type: ignore[no-untyped-def]
    cargo = CargoProfile.from_lines(
        [{"un_number": "1203", "quantity": 20, "unit": "t", "carriage": "tank"}]
    )
    directory = directory_type({"V001": VehicleContext("V001", cargo=cargo, waybill_id="W1")})
    setup = chain.MonitoringSetup(
        network,
        road,
        directory,
        MatchParams(lag=MATCH_LAG),
        alert_sinks=(alerts,),
        position_sinks=(positions,),
        stop_store=stop_store,
    )
    return chain.build_chain(fix_store=fix_store, checkpoints=checkpoints, monitoring=setup)


def run(steps: chain.Chain, fixes: list[Fix], checkpoints: CheckpointStore) -> Batch:
    batch = Batch(tuple(fixes), checkpoints.load_states({f.vehicle_id for f in fixes}))
    for step in steps:
        batch = step(batch)
    return batch


def test_monitoring_steps_sit_between_order_and_state_and_after_store(
    network: RoadNetwork, road: RoadContext, fix_store: SqliteFixStore
) -> None:
    steps = build(network, road, fix_store, MemoryCheckpointStore(), Collector(), Collector())
    assert [type(s).__name__ for s in steps] == [
        "Deduplicate", "Order", "Match", "MatchBackfill", "EvaluateRules", "AdvanceState",
        "Store", "Publish",
    ]  # fmt: skip


def test_entering_a_no_entry_zone_opens_and_publishes_one_alert(
    network: RoadNetwork, road: RoadContext, trip: SimulatedTrip, fix_store: SqliteFixStore
) -> None:
    alerts, positions = Collector(), Collector()
    checkpoints = MemoryCheckpointStore()
    steps = build(network, road, fix_store, checkpoints, alerts, positions)
    fixes = trip_fixes(trip)
    for start in range(0, len(fixes), 7):
        run(steps, fixes[start : start + 7], checkpoints)
    opened = [
        e for e in alerts.items if isinstance(e, AlertEvent) and e.change is AlertChange.OPENED
    ]
    assert [e.alert.rule_id for e in opened] == [forbidden.RULE_ID]
    assert opened[0].alert.waybill_id == "W1"
    matched = [p for p in positions.items if isinstance(p, MatchedFix)]
    assert len(matched) >= len(fixes) - 2  # the matcher's lag holds the last fixes back
    assert sum(p.is_matched for p in matched) >= 0.95 * len(matched)
    assert fix_store.count_fixes() == len(fixes)


def test_a_worker_taking_over_resumes_the_open_alert_instead_of_opening_it_again(
    network: RoadNetwork, road: RoadContext, trip: SimulatedTrip, fix_store: SqliteFixStore
) -> None:
    checkpoints = MemoryCheckpointStore()
    first_alerts, second_alerts = Collector(), Collector()
    fixes = trip_fixes(trip)
    first = build(network, road, fix_store, checkpoints, first_alerts, Collector())
    opened_at = next(
        i for i in range(len(fixes))
        if run(first, [fixes[i]], checkpoints).alert_events
    )  # fmt: skip
    second = build(network, road, fix_store, checkpoints, second_alerts, Collector())
    for fix in fixes[opened_at + 1 :]:
        run(second, [fix], checkpoints)
    changes = [e.change for e in second_alerts.items if isinstance(e, AlertEvent)]
    assert AlertChange.OPENED not in changes
    assert AlertChange.UPDATED in changes or AlertChange.CLOSED in changes
    saved = checkpoints.load_states(["V001"])["V001"]
    assert "rules" in saved.monitor


def run_and_commit(
    steps: chain.Chain, fixes: list[Fix], checkpoints: RedisCheckpointStore
) -> Batch:
    """One batch as a worker on Redis runs it: load, process, commit the checkpoint."""
    batch = run(steps, fixes, checkpoints)
    checkpoints.commit()
    return batch


def two_workers_on_redis(
    network: RoadNetwork,
    road: RoadContext,
    fix_store: SqliteFixStore,
    redis_url: str,
    *,
    positions: Collector,
) -> tuple[tuple[chain.Chain, RedisCheckpointStore], tuple[chain.Chain, RedisCheckpointStore]]:
    """Workers A and B, each with its chain and its own checkpoint store on one Redis."""
    workers = []
    for _ in "AB":
        checkpoints = RedisCheckpointStore(redis_url)
        steps = build(network, road, fix_store, checkpoints, Collector(), positions)
        workers.append((steps, checkpoints))
    return workers[0], workers[1]


def test_a_worker_given_a_vehicle_back_resumes_from_the_checkpoint_written_meanwhile(
    network: RoadNetwork,
    road: RoadContext,
    trip: SimulatedTrip,
    fix_store: SqliteFixStore,
    redis_server: RedisProcess,
) -> None:
    """Worker A opens an alert, B takes the vehicle over for a while, A gets it back (a lease
    lost and regained): A must go on from B's checkpoint, not from its own monitor of before,
    so the alert it closes counts the violating fixes B saw too."""
    fixes = trip_fixes(trip)
    (a, a_checkpoints), (b, b_checkpoints) = two_workers_on_redis(
        network, road, fix_store, redis_server.url, positions=Collector()
    )
    events: list[AlertEvent] = []
    for opened_at, fix in enumerate(fixes):  # noqa: B007 - the loop ends at the opening
        events += run_and_commit(a, [fix], a_checkpoints).alert_events
        if events:
            break
    given_back_at = opened_at + 9
    for fix in fixes[opened_at + 1 : given_back_at]:
        events += run_and_commit(b, [fix], b_checkpoints).alert_events
    for fix in fixes[given_back_at:]:
        events += run_and_commit(a, [fix], a_checkpoints).alert_events
    opening, *updates, closing = events
    assert [opening.change, closing.change] == [AlertChange.OPENED, AlertChange.CLOSED]
    assert {e.change for e in updates} == {AlertChange.UPDATED}  # one per violating fix
    assert closing.alert.evidence.fix_count == opening.alert.evidence.fix_count + len(updates)
    states = RedisCheckpointStore(redis_server.url).load_states(["V001"])
    assert states["V001"].fixes_seen == len(fixes)


def test_the_fixes_a_matcher_held_back_are_matched_by_whoever_has_the_vehicle_next(
    network: RoadNetwork,
    road: RoadContext,
    trip: SimulatedTrip,
    fix_store: SqliteFixStore,
    redis_server: RedisProcess,
) -> None:
    """A's matcher holds back its last fixes when B takes the vehicle over, and B's when A gets
    it back: each fix is still matched once, in order (the last ones wait for later fixes)."""
    fixes = trip_fixes(trip)
    positions = Collector()
    (a, a_checkpoints), (b, b_checkpoints) = two_workers_on_redis(
        network, road, fix_store, redis_server.url, positions=positions
    )
    third = len(fixes) // 3
    for steps, checkpoints, part in (
        (a, a_checkpoints, fixes[:third]),
        (b, b_checkpoints, fixes[third : 2 * third]),
        (a, a_checkpoints, fixes[2 * third :]),
    ):
        for fix in part:
            run_and_commit(steps, [fix], checkpoints)
    matched = [p.fix_at for p in positions.items if isinstance(p, MatchedFix)]
    assert matched == [fix.fix_at for fix in fixes[:-MATCH_LAG]]


class StopStoreLostAtEachFirstPublish(fleet_stops.MemoryStopStore):
    """Stops whose publish fails as a lost Redis connection does, every other call: the step
    after the rules fails once for each batch."""

    calls = 0

    def publish(self, stops: Mapping[str, FleetStop | None]) -> None:
        self.calls += 1
        if self.calls % 2:
            msg = "lost"
            raise redis.ConnectionError(msg)
        super().publish(stops)


class DirectoryLockedOnce(StaticDirectory):
    """Vehicle contexts from a database that is locked at the first read."""

    is_locked = True

    def contexts_of(self, vehicle_ids: Collection[str]) -> dict[str, VehicleContext]:
        if self.is_locked:
            self.is_locked = False
            statement, locked = "SELECT", sqlite3.OperationalError("database is locked")
            raise sa_errors.OperationalError(statement, {}, locked)
        return super().contexts_of(vehicle_ids)


class WorkerRun(NamedTuple):
    """What a runner did with a fleet's fixes: its counters, the alert changes it published
    (with each alert's evidence count) and the fixes it matched, by vehicle, in order."""

    stats: runner.RunnerStats
    changes: list[tuple[str, AlertChange, int]]
    matched: list[tuple[str, datetime]]


def run_worker(
    steps_of: Callable[..., chain.Chain], fixes: list[Fix], fix_store: SqliteFixStore
) -> WorkerRun:
    """Run `fixes` through a runner on an in-process bus, three at a time."""
    bus = MemoryBus(n_shards=1)
    buffered, checkpoints = BufferedFixStore(fix_store), MemoryCheckpointStore()
    alerts, positions = Collector(), Collector()
    worker = runner.Runner(
        bus.consumer([0], name="w"), steps_of(buffered, checkpoints, alerts, positions),
        fix_store=buffered, checkpoints=checkpoints, batch_size=3, block_ms=10,
    )  # fmt: skip

    async def drain() -> None:
        await bus.publish(fixes)
        while await worker.process_next():
            pass

    asyncio.run(drain())
    events = [e for e in alerts.items if isinstance(e, AlertEvent)]
    matched = [p for p in positions.items if isinstance(p, MatchedFix)]
    return WorkerRun(
        worker.stats,
        [(e.alert.vehicle_id, e.change, e.alert.evidence.fix_count) for e in events],
        sorted(((p.vehicle_id, p.fix_at) for p in matched), key=lambda key: key[0]),
    )


@pytest.mark.parametrize("outage", ["stop store lost after the rules", "waybill store locked"])
def test_a_batch_retried_after_an_outage_goes_on_from_the_step_that_failed(
    network: RoadNetwork, road: RoadContext, trip: SimulatedTrip, tmp_path: Path, outage: str
) -> None:
    """The matchers and monitors took the batch in before the failing step: starting the batch
    over would find them past it (its fixes matched and judged never, its alerts lost)."""
    fixes = trip_fixes(trip)

    def steps_of(outages: bool) -> Callable[..., chain.Chain]:
        lost = outages and outage.startswith("stop store")
        locked = outages and outage.startswith("waybill store")
        return lambda fix_store, checkpoints, alerts, positions: build(
            network, road, fix_store, checkpoints, alerts, positions,
            stop_store=StopStoreLostAtEachFirstPublish() if lost else fleet_stops.MemoryStopStore(),
            directory_type=DirectoryLockedOnce if locked else StaticDirectory,
        )  # fmt: skip

    reference_store = SqliteFixStore(tmp_path / "reference.sqlite")
    expected = run_worker(steps_of(outages=False), fixes, reference_store)
    store = SqliteFixStore(tmp_path / "fixes.sqlite")
    run = run_worker(steps_of(outages=True), fixes, store)
    assert run.stats.counts["batch_retries"] >= 1
    assert run.stats.counts["failed"] == 0
    assert run.changes == expected.changes
    assert run.matched == expected.matched
    assert [change for _, change, _ in run.changes][:1] == [AlertChange.OPENED]
    assert store.count_fixes() == reference_store.count_fixes() == len(fixes)
    store.close()
    reference_store.close()


class PoisonedDirectory(StaticDirectory):
    """Vehicle contexts that cannot be given for one vehicle (a bug its data sets off)."""

    def contexts_of(self, vehicle_ids: Collection[str]) -> dict[str, VehicleContext]:
        if "POISON" in vehicle_ids:
            msg = "no context for POISON"
            raise ValueError(msg)
        return super().contexts_of(vehicle_ids)


def test_a_poison_fix_is_set_aside_and_the_fixes_beside_it_are_still_matched_and_judged(
    network: RoadNetwork, road: RoadContext, trip: SimulatedTrip, tmp_path: Path
) -> None:
    """Every batch holding a fix of POISON fails in the rules and is halved until those fixes
    are set aside; the halves are processed again after the matchers and monitors took them
    in once, so they go on from the vehicle's checkpoint: each V001 fix is matched once, in
    order, and its alert opens and closes as without the poison, counting the same fixes (the
    restarted matchers may put some fixes on other edges; halved batches update more often)."""
    fixes = trip_fixes(trip)
    poison = [dataclasses.replace(f, vehicle_id="POISON") for f in fixes]

    def steps_of(directory_type: type[StaticDirectory]) -> Callable[..., chain.Chain]:
        return lambda fix_store, checkpoints, alerts, positions: build(
            network, road, fix_store, checkpoints, alerts, positions,
            directory_type=directory_type,
        )  # fmt: skip

    expected = run_worker(
        steps_of(StaticDirectory), fixes, SqliteFixStore(tmp_path / "reference.sqlite")
    )
    mixed = [fix for pair in zip(fixes, poison, strict=True) for fix in pair]
    run = run_worker(steps_of(PoisonedDirectory), mixed, SqliteFixStore(tmp_path / "f.sqlite"))
    # the first POISON fixes wait in the matcher; each later one fails with the rules
    assert run.stats.counts["failed"] == len(poison) - MATCH_LAG
    assert run.matched == expected.matched

    def opened_and_closed(changes: list[tuple[str, AlertChange, int]]) -> list[object]:
        return [change for change in changes if change[1] is not AlertChange.UPDATED]

    assert opened_and_closed(run.changes) == opened_and_closed(expected.changes)
    assert [change for _, change, _ in run.changes][:1] == [AlertChange.OPENED]


class ForgettingWorker:
    """A runner on an in-process bus, checkpointing to Redis under `name`, with a manual clock:
    it forgets vehicles idle `forget_idle_s`."""

    def __init__(
        self,
        network: RoadNetwork,
        road: RoadContext,
        folder: Path,
        redis_url: str,
        *,
        name: str,
        forget_idle_s: float,
    ) -> None:
        self.bus, self.clock = MemoryBus(n_shards=1), ManualClock()
        buffered = BufferedFixStore(SqliteFixStore(folder / f"{name}.sqlite"))
        self.checkpoints = RedisCheckpointStore(redis_url, prefix=name)
        self.alerts, self.positions = Collector(), Collector()
        self.steps = build(network, road, buffered, self.checkpoints, self.alerts, self.positions)
        self.runner = runner.Runner(
            self.bus.consumer([0], name="w"), self.steps, fix_store=buffered,
            checkpoints=self.checkpoints, batch_size=3, block_ms=10,
            forget_idle_s=forget_idle_s, clock=self.clock,
        )  # fmt: skip

    async def feed(self, fixes: list[Fix]) -> None:
        """Publish fixes and process until the bus is empty."""
        await self.bus.publish(fixes)
        while await self.runner.process_next():
            pass


def test_a_vehicle_silent_too_long_is_dropped_from_memory_and_resumed_from_its_checkpoint(
    network: RoadNetwork,
    road: RoadContext,
    trip: SimulatedTrip,
    tmp_path: Path,
    redis_server: RedisProcess,
) -> None:
    """V001 falls silent with an alert open and its matcher holding fixes back; a batch of V002
    after the idle time makes the worker forget V001; when V001 reports again, its matcher and
    monitor come back from the checkpoint: every fix matched once, the alert closed as without
    the pause."""
    fixes = trip_fixes(trip)
    other = [dataclasses.replace(fix, vehicle_id="V002") for fix in fixes[:3]]
    pause_at = 2 * len(fixes) // 3

    def run_with_pause(forget_idle_s: float) -> ForgettingWorker:
        worker = ForgettingWorker(
            network, road, tmp_path, redis_server.url,
            name=f"forget{forget_idle_s}", forget_idle_s=forget_idle_s,
        )  # fmt: skip

        async def with_pause() -> None:
            await worker.feed(fixes[:pause_at])
            worker.clock.now_s += 1_200.0  # V001 is silent for 20 minutes
            await worker.feed(other)
            held = [
                step.matchers if isinstance(step, Match) else step.monitors
                for step in worker.steps
                if isinstance(step, (Match, EvaluateRules))
            ]
            held.append(worker.checkpoints.committed)
            assert ["V001" in vehicles for vehicles in held] == [math.isinf(forget_idle_s)] * 3
            await worker.feed(fixes[pause_at:])

        asyncio.run(with_pause())
        return worker

    worker = run_with_pause(forget_idle_s=600.0)
    assert worker.runner.stats.counts["vehicles_forgotten"] == 1
    expected = run_with_pause(forget_idle_s=math.inf)

    def matched_of_v001(items: list[object]) -> list[datetime]:
        return [p.fix_at for p in items if isinstance(p, MatchedFix) and p.vehicle_id == "V001"]

    def changes_of_v001(items: list[object]) -> list[tuple[AlertChange, int]]:
        return [
            (e.change, e.alert.evidence.fix_count)
            for e in items
            if isinstance(e, AlertEvent) and e.alert.vehicle_id == "V001"
        ]

    assert matched_of_v001(worker.positions.items) == [fix.fix_at for fix in fixes[:-MATCH_LAG]]
    assert changes_of_v001(worker.alerts.items) == changes_of_v001(expected.alerts.items)
    assert changes_of_v001(worker.alerts.items)[-1][0] is AlertChange.CLOSED


def test_a_vehicle_back_from_a_long_silence_is_not_forgotten_at_the_commit_after_its_batch(
    network: RoadNetwork,
    road: RoadContext,
    trip: SimulatedTrip,
    tmp_path: Path,
    redis_server: RedisProcess,
) -> None:
    """No batch comes while V001 is silent, so no sweep drops it meanwhile; the sweep that
    runs when its first batch back is committed must not drop it either (its matcher would
    start a new chain, its monitor be read back): it reported, it is not idle."""
    fixes = trip_fixes(trip)
    pause_at = len(fixes) // 2
    worker = ForgettingWorker(
        network, road, tmp_path, redis_server.url, name="back", forget_idle_s=600.0
    )
    (matching,) = (step for step in worker.steps if isinstance(step, Match))

    async def with_pause() -> None:
        await worker.feed(fixes[:pause_at])
        matcher = matching.matchers["V001"]
        worker.clock.now_s += 1_200.0
        await worker.feed(fixes[pause_at:])
        assert matching.matchers["V001"] is matcher

    asyncio.run(with_pause())
    assert worker.runner.stats.counts["vehicles_forgotten"] == 0
