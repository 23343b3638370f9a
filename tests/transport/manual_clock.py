"""A monotonic clock that moves only when the test moves it (for time-to-live caches)."""

from __future__ import annotations

__all__ = ["ManualClock"]


class ManualClock:
    """Seconds, as `time.monotonic` gives them, advanced by setting `now_s`."""

    def __init__(self) -> None:
        self.now_s = 1_000.0

    def __call__(self) -> float:
        return self.now_s
