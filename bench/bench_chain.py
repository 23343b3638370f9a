"""The worker's chain in process, by read size: what a batch costs beside what a fix costs.

Part of ``./run bench pipeline`` (phase ``chain``). The bench fleet's first fixes, in time order
(about one fix per vehicle in a read of 1,000), go through the chain a ``hazmat worker``
runs (monitoring, track points, live channel, the Redis checkpoints and the SQLite fix store;
the heap settled as the worker settles it) in reads of `READ_SIZES` fixes, committed every
`COMMIT_EVERY` fixes whatever the read, with no bus, gateway or other process beside it. Each
run starts from empty stores; the read sizes take turns, `ROUNDS` times, and the fastest run of
each counts (the machine's speed wanders within minutes). Reported: microseconds per fix by
step and for the commit, the checkpoint's cost per vehicle written, and the cost of a batch as
such, fitted from the two read sizes (``per fix = a + b / read``).
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from service_heap import settled_heap  # beside this script

from geodata.matching.matcher import MatchParams
from transport.bus.memory import MemoryBus
from transport.pipeline import chain, checkpoint, live_monitoring, runner, warm_up
from transport.pipeline.fix_store import BufferedFixStore, SqliteFixStore

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from geodata.restrictions import RestrictionLayer
    from transport.bus.base import Consumer, Delivery
    from transport.fixes import Fix

__all__ = ["COMMIT_EVERY", "READ_SIZES", "chain_costs"]

READ_SIZES = (100, 1_000)  # a live read at light load, and one at 2,000 fixes/s per worker
COMMIT_EVERY = 2_000  # fixes: a second at 2,000 fixes/s, the worker's commit interval
N_FIXES = 30_000
ROUNDS = 2


def chain_costs(
    redis_url: str, new_database: Callable[[str], str], work: Path, network: Any,
    layer: RestrictionLayer, fixes: list[Fix], *, match_lag: int,
) -> dict[str, Any]:  # fmt: skip
    """Run the first `N_FIXES` of `fixes` through the chain at each read size, each run on a
    database `new_database(name)` gives (a seeded copy); return the costs."""
    fixes = fixes[:N_FIXES]
    runs: dict[int, dict[str, Any]] = {}
    for round_ in range(ROUNDS):
        for size in READ_SIZES:
            prefix = f"chain{size}-{round_}"
            run = _run(redis_url, new_database(prefix), work, network, layer, fixes, size,
                       match_lag, prefix)  # fmt: skip
            if size not in runs or run["us_per_fix"] < runs[size]["us_per_fix"]:
                runs[size] = run
    small, large = (runs[size] for size in READ_SIZES)
    per_batch_ms = (
        (small["us_per_fix"] - large["us_per_fix"]) / (1 / READ_SIZES[0] - 1 / READ_SIZES[1]) / 1000
    )
    return {
        "fixes": len(fixes),
        "commit_every_fixes": COMMIT_EVERY,
        "best_of": ROUNDS,
        "by_read": {str(size): run for size, run in runs.items()},
        "batch_ms_fitted": round(per_batch_ms, 1),
    }


def _run(
    redis_url: str, db_url: str, work: Path, network: Any, layer: RestrictionLayer,
    fixes: list[Fix], read: int, match_lag: int, prefix: str,
) -> dict[str, Any]:  # fmt: skip
    """One read size, from empty stores: microseconds per fix, by step and in all."""
    monitoring = live_monitoring.open_monitoring(
        network, [layer], database_url=db_url, redis_url=redis_url,
        match_params=MatchParams(lag=match_lag), prefix=prefix,
    )  # fmt: skip
    warm_up.warm_up_matching(monitoring.setup.network, monitoring.setup.match_params)
    stored = SqliteFixStore(work / f"{prefix}-fixes.sqlite")
    fix_store = BufferedFixStore(stored)
    checkpoints = checkpoint.RedisCheckpointStore(redis_url, prefix=prefix)
    steps = chain.build_chain(
        fix_store=fix_store, checkpoints=checkpoints, monitoring=monitoring.setup
    )
    bus = MemoryBus(n_shards=1, shard_capacity=len(fixes))
    consumer = bus.consumer([0], name=prefix)
    reads = asyncio.run(_reads(bus, consumer, fixes, read))
    worker = runner.Runner(consumer, steps, fix_store=fix_store, checkpoints=checkpoints)
    commit_s, vehicles_written, since_commit = 0.0, 0, 0
    with settled_heap():  # as `hazmat worker` settles its heap before serving
        started, cpu_started = time.perf_counter(), time.process_time()
        for deliveries in reads:
            worker.process(deliveries)
            since_commit += len(deliveries)
            if since_commit >= COMMIT_EVERY or deliveries is reads[-1]:
                vehicles_written += len(checkpoints.uncommitted)
                began = time.perf_counter()
                checkpoints.commit()
                fix_store.commit()
                commit_s += time.perf_counter() - began
                since_commit = 0
        wall_s, cpu_s = time.perf_counter() - started, time.process_time() - cpu_started
    checkpoints.close()
    stored.close()
    monitoring.close()
    n = len(fixes)
    return {
        "batches": len(reads),
        "us_per_fix": round(wall_s / n * 1e6, 1),
        "cpu_us_per_fix": round(cpu_s / n * 1e6, 1),
        "us_per_fix_by_step": {
            name: round(seconds / n * 1e6, 1) for name, seconds in worker.stats.step_s.items()
        }
        | {"commit": round(commit_s / n * 1e6, 1)},
        "commit_us_per_vehicle_written": round(commit_s / max(vehicles_written, 1) * 1e6, 1),
    }


async def _reads(
    bus: MemoryBus, consumer: Consumer, fixes: list[Fix], read: int
) -> list[list[Delivery]]:
    """Put the fixes on the bus and read them back in reads of `read`."""
    for begin in range(0, len(fixes), 2_000):
        await bus.publish(fixes[begin : begin + 2_000])
    reads = []
    while deliveries := await consumer.read(count=read, block_ms=1):
        reads.append(deliveries)
    return reads
