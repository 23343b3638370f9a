"""Step `refresh_fleet`: read every vehicle's current stop before the rules run.

The snapshot (`FleetView`, one STRtree) is read from the shared stop store once per batch, as
of the batch's newest fix, and rides on the batch for the fleet-level parking rules. A batch
sees the stops published after the batches before it (its own vehicles' stops one batch late).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from transport.pipeline.batch import Batch
    from transport.pipeline.fleet_stops import StopStore

__all__ = ["RefreshFleet"]


class RefreshFleet:
    """Attach the fleet's current stops to the batch."""

    def __init__(self, stops: StopStore) -> None:
        self.stops = stops

    def __call__(self, batch: Batch) -> Batch:
        """Return the batch with its fleet view (unchanged when it has no matched fix)."""
        if not batch.matched:
            return batch
        newest = max(fix.fix_at for fix in batch.matched)
        return dataclasses.replace(batch, fleet=self.stops.view(at=newest))
