"""Tests for the runner's read linger: at light load, fewer and larger batches."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from tests.transport.bus.fixtures import make_fleet
from tests.transport.manual_clock import ManualClock
from transport.bus.memory import MemoryBus
from transport.pipeline import chain, runner
from transport.pipeline.checkpoint import MemoryCheckpointStore
from transport.pipeline.fix_store import BufferedFixStore, SqliteFixStore

LINGER_S = 0.5


def store_only_runner(
    bus: MemoryBus, tmp_path: Path, *, batch_size: int, clock: ManualClock | None = None
) -> runner.Runner:
    """A store-only runner on the in-process bus that lingers `LINGER_S` between reads."""
    buffered = BufferedFixStore(SqliteFixStore(tmp_path / "fixes.sqlite"))
    checkpoints = MemoryCheckpointStore()
    steps = chain.build_chain(fix_store=buffered, checkpoints=checkpoints)
    return runner.Runner(
        bus.consumer([0], name="w"), steps, fix_store=buffered, checkpoints=checkpoints,
        batch_size=batch_size, block_ms=1_000, linger_s=LINGER_S, clock=clock or time.monotonic,
    )  # fmt: skip


def test_fixes_arriving_while_the_runner_lingers_go_in_one_batch(tmp_path: Path) -> None:
    fixes = make_fleet(6, 1)

    async def scenario() -> list[int]:
        bus = MemoryBus(n_shards=1)
        worker = store_only_runner(bus, tmp_path, batch_size=100)
        await bus.publish(fixes[:2])
        first = await worker.process_next()
        second = asyncio.create_task(worker.process_next())
        for fix in fixes[2:]:  # one by one, as terminals report
            await bus.publish([fix])
            await asyncio.sleep(LINGER_S / 20)
        return [first, await second]

    assert asyncio.run(scenario()) == [2, 4]


@pytest.mark.parametrize(("read", "expected_wait_s"), [(3, LINGER_S - 0.05), (4, 0.0)])
def test_the_next_read_waits_out_the_linger_unless_the_last_came_back_full(
    tmp_path: Path, read: int, expected_wait_s: float
) -> None:
    clock = ManualClock()

    async def scenario() -> float:
        bus = MemoryBus(n_shards=1)
        worker = store_only_runner(bus, tmp_path, batch_size=4, clock=clock)
        assert worker.linger_wait_s() == 0.0  # the first read does not wait
        await bus.publish(make_fleet(read, 1))
        await worker.process_next()
        clock.now_s += 0.05
        return worker.linger_wait_s()

    assert asyncio.run(scenario()) == pytest.approx(expected_wait_s)
