"""Step `deduplicate`: a (vehicle, fix time) already processed changes nothing.

Delivery is at least once, so the same fix can come back (a worker died before acknowledging,
a terminal re-sent after a lost reply). The vehicle's checkpointed state lists its latest fix
times; older ones, and every fix of a vehicle without state, are looked up in the fix store.
"""

from __future__ import annotations

import collections
import dataclasses
from typing import TYPE_CHECKING

from transport.pipeline.batch import Batch, epoch_us

if TYPE_CHECKING:
    from transport.fixes import Fix
    from transport.pipeline.fix_store import FixStore

__all__ = ["DUPLICATE", "Deduplicate"]

DUPLICATE = "duplicate"


class Deduplicate:
    """Drop fixes whose (vehicle, fix time) was processed before or repeats within the batch."""

    def __init__(self, fix_store: FixStore) -> None:
        self.fix_store = fix_store

    def __call__(self, batch: Batch) -> Batch:
        """Return the batch without duplicates, each dropped with reason ``duplicate``."""
        kept: list[Fix] = []
        dropped: list[tuple[str, Fix]] = []
        unsure: dict[str, list[Fix]] = collections.defaultdict(list)
        seen_in_batch: set[tuple[str, int]] = set()
        for fix in batch.fixes:
            key = (fix.vehicle_id, epoch_us(fix.fix_at))
            state = batch.state_of(fix.vehicle_id)
            is_seen = None if state is None else state.has_seen(key[1])
            if key in seen_in_batch or is_seen:
                dropped.append((DUPLICATE, fix))
                continue
            seen_in_batch.add(key)
            (kept if is_seen is False else unsure[fix.vehicle_id]).append(fix)
        for vehicle_id, fixes in unsure.items():
            stored = self.fix_store.stored_fix_us(vehicle_id, (epoch_us(f.fix_at) for f in fixes))
            for fix in fixes:
                if epoch_us(fix.fix_at) in stored:
                    dropped.append((DUPLICATE, fix))
                else:
                    kept.append(fix)
        return dataclasses.replace(batch, fixes=tuple(kept), dropped=(*batch.dropped, *dropped))
