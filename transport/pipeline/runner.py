"""Run the chain on what the bus delivers: read a batch, process it, acknowledge after committing.

The runner is the only caller of steps. It times each one and counts fixes in, out and dropped
per reason. A batch that fails (a database or Redis unreachable) is retried with back-off from
the step that failed, with the batch as that step received it: the steps before it (the online
matchers, the rules' monitors) have taken it in already. Started over, they would go back to
the vehicles' checkpoints and the matchers would begin new chains, matching some fixes worse.

Processed batches are acknowledged only after their vehicles' states and then their fixes are
committed: after every batch by default, or once per `commit_interval_s` (the worker's
setting) or `MAX_UNCOMMITTED_PER_VEHICLE` fixes of one vehicle, so that a vehicle seen in
several batches is checkpointed once. A commit is written in a thread while the next batches
are processed (its Redis and SQLite writes would otherwise pause the worker for a fifth of a
second each second at 2,000 fixes/s); the next commit waits for it. The fixes of a worker
killed before the checkpoint stay pending; whoever claims them resumes from the last
checkpoint and processes them again (their alerts are recorded idempotently, by alert id).
Killed between the two writes, the worker leaves fixes the checkpoint lists: they come back as
duplicates, and the store step stores those too. The bound keeps every uncommitted fix within
the checkpoint's list of recent fixes.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import math
import sqlite3
import time
from typing import TYPE_CHECKING

import redis
from sqlalchemy import exc as sa_errors

from transport.bus import redis_streams
from transport.pipeline.batch import RECENT_FIXES_KEPT, Batch
from transport.pipeline.chain import HoldsVehicles

if TYPE_CHECKING:
    from collections.abc import Callable

    from transport.bus.base import Consumer, Delivery
    from transport.pipeline.chain import Chain
    from transport.pipeline.checkpoint import CheckpointStore
    from transport.pipeline.fix_store import BufferedFixStore

__all__ = ["DEFAULT_BATCH_SIZE", "Runner", "RunnerStats"]

logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 2_000  # per shard read: a backlog drains in big batches (see README)
MAX_UNCOMMITTED_PER_VEHICLE = RECENT_FIXES_KEPT // 2
_RETRIED = (
    sqlite3.OperationalError,
    sa_errors.OperationalError,  # the waybill store's database locked or unreachable
    redis.ConnectionError,
    redis.TimeoutError,
    OSError,
)


class RunnerStats:
    """Counters of one runner: batches, fixes per step, drops per reason, seconds per step."""

    def __init__(self) -> None:
        self.counts: collections.Counter[str] = collections.Counter()
        self.step_s: dict[str, float] = collections.defaultdict(float)

    def summary(self) -> dict[str, float]:
        """Return every counter in one flat mapping (for logs and `--stats`)."""
        return {**self.counts, **{f"{k}.seconds": round(v, 6) for k, v in self.step_s.items()}}


class Runner:
    """Process deliveries of one consumer through a chain; commit, then acknowledge.

    `fix_store` and `checkpoints` are the stores the chain's steps save to. A read comes at
    least `linger_s` after the previous one began, unless that one came back full (a backlog):
    at light load what arrives meanwhile goes in one batch rather than in many small ones that
    each pay the per-batch costs (Kafka's consumers wait ``fetch.max.wait.ms`` alike).

    A vehicle whose last commit is `forget_idle_s` old (on `clock`) is dropped from what the
    steps and the checkpoint store hold in memory, and rebuilt from its checkpoint if it comes
    back: a long-running worker holds the vehicles that report, not every vehicle it ever saw.
    """

    def __init__(
        self,
        consumer: Consumer,
        chain: Chain,
        *,
        fix_store: BufferedFixStore,
        checkpoints: CheckpointStore,
        batch_size: int = DEFAULT_BATCH_SIZE,
        block_ms: int = 500,
        commit_interval_s: float = 0.0,
        linger_s: float = 0.0,
        forget_idle_s: float = math.inf,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.consumer = consumer
        self.chain = chain
        self.fix_store = fix_store
        self.checkpoints = checkpoints
        self.batch_size = batch_size
        self.block_ms = block_ms
        self.commit_interval_s = commit_interval_s
        self.linger_s = linger_s
        self.forget_idle_s = forget_idle_s
        self.clock = clock
        self.stats = RunnerStats()
        self.uncommitted: list[Delivery] = []
        self.uncommitted_by_vehicle: collections.Counter[str] = collections.Counter()
        self.committed_at = clock()
        self._commit_in_flight: asyncio.Task[bool] | None = None
        self._has_given_up = False  # a commit left pending at a stop: none may follow it
        self.last_committed_at: dict[str, float] = {}  # by vehicle
        self._swept_at = clock()
        self._read_at = -math.inf
        self._was_full = False
        self._interrupted: tuple[list[Delivery], int, Batch] | None = None

    async def run(self, *, stop: asyncio.Event) -> None:
        """Process batches until `stop` is set; the batch in hand is finished and committed."""
        while not stop.is_set():
            await self.process_next(stop=stop)
        await self.commit(stop=stop)

    async def process_next(self, *, stop: asyncio.Event | None = None) -> int:
        """Read one batch, process it until it goes through, commit when due; return its size.

        An empty read commits what is held, so a quiet stream is acknowledged promptly.
        """
        await self._linger(stop)
        self._read_at = self.clock()
        deliveries = await self.consumer.read(count=self.batch_size, block_ms=self.block_ms)
        self._was_full = len(deliveries) >= self.batch_size
        if deliveries and not await self._retrying(
            lambda: self.process_isolating_faults(deliveries),
            what=f"batch of {len(deliveries)} fixes",
            counter="batch_retries",
            stop=stop,
        ):
            return 0  # unacknowledged: the bus delivers it again
        self.uncommitted += deliveries
        self.uncommitted_by_vehicle.update(d.fix.vehicle_id for d in deliveries)
        if self.uncommitted and (
            not deliveries
            or self.clock() - self.committed_at >= self.commit_interval_s
            or max(self.uncommitted_by_vehicle.values()) >= MAX_UNCOMMITTED_PER_VEHICLE
        ):
            await self.start_commit(stop=stop)
        if not deliveries or (self._commit_in_flight and self._commit_in_flight.done()):
            await self.wait_for_commit()
        return len(deliveries)

    def linger_wait_s(self) -> float:
        """Seconds the next read waits: what is left of `linger_s` since the previous read
        began, none after a full read."""
        return 0.0 if self._was_full else max(0.0, self._read_at + self.linger_s - self.clock())

    async def _linger(self, stop: asyncio.Event | None) -> None:
        """Wait `linger_wait_s`, or until `stop` is set."""
        wait_s = self.linger_wait_s()
        if wait_s == 0:
            return
        if stop is None:
            await asyncio.sleep(wait_s)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), wait_s)

    async def commit(self, *, stop: asyncio.Event | None = None) -> None:
        """Commit what is held and wait until it is written and acknowledged."""
        await self.start_commit(stop=stop)
        await self.wait_for_commit()

    async def start_commit(self, *, stop: asyncio.Event | None = None) -> None:
        """Wait for the commit in flight; then set the held states, fixes and deliveries aside
        and write them in a thread, beside the next batches: the checkpoint, then the fixes,
        then the deliveries are acknowledged. An outage is retried until `stop` is set."""
        await self.wait_for_commit()
        if self._has_given_up:
            return  # left pending: claimed and processed again from the last commit
        self.committed_at = self.clock()
        writes = (self.checkpoints.prepare_commit(), self.fix_store.prepare_commit())
        vehicle_ids = list(self.uncommitted_by_vehicle)
        deliveries, self.uncommitted = self.uncommitted, []
        self.uncommitted_by_vehicle = collections.Counter()
        self._commit_in_flight = asyncio.create_task(
            self._write_and_acknowledge(
                writes, deliveries, vehicle_ids, self.committed_at, stop=stop
            )
        )

    async def wait_for_commit(self) -> None:
        """Wait for the commit in flight, if any; then forget the vehicles idle too long. A
        commit given up (its fixes left pending) is the last: none follows it."""
        in_flight, self._commit_in_flight = self._commit_in_flight, None
        if in_flight is not None and not await in_flight:
            self._has_given_up = True
        if not self._has_given_up:
            self._forget_idle_vehicles()

    async def _write_and_acknowledge(
        self,
        writes: tuple[Callable[[], None], ...],
        deliveries: list[Delivery],
        vehicle_ids: list[str],
        started_at: float,
        *,
        stop: asyncio.Event | None,
    ) -> bool:
        """Write a commit (in a thread), acknowledge its deliveries and note when their
        vehicles were committed; False if given up."""

        def write() -> None:
            started = time.perf_counter()
            for each in writes:
                each()
            self.stats.step_s["commit"] += time.perf_counter() - started

        if not await self._retrying(write, what="commit", counter="commit_retries", stop=stop):
            return False
        if deliveries:
            await self.consumer.ack(deliveries)
        self.stats.counts["acknowledged"] += len(deliveries)
        self.stats.counts["commits"] += 1
        self.last_committed_at.update(dict.fromkeys(vehicle_ids, started_at))
        return True

    def _forget_idle_vehicles(self) -> None:
        """Drop the vehicles last committed `forget_idle_s` ago or more from the steps' and the
        checkpoint store's memory (looked for ten times per idle period)."""
        now = self.clock()
        if now - self._swept_at < self.forget_idle_s / 10:
            return
        self._swept_at = now
        idle = [
            v
            for v, at in self.last_committed_at.items()
            if now - at >= self.forget_idle_s and v not in self.uncommitted_by_vehicle
        ]
        if not idle:
            return
        for holder in (*self.chain, self.checkpoints):
            if isinstance(holder, HoldsVehicles):
                holder.forget_vehicles(idle)
        for vehicle_id in idle:
            del self.last_committed_at[vehicle_id]
        self.stats.counts["vehicles_forgotten"] += len(idle)

    async def _retrying(
        self, call: Callable[[], object], *, what: str, counter: str, stop: asyncio.Event | None
    ) -> bool:
        """Run a blocking call in a thread until it succeeds (True), counting each outage in
        `counter`; False when `stop` is set during the back-off after one."""
        delays = redis_streams.backoff_delays()
        while True:
            try:
                await asyncio.to_thread(call)
                return True
            except _RETRIED as err:
                self.stats.counts[counter] += 1
                delay = next(delays)
                logger.warning("%s failed (%s); retrying in %.2f s", what, err, delay)
                if stop is not None and stop.is_set():
                    return False
                await asyncio.sleep(delay)

    def process_isolating_faults(self, deliveries: list[Delivery]) -> None:
        """Process a batch; on a fault in a step, halve it until the faulty fix is set aside.

        Outages (`_RETRIED`) propagate so the whole batch is retried; any other error is a
        bug or a poison fix: it is logged with the vehicle and counted, and the rest goes on.
        """
        try:
            self.process(deliveries)
        except _RETRIED:
            raise
        except Exception:
            if len(deliveries) == 1:
                fix = deliveries[0].fix
                logger.exception("fix of %s at %s failed in the chain; set aside",
                                 fix.vehicle_id, fix.fix_at)  # fmt: skip
                self.stats.counts["failed"] += 1
                return
            half = len(deliveries) // 2
            self.process_isolating_faults(deliveries[:half])
            self.process_isolating_faults(deliveries[half:])

    def process(self, deliveries: list[Delivery]) -> Batch:
        """Run the chain on the fixes of `deliveries` (blocking: called in a worker thread).

        After an outage (`_RETRIED`) in a step, the next call with the same deliveries starts
        at that step, with the batch as it received it.
        """
        interrupted, self._interrupted = self._interrupted, None
        if interrupted is not None and interrupted[0] is deliveries:
            _, first_step, batch = interrupted
        else:
            fixes = tuple(delivery.fix for delivery in deliveries)
            self.stats.counts["redelivered"] += sum(d.is_redelivery for d in deliveries)
            batch = Batch(fixes, self.checkpoints.load_states({fix.vehicle_id for fix in fixes}))
            first_step = 0
        for position, step in enumerate(self.chain[first_step:], start=first_step):
            name = type(step).__name__
            fixes_in, dropped_before = len(batch.fixes), len(batch.dropped)
            started = time.perf_counter()
            try:
                batch = step(batch)
            except _RETRIED:
                self._interrupted = (deliveries, position, batch)
                raise
            self.stats.step_s[name] += time.perf_counter() - started
            self.stats.counts[f"{name}.in"] += fixes_in
            self.stats.counts[f"{name}.out"] += len(batch.fixes)
            for reason, fix in batch.dropped[dropped_before:]:
                self.stats.counts[f"{name}.dropped.{reason}"] += 1
                logger.debug("%s dropped %s at %s: %s", name, fix.vehicle_id, fix.fix_at, reason)
        self.stats.counts["batches"] += 1
        return batch
