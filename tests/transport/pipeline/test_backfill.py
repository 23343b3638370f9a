"""Back-fill (0x0704 type 1) older than the live stream: stored, matched in its own pass, silent.

And a changed vehicle context (new waybill) reaches the running monitor.
"""

from __future__ import annotations

import dataclasses

from geodata.network import RoadNetwork
from tests.transport.pipeline.test_monitoring_steps import Collector, build, run
from transport.alerts.lifecycle import AlertChange, AlertEvent
from transport.matched import MatchedFix
from transport.pipeline import chain
from transport.pipeline.checkpoint import MemoryCheckpointStore
from transport.pipeline.fix_store import SqliteFixStore
from transport.pipeline.steps import evaluate_rules, match, match_backfill
from transport.rules import forbidden
from transport.rules.base import RoadContext, VehicleContext
from transport.simulation import SimulatedTrip, trip_fixes


def _step(steps: chain.Chain, kind: type) -> object:
    return next(step for step in steps if isinstance(step, kind))


def test_chain_matches_backfill_right_after_the_live_matcher(
    network: RoadNetwork, road: RoadContext, fix_store: SqliteFixStore
) -> None:
    steps = build(network, road, fix_store, MemoryCheckpointStore(), Collector(), Collector())
    names = [type(s).__name__ for s in steps]
    assert names[names.index("Match") + 1] == "MatchBackfill"


def test_late_backfill_is_stored_matched_in_order_and_raises_no_alert(
    network: RoadNetwork, road: RoadContext, trip: SimulatedTrip, fix_store: SqliteFixStore
) -> None:
    fixes = trip_fixes(trip)
    # The terminal was offline over the middle of the trip (the no-entry zone): it reports
    # live before and after the gap, then uploads the gap as back-fill.
    third = len(fixes) // 3
    live = fixes[:third] + fixes[2 * third :]
    gap = [dataclasses.replace(f, is_backfill=True) for f in fixes[third : 2 * third]]
    alerts, positions = Collector(), Collector()
    checkpoints = MemoryCheckpointStore()
    steps = build(network, road, fix_store, checkpoints, alerts, positions)
    for start in range(0, len(live), 7):
        run(steps, live[start : start + 7], checkpoints)
    live_matcher = _step(steps, match.Match)
    assert isinstance(live_matcher, match.Match)
    pushed_before = live_matcher.matchers["V001"].pushed
    alerts_before = list(alerts.items)
    batch = run(steps, list(reversed(gap)), checkpoints)  # sent newest first: order restores it
    assert live_matcher.matchers["V001"].pushed == pushed_before  # live stream untouched
    assert [f.fix_at for f in batch.backfill_matched] == [f.fix_at for f in gap]
    assert [f.heading_deg for f in batch.backfill_matched] == [f.heading_deg for f in gap]
    assert all(f.is_backfill for f in batch.backfill_matched)
    assert sum(f.is_matched for f in batch.backfill_matched) >= 0.9 * len(gap)
    assert batch.alert_events == ()
    assert alerts.items == alerts_before  # the zone crossed while offline: no live alert
    stored = [p for p in positions.items if isinstance(p, MatchedFix) and p.is_backfill]
    assert len(stored) == len(gap)  # handed to the position sinks (track store)
    assert fix_store.count_fixes() == len(fixes)
    assert all(f.is_backfill for f in fix_store.read_fixes("V001")[third : 2 * third])


def test_backfill_newer_than_the_stream_goes_through_the_live_matcher(
    network: RoadNetwork, road: RoadContext, trip: SimulatedTrip, fix_store: SqliteFixStore
) -> None:
    fixes = [dataclasses.replace(f, is_backfill=True) for f in trip_fixes(trip)[:20]]
    checkpoints = MemoryCheckpointStore()
    steps = build(network, road, fix_store, checkpoints, Collector(), Collector())
    batch = run(steps, fixes, checkpoints)
    assert batch.backfill_matched == ()
    assert len(batch.matched) == len(fixes) - 2  # the matcher's lag
    headings = {f.fix_at: f.heading_deg for f in fixes}
    assert [f.heading_deg for f in batch.matched] == [headings[f.fix_at] for f in batch.matched]
    assert len(set(headings.values())) > 1


def test_a_new_waybill_reaches_the_running_monitor(
    network: RoadNetwork, road: RoadContext, trip: SimulatedTrip, fix_store: SqliteFixStore
) -> None:
    alerts = Collector()
    checkpoints = MemoryCheckpointStore()
    steps = build(network, road, fix_store, checkpoints, alerts, Collector())
    rules = _step(steps, evaluate_rules.EvaluateRules)
    assert isinstance(rules, evaluate_rules.EvaluateRules)
    directory = rules.directory
    fixes = trip_fixes(trip)
    run(steps, fixes[:4], checkpoints)
    assert rules.monitors["V001"].vehicle.waybill_id == "W1"
    loaded = directory.contexts_of(["V001"])["V001"]
    directory.contexts["V001"] = VehicleContext("V001", cargo=loaded.cargo, waybill_id="W2")  # type: ignore[attr-defined]
    for start in range(4, len(fixes), 7):
        run(steps, fixes[start : start + 7], checkpoints)
    assert rules.monitors["V001"].vehicle.waybill_id == "W2"
    opened = [
        e for e in alerts.items if isinstance(e, AlertEvent) and e.change is AlertChange.OPENED
    ]
    assert [(e.alert.rule_id, e.alert.waybill_id) for e in opened] == [(forbidden.RULE_ID, "W2")]
    assert isinstance(_step(steps, match_backfill.MatchBackfill), match_backfill.MatchBackfill)
