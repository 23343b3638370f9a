"""Step `match_backfill`: match late back-fill fixes in their own pass, apart from the live stream.

A terminal that was offline uploads the positions it stored (0x0704 type 1) after it has
already reported live ones; those fixes are older than the vehicle's live stream. Pushing them
into the vehicle's online matcher would reorder its chain, so each vehicle's late fixes in a
batch are matched together, in time order, by the batch matcher (`match_track`). They come out
flagged `is_backfill` in `Batch.backfill_matched`: stored and shown on the track, never given to
the rules, so they raise no live alert.
"""

from __future__ import annotations

import collections
import dataclasses
from typing import TYPE_CHECKING

import numpy as np

from geodata.matching.matcher import match_track
from transport.matched import MatchedFix

if TYPE_CHECKING:
    from geodata.matching.matcher import MatchParams
    from geodata.network import RoadNetwork
    from transport.fixes import Fix
    from transport.pipeline.batch import Batch

__all__ = ["MatchBackfill"]


class MatchBackfill:
    """Match each vehicle's late back-fill fixes of a batch as one track."""

    def __init__(self, network: RoadNetwork, params: MatchParams) -> None:
        self.network = network
        self.params = params

    def __call__(self, batch: Batch) -> Batch:
        """Return the batch with its late fixes matched in `backfill_matched`."""
        late: dict[str, list[Fix]] = collections.defaultdict(list)
        for fix in batch.fixes:
            if batch.is_late(fix):
                late[fix.vehicle_id].append(fix)
        if not late:
            return batch
        matched = [m for fixes in late.values() for m in self._match_track(fixes)]
        return dataclasses.replace(batch, backfill_matched=batch.backfill_matched + tuple(matched))

    def _match_track(self, fixes: list[Fix]) -> list[MatchedFix]:
        """Match one vehicle's late fixes (time order) as a track of their own."""
        fixes = sorted(fixes, key=lambda fix: fix.fix_at)
        xs, ys = self.network.from_lonlat.transform(
            [fix.lon for fix in fixes], [fix.lat for fix in fixes]
        )
        t = np.array([fix.fix_at.timestamp() for fix in fixes])
        result = match_track(self.network, xs, ys, t, params=self.params)
        edge_ids, offsets = result.edge_id.tolist(), result.offset_m.tolist()
        return [
            MatchedFix(
                vehicle_id=fix.vehicle_id,
                fix_at=fix.fix_at,
                x=float(x),
                y=float(y),
                lon=fix.lon,
                lat=fix.lat,
                speed_kmh=fix.speed_kmh,
                edge_id=edge_ids[i],
                offset_m=offsets[i],
                path_edge_ids=tuple(result.path_of(i).tolist()),
                alarm_bits=fix.alarm_bits,
                is_backfill=True,
                heading_deg=fix.heading_deg,
            )
            for i, (fix, x, y) in enumerate(zip(fixes, xs, ys, strict=True))
        ]
