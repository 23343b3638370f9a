"""How fast this machine runs plain CPython right now, recorded beside benchmark figures.

The machines these benchmarks run on are shared and their speed varies between sessions by a
factor of two or more; a figure is only comparable with another taken at a similar reference.
"""

from __future__ import annotations

import time

__all__ = ["reference_loop_s"]

LOOP_ADDS = 10_000_000


def reference_loop_s(repeats: int = 3) -> float:
    """Best-of-`repeats` seconds for a loop of ten million integer additions."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        total = 0
        for i in range(LOOP_ADDS):
            total += i
        best = min(best, time.perf_counter() - started)
    return round(best, 3)
