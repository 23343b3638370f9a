"""Tests for the runner's commit: fixes, then checkpoints, then acknowledgements, at an interval.

A runner that is lost before its commit (a killed worker) must leave its fixes to be processed
again by whoever takes them over, from the last committed checkpoint, each exactly once.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from typer.testing import CliRunner

from api.cli import app
from tests.transport.bus.fixtures import make_fleet
from tests.transport.pipeline.test_worker_failover import checkpointed_states
from tests.transport.redis_process import RedisProcess, free_port
from transport.bus.memory import MemoryBus
from transport.monitoring import MonitorState
from transport.pipeline import chain, runner
from transport.pipeline.batch import VehicleState, epoch_us
from transport.pipeline.checkpoint import RedisCheckpointStore
from transport.pipeline.fix_store import BufferedFixStore, SqliteFixStore
from transport.pipeline.steps.evaluate_rules import MonitorCheckpoint
from transport.redis_client import retrying_client

N_VEHICLES, N_STEPS = 5, 8
GATE_TIMEOUT_S = 30.0


@pytest.fixture
def fix_store(tmp_path: Path) -> Iterator[SqliteFixStore]:
    store = SqliteFixStore(tmp_path / "fixes.sqlite")
    yield store
    store.close()


def worker_on(
    bus: MemoryBus,
    name: str,
    fix_store: SqliteFixStore,
    redis_url: str,
    *,
    interval_s: float,
    checkpoints: RedisCheckpointStore | None = None,
) -> runner.Runner:
    """A runner as `service.run_worker` builds it, store-only, checkpointing to Redis."""
    buffered = BufferedFixStore(fix_store)
    checkpoints = checkpoints or RedisCheckpointStore(redis_url)
    steps = chain.build_chain(fix_store=buffered, checkpoints=checkpoints)
    return runner.Runner(
        bus.consumer([0], name=name), steps, fix_store=buffered, checkpoints=checkpoints,
        batch_size=N_VEHICLES * 2, block_ms=10, commit_interval_s=interval_s,
    )  # fmt: skip


async def published_fleet() -> MemoryBus:
    """An in-process bus holding the test fleet's fixes."""
    bus = MemoryBus(n_shards=1)
    await bus.publish(make_fleet(N_VEHICLES, N_STEPS))
    return bus


async def take_over(bus: MemoryBus, fix_store: SqliteFixStore, redis_url: str) -> runner.Runner:
    """A second worker that processes and commits everything left on the bus."""
    second = worker_on(bus, "second", fix_store, redis_url, interval_s=0.0)
    while await second.process_next():
        pass
    return second


def assert_every_fix_processed_and_stored_once(redis_url: str, fix_store: SqliteFixStore) -> None:
    """Each vehicle's checkpoint counts all its fixes, and the store holds every fix."""
    states = checkpointed_states(redis_url)
    assert {v: s.fixes_seen for v, s in states.items()} == {
        f"V{v:04d}": N_STEPS for v in range(N_VEHICLES)
    }  # none lost as a "duplicate", none twice
    assert fix_store.count_fixes() == N_VEHICLES * N_STEPS


def test_fixes_and_states_wait_for_the_commit_and_are_acknowledged_after_it(
    redis_server: RedisProcess, fix_store: SqliteFixStore
) -> None:
    async def scenario() -> None:
        bus = await published_fleet()
        worker = worker_on(bus, "w", fix_store, redis_server.url, interval_s=3600.0)
        assert await worker.process_next() == N_VEHICLES * 2
        assert await worker.process_next() == N_VEHICLES * 2
        assert fix_store.count_fixes() == 0
        assert checkpointed_states(redis_server.url) == {}
        assert worker.stats.counts["acknowledged"] == 0

        await worker.commit()
        assert fix_store.count_fixes() == N_VEHICLES * 4
        assert {s.fixes_seen for s in checkpointed_states(redis_server.url).values()} == {4}
        assert worker.stats.counts["acknowledged"] == N_VEHICLES * 4

    asyncio.run(scenario())


@pytest.mark.parametrize("committed_batches", [0, 1])
def test_a_worker_lost_before_its_commit_leaves_its_fixes_to_be_processed_again(
    redis_server: RedisProcess, fix_store: SqliteFixStore, committed_batches: int
) -> None:
    async def scenario() -> None:
        bus = await published_fleet()
        first = worker_on(bus, "first", fix_store, redis_server.url, interval_s=0.0)
        for _ in range(committed_batches):
            await first.process_next()
        await first.wait_for_commit()  # written beside the next batch: wait, to be sure
        first.commit_interval_s = 3600.0
        await first.process_next()  # processed, never committed: the worker dies
        await first.consumer.close()  # its unacknowledged fixes go back to the bus

        second = await take_over(bus, fix_store, redis_server.url)
        assert second.stats.counts["redelivered"] == N_VEHICLES * 2
        assert second.stats.counts["Deduplicate.dropped.duplicate"] == 0

    asyncio.run(scenario())
    assert_every_fix_processed_and_stored_once(redis_server.url, fix_store)


def test_fixes_a_worker_checkpointed_but_did_not_store_are_stored_when_they_come_back(
    redis_server: RedisProcess, fix_store: SqliteFixStore
) -> None:
    async def scenario() -> None:
        bus = await published_fleet()
        first = worker_on(bus, "first", fix_store, redis_server.url, interval_s=3600.0)
        await first.process_next()
        first.checkpoints.commit()  # killed between the checkpoint and the fixes
        await first.consumer.close()

        second = await take_over(bus, fix_store, redis_server.url)
        assert second.stats.counts["Deduplicate.dropped.duplicate"] == N_VEHICLES * 2

    asyncio.run(scenario())
    assert_every_fix_processed_and_stored_once(redis_server.url, fix_store)


def unreachable_client() -> redis.Redis:
    """A client of a port nobody listens on, failing at once (Redis is down)."""
    return retrying_client(f"redis://127.0.0.1:{free_port()}", retries=0)


class GatedCheckpoints(RedisCheckpointStore):
    """Checkpoints in Redis whose writes wait until the test opens the gate (a slow Redis)."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.gate = threading.Event()

    def prepare_commit(self) -> Callable[[], None]:
        write = super().prepare_commit()

        def write_when_open() -> None:
            self.gate.wait(timeout=GATE_TIMEOUT_S)
            write()

        return write_when_open


def test_the_next_batch_is_processed_while_a_commit_is_written_and_the_next_commit_waits(
    redis_server: RedisProcess, fix_store: SqliteFixStore
) -> None:
    async def scenario() -> None:
        bus = await published_fleet()
        checkpoints = GatedCheckpoints(redis_server.url)
        worker = worker_on(
            bus, "w", fix_store, redis_server.url, interval_s=0.0, checkpoints=checkpoints
        )
        assert await worker.process_next() == N_VEHICLES * 2  # its commit waits at the gate
        second = asyncio.create_task(worker.process_next())
        async with asyncio.timeout(GATE_TIMEOUT_S):
            while worker.stats.counts["batches"] < 2:
                await asyncio.sleep(0.01)
        # the second batch went on from the states being written: two more fixes each
        vehicle_ids = [f"V{v:04d}" for v in range(N_VEHICLES)]
        held = checkpoints.load_states(vehicle_ids).values()
        assert {state.fixes_seen for state in held} == {4}
        assert not second.done()  # its commit waits for the first
        assert checkpointed_states(redis_server.url) == {}
        assert fix_store.count_fixes() == 0
        assert worker.stats.counts["acknowledged"] == 0

        checkpoints.gate.set()
        await second
        await worker.wait_for_commit()
        assert {s.fixes_seen for s in checkpointed_states(redis_server.url).values()} == {4}
        assert fix_store.count_fixes() == N_VEHICLES * 4
        assert worker.stats.counts["acknowledged"] == N_VEHICLES * 4
        assert worker.stats.counts["commits"] == 2

    asyncio.run(scenario())


def test_a_commit_given_up_at_a_stop_is_followed_by_none(
    redis_server: RedisProcess, fix_store: SqliteFixStore
) -> None:
    """Redis is down when the worker is told to stop: its commit is given up, and the commit
    that closes the run writes nothing either, though Redis is back by then (written, it
    would checkpoint states whose fixes stay pending unacknowledged)."""

    async def scenario() -> None:
        bus = await published_fleet()
        checkpoints = RedisCheckpointStore(redis_server.url)
        worker = worker_on(
            bus, "w", fix_store, redis_server.url, interval_s=3600.0, checkpoints=checkpoints
        )
        assert await worker.process_next() == N_VEHICLES * 2
        stop = asyncio.Event()
        stop.set()
        reachable, checkpoints.redis = checkpoints.redis, unreachable_client()
        await worker.commit(stop=stop)
        checkpoints.redis = reachable
        await worker.commit(stop=stop)
        assert worker.stats.counts["commit_retries"] == 1
        assert worker.stats.counts["acknowledged"] == 0

    asyncio.run(scenario())
    assert checkpointed_states(redis_server.url) == {}
    assert fix_store.count_fixes() == 0


def test_states_being_written_are_served_and_later_saves_wait_for_the_next_commit(
    redis_server: RedisProcess,
) -> None:
    writer, reader = RedisCheckpointStore(redis_server.url), RedisCheckpointStore(redis_server.url)
    first, second = VehicleState("V0001", fixes_seen=1), VehicleState("V0001", fixes_seen=2)
    writer.save_states([first])
    write = writer.prepare_commit()
    assert writer.load_states(["V0001"])["V0001"] is first  # set aside, still served
    writer.save_states([second])  # a batch processed while the commit is written
    assert writer.load_states(["V0001"])["V0001"] is second
    assert reader.load_states(["V0001"]) == {}

    write()
    assert reader.load_states(["V0001"]) == {"V0001": first}
    writer.commit()
    assert reader.load_states(["V0001"]) == {"V0001": second}
    writer.close()
    reader.close()


def test_states_a_failed_write_set_aside_go_with_the_next_commit(
    redis_server: RedisProcess,
) -> None:
    writer, reader = RedisCheckpointStore(redis_server.url), RedisCheckpointStore(redis_server.url)
    reachable, writer.redis = writer.redis, unreachable_client()
    one, two = VehicleState("V0001", fixes_seen=1), VehicleState("V0002", fixes_seen=1)
    writer.save_states([one, two])
    with pytest.raises(redis.ConnectionError):
        writer.prepare_commit()()
    assert writer.load_states(["V0001", "V0002"]) == {"V0001": one, "V0002": two}

    newer = VehicleState("V0001", fixes_seen=2)
    writer.save_states([newer])
    writer.redis = reachable  # Redis is back
    writer.commit()
    assert reader.load_states(["V0001", "V0002"]) == {"V0001": newer, "V0002": two}
    assert writer.in_flight == {}
    writer.close()
    reader.close()


def test_a_monitor_state_is_encoded_when_committed_and_read_back_by_another_worker(
    redis_server: RedisProcess,
) -> None:
    monitor_state = MonitorState(rule_states=(None, 3))
    state = VehicleState("V0001", monitor={"rules": MonitorCheckpoint(monitor_state)})
    writer = RedisCheckpointStore(redis_server.url)
    writer.save_states([state])
    assert writer.load_states(["V0001"]) == {"V0001": state}  # held, as it is
    reader = RedisCheckpointStore(redis_server.url)
    assert reader.load_states(["V0001"]) == {}

    writer.commit()
    (read,) = reader.load_states(["V0001"]).values()
    assert read.monitor["rules"] == monitor_state
    writer.close()
    reader.close()


def test_an_unreadable_checkpoint_is_logged_and_its_vehicle_starts_afresh(
    redis_server: RedisProcess, caplog: pytest.LogCaptureFixture
) -> None:
    writer, reader = RedisCheckpointStore(redis_server.url), RedisCheckpointStore(redis_server.url)
    writer.save_states([VehicleState("V0001", fixes_seen=1), VehicleState("V0002", fixes_seen=1)])
    writer.commit()
    writer.redis.hset(writer.key, "V0002", b"\xc1 not a checkpoint")

    assert set(reader.load_states(["V0001", "V0002", "V0003"])) == {"V0001"}
    assert reader.unreadable == 1
    assert "checkpoint of V0002 unreadable; the vehicle starts afresh" in caplog.text
    writer.close()
    reader.close()


def test_a_committed_state_is_served_as_held_until_another_worker_writes_the_vehicle(
    redis_server: RedisProcess,
) -> None:
    ours = VehicleState(
        "V0001", fixes_seen=1, monitor={"rules": MonitorCheckpoint(MonitorState(()))}
    )
    first, second = RedisCheckpointStore(redis_server.url), RedisCheckpointStore(redis_server.url)
    first.save_states([ours])
    first.commit()
    assert first.load_states(["V0001"])["V0001"] is ours  # not read back and parsed again

    theirs = VehicleState("V0001", fixes_seen=2)
    second.save_states([theirs])
    second.commit()  # the vehicle's shard moved to the second worker meanwhile
    assert first.load_states(["V0001"]) == {"V0001": theirs}
    assert second.load_states(["V0001"])["V0001"] is theirs
    first.close()
    second.close()


def test_buffered_store_sees_held_fixes_as_stored(fix_store: SqliteFixStore) -> None:
    fixes = make_fleet(1, 3)
    fix_store.add_fixes(fixes[:1])
    buffered = BufferedFixStore(fix_store)
    assert buffered.add_fixes(fixes[1:]) == 2
    assert buffered.add_fixes(fixes[2:]) == 0  # held already
    times = [epoch_us(f.fix_at) for f in fixes]
    assert buffered.stored_fix_us("V0000", times) == set(times)
    assert fix_store.stored_fix_us("V0000", times) == {times[0]}
    buffered.commit()
    assert fix_store.stored_fix_us("V0000", times) == set(times)
    assert buffered.held == {}


def test_buffered_store_sees_fixes_being_stored_as_stored(fix_store: SqliteFixStore) -> None:
    fixes = make_fleet(1, 3)
    times = [epoch_us(f.fix_at) for f in fixes]
    buffered = BufferedFixStore(fix_store)
    buffered.add_fixes(fixes[:2])
    store_them = buffered.prepare_commit()
    buffered.add_fixes(fixes[2:])  # a batch processed while they are stored
    assert buffered.stored_fix_us("V0000", times) == set(times)
    assert fix_store.count_fixes() == 0

    store_them()
    assert fix_store.stored_fix_us("V0000", times) == set(times[:2])
    assert buffered.stored_fix_us("V0000", times) == set(times)
    buffered.commit()
    assert fix_store.count_fixes() == 3
    assert buffered.held == buffered.in_flight == {}


def test_a_commit_interval_the_claim_timeout_would_undercut_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # the error box does not wrap the message
    result = CliRunner().invoke(
        app,
        ["worker", "--redis", "redis://127.0.0.1:1", "--claim-idle-ms", "1000",
         "--commit-interval-ms", "800"],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "--commit-interval-ms 800 must be at most half the claim idle time" in result.output
