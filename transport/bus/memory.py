"""The in-process bus: the embedded default for one machine and `hazmat demo`, no server.

Each shard is a bounded queue in this process; `publish` waits for room (back-pressure reaches
the sender) and returns once every fix is queued. Fixes are lost with the process: that is the
price of running without a server, and why production uses the Redis bus.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
from typing import TYPE_CHECKING

from transport.bus import base

if TYPE_CHECKING:
    from collections.abc import Sequence

    from transport.fixes import Fix

__all__ = ["DEFAULT_SHARD_CAPACITY", "MemoryBus", "MemoryConsumer"]

DEFAULT_SHARD_CAPACITY = 100_000


class MemoryBus:
    """Bounded in-process queues, one per shard; at-least-once within the process."""

    def __init__(
        self,
        *,
        n_shards: int = 4,
        shard_capacity: int = DEFAULT_SHARD_CAPACITY,
        publish_timeout_s: float = 10.0,
    ) -> None:
        if n_shards < 1 or shard_capacity < 1:
            msg = "`n_shards` and `shard_capacity` must be at least 1"
            raise ValueError(msg)
        self.n_shards = n_shards
        self.shard_capacity = shard_capacity
        self.publish_timeout_s = publish_timeout_s
        self._queues: list[collections.deque[tuple[str, Fix, bool]]] = [
            collections.deque() for _ in range(n_shards)
        ]
        self._changed = asyncio.Condition()
        self._ids = itertools.count(1)

    def depth(self, shard: int) -> int:
        """Return how many fixes wait on a shard (not counting those being processed)."""
        return len(self._queues[shard])

    async def publish(self, fixes: Sequence[Fix]) -> None:
        """Queue fixes on their shards, waiting for room up to `publish_timeout_s`."""
        by_shard: dict[int, list[Fix]] = collections.defaultdict(list)
        for fix in fixes:
            by_shard[base.shard_of(fix.vehicle_id, self.n_shards)].append(fix)

        def has_room() -> bool:
            return all(
                len(self._queues[shard]) + len(group) <= max(self.shard_capacity, len(group))
                for shard, group in by_shard.items()
            )

        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(has_room), self.publish_timeout_s)
            except TimeoutError as err:
                msg = f"in-process bus full for {self.publish_timeout_s} s"
                raise base.BusUnavailableError(msg) from err
            for shard, group in by_shard.items():
                self._queues[shard].extend((f"m{next(self._ids)}", fix, False) for fix in group)
            self._changed.notify_all()

    def consumer(self, shards: Sequence[int], *, name: str) -> MemoryConsumer:
        """Return a consumer of `shards`."""
        bad = [shard for shard in shards if not 0 <= shard < self.n_shards]
        if bad:
            msg = f"shards {bad} do not exist: this bus has shards 0..{self.n_shards - 1}"
            raise base.BusError(msg)
        return MemoryConsumer(self, tuple(shards), name=name)

    async def close(self) -> None:
        """Nothing to release in process."""

    async def _take(self, shards: Sequence[int], count: int, block_ms: int) -> list[base.Delivery]:
        """Pop up to `count` fixes from `shards`, waiting up to `block_ms` for the first."""

        def has_any() -> bool:
            return any(self._queues[shard] for shard in shards)

        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(has_any), block_ms / 1000)
            except TimeoutError:
                return []
            taken: list[base.Delivery] = []
            for shard in shards:
                queue = self._queues[shard]
                while queue and len(taken) < count:
                    message_id, fix, is_redelivery = queue.popleft()
                    taken.append(base.Delivery(shard, message_id, fix, is_redelivery))
            self._changed.notify_all()
            return taken

    async def _give_back(self, deliveries: Sequence[base.Delivery]) -> None:
        """Put unacknowledged deliveries back at the head of their shards, in order."""
        async with self._changed:
            for delivery in reversed(deliveries):
                item = (delivery.message_id, delivery.fix, True)
                self._queues[delivery.shard].appendleft(item)
            self._changed.notify_all()


class MemoryConsumer:
    """A consumer of the in-process bus; unacknowledged deliveries go back on `close`."""

    def __init__(self, bus: MemoryBus, shards: tuple[int, ...], *, name: str) -> None:
        self.name = name
        self.shards = shards
        self._bus = bus
        self._pending: dict[str, base.Delivery] = {}

    async def read(self, *, count: int, block_ms: int) -> list[base.Delivery]:
        """Return up to `count` deliveries from this consumer's shards."""
        deliveries = await self._bus._take(self.shards, count, block_ms)
        self._pending.update((delivery.message_id, delivery) for delivery in deliveries)
        return deliveries

    async def ack(self, deliveries: Sequence[base.Delivery]) -> None:
        """Forget processed deliveries."""
        for delivery in deliveries:
            self._pending.pop(delivery.message_id, None)

    async def close(self) -> None:
        """Return unacknowledged deliveries to the bus for the next consumer."""
        pending = list(self._pending.values())
        self._pending.clear()
        if pending:
            await self._bus._give_back(pending)
