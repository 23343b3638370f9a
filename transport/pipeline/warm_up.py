"""Compile the matcher's kernels before a worker takes shards, so its first batch is not late.

numba compiles a kernel at its first call, or loads it from its on-disk cache. A worker started
from a fresh installation (or a stand-by taking over a dead worker's shards) would compile while
holding its first batch: about 16 s on a two-core machine, every fix of that batch waiting. The
worker instead matches one short simulated trip on its network, live and as back-fill, through
throwaway matchers, before it reads from the bus.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import numpy as np

from geodata import paths
from transport import simulation
from transport.pipeline.batch import Batch, VehicleState, epoch_us
from transport.pipeline.steps import match, match_backfill

if TYPE_CHECKING:
    from geodata.matching.matcher import MatchParams
    from geodata.network import RoadNetwork
    from transport.fixes import Fix

__all__ = ["WarmUp", "warm_up_matching"]

logger = logging.getLogger(__name__)

VEHICLE_ID = "warm-up"
START_AT = datetime(2000, 1, 1, tzinfo=UTC)
ATTEMPTS = 20  # random node pairs tried for a path
MAX_EDGES = 40
MAX_FIXES = 60


@dataclass(frozen=True)
class WarmUp:
    """What the warm-up matched, and how long it took."""

    live_matched: int
    backfill_matched: int
    seconds: float


def warm_up_matching(network: RoadNetwork, params: MatchParams, *, seed: int = 0) -> WarmUp:
    """Match a short simulated trip live and as back-fill; nothing is kept.

    A network without a path of two edges between the node pairs tried matches nothing.
    """
    started = time.perf_counter()
    fixes = _trip_fixes(network, np.random.default_rng(seed))
    if not fixes:
        return WarmUp(0, 0, time.perf_counter() - started)
    live = match.Match(network, params)(Batch(tuple(fixes), {}))
    after_trip = VehicleState(VEHICLE_ID, last_fix_us=epoch_us(fixes[-1].fix_at) + 1)
    late = tuple(replace(fix, is_backfill=True) for fix in fixes)
    backfill = match_backfill.MatchBackfill(network, params)(Batch(late, {VEHICLE_ID: after_trip}))
    done = WarmUp(len(live.matched), len(backfill.backfill_matched), time.perf_counter() - started)
    logger.info("matching warmed up in %.1f s", done.seconds)
    return done


def _trip_fixes(network: RoadNetwork, rng: np.random.Generator) -> list[Fix]:
    """The fixes of a trip along the longest path found between random node pairs."""
    longest = np.zeros(0, dtype=np.int64)
    for _ in range(ATTEMPTS):
        origin, destination = rng.integers(0, len(network.nodes), size=2)
        path = paths.shortest_edge_path(network, int(origin), int(destination))[:MAX_EDGES]
        if len(path) > len(longest):
            longest = path
    if len(longest) < 2:
        return []
    trip = simulation.simulate_trip(
        network, longest, vehicle_id=VEHICLE_ID, start_at=START_AT, rng=rng
    )
    return simulation.trip_fixes(trip)[:MAX_FIXES]
