"""The production bus on Redis Streams: a stream per shard, a consumer group, leases, claiming.

- Producers `XADD` each fix to the stream of its vehicle's shard (CRC-32 of the vehicle id),
  trimmed approximately to `maxlen` entries (`MAXLEN ~`), the bound on Redis memory.
- Workers read with `XREADGROUP` in one consumer group and `XACK` only after storing.
- One worker owns a shard at a time through a lease key (`SET NX PX`, renewed by a background
  task), so one vehicle's fixes are processed in order by one worker. A stand-by worker takes
  the lease once it expires and first claims (`XAUTOCLAIM`) the messages the dead worker had
  read but not acknowledged, idle for more than `claim_idle_ms`, before reading new ones.
- Every call survives a Redis restart: connection errors are retried with capped exponential
  back-off; a consumer group lost with the data is created again.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import redis.asyncio as aioredis
from redis import exceptions as redis_errors

from transport.bus import base, fix_json
from transport.redis_client import async_client

if TYPE_CHECKING:
    from transport.fixes import Fix

__all__ = [
    "DEFAULT_MAXLEN",
    "RedisStreamsBus",
    "RedisStreamsConsumer",
    "backoff_delays",
    "ensure_group",
]

logger = logging.getLogger(__name__)

DEFAULT_MAXLEN = 1_000_000  # per shard; about 400 MB of Redis for 4 shards of ~100-byte fixes
FIX_FIELD = b"fix"
MIN_BACKOFF_S = 0.05
MAX_BACKOFF_S = 2.0

_T = TypeVar("_T")
_RETRIED = (redis_errors.ConnectionError, redis_errors.TimeoutError, OSError)

_RENEW_LEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE_LEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


async def ensure_group(client: aioredis.Redis, stream: str, group: str) -> None:
    """Create a consumer group reading `stream` from its start (and the stream) unless it exists."""
    try:
        await client.xgroup_create(stream, group, id="0", mkstream=True)
    except redis_errors.ResponseError as err:
        if "BUSYGROUP" not in str(err):
            raise


def backoff_delays() -> collections.abc.Iterator[float]:
    """Yield waits between retries: doubling from `MIN_BACKOFF_S`, capped at `MAX_BACKOFF_S`."""
    delay = MIN_BACKOFF_S
    while True:
        yield delay
        delay = min(delay * 2, MAX_BACKOFF_S)


class RedisStreamsBus:
    """Producer side and consumer factory of the Redis Streams bus.

    Parameters
    ----------
    url
        Redis URL, e.g. ``redis://127.0.0.1:6379/0``.
    n_shards
        Number of shard streams; every producer and worker of one deployment must agree (the
        first one to connect records it in Redis, the others are refused on a mismatch).
    prefix
        Key prefix: streams are ``{prefix}:fixes:{shard}``.
    maxlen
        Approximate bound on entries kept per stream (older entries are trimmed).
    publish_timeout_s
        How long `publish` retries through an outage before raising `BusUnavailableError`.
    """

    def __init__(
        self,
        url: str,
        *,
        n_shards: int = 4,
        prefix: str = "hazmat",
        group: str = "workers",
        maxlen: int = DEFAULT_MAXLEN,
        publish_timeout_s: float = 10.0,
    ) -> None:
        if n_shards < 1 or maxlen < 1:
            msg = "`n_shards` and `maxlen` must be at least 1"
            raise ValueError(msg)
        self.url = url
        self.n_shards = n_shards
        self.prefix = prefix
        self.group = group
        self.maxlen = maxlen
        self.publish_timeout_s = publish_timeout_s
        self.redis: aioredis.Redis = async_client(url)
        self._is_checked = False

    def stream_key(self, shard: int) -> str:
        """Return the stream of a shard."""
        return f"{self.prefix}:fixes:{shard}"

    def lease_key(self, shard: int) -> str:
        """Return the lease key of a shard."""
        return f"{self.prefix}:lease:{shard}"

    @property
    def dead_letter_key(self) -> str:
        """Return the stream where unreadable messages are moved, with the reason."""
        return f"{self.prefix}:dead"

    async def retry(self, call: Callable[[], Awaitable[_T]], *, timeout_s: float | None) -> _T:
        """Run `call`, retrying connection errors; give up after `timeout_s` (None: never)."""
        loop = asyncio.get_running_loop()
        give_up_at = None if timeout_s is None else loop.time() + timeout_s
        for delay in backoff_delays():
            try:
                return await call()
            except _RETRIED as err:
                if give_up_at is not None and loop.time() + delay > give_up_at:
                    msg = f"Redis at {self.url} unreachable for {timeout_s} s: {err}"
                    raise base.BusUnavailableError(msg) from err
                logger.warning("Redis unreachable (%s); retrying in %.2f s", err, delay)
                await asyncio.sleep(delay)
        raise AssertionError  # pragma: no cover - backoff_delays never ends

    async def check_shard_count(self) -> None:
        """Record the shard count in Redis, or refuse to run when another count is recorded."""
        key = f"{self.prefix}:n_shards"
        await self.redis.set(key, self.n_shards, nx=True)
        recorded = int(await self.redis.get(key) or self.n_shards)
        if recorded != self.n_shards:
            msg = f"this bus has {self.n_shards} shards but Redis records {recorded} for {key}"
            raise base.BusError(msg)
        self._is_checked = True

    async def publish(self, fixes: Sequence[Fix]) -> None:
        """Append fixes to their shard streams (one pipelined round trip), retrying outages."""
        if not fixes:
            return
        entries = [
            (
                self.stream_key(base.shard_of(fix.vehicle_id, self.n_shards)),
                fix_json.fix_to_json(fix),
            )
            for fix in fixes
        ]

        async def append() -> None:
            if not self._is_checked:
                await self.check_shard_count()
            async with self.redis.pipeline(transaction=False) as pipe:
                for stream, text in entries:
                    pipe.xadd(stream, {FIX_FIELD: text}, maxlen=self.maxlen, approximate=True)
                await pipe.execute()

        await self.retry(append, timeout_s=self.publish_timeout_s)

    def consumer(
        self,
        shards: Sequence[int],
        *,
        name: str,
        lease_ttl_ms: int = 10_000,
        claim_idle_ms: int | None = None,
    ) -> RedisStreamsConsumer:
        """Return a consumer of `shards` (see `RedisStreamsConsumer`)."""
        bad = [shard for shard in shards if not 0 <= shard < self.n_shards]
        if bad:
            msg = f"shards {bad} do not exist: this bus has shards 0..{self.n_shards - 1}"
            raise base.BusError(msg)
        return RedisStreamsConsumer(
            self,
            tuple(shards),
            name=name,
            lease_ttl_ms=lease_ttl_ms,
            claim_idle_ms=lease_ttl_ms // 2 if claim_idle_ms is None else claim_idle_ms,
        )

    async def close(self) -> None:
        """Close the connection pool."""
        await self.redis.aclose()


class RedisStreamsConsumer:
    """One worker's reader: holds shard leases, claims stale pending messages, reads new ones.

    `stats` counts ``claimed``, ``dead_letter`` (unreadable, moved aside and acknowledged),
    ``trimmed_unread`` (trimmed by `MAXLEN` before any worker processed them), ``leases_lost``.
    """

    def __init__(
        self,
        bus: RedisStreamsBus,
        shards: tuple[int, ...],
        *,
        name: str,
        lease_ttl_ms: int,
        claim_idle_ms: int,
    ) -> None:
        self.name = name
        self.shards = shards
        self.lease_ttl_ms = lease_ttl_ms
        self.claim_idle_ms = claim_idle_ms
        self.owned: set[int] = set()
        self.stats: collections.Counter[str] = collections.Counter()
        self._bus = bus
        self._redis = bus.redis
        self._claim_due_at: dict[int, float] = {}
        self._lease_task: asyncio.Task[None] | None = None
        self._leases_ready = asyncio.Event()
        self._closing = asyncio.Event()
        self._fatal: base.BusError | None = None

    async def read(self, *, count: int, block_ms: int) -> list[base.Delivery]:
        """Return claimed stale messages first, else up to `count` new ones from owned shards."""
        if self._lease_task is None:
            self._lease_task = asyncio.create_task(self._keep_leases(), name=f"leases-{self.name}")
        try:
            await asyncio.wait_for(self._leases_ready.wait(), block_ms / 1000)
        except TimeoutError:
            return []
        if self._fatal is not None:
            raise self._fatal
        owned = sorted(self.owned)
        if not owned:
            await asyncio.sleep(block_ms / 1000)
            return []
        try:
            claimed = await self._claim_stale(owned, count)
            return claimed or await self._read_new(owned, count, block_ms)
        except _RETRIED as err:
            logger.warning("consumer %s: Redis unreachable (%s)", self.name, err)
            await asyncio.sleep(next(backoff_delays()))
            return []

    async def ack(self, deliveries: Sequence[base.Delivery]) -> None:
        """Acknowledge deliveries per stream, retrying through outages until Redis answers."""
        by_shard: dict[int, list[str]] = collections.defaultdict(list)
        for delivery in deliveries:
            by_shard[delivery.shard].append(delivery.message_id)

        async def acknowledge() -> None:
            async with self._redis.pipeline(transaction=False) as pipe:
                for shard, ids in by_shard.items():
                    pipe.xack(self._bus.stream_key(shard), self._bus.group, *ids)
                await pipe.execute()

        if by_shard:
            # Unbounded: a fix stored but not acknowledged would only be processed again.
            await self._bus.retry(acknowledge, timeout_s=None)

    async def close(self) -> None:
        """Stop renewing and release the leases so a stand-by worker takes over at once.

        The lease task ends at its next turn even when a Redis call it is in turns the
        cancellation into a timeout (which it would otherwise retry as an outage, forgetting
        the leases); it is given one lease time.
        """
        self._closing.set()
        if self._lease_task is not None:
            self._lease_task.cancel()
            await asyncio.wait({self._lease_task}, timeout=self.lease_ttl_ms / 1000)
        for shard in list(self.owned):
            try:
                await self._redis.eval(_RELEASE_LEASE, 1, self._bus.lease_key(shard), self.name)
            except _RETRIED as err:
                logger.warning("could not release lease of shard %s: %s", shard, err)
        self.owned.clear()

    # --- leases ---------------------------------------------------------------------------

    async def _keep_leases(self) -> None:
        """Acquire free leases and renew held ones every third of the lease time, until closed."""
        while not self._closing.is_set():
            try:
                await self._refresh_leases()
            except _RETRIED as err:
                if self._closing.is_set():
                    return  # a cancelled call, not an outage: close() releases the leases
                if self.owned:
                    logger.warning("consumer %s lost Redis, leases %s unsure: %s", self.name,
                                   sorted(self.owned), err)  # fmt: skip
                    self.stats["leases_lost"] += len(self.owned)
                self.owned.clear()
            except redis_errors.ResponseError as err:
                logger.error("consumer %s: lease refresh refused: %s", self.name, err)
            except base.BusError as err:
                logger.error("consumer %s stops: %s", self.name, err)
                self._fatal = err
                self._leases_ready.set()
                return
            self._leases_ready.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), self.lease_ttl_ms / 3000)

    async def _refresh_leases(self) -> None:
        """Renew the leases held, try to take the others; prepare newly taken shards."""
        if not self._bus._is_checked:
            await self._bus.check_shard_count()
        for shard in self.shards:
            key = self._bus.lease_key(shard)
            if shard in self.owned:
                if await self._redis.eval(_RENEW_LEASE, 1, key, self.name, self.lease_ttl_ms):
                    continue
                logger.warning("consumer %s lost the lease of shard %s", self.name, shard)
                self.stats["leases_lost"] += 1
                self.owned.discard(shard)
            if await self._redis.set(key, self.name, nx=True, px=self.lease_ttl_ms):
                await self._ensure_group(shard)
                self._claim_due_at[shard] = 0.0
                self.owned.add(shard)
                logger.info("consumer %s took shard %s", self.name, shard)

    async def _ensure_group(self, shard: int) -> None:
        """Create the consumer group (and stream) of a shard unless it exists."""
        await ensure_group(self._redis, self._bus.stream_key(shard), self._bus.group)

    # --- reading --------------------------------------------------------------------------

    async def _claim_stale(self, owned: list[int], count: int) -> list[base.Delivery]:
        """Claim messages pending longer than `claim_idle_ms` (a dead or stuck consumer's)."""
        loop = asyncio.get_running_loop()
        claimed: list[base.Delivery] = []
        for shard in owned:
            if loop.time() < self._claim_due_at.get(shard, 0.0) or len(claimed) >= count:
                continue
            stream = self._bus.stream_key(shard)
            try:
                _cursor, messages, deleted = await self._redis.xautoclaim(
                    stream, self._bus.group, self.name, self.claim_idle_ms,
                    start_id="0-0", count=count - len(claimed),
                )  # fmt: skip
            except redis_errors.ResponseError as err:
                await self._recover_group(shard, err)
                continue
            if deleted:
                self.stats["trimmed_unread"] += len(deleted)
                logger.error("shard %s: %d pending message(s) trimmed before processing",
                             shard, len(deleted))  # fmt: skip
            if not messages:
                self._claim_due_at[shard] = loop.time() + self.claim_idle_ms / 2000
            self.stats["claimed"] += len(messages)
            claimed += await self._deliveries(shard, messages, is_redelivery=True)
        return claimed

    async def _read_new(self, owned: list[int], count: int, block_ms: int) -> list[base.Delivery]:
        """Read messages never delivered to any consumer from the owned shards."""
        streams: dict[Any, Any] = {self._bus.stream_key(shard): ">" for shard in owned}
        try:
            replies: Any = await self._redis.xreadgroup(
                self._bus.group, self.name, streams, count=count, block=block_ms
            )
        except redis_errors.ResponseError as err:
            for shard in owned:
                await self._recover_group(shard, err)
            return []
        shard_of_stream = {self._bus.stream_key(shard).encode(): shard for shard in owned}
        deliveries: list[base.Delivery] = []
        for stream, messages in replies or []:
            deliveries += await self._deliveries(shard_of_stream[stream], messages)
        return deliveries

    async def _recover_group(self, shard: int, err: redis_errors.ResponseError) -> None:
        """Recreate a consumer group lost with Redis's data (NOGROUP); re-raise anything else."""
        if "NOGROUP" not in str(err):
            raise err
        logger.warning("shard %s: consumer group missing (Redis restarted?), recreating", shard)
        await self._ensure_group(shard)

    async def _deliveries(
        self, shard: int, messages: list[Any], *, is_redelivery: bool = False
    ) -> list[base.Delivery]:
        """Decode stream entries; unreadable ones go to the dead-letter stream, acknowledged."""
        deliveries, dead = [], []
        for raw_id, fields in messages:
            message_id = raw_id.decode() if isinstance(raw_id, bytes) else str(raw_id)
            try:
                fix = fix_json.fix_from_json((fields or {})[FIX_FIELD])
            except (KeyError, fix_json.FixFormatError) as err:
                dead.append((message_id, fields or {}, str(err)))
                continue
            deliveries.append(base.Delivery(shard, message_id, fix, is_redelivery))
        if dead:
            await self._move_to_dead_letter(shard, dead)
        return deliveries

    async def _move_to_dead_letter(self, shard: int, dead: list[tuple[str, Any, str]]) -> None:
        """Keep unreadable entries with their reason, then acknowledge them."""
        self.stats["dead_letter"] += len(dead)
        async with self._redis.pipeline(transaction=False) as pipe:
            for message_id, fields, reason in dead:
                logger.error("shard %s message %s unreadable: %s", shard, message_id, reason)
                entry = {b"shard": shard, b"id": message_id, b"reason": reason, **fields}
                pipe.xadd(self._bus.dead_letter_key, entry, maxlen=100_000, approximate=True)
            pipe.xack(self._bus.stream_key(shard), self._bus.group, *(d[0] for d in dead))
            await pipe.execute()
