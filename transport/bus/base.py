"""The bus interface: publish fixes sharded by vehicle, read them back per shard, acknowledge.

Delivery is at least once: a fix read but not acknowledged comes back (to this consumer or,
on the Redis bus, to another one once it has been idle long enough), so what a worker does with
a fix must be idempotent. One vehicle always maps to the same shard, so its fixes stay in order.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Sequence

    from transport.fixes import Fix

__all__ = ["Bus", "BusError", "BusUnavailableError", "Consumer", "Delivery", "shard_of"]


class BusError(RuntimeError):
    """The bus refused an operation (misconfiguration, not a passing outage)."""


class BusUnavailableError(BusError):
    """The bus could not be reached within the caller's deadline; nothing was accepted."""


def shard_of(vehicle_id: str, n_shards: int) -> int:
    """Return the shard of a vehicle: CRC-32 of its id modulo the shard count (stable)."""
    return zlib.crc32(vehicle_id.encode("utf-8")) % n_shards


@dataclass(frozen=True)
class Delivery:
    """One fix read from a shard; `message_id` is what `Consumer.ack` needs."""

    shard: int
    message_id: str
    fix: Fix
    #: True when the message had been delivered before (claimed from a dead consumer, retried).
    is_redelivery: bool = False


class Bus(Protocol):
    """What the edge and the workers see of a bus."""

    n_shards: int

    async def publish(self, fixes: Sequence[Fix]) -> None:
        """Put fixes on their shards; return only once the bus holds every one of them.

        Raises `BusUnavailableError` when that cannot be done within the bus's deadline; then
        the caller must not tell the sender the fixes were accepted.
        """
        ...

    def consumer(self, shards: Sequence[int], *, name: str) -> Consumer:
        """Return a consumer reading `shards` under `name` (unique per worker process)."""
        ...

    async def close(self) -> None:
        """Release connections; pending fixes stay on a durable bus."""
        ...


class Consumer(Protocol):
    """One worker's reading side of a bus."""

    name: str

    async def read(self, *, count: int, block_ms: int) -> list[Delivery]:
        """Return up to `count` deliveries, waiting at most `block_ms` for the first one."""
        ...

    async def ack(self, deliveries: Sequence[Delivery]) -> None:
        """Acknowledge processed deliveries: they are never delivered again."""
        ...

    async def close(self) -> None:
        """Stop reading; unacknowledged deliveries return to the bus."""
        ...
