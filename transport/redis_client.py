"""A blocking Redis client that rides out short outages: what every worker-side store uses.

Connection and timeout errors are retried with exponential back-off (50 ms doubling, capped),
so a Redis restart of a few seconds costs a pause, not a failed batch.
"""

from __future__ import annotations

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

__all__ = ["retrying_client"]


def retrying_client(
    url: str, *, socket_timeout_s: float = 10.0, backoff_cap_s: float = 2.0, retries: int = 8
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
