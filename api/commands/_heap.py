"""Tune the cyclic garbage collector of a long-running service process (worker, gateway)."""

from __future__ import annotations

import gc

__all__ = ["YOUNG_THRESHOLD", "settle_heap"]

YOUNG_THRESHOLD = 50_000  # allocations between collections of the young generation (CPython: 700)


def settle_heap() -> None:
    """Leave what the process has loaded so far out of the collector's scans, and collect less
    often.

    The network, layers and libraries live as long as the process, yet every full collection
    walked them; and a worker makes and drops many small objects for each fix, so the default
    young threshold ran a collection every few fixes. Together they cost a live worker a
    quarter to a third of its time (the pipeline bench's live-sized drain). Call once, after
    loading and before serving.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, 20, 20)
