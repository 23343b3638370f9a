"""Copy the reminder log from Redis into the alerts' history in the database.

Redis holds live state, not the record: each step of a driver reminder (queued by a worker,
sent, acknowledged or found undeliverable by a gateway) is logged on the stream
``{prefix}:reminder_log`` and recorded from there by a `ReminderRecorder`, which every
monitoring worker runs beside its pipeline. The recorders share the consumer group
``reminder-recorders``: at-least-once delivery, idempotent by the entry id (the history row's
``source_key``), an entry acknowledged only after its row is committed. An entry whose alert is
not stored yet stays pending and is read again every `retry_interval_s`; one still waiting after
`give_up_after_s` is acknowledged with an error logged (it stays in the log). Pending entries of
a recorder that died are claimed by another after `claim_idle_ms`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import redis.asyncio as aioredis
from redis import exceptions as redis_errors
from sqlalchemy import exc as sa_errors

from transport.alerts.handling import AlertAction
from transport.bus import redis_streams
from transport.redis_client import async_client
from transport.reminders import ReminderKeys, ReminderStatus
from transport.store import reminder_steps
from transport.store.alerts import SYSTEM_ACTOR

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from sqlalchemy.orm import Session, sessionmaker

__all__ = ["GROUP", "ReminderRecorder", "step_of"]

logger = logging.getLogger(__name__)

GROUP = "reminder-recorders"
ACTIONS = {
    ReminderStatus.QUEUED: AlertAction.REMINDER_QUEUED,
    ReminderStatus.SENT: AlertAction.REMINDER_SENT,
    ReminderStatus.ACKNOWLEDGED: AlertAction.REMINDER_ACKNOWLEDGED,
    ReminderStatus.UNDELIVERABLE: AlertAction.REMINDER_UNDELIVERABLE,
}
#: Log fields kept in the history note, in this order, as ``name=value``.
NOTE_FIELDS = (("gateway_id", "gateway"), ("phone", "phone"), ("serial", "serial"),
               ("result", "result"), ("reason", "reason"))  # fmt: skip
_REDIS_DOWN = (redis_errors.ConnectionError, redis_errors.TimeoutError, OSError)

Entry = tuple[str, dict[str, str]]
_NOTHING = reminder_steps.StepOutcome(frozenset(), frozenset(), frozenset())


def step_of(stream: str, entry_id: str, fields: Mapping[str, str]) -> reminder_steps.ReminderStep:
    """Return the history step of one reminder-log entry; `ValueError` names what is wrong."""
    faults = [f"`{name}` missing" for name in ("alert_id", "status", "at") if not fields.get(name)]
    if faults:
        raise ValueError("; ".join(faults))
    try:
        action = ACTIONS[ReminderStatus(fields["status"])]
        acted_at = datetime.fromisoformat(fields["at"])
    except ValueError as err:
        msg = f"unreadable `status` or `at`: {err}"
        raise ValueError(msg) from err
    if acted_at.tzinfo is None:
        msg = f"`at` must be timezone-aware, got {fields['at']!r}"
        raise ValueError(msg)
    note = " ".join(f"{label}={fields[name]}" for name, label in NOTE_FIELDS if fields.get(name))
    is_gateway_step = action is not AlertAction.REMINDER_QUEUED
    actor = fields.get("gateway_id") if is_gateway_step else None
    return reminder_steps.ReminderStep(
        source_key=f"{stream}#{entry_id}", alert_key=fields["alert_id"], action=action,
        actor=actor or SYSTEM_ACTOR, note=note or None, acted_at=acted_at.astimezone(UTC),
    )  # fmt: skip


def _decoded(raw: Any) -> list[Entry]:
    """Return (entry id, fields) pairs of a stream reply as text; a trimmed entry has no fields."""
    return [
        (
            raw_id.decode(),
            {k.decode(): v.decode(errors="replace") for k, v in (fields or {}).items()},
        )
        for raw_id, fields in raw
    ]


def _age_s(entry_id: str, now: datetime) -> float:
    """Seconds since a stream entry was added (its id starts with the Unix time in ms)."""
    return now.timestamp() - int(entry_id.split("-", 1)[0]) / 1000


class ReminderRecorder:
    """Record the reminder log's entries in the alerts' history (one consumer of the group).

    `stats` counts ``recorded``, ``repeated`` (recorded before), ``waiting`` (alert not stored
    yet, each time seen), ``malformed``, ``abandoned``, ``trimmed``, ``transactions``,
    ``redis_errors`` and ``database_errors``.
    """

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
        give_up_after_s: float = 24 * 3600.0,
        linger_s: float = 0.5,
    ) -> None:
        self.stream = ReminderKeys(prefix).log
        self.session_factory = session_factory
        self.consumer = consumer
        self.batch_size = batch_size
        self.retry_interval_s = retry_interval_s
        self.claim_idle_ms = claim_idle_ms
        self.give_up_after_s = give_up_after_s
        self.linger_s = linger_s
        self.redis: aioredis.Redis = async_client(url)
        self.stats: Counter[str] = Counter()
        self._retry_due_at = 0.0
        self._has_group = False

    async def run(self, *, stop: asyncio.Event, block_ms: int = 1000) -> None:
        """Record until `stop` is set, riding out Redis outages; then close the connection.

        After a read shorter than a batch it lingers `linger_s` (or until stopped), so that the
        next transaction takes what came meanwhile: committing each read of a few steps put 14 %
        of a worker's profile samples at 2,000 fixes/s in the recorder, mostly in commits.
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
                    logger.warning("reminder log unreadable (%s)", err)
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
            GROUP, self.consumer, {self.stream: ">"}, count=self.batch_size, block=block_ms
        )
        for _stream, raw in reply or []:
            handled += await self._record(_decoded(raw))
        return handled

    async def close(self) -> None:
        """Close the connection (for callers that use `record_once` without `run`)."""
        await self.redis.aclose()

    async def _ensure_group(self) -> None:
        """Create the group at the log's start (the log may predate it) unless it exists."""
        if not self._has_group:
            await redis_streams.ensure_group(self.redis, self.stream, GROUP)
            self._has_group = True

    async def _retry_pending(self) -> int:
        """Read this recorder's pending entries again, page by page, and record them."""
        handled, after = 0, "0-0"
        while True:
            reply: Any = await self.redis.xreadgroup(
                GROUP, self.consumer, {self.stream: after}, count=self.batch_size
            )
            entries = _decoded(reply[0][1]) if reply else []
            if not entries:
                return handled
            handled += await self._record(entries)
            after = entries[-1][0]

    async def _claim_stale(self) -> int:
        """Take over and record entries another recorder left pending for `claim_idle_ms`."""
        _cursor, raw, deleted = await self.redis.xautoclaim(
            self.stream, GROUP, self.consumer, self.claim_idle_ms, start_id="0-0",
            count=self.batch_size,
        )  # fmt: skip
        if deleted:
            self.stats["trimmed"] += len(deleted)
        return await self._record(_decoded(raw)) if raw else 0

    async def _record(self, entries: Sequence[Entry]) -> int:
        """Record a batch of entries, then acknowledge what no longer needs a retry."""
        steps, done = [], []
        for entry_id, fields in entries:
            if not fields:
                self.stats["trimmed"] += 1  # trimmed from the log before it was recorded
                done.append(entry_id)
                continue
            try:
                steps.append(step_of(self.stream, entry_id, fields))
            except ValueError as err:
                self.stats["malformed"] += 1
                logger.error("reminder log entry %s not recorded: %s", entry_id, err)
                done.append(entry_id)
        self.stats["transactions"] += bool(steps)
        try:
            outcome = await asyncio.to_thread(self._store, steps) if steps else _NOTHING
        except sa_errors.SQLAlchemyError as err:
            self.stats["database_errors"] += 1
            logger.warning("reminder steps not recorded, retried later (%s)", err)
            outcome = _NOTHING
        self.stats["recorded"] += len(outcome.recorded)
        self.stats["repeated"] += len(outcome.repeated)
        self.stats["waiting"] += len(outcome.waiting)
        done += [key.rsplit("#", 1)[1] for key in outcome.recorded | outcome.repeated]
        done += self._abandoned(outcome.waiting)
        if done:
            await self.redis.xack(self.stream, GROUP, *done)
        return len(entries)

    def _abandoned(self, waiting: frozenset[str]) -> list[str]:
        """Return the ids of waiting entries too old to wait any longer (logged)."""
        now = datetime.now(UTC)
        ids = [key.rsplit("#", 1)[1] for key in waiting]
        old = [entry_id for entry_id in ids if _age_s(entry_id, now) > self.give_up_after_s]
        if old:
            self.stats["abandoned"] += len(old)
            logger.error("reminder steps %s: their alerts were never stored; given up", old)
        return old

    def _store(self, steps: list[reminder_steps.ReminderStep]) -> reminder_steps.StepOutcome:
        """Record steps in one transaction (runs in a thread)."""
        with self.session_factory() as session, session.begin():
            return reminder_steps.record_reminder_steps(session, steps, all_carriers=True)
