"""Step `publish_stops`: share the current stop of each vehicle of the batch after the rules ran.

Reads the stop the vehicle's monitor follows (through the monitors of `evaluate_rules`, handed
over when the chain is built) and writes it to the shared stop store, or withdraws it when the
vehicle moves on, so that the other workers' vehicles see it from their next batch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from transport.pipeline import fleet_stops
from transport.rules.params import RuleParams

if TYPE_CHECKING:
    from collections.abc import Mapping

    from transport.monitoring import Monitor
    from transport.pipeline.batch import Batch
    from transport.rules.base import RoadContext

__all__ = ["PublishStops"]


class PublishStops:
    """Write the batch's vehicles' stops to the stop store."""

    def __init__(
        self,
        stops: fleet_stops.StopStore,
        road: RoadContext,
        monitors: Mapping[str, Monitor],
        *,
        params: RuleParams | None = None,
    ) -> None:
        self.stops = stops
        self.road = road
        self.monitors = monitors
        self.params = params or RuleParams()

    def __call__(self, batch: Batch) -> Batch:
        """Publish; return the batch unchanged."""
        vehicle_ids = list(dict.fromkeys(fix.vehicle_id for fix in batch.matched))
        if vehicle_ids:
            self.stops.publish(
                fleet_stops.current_stops(self.monitors, vehicle_ids, self.road, self.params)
            )
        return batch
