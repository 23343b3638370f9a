"""Coalesce many small publishes (one per terminal message) into few bus round trips.

Each caller still waits until the bus holds its own fixes; the calls that arrive while a publish
is under way go out together in the next one, so under load a round trip carries hundreds of
fixes and when idle a single fix goes out at once.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from transport.bus import base

if TYPE_CHECKING:
    from collections.abc import Sequence

    from transport.fixes import Fix

__all__ = ["BatchingPublisher"]

logger = logging.getLogger(__name__)


class BatchingPublisher:
    """Wrap a bus's `publish`: concurrent calls share one publish of up to `max_fixes` fixes."""

    def __init__(self, bus: base.Bus, *, max_fixes: int = 2_000) -> None:
        self.bus = bus
        self.max_fixes = max_fixes
        self._waiting: list[tuple[Sequence[Fix], asyncio.Future[None]]] = []
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def publish(self, fixes: Sequence[Fix]) -> None:
        """Return once the bus holds `fixes`; raise what the bus raised for their publish."""
        if not fixes:
            return
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._publish_forever(), name="batching-publisher")
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((fixes, done))
        self._wakeup.set()
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
            while self._waiting:
                group: list[tuple[Sequence[Fix], asyncio.Future[None]]] = []
                size = 0
                while self._waiting and (
                    not group or size + len(self._waiting[0][0]) <= self.max_fixes
                ):
                    fixes, done = self._waiting.pop(0)
                    group.append((fixes, done))
                    size += len(fixes)
                await self._publish_group(group)

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
