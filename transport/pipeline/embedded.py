"""The whole live pipeline in one process: in-process bus, one worker, every fix processed.

What `hazmat demo` and the end-to-end tests run: fixes are published on the in-process bus in
time order, a worker reads them through the full chain (deduplicate, order, match, rules, store,
publish) and the matched positions and alert changes that come out are returned.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from transport.bus.memory import MemoryBus
from transport.pipeline import chain, runner
from transport.pipeline.batch import Batch
from transport.pipeline.checkpoint import MemoryCheckpointStore
from transport.pipeline.fix_store import BufferedFixStore
from transport.pipeline.fleet_stops import MemoryStopStore
from transport.pipeline.steps import match
from transport.rules.params import default_params

if TYPE_CHECKING:
    from transport.alerts.lifecycle import AlertEvent
    from transport.fixes import Fix
    from transport.matched import MatchedFix
    from transport.pipeline.fix_store import FixStore

__all__ = ["EmbeddedRun", "run_embedded"]

PUBLISH_CHUNK = 200


@dataclass
class EmbeddedRun:
    """What one embedded run produced."""

    alert_events: list[AlertEvent] = field(default_factory=list)
    positions: list[MatchedFix] = field(default_factory=list)
    stats: dict[str, float] = field(default_factory=dict)


def run_embedded(
    fixes: Sequence[Fix],
    monitoring: chain.MonitoringSetup,
    *,
    fix_store: FixStore,
    on_progress: Callable[[int], None] = lambda n: None,
    batch_size: int = runner.DEFAULT_BATCH_SIZE,
) -> EmbeddedRun:
    """Publish `fixes` in time order on an in-process bus and process them all.

    Parameters
    ----------
    fixes
        Validated fixes of any number of vehicles.
    monitoring
        Network, compiled restrictions and vehicles; its sinks are called as usual, and the
        run's own collectors are added beside them. Without a stop store, the vehicles' stops
        are shared in memory.
    fix_store
        Where the worker stores fixes (a SQLite file for the demo).
    on_progress
        Called with the number of fixes each processed batch held.
    """
    run = EmbeddedRun()
    max_age_s = (monitoring.rule_params or default_params()).parking.fleet_stop_max_age_s
    setup = dataclasses.replace(
        monitoring,
        alert_sinks=(*monitoring.alert_sinks, run.alert_events.extend),
        position_sinks=(*monitoring.position_sinks, run.positions.extend),
        stop_store=monitoring.stop_store or MemoryStopStore(max_age_s=max_age_s),
    )
    ordered = sorted(fixes, key=lambda fix: fix.fix_at)
    asyncio.run(_publish_and_process(ordered, setup, fix_store, run, on_progress, batch_size))
    return run


def _finish(steps: chain.Chain, checkpoints: MemoryCheckpointStore) -> None:
    """End of the replay: let the matcher decide the fixes its lag still holds, and run them
    through the steps after it."""
    for position, step in enumerate(steps):
        if isinstance(step, match.Match):
            batch = step.flush(Batch((), checkpoints.load_states(step.matchers)))
            for later in steps[position + 1 :]:
                batch = later(batch)
            return


async def _publish_and_process(
    fixes: Sequence[Fix],
    setup: chain.MonitoringSetup,
    fix_store: FixStore,
    run: EmbeddedRun,
    on_progress: Callable[[int], None],
    batch_size: int,
) -> None:
    """Interleave publishing chunks and processing batches until every fix went through."""
    bus = MemoryBus(n_shards=1, shard_capacity=max(len(fixes), 1))
    checkpoints = MemoryCheckpointStore()
    buffered = BufferedFixStore(fix_store)
    steps = chain.build_chain(fix_store=buffered, checkpoints=checkpoints, monitoring=setup)
    worker = runner.Runner(
        bus.consumer([0], name="embedded"), steps, fix_store=buffered, checkpoints=checkpoints,
        batch_size=batch_size, block_ms=10,
    )  # fmt: skip
    for start in range(0, len(fixes), PUBLISH_CHUNK):
        await bus.publish(fixes[start : start + PUBLISH_CHUNK])
    while processed := await worker.process_next():
        on_progress(processed)
    _finish(steps, checkpoints)
    await worker.commit()  # what the matcher's flush decided
    await bus.close()
    run.stats = worker.stats.summary()
