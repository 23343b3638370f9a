"""Redis clients with this project's timeouts.

`retrying_client` is the blocking client every worker-side store uses: connection and timeout
errors are retried with exponential back-off (50 ms doubling, capped), so a Redis restart of a
few seconds costs a pause, not a failed batch. `async_client` is the asyncio client of the bus,
the reminder desk and the reminder recorder, whose loops back off themselves.
"""

from __future__ import annotations

import redis
import redis.asyncio as aioredis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

__all__ = ["SOCKET_TIMEOUT_S", "async_client", "retrying_client"]

SOCKET_TIMEOUT_S = 10.0  # longer than any blocking read (XREADGROUP BLOCK) the callers make


def async_client(url: str) -> aioredis.Redis:
    """Return an asyncio client on `url`: 2 s to connect, `SOCKET_TIMEOUT_S` per reply."""
    return aioredis.Redis.from_url(url, socket_timeout=SOCKET_TIMEOUT_S, socket_connect_timeout=2.0)


def retrying_client(
    url: str,
    *,
    socket_timeout_s: float = SOCKET_TIMEOUT_S,
    backoff_cap_s: float = 2.0,
    retries: int = 8,
) -> redis.Redis:
    """Return a client on `url` retrying connection errors `retries` times with back-off.

    The defaults (8 retries, capped at 2 s) ride out about 10 s of outage per call.
    """
    return redis.Redis.from_url(
        url,
        socket_timeout=socket_timeout_s,
        socket_connect_timeout=2.0,
        retry=Retry(ExponentialBackoff(cap=backoff_cap_s, base=0.05), retries),
        retry_on_error=[redis.ConnectionError, redis.TimeoutError],
    )
