"""Coalesce many small publishes (one per terminal message) into few bus round trips.

Each caller still waits until the bus holds its own fixes; the calls that arrive while a publish
is under way, or within a short linger after the first of a group (Kafka's producers wait
``linger.ms`` alike), go out together in the next one. Without the linger, 1,000 terminals
reporting 2,000 fixes a second made a Redis round trip for every two fixes (the pipeline bench):
a fifth of the gateway's time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from transport.bus import base

if TYPE_CHECKING:
    from collections.abc import Sequence

    from transport.fixes import Fix

__all__ = ["DEFAULT_LINGER_S", "BatchingPublisher"]

logger = logging.getLogger(__name__)

DEFAULT_LINGER_S = 0.005  # a terminal's reply waits this much longer at most


class BatchingPublisher:
    """Wrap a bus's `publish`: calls within `linger_s` of one another, or made while a publish
    is under way, share one publish of up to `max_fixes` fixes (more are published at once)."""

    def __init__(
        self, bus: base.Bus, *, max_fixes: int = 2_000, linger_s: float = DEFAULT_LINGER_S
    ) -> None:
        self.bus = bus
        self.max_fixes = max_fixes
        self.linger_s = linger_s
        self._waiting: list[tuple[Sequence[Fix], asyncio.Future[None]]] = []
        self._waiting_fixes = 0
        self._wakeup = asyncio.Event()
        self._full = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def publish(self, fixes: Sequence[Fix]) -> None:
        """Return once the bus holds `fixes`; raise what the bus raised for their publish."""
        if not fixes:
            return
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._publish_forever(), name="batching-publisher")
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((fixes, done))
        self._waiting_fixes += len(fixes)
        self._wakeup.set()
        if self._waiting_fixes >= self.max_fixes:
            self._full.set()
        await done

    async def close(self) -> None:
        """Stop the background task once what is waiting has been published."""
        while self._waiting:
            await asyncio.sleep(0.01)
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _publish_forever(self) -> None:
        """Publish what waits, in arrival order, one bounded group at a time."""
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            backlog = False
            while self._waiting:
                if not backlog:  # before each group: at a steady load, another is always due
                    await self._linger()
                group: list[tuple[Sequence[Fix], asyncio.Future[None]]] = []
                size = 0
                while self._waiting and (
                    not group or size + len(self._waiting[0][0]) <= self.max_fixes
                ):
                    fixes, done = self._waiting.pop(0)
                    group.append((fixes, done))
                    size += len(fixes)
                backlog = bool(self._waiting)  # more than a group waited: the rest goes at once
                self._waiting_fixes -= size
                if self._waiting_fixes < self.max_fixes:
                    self._full.clear()
                await self._publish_group(group)

    async def _linger(self) -> None:
        """Wait `linger_s` for more calls to join the first, unless `max_fixes` wait already."""
        if self.linger_s > 0 and not self._full.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._full.wait(), self.linger_s)

    async def _publish_group(self, group: list[tuple[Sequence[Fix], asyncio.Future[None]]]) -> None:
        """Publish a group in one call and settle each caller's future."""
        try:
            await self.bus.publish([fix for fixes, _ in group for fix in fixes])
        except Exception as err:  # every caller gets the error; the publisher lives on
            for _, done in group:
                if not done.done():
                    done.set_exception(err)
            return
        for _, done in group:
            if not done.done():
                done.set_result(None)
