"""Failure tests with real processes: a worker SIGKILLed mid-stream, Redis restarted.

Workers run as `hazmat worker` processes against a redis-server started by the test; fixes are
counted in the SQLite store and in the per-vehicle states checkpointed to Redis, which show
whether any fix was processed twice.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from tests.conftest import REPO_ROOT
from tests.transport.bus.fixtures import make_fleet
from tests.transport.redis_process import RedisProcess
from transport.bus.redis_streams import RedisStreamsBus
from transport.fixes import Fix
from transport.pipeline import checkpoint_codec
from transport.pipeline.batch import VehicleState, epoch_us

N_SHARDS = 2
LEASE_TTL_MS = 1500
CLAIM_IDLE_MS = 700
STOP_TIMEOUT_S = 30
RUN_CLI = "import sys; from api.cli import app; sys.argv[0] = 'hazmat'; app()"


class WorkerProcess:
    """A `hazmat worker` subprocess owning every shard."""

    def __init__(self, redis_url: str, db: Path, name: str, *, batch_size: int = 50) -> None:
        command = [
            sys.executable, "-c", RUN_CLI, "worker", "--redis", redis_url, "--db", str(db),
            "--n-shards", str(N_SHARDS), "--shards", "all", "--name", name,
            "--batch-size", str(batch_size), "--lease-ttl-ms", str(LEASE_TTL_MS),
            "--claim-idle-ms", str(CLAIM_IDLE_MS),
        ]  # fmt: skip
        self.name = name
        self.process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONFAULTHANDLER": "1"},  # SIGABRT prints every thread's stack
        )

    def stop(self) -> str:
        """Stop with SIGTERM (finishing its batch); return what it wrote to stderr."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            _, stderr = self.process.communicate(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.send_signal(signal.SIGABRT)
            _, stderr = self.process.communicate(timeout=10)
            pytest.fail(f"worker {self.name} still running {STOP_TIMEOUT_S} s after SIGTERM, "
                        f"where it was:\n{stderr.decode()}")  # fmt: skip
        return stderr.decode()

    def kill(self) -> None:
        """SIGKILL: no batch finished, no lease released, nothing acknowledged."""
        self.process.kill()
        self.process.communicate(timeout=10)


@pytest.fixture
def workers() -> Iterator[list[WorkerProcess]]:
    """Worker processes started by a test; whatever still runs is killed at the end."""
    started: list[WorkerProcess] = []
    yield started
    for worker in started:
        if worker.process.poll() is None:
            worker.kill()


def publish(redis_url: str, fixes: list[Fix]) -> None:
    """Publish fixes as a gateway would, in chunks."""

    async def run() -> None:
        bus = RedisStreamsBus(redis_url, n_shards=N_SHARDS, publish_timeout_s=30.0)
        for start in range(0, len(fixes), 1000):
            await bus.publish(fixes[start : start + 1000])
        await bus.close()

    asyncio.run(run())


def stored_count(db: Path) -> int:
    """Return how many fixes the store holds (0 before the first worker created it)."""
    if not db.exists():
        return 0
    with contextlib.closing(sqlite3.connect(db, timeout=30)) as connection:
        try:
            return int(connection.execute("SELECT count(*) FROM fixes").fetchone()[0])
        except sqlite3.OperationalError:
            return 0


def stored_keys(db: Path) -> collections.Counter[tuple[str, int]]:
    """Return each stored (vehicle, fix time) with how often it is stored."""
    with contextlib.closing(sqlite3.connect(db, timeout=30)) as connection:
        rows = connection.execute("SELECT vehicle_id, fix_at_us FROM fixes").fetchall()
    return collections.Counter((str(v), int(t)) for v, t in rows)


def wait_for(condition: Callable[[], bool], *, timeout_s: float, what: str) -> None:
    """Poll `condition` every 50 ms; fail the test with `what` after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.05)


def checkpointed_states(redis_url: str) -> dict[str, VehicleState]:
    """Return every vehicle state checkpointed to Redis."""
    client = redis.Redis.from_url(redis_url)
    try:
        raw = client.hgetall("hazmat:vehicle_state")
    finally:
        client.close()
    return {k.decode(): checkpoint_codec.decode_state(v) for k, v in raw.items()}


def pending_of(redis_url: str, consumer: str) -> int:
    """Return how many messages `consumer` holds unacknowledged across the shards."""
    client = redis.Redis.from_url(redis_url)
    try:
        total = 0
        for shard in range(N_SHARDS):
            for info in client.xinfo_consumers(f"hazmat:fixes:{shard}", "workers"):
                if info["name"].decode() == consumer:
                    total += int(info["pending"])
        return total
    finally:
        client.close()


def kill_holding_pending(worker: WorkerProcess, redis_url: str) -> int:
    """Freeze the worker until it is caught holding unacknowledged fixes, then SIGKILL it."""
    for _ in range(200):
        worker.process.send_signal(signal.SIGSTOP)
        held = pending_of(redis_url, worker.name)
        if held:
            worker.kill()
            return held
        worker.process.send_signal(signal.SIGCONT)
        time.sleep(0.01)
    pytest.fail("the worker never held pending fixes")


@pytest.mark.slow
def test_killed_worker_pending_fixes_are_claimed_none_lost_none_twice(
    redis_server: RedisProcess, tmp_path: Path, workers: list[WorkerProcess]
) -> None:
    n_vehicles, n_steps = 40, 150
    fleet = make_fleet(n_vehicles, n_steps)
    db = tmp_path / "fixes.sqlite"
    publish(redis_server.url, fleet)
    first = WorkerProcess(redis_server.url, db, "first")
    workers.append(first)
    wait_for(lambda: stored_count(db) >= 1000, timeout_s=60, what="the first worker to store")
    held = kill_holding_pending(first, redis_server.url)
    assert 0 < stored_count(db) < len(fleet)

    second = WorkerProcess(redis_server.url, db, "second")
    workers.append(second)
    wait_for(lambda: stored_count(db) == len(fleet), timeout_s=90, what="every fix stored")
    wait_for(lambda: pending_of(redis_server.url, "second") == 0, timeout_s=30, what="acks")
    log = second.stop()

    assert second.process.returncode == 0, log
    assert pending_of(redis_server.url, "first") == 0  # claimed away from the dead worker
    keys = stored_keys(db)
    assert len(keys) == len(fleet) and set(keys.values()) == {1}
    states = checkpointed_states(redis_server.url)
    assert {v: s.fixes_seen for v, s in states.items()} == {
        f"V{v:04d}": n_steps for v in range(n_vehicles)
    }  # each fix went through the monitor exactly once
    redelivered = int(re.search(r"'redelivered': (\d+)", log).group(1))  # type: ignore[union-attr]
    assert redelivered >= held


@pytest.mark.slow
def test_worker_and_producer_carry_on_after_redis_restarts(
    redis_server: RedisProcess, tmp_path: Path, workers: list[WorkerProcess]
) -> None:
    before = make_fleet(10, 20)
    after = [f for f in make_fleet(10, 40) if f.key not in {b.key for b in before}]
    db = tmp_path / "fixes.sqlite"
    worker = WorkerProcess(redis_server.url, db, "survivor")
    workers.append(worker)
    publish(redis_server.url, before)
    wait_for(lambda: stored_count(db) == len(before), timeout_s=60, what="the first fixes")

    redis_server.restart()  # no persistence: streams, group, leases and states are gone
    publish(redis_server.url, after)
    wait_for(lambda: stored_count(db) == len(before) + len(after), timeout_s=60, what="fixes after")
    log = worker.stop()

    assert worker.process.returncode == 0, log
    keys = stored_keys(db)
    assert set(keys) == {(f.vehicle_id, epoch_us(f.fix_at)) for f in before + after}
    assert set(keys.values()) == {1}
