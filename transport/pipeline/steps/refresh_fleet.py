"""Step `refresh_fleet`: read every vehicle's current stop before the rules run.

The snapshot (`FleetView`, one STRtree) is read from the shared stop store as of the batch's
newest fix, and rides on the batch for the fleet-level parking rules. Reading it costs time in
proportion to the whole fleet's stops (every stop is parsed and indexed, and the waiting groups
are linked once per snapshot), so a worker reads it once per batch by default, or again only
once `max_view_age_s` passed on the clock or in fix time: a worker reading many small live
batches shares one snapshot among them, while one draining a backlog (fix time running ahead
of the clock) still reads it for nearly every batch. A batch sees the stops published before
its snapshot was read (its own vehicles' stops one batch late, or up to `max_view_age_s`
late); the rules still judge each stop's age at each fix's own time.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from transport.pipeline.batch import Batch
    from transport.pipeline.fleet_stops import StopStore
    from transport.rules.fleet_view import FleetView

__all__ = ["RefreshFleet"]


class RefreshFleet:
    """Attach the fleet's current stops to the batch, read again once `max_view_age_s` passed
    on `clock` (monotonic seconds) or between fix times (0: for every batch)."""

    def __init__(
        self,
        stops: StopStore,
        *,
        max_view_age_s: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stops = stops
        self.max_view_age_s = max_view_age_s
        self.clock = clock
        self._view: FleetView | None = None
        self._read_at = -math.inf  # never: the first batch reads
        self._view_at = dt.datetime.min.replace(tzinfo=dt.UTC)

    def __call__(self, batch: Batch) -> Batch:
        """Return the batch with its fleet view (unchanged when it has no matched fix)."""
        if not batch.matched:
            return batch
        now, newest = self.clock(), max(fix.fix_at for fix in batch.matched)
        if (
            now - self._read_at >= self.max_view_age_s
            or (newest - self._view_at).total_seconds() >= self.max_view_age_s
        ):
            self._view, self._read_at, self._view_at = self.stops.view(at=newest), now, newest
        return dataclasses.replace(batch, fleet=self._view)
