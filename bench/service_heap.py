"""A bench process's heap settled as a service process settles its own, for one phase.

A worker and a gateway call `settle_heap` after loading (frozen heap, fewer young
collections); a bench that runs their code in process must do the same to measure what they
spend, and the load generator does it too, so that no full collection of its large heap
holds up the alerts it stamps on arrival. On leaving, the collector is as it was: later
phases are unchanged.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

from api.commands._heap import settle_heap

__all__ = ["settled_heap"]


@contextlib.contextmanager
def settled_heap() -> Iterator[None]:
    """Settle the heap (`settle_heap`) for the block; unfreeze and restore the thresholds after."""
    thresholds = gc.get_threshold()
    settle_heap()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
