"""Pick a bus by name: ``memory`` (embedded default) or ``redis`` (production)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from transport.bus import base, memory, redis_streams

__all__ = ["BUSES", "open_bus"]

BUSES: dict[str, Callable[..., Any]] = {
    "memory": lambda *, redis_url, **options: memory.MemoryBus(**options),
    "redis": lambda *, redis_url, **options: redis_streams.RedisStreamsBus(redis_url, **options),
}


def open_bus(kind: str, *, redis_url: str | None = None, n_shards: int = 4) -> base.Bus:
    """Return a bus of `kind` with `n_shards` shards (the Redis bus needs `redis_url`)."""
    if kind not in BUSES:
        msg = f"`kind` must be one of {sorted(BUSES)}, got {kind!r}"
        raise ValueError(msg)
    if kind == "redis" and not redis_url:
        msg = "`redis_url` is needed for the redis bus"
        raise ValueError(msg)
    bus: base.Bus = BUSES[kind](redis_url=redis_url, n_shards=n_shards)
    return bus
