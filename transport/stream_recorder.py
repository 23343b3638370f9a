"""Record a Redis stream's entries in the database: what the stream recorders share.

Redis holds live state, not the record: what gateways and workers log on a stream is recorded
from there by recorders that share one consumer group per stream (at-least-once delivery). A
batch of entries is parsed (`parse`; a malformed entry is logged, counted and acknowledged, a
trimmed one counted and acknowledged), stored in one transaction (`store`, idempotent by entry
id) and settled once committed (`settle` counts and says which entries need no retry; those are
acknowledged). After a database error the batch stays pending. A recorder reads its own pending
entries again every `retry_interval_s`, takes over entries another recorder left pending for
`claim_idle_ms` (it died), and lingers after a short read so that one transaction takes what
came meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import redis.asyncio as aioredis
from redis import exceptions as redis_errors
from sqlalchemy import exc as sa_errors

from transport.bus import redis_streams
from transport.redis_client import async_client

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.orm import Session, sessionmaker

__all__ = ["Entry", "StreamRecorder"]

logger = logging.getLogger(__name__)

_REDIS_DOWN = (redis_errors.ConnectionError, redis_errors.TimeoutError, OSError)

Item = TypeVar("Item")  # an entry as parsed
Outcome = TypeVar("Outcome")  # what storing a batch did

#: A stream entry: its id and fields (field values as Redis holds them; none once trimmed).
Entry = tuple[str, dict[str, bytes]]


def _entries(raw: Any) -> list[Entry]:
    """Return (entry id, fields) pairs of a stream reply; a trimmed entry has no fields."""
    return [
        (raw_id.decode(), {k.decode(): v for k, v in (fields or {}).items()})
        for raw_id, fields in raw
    ]


class StreamRecorder(Generic[Item, Outcome]):
    """One consumer of a stream's recorder group; a subclass parses, stores and settles.

    `stats` counts ``trimmed``, ``malformed``, ``transactions``, ``database_errors`` and
    ``redis_errors`` here, and what the subclass's `settle` counts.
    """

    group: str  #: the consumer group the recorders of the stream share
    entry_name: str  #: what one entry is, in log messages

    def __init__(
        self,
        url: str,
        session_factory: sessionmaker[Session],
        *,
        consumer: str,
        prefix: str = "hazmat",
        batch_size: int = 200,
        retry_interval_s: float = 5.0,
        claim_idle_ms: int = 60_000,
        linger_s: float = 0.5,
    ) -> None:
        self.stream = self.stream_of(prefix)
        self.session_factory = session_factory
        self.consumer = consumer
        self.batch_size = batch_size
        self.retry_interval_s = retry_interval_s
        self.claim_idle_ms = claim_idle_ms
        self.linger_s = linger_s
        self.redis: aioredis.Redis = async_client(url)
        self.stats: Counter[str] = Counter()
        self._retry_due_at = 0.0
        self._has_group = False

    async def run(self, *, stop: asyncio.Event, block_ms: int = 1000) -> None:
        """Record until `stop` is set, riding out Redis outages; then close the connection.

        After a read shorter than a batch it lingers `linger_s` (or until stopped), so that the
        next transaction takes what came meanwhile: committing each read of a few reminder
        steps put 14 % of a worker's profile samples at 2,000 fixes/s in the recorder.
        """
        delays = redis_streams.backoff_delays()
        try:
            while not stop.is_set():
                try:
                    handled = await self.record_once(block_ms=block_ms)
                    delays = redis_streams.backoff_delays()
                    if 0 < handled < self.batch_size:
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(stop.wait(), self.linger_s)
                except _REDIS_DOWN as err:
                    self.stats["redis_errors"] += 1
                    logger.warning("%s unreadable (%s)", self.stream, err)
                    await asyncio.sleep(next(delays))
        finally:
            await self.redis.aclose()

    async def record_once(self, *, block_ms: int | None = None) -> int:
        """Record what is due; return how many entries were handled.

        First this recorder's pending entries (when the retry is due) and those other
        recorders left stale, then new entries, waiting up to `block_ms` (None: no wait).
        """
        await self._ensure_group()
        handled = 0
        loop = asyncio.get_running_loop()
        if loop.time() >= self._retry_due_at:
            self._retry_due_at = loop.time() + self.retry_interval_s
            handled += await self._retry_pending()
            handled += await self._claim_stale()
        reply: Any = await self.redis.xreadgroup(
            self.group, self.consumer, {self.stream: ">"}, count=self.batch_size, block=block_ms
        )
        for _stream, raw in reply or []:
            handled += await self.record(_entries(raw))
        return handled

    async def close(self) -> None:
        """Close the connection (for callers that use `record_once` without `run`)."""
        await self.redis.aclose()

    async def record(self, entries: Sequence[Entry]) -> int:
        """Record a batch of entries and acknowledge what needs no retry; return how many."""
        items, done = [], []
        for entry_id, fields in entries:
            if not fields:
                self.stats["trimmed"] += 1  # trimmed from the stream before it was recorded
                done.append(entry_id)
                continue
            try:
                items.append(self.parse(entry_id, fields))
            except ValueError as err:
                self.stats["malformed"] += 1
                logger.error("%s %s not recorded: %s", self.entry_name, entry_id, err)
                done.append(entry_id)
        if items:
            self.stats["transactions"] += 1
            try:
                outcome = await asyncio.to_thread(self._store_in_one_transaction, items)
            except sa_errors.SQLAlchemyError as err:
                self.stats["database_errors"] += 1
                logger.warning("%s: entries not recorded, retried later (%s)", self.stream, err)
            else:
                done += self.settle(items, outcome)
        if done:
            await self.redis.xack(self.stream, self.group, *done)
        return len(entries)

    @staticmethod
    def stream_of(prefix: str) -> str:
        """The stream this kind of recorder records, in a deployment of key prefix `prefix`."""
        raise NotImplementedError

    def parse(self, entry_id: str, fields: dict[str, bytes]) -> Item:
        """Return what an entry holds; `ValueError` names what is wrong with it."""
        raise NotImplementedError

    def store(self, session: Session, items: list[Item]) -> Outcome:
        """Store parsed entries (within the transaction; in a worker thread)."""
        raise NotImplementedError

    def settle(self, items: list[Item], outcome: Outcome) -> list[str]:
        """Count what a committed `store` did; return the ids of the entries done with."""
        raise NotImplementedError

    def _store_in_one_transaction(self, items: list[Item]) -> Outcome:
        """`store` in a transaction of its own (runs in a thread)."""
        with self.session_factory() as session, session.begin():
            return self.store(session, items)

    async def _ensure_group(self) -> None:
        """Create the group at the stream's start (the stream may predate it) unless it exists."""
        if not self._has_group:
            await redis_streams.ensure_group(self.redis, self.stream, self.group)
            self._has_group = True

    async def _retry_pending(self) -> int:
        """Read this recorder's pending entries again, page by page, and record them."""
        handled, after = 0, "0-0"
        while True:
            reply: Any = await self.redis.xreadgroup(
                self.group, self.consumer, {self.stream: after}, count=self.batch_size
            )
            entries = _entries(reply[0][1]) if reply else []
            if not entries:
                return handled
            handled += await self.record(entries)
            after = entries[-1][0]

    async def _claim_stale(self) -> int:
        """Take over and record entries another recorder left pending for `claim_idle_ms`."""
        _cursor, raw, deleted = await self.redis.xautoclaim(
            self.stream, self.group, self.consumer, self.claim_idle_ms, start_id="0-0",
            count=self.batch_size,
        )  # fmt: skip
        if deleted:
            self.stats["trimmed"] += len(deleted)
        return await self.record(_entries(raw)) if raw else 0
