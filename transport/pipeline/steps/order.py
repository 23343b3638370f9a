"""Step `order`: put each vehicle's fixes in time order; flag late ones as back-fill.

A fix older than the latest one processed for its vehicle (or sent by the terminal as 0x0704
back-fill) is kept and processed in order, but flagged `is_backfill` so that it raises no live
alert (Traccar `BasePositionEventHandler`).
"""

from __future__ import annotations

import dataclasses

from transport.pipeline.batch import Batch, epoch_us

__all__ = ["Order"]


class Order:
    """Sort the batch by (vehicle, fix time) and flag fixes older than the vehicle's last."""

    def __call__(self, batch: Batch) -> Batch:
        """Return the batch sorted, late fixes flagged; nothing is dropped."""
        fixes = sorted(batch.fixes, key=lambda fix: (fix.vehicle_id, fix.fix_at))
        ordered = []
        for fix in fixes:
            state = batch.state_of(fix.vehicle_id)
            last_us = None if state is None else state.last_fix_us
            is_late = last_us is not None and epoch_us(fix.fix_at) < last_us
            if is_late and not fix.is_backfill:
                fix = dataclasses.replace(fix, is_backfill=True)
            ordered.append(fix)
        return dataclasses.replace(batch, fixes=tuple(ordered))
