"""The order of the worker's steps: reading this tuple is reading the data flow.

With monitoring set up, the fixes are matched (late back-fill in a pass of its own) and the
rules run before the state advances, and the results are published once the fixes are stored;
without it those steps are absent. With a stop store the rules also read the fleet's current
stops (refreshed before them) and the batch's vehicles' stops are shared after them. The rules
read each vehicle's context from the `VehicleDirectory` (the waybill store in production,
`store_directory.StoreDirectory`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from transport.pipeline.steps import (
    advance_state,
    deduplicate,
    evaluate_rules,
    match,
    match_backfill,
    order,
    publish,
    publish_stops,
    refresh_fleet,
    store,
)

if TYPE_CHECKING:
    from collections.abc import Collection

    from geodata.matching.matcher import MatchParams
    from geodata.network import RoadNetwork
    from transport.pipeline.batch import Batch
    from transport.pipeline.checkpoint import CheckpointStore
    from transport.pipeline.context import VehicleDirectory
    from transport.pipeline.fix_store import FixStore
    from transport.pipeline.fleet_stops import StopStore
    from transport.rules.base import RoadContext
    from transport.rules.params import RuleParams

__all__ = ["Chain", "HoldsVehicles", "MonitoringSetup", "Step", "build_chain"]


class Step(Protocol):
    """One processing step: takes a batch, returns it, explains every fix it drops."""

    def __call__(self, batch: Batch) -> Batch:
        """Process a batch."""
        ...


Chain = tuple[Step, ...]


@runtime_checkable
class HoldsVehicles(Protocol):
    """A step (or checkpoint store) that keeps per-vehicle state in memory beside the
    checkpoint, and can drop it: a vehicle it forgot is rebuilt from its checkpoint."""

    def forget_vehicles(self, vehicle_ids: Collection[str]) -> None:
        """Drop what is held for these vehicles."""
        ...


@dataclass(frozen=True)
class MonitoringSetup:
    """What matching and the rules need: the network, its compiled restrictions, the vehicles,
    and where alerts and matched positions go; where the vehicles' current stops are shared (for
    the fleet-level parking rules; without, they raise nothing), and how long a snapshot of
    them may be reused (`refresh_fleet.RefreshFleet`)."""

    network: RoadNetwork
    road: RoadContext
    directory: VehicleDirectory
    match_params: MatchParams
    alert_sinks: tuple[publish.AlertSink, ...] = ()
    position_sinks: tuple[publish.PositionSink, ...] = ()
    rule_params: RuleParams | None = None
    stop_store: StopStore | None = None
    fleet_view_max_age_s: float = 0.0


def build_chain(
    *,
    fix_store: FixStore,
    checkpoints: CheckpointStore,
    monitoring: MonitoringSetup | None = None,
) -> Chain:
    """Return the steps a worker runs on every batch, in order."""
    matching: Chain = ()
    publishing: Chain = ()
    if monitoring is not None:
        rules = evaluate_rules.EvaluateRules(
            monitoring.road, monitoring.directory, params=monitoring.rule_params
        )
        fleet_before: Chain = ()
        fleet_after: Chain = ()
        if monitoring.stop_store is not None:
            fleet_before = (
                refresh_fleet.RefreshFleet(
                    monitoring.stop_store, max_view_age_s=monitoring.fleet_view_max_age_s
                ),
            )
            fleet_after = (
                publish_stops.PublishStops(monitoring.stop_store, monitoring.road, rules.monitors),
            )
        matching = (
            match.Match(monitoring.network, monitoring.match_params),
            match_backfill.MatchBackfill(monitoring.network, monitoring.match_params),
            *fleet_before,
            rules,
            *fleet_after,
        )
        publishing = (
            publish.Publish(
                alert_sinks=monitoring.alert_sinks, position_sinks=monitoring.position_sinks
            ),
        )
    return (
        deduplicate.Deduplicate(fix_store),
        order.Order(),
        *matching,
        advance_state.AdvanceState(),
        store.Store(fix_store, checkpoints),
        *publishing,
    )
