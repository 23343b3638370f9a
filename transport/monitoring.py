"""The per-vehicle monitor: runs every rule over a matched stream and yields alert changes.

No I/O: the caller (pipeline step or offline check) feeds `MatchedFix` values in time order and
stores what comes out; `Monitor.state` is the checkpoint. A fix older than the last one is
counted and ignored; a back-filled fix advances the rules' clocks but raises no live alert.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from transport.alerts import lifecycle
from transport.matched import MatchedFix
from transport.rules import RULES
from transport.rules.base import locate
from transport.rules.params import RuleParams

if TYPE_CHECKING:
    from collections.abc import Iterable

    from transport.alerts.lifecycle import AlertEvent
    from transport.rules.base import RoadContext, RuleEvent, RuleSpec, VehicleContext

__all__ = ["MatchedFix", "Monitor", "MonitorState"]

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
        self.params = params or RuleParams()
        self.alert_params = alert_params or lifecycle.LifecycleParams()
        self.rules = rules
        self.titles = {rule.rule_id: rule.title for rule in rules}
        self.state = state or MonitorState(tuple(rule.initial_state() for rule in rules))
        self.ignored: Counter[str] = Counter()

    def process(self, fix: MatchedFix) -> tuple[AlertEvent, ...]:
        """Run every rule on one fix; return the alerts opened, updated or closed by it."""
        last = self.state.last_fix
        if fix.vehicle_id != self.vehicle.vehicle_id:
            self.ignored["other_vehicle"] += 1
            return ()
        if last is not None and fix.fix_at <= last.fix_at:
            self.ignored["out_of_order"] += 1
            return ()
        obs = locate(fix, last, self.vehicle, self.road)
        states: list[Any] = []
        events: list[RuleEvent] = []
        for rule, rule_state in zip(self.rules, self.state.rule_states, strict=True):
            new_state, rule_events = rule.step(rule_state, obs, self.params)
            states.append(new_state)
            events.extend(rule_events)
        alerts = self.state.alerts
        changes: tuple[AlertEvent, ...] = ()
        if not fix.is_backfill:
            alerts, changes = lifecycle.step(
                alerts,
                fix,
                tuple(events),
                self.alert_params,
                titles=self.titles,
                waybill_id=self.vehicle.waybill_id,
            )
        self.state = MonitorState(tuple(states), alerts, fix)
        return changes

    def process_all(self, fixes: Iterable[MatchedFix]) -> list[AlertEvent]:
        """Run a whole track; return every change in order."""
        return [change for fix in fixes for change in self.process(fix)]

    def finish(self) -> tuple[AlertEvent, ...]:
        """Close every open alert (end of the trip or of an offline track)."""
        alerts, changes = lifecycle.close_all(self.state.alerts)
        self.state = MonitorState(self.state.rule_states, alerts, self.state.last_fix)
        return changes
