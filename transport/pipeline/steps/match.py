"""Step `match`: put each vehicle's fixes on the road network with its online matcher.

One `OnlineMatcher` per vehicle lives in the worker; a vehicle new to this worker (first fix, or
taken over from a dead worker) starts a fresh chain, which the matcher marks as a break.
Back-filled fixes older than the vehicle's matched stream go through unmatched (edge -1), so
they are kept and stored but never reorder the live stream.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from geodata.matching.online import OnlineMatcher
from transport.matched import MatchedFix

if TYPE_CHECKING:
    from geodata.matching.matcher import MatchParams
    from geodata.matching.result import MatchedPoint
    from geodata.network import RoadNetwork
    from transport.fixes import Fix
    from transport.pipeline.batch import Batch

__all__ = ["Match"]


class Match:
    """Feed fixes to per-vehicle online matchers; collect the matched fixes they decide."""

    def __init__(self, network: RoadNetwork, params: MatchParams) -> None:
        self.network = network
        self.params = params
        self.matchers: dict[str, OnlineMatcher] = {}
        self.waiting: dict[str, dict[int, tuple[Fix, float, float]]] = {}

    def __call__(self, batch: Batch) -> Batch:
        """Return the batch with the fixes decided during it in `matched`."""
        if not batch.fixes:
            return batch
        lon = [fix.lon for fix in batch.fixes]
        lat = [fix.lat for fix in batch.fixes]
        xs, ys = self.network.from_lonlat.transform(lon, lat)
        matched: list[MatchedFix] = []
        for fix, x, y in zip(batch.fixes, xs, ys, strict=True):
            matched.extend(self._push(fix, float(x), float(y)))
        return dataclasses.replace(batch, matched=batch.matched + tuple(matched))

    def flush(self, batch: Batch) -> Batch:
        """Decide every fix still held back (end of a replay); the next fix starts a chain."""
        matched = [
            _matched_fix(*self.waiting[vehicle_id].pop(point.seq), point)
            for vehicle_id, matcher in self.matchers.items()
            for point in matcher.flush()
        ]
        return dataclasses.replace(batch, matched=batch.matched + tuple(matched))

    def _push(self, fix: Fix, x: float, y: float) -> list[MatchedFix]:
        """Push one fix to its vehicle's matcher; return the fixes it decided."""
        matcher = self.matchers.get(fix.vehicle_id)
        if matcher is None:
            matcher = self.matchers[fix.vehicle_id] = OnlineMatcher(self.network, self.params)
            self.waiting[fix.vehicle_id] = {}
        waiting = self.waiting[fix.vehicle_id]
        waiting[matcher.pushed] = (fix, x, y)
        points = matcher.push(x, y, fix.fix_at.timestamp())
        return [_matched_fix(*waiting.pop(point.seq), point) for point in points]


def _matched_fix(fix: Fix, x: float, y: float, point: MatchedPoint) -> MatchedFix:
    """Combine a fix with what the matcher decided for it."""
    return MatchedFix(
        vehicle_id=fix.vehicle_id,
        fix_at=fix.fix_at,
        x=x,
        y=y,
        lon=fix.lon,
        lat=fix.lat,
        speed_kmh=fix.speed_kmh,
        edge_id=point.edge_id,
        offset_m=point.offset_m,
        path_edge_ids=point.path_edge_ids,
        alarm_bits=fix.alarm_bits,
        is_backfill=fix.is_backfill,
    )
