"""Run a worker until told to stop: in its own process on Redis, or beside the in-process bus."""

from __future__ import annotations

import asyncio
import logging
import math
from typing import TYPE_CHECKING

from transport.pipeline import chain, runner
from transport.pipeline.fix_store import BufferedFixStore

if TYPE_CHECKING:
    from transport.bus.base import Consumer
    from transport.pipeline.checkpoint import CheckpointStore
    from transport.pipeline.fix_store import FixStore

__all__ = ["run_worker"]

logger = logging.getLogger(__name__)


async def run_worker(
    consumer: Consumer,
    *,
    fix_store: FixStore,
    checkpoints: CheckpointStore,
    stop: asyncio.Event,
    batch_size: int = runner.DEFAULT_BATCH_SIZE,
    commit_interval_s: float = 0.0,
    linger_s: float = 0.0,
    forget_idle_s: float = math.inf,
    monitoring: chain.MonitoringSetup | None = None,
) -> runner.RunnerStats:
    """Process what `consumer` reads through the chain until `stop` is set; return the counts.

    With `monitoring` the fixes are matched, the rules run and alerts go to its sinks;
    without it the worker only deduplicates, orders and stores. Fixes and checkpoints are
    committed and the fixes acknowledged every `commit_interval_s` (every batch with 0), reads
    come at most every `linger_s` unless full, and vehicles silent for `forget_idle_s` are
    dropped from memory (`runner.Runner`). The
    batch in hand is finished, committed and acknowledged before returning; then the consumer
    is closed, which hands its shards to a stand-by worker at once.
    """
    buffered = BufferedFixStore(fix_store)
    steps = chain.build_chain(fix_store=buffered, checkpoints=checkpoints, monitoring=monitoring)
    worker = runner.Runner(
        consumer,
        steps,
        fix_store=buffered,
        checkpoints=checkpoints,
        batch_size=batch_size,
        commit_interval_s=commit_interval_s,
        linger_s=linger_s,
        forget_idle_s=forget_idle_s,
    )
    logger.info("worker %s started", consumer.name)
    try:
        await worker.run(stop=stop)
    finally:
        await consumer.close()
        logger.info("worker %s stopped: %s", consumer.name, worker.stats.summary())
    return worker.stats
