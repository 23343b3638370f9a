"""The per-vehicle monitor: runs every rule over a matched stream and yields alert changes.

No I/O: the caller (pipeline step or offline check) feeds `MatchedFix` values in time order and
stores what comes out; `Monitor.state` is the checkpoint. A fix older than the last one is
counted and ignored; a back-filled fix advances the rules' clocks but raises no live alert.
"""

from __future__ import annotations

import logging
import operator
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from transport.alerts import lifecycle
from transport.matched import MatchedFix
from transport.rules import RULES
from transport.rules.base import VehicleFixes, locate, locate_fleet, step_each
from transport.rules.params import RuleParams, default_params

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from transport.alerts.lifecycle import AlertEvent
    from transport.rules.base import (
        FixBatch,
        RoadContext,
        RuleEvent,
        RuleSpec,
        Stepped,
        VehicleContext,
    )
    from transport.rules.fleet_view import FleetView

__all__ = ["MatchedFix", "Monitor", "MonitorState", "process_fleet"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class MonitorState:
    """Everything a monitor carries from one fix to the next (the checkpoint)."""

    rule_states: tuple[Any, ...]
    alerts: lifecycle.LifecycleState = field(default_factory=lifecycle.LifecycleState)
    last_fix: MatchedFix | None = None


class Monitor:
    """Run the rules for one vehicle.

    Parameters
    ----------
    vehicle
        Vehicle, cargo, waybill and approved corridor.
    road
        Network facts and compiled restrictions.
    params
        Rule thresholds.
    alert_params
        Lifecycle hysteresis.
    rules
        The rules to run; `transport.rules.RULES` by default.
    """

    def __init__(
        self,
        vehicle: VehicleContext,
        road: RoadContext,
        *,
        params: RuleParams | None = None,
        alert_params: lifecycle.LifecycleParams | None = None,
        rules: tuple[RuleSpec[Any], ...] = RULES,
        state: MonitorState | None = None,
    ) -> None:
        self.vehicle = vehicle
        self.road = road
        self.params = params or default_params()
        self.alert_params = alert_params or lifecycle.LifecycleParams()
        self.rules = rules
        self.titles = {rule.rule_id: rule.title for rule in rules}
        fresh = tuple(rule.initial_state() for rule in rules)
        if state is not None and len(state.rule_states) != len(rules):
            # A checkpoint written with another set of rules (rules were added): the clocks
            # cannot be paired with their rules, so they start again; open alerts are kept.
            logger.warning("checkpoint of %s holds %d rule states for %d rules; clocks restart",
                           vehicle.vehicle_id, len(state.rule_states), len(rules))  # fmt: skip
            state = MonitorState(fresh, state.alerts, state.last_fix)
        self.state = state or MonitorState(fresh)
        self.ignored: Counter[str] = Counter()

    def process(self, fix: MatchedFix) -> tuple[AlertEvent, ...]:
        """Run every rule on one fix; return the alerts opened, updated or closed by it."""
        return tuple(self.process_many((fix,)))

    def process_many(
        self, fixes: Sequence[MatchedFix], *, fleet: FleetView | None = None
    ) -> list[AlertEvent]:
        """Run every rule on a batch of this vehicle's fixes; return every change in order.

        The openings, closings and state of `process` fix by fix, with each alert's updates
        coalesced into one for the batch (`lifecycle.step_many`): locating is one bulk query
        for the batch, the rules step over it vectorised, and the lifecycle runs only at fixes
        with a condition present or an alert being followed. `fleet` is the snapshot of the
        other vehicles' stops the fleet-level parking rules read (none without it).
        """
        kept = self.accept(fixes)
        if not kept:
            return []
        return self.process_located(
            locate(
                kept,
                self.state.last_fix,
                self.vehicle,
                self.road,
                time_zone=self.params.time_zone,
                fleet=fleet,
            )
        )

    def accept(self, fixes: Sequence[MatchedFix]) -> tuple[MatchedFix, ...]:
        """Keep this vehicle's fixes newer than every earlier one; count the others."""
        last = self.state.last_fix
        last_at = None if last is None else last.fix_at
        kept = []
        for fix in fixes:
            if fix.vehicle_id != self.vehicle.vehicle_id:
                self.ignored["other_vehicle"] += 1
            elif last_at is not None and fix.fix_at <= last_at:
                self.ignored["out_of_order"] += 1
            else:
                kept.append(fix)
                last_at = fix.fix_at
        return tuple(kept)

    def process_located(self, batch: FixBatch) -> list[AlertEvent]:
        """Run every rule on accepted fixes located after this monitor's last fix (by `locate`,
        or `locate_fleet` for many vehicles at once); return every change in order."""
        stepped = [
            rule.step(rule_state, batch, self.params)
            for rule, rule_state in zip(self.rules, self.state.rule_states, strict=True)
        ]
        return self.conclude(batch, stepped)

    def conclude(self, batch: FixBatch, stepped: Sequence[Stepped[Any]]) -> list[AlertEvent]:
        """Take each rule's new state and events for a located batch (in the order of
        `rules`); run the alert lifecycle over the events; return every change in order."""
        states = [new_state for new_state, _ in stepped]
        found = [event for _, rule_events in stepped for event in rule_events]
        found.sort(key=operator.itemgetter(0))  # stable: rule order within a fix
        fixes = batch.fixes
        live = fixes
        if any(fix.is_backfill for fix in fixes):
            live, found = _live_only(fixes, found)
        alerts, changes = lifecycle.step_located(
            self.state.alerts,
            live,
            found,
            self.alert_params,
            titles=self.titles,
            waybill_id=self.vehicle.waybill_id,
        )
        self.state = MonitorState(tuple(states), alerts, fixes[-1])
        return list(changes)

    def process_all(self, fixes: Iterable[MatchedFix]) -> list[AlertEvent]:
        """Run a whole track; return every change in order."""
        return self.process_many(tuple(fixes))

    def finish(self) -> tuple[AlertEvent, ...]:
        """Close every open alert (end of the trip or of an offline track)."""
        alerts, changes = lifecycle.close_all(self.state.alerts)
        self.state = MonitorState(self.state.rule_states, alerts, self.state.last_fix)
        return changes


def _live_only(
    fixes: Sequence[MatchedFix], found: list[tuple[int, RuleEvent]]
) -> tuple[tuple[MatchedFix, ...], list[tuple[int, RuleEvent]]]:
    """The live fixes and their events at their positions among them: back-filled fixes
    advance the rules' clocks but raise no live alert."""
    kept = [pos for pos, fix in enumerate(fixes) if not fix.is_backfill]
    live_pos = {pos: k for k, pos in enumerate(kept)}
    return (
        tuple(fixes[pos] for pos in kept),
        [(live_pos[pos], event) for pos, event in found if pos in live_pos],
    )


def process_fleet(
    monitors: Mapping[str, Monitor],
    fixes: Iterable[MatchedFix],
    *,
    fleet: FleetView | None = None,
) -> dict[str, list[AlertEvent]]:
    """Run a batch of many vehicles' fixes through their monitors, as `Monitor.process_many`
    vehicle by vehicle, with the fixes of all of them located at once (`locate_fleet`).

    The monitors share one road, one set of rules and one set of rule parameters; each rule
    steps all the vehicles at once (`step_each`). Each vehicle's fixes keep their order; fixes
    of a vehicle without a monitor are skipped (the caller owns the monitors and counts those).
    Returns the changes by vehicle id.
    """
    by_vehicle: dict[str, list[MatchedFix]] = {}
    for fix in fixes:
        if fix.vehicle_id in monitors:
            by_vehicle.setdefault(fix.vehicle_id, []).append(fix)
    accepted = {
        vehicle_id: monitors[vehicle_id].accept(batch) for vehicle_id, batch in by_vehicle.items()
    }
    parts = {vehicle_id: kept for vehicle_id, kept in accepted.items() if kept}
    changes: dict[str, list[AlertEvent]] = {vehicle_id: [] for vehicle_id in by_vehicle}
    if not parts:
        return changes
    first = monitors[next(iter(parts))]
    batches = locate_fleet(
        [
            VehicleFixes(kept, monitors[vehicle_id].state.last_fix, monitors[vehicle_id].vehicle)
            for vehicle_id, kept in parts.items()
        ],
        first.road,
        time_zone=first.params.time_zone,
        fleet=fleet,
    )
    located = [monitors[vehicle_id] for vehicle_id in parts]
    if any(m.rules is not first.rules or m.params is not first.params for m in located):
        msg = "the monitors of a fleet must share their rules and rule parameters"
        raise ValueError(msg)
    by_rule = [
        step_each(rule, [m.state.rule_states[k] for m in located], batches, first.params)
        for k, rule in enumerate(first.rules)
    ]
    for j, (vehicle_id, monitor) in enumerate(zip(parts, located, strict=True)):
        changes[vehicle_id] = monitor.conclude(batches[j], [stepped[j] for stepped in by_rule])
    return changes
