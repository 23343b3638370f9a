"""Step `evaluate_rules`: run every rule and the alert lifecycle over the matched fixes.

One `Monitor` per vehicle lives in the worker; its state is put in the vehicle's checkpoint
(`VehicleState.monitor["rules"]`, written with it when the checkpoint is committed) so that a
worker taking the vehicle over resumes its clocks and open alerts instead of starting them
again. The contexts (cargo, waybill,
corridor) of the batch's vehicles are asked of the directory at once per batch, so a changed
waybill reaches the rules.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from transport.monitoring import Monitor, MonitorState, process_fleet

if TYPE_CHECKING:
    from collections.abc import Collection

    from transport.alerts.lifecycle import LifecycleParams
    from transport.pipeline.batch import Batch, VehicleState
    from transport.pipeline.context import VehicleDirectory
    from transport.rules.base import RoadContext, VehicleContext
    from transport.rules.params import RuleParams

__all__ = ["EvaluateRules", "MonitorCheckpoint"]

CHECKPOINT_KEY = "rules"


class EvaluateRules:
    """Feed matched fixes to per-vehicle monitors; collect the alert changes."""

    def __init__(
        self,
        road: RoadContext,
        directory: VehicleDirectory,
        *,
        params: RuleParams | None = None,
        alert_params: LifecycleParams | None = None,
    ) -> None:
        self.road = road
        self.directory = directory
        self.params = params
        self.alert_params = alert_params
        self.monitors: dict[str, Monitor] = {}

    def __call__(self, batch: Batch) -> Batch:
        """Return the batch with its alert changes and the monitors' states checkpointed."""
        touched = dict.fromkeys(fix.vehicle_id for fix in batch.matched)
        contexts = self.directory.contexts_of(touched.keys())
        monitors = {
            vehicle_id: self._monitor(contexts[vehicle_id], batch.state_of(vehicle_id))
            for vehicle_id in touched
        }
        changes = process_fleet(monitors, batch.matched, fleet=batch.fleet)
        events = [event for vehicle_changes in changes.values() for event in vehicle_changes]
        saved = {v: MonitorCheckpoint(self.monitors[v].state) for v in touched}
        states = batch.states_with(CHECKPOINT_KEY, saved)
        return dataclasses.replace(
            batch, states=states, alert_events=batch.alert_events + tuple(events)
        )

    def forget_vehicles(self, vehicle_ids: Collection[str]) -> None:
        """Drop these vehicles' monitors: their checkpoints resume them (`_monitor`)."""
        for vehicle_id in vehicle_ids:
            self.monitors.pop(vehicle_id, None)

    def _monitor(self, context: VehicleContext, state: VehicleState | None) -> Monitor:
        """The vehicle's monitor with its current context, resumed from its checkpoint unless
        the checkpoint holds the monitor's own current state.

        A checkpoint holding another state was written by another worker, which had the vehicle
        while this one had lost its shard's lease: the monitor goes on from that checkpoint, as
        the vehicle's fixes do (`RedisCheckpointStore` reads a state written elsewhere)."""
        vehicle_id = context.vehicle_id
        monitor = self.monitors.get(vehicle_id)
        saved = state.monitor.get(CHECKPOINT_KEY) if state else None
        if monitor is None:
            monitor = Monitor(
                context,
                self.road,
                params=self.params,
                alert_params=self.alert_params,
                state=_resumed(saved),
            )
            self.monitors[vehicle_id] = monitor
            return monitor
        if monitor.vehicle is not context:
            monitor.vehicle = context  # the trip changed: same clocks, new cargo or corridor
        if saved is not None and not (
            isinstance(saved, MonitorCheckpoint) and saved.state is monitor.state
        ):
            monitor.state = _resumed(saved) or monitor.state
        return monitor


class MonitorCheckpoint:
    """A monitor's state in a vehicle's checkpoint, as this process holds it: the checkpoint
    written holds the state itself (`checkpoint_value`), and so does a checkpoint read back."""

    __slots__ = ("state",)

    def __init__(self, state: MonitorState) -> None:
        self.state = state

    def checkpoint_value(self) -> MonitorState:
        """The state, as the checkpoint holds it."""
        return self.state


def _resumed(saved: MonitorCheckpoint | MonitorState | None) -> MonitorState | None:
    """The monitor state a checkpoint holds: as held in this process, or as read back."""
    return saved.state if isinstance(saved, MonitorCheckpoint) else saved
