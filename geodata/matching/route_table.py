"""Precomputed shortest routes between nearby nodes (an upper-bounded origin-destination table).

The matcher's transitions need route lengths between the candidates of consecutive fixes; a
bounded Dijkstra per step costs most of matching. Like FMM's UBODT (Yang & Gidófalvi 2018),
this table holds, for every source node, each node reachable within `bound_m` with the route
length and the route's first and last edge, so a transition is a lookup. The rows come from
the same Dijkstra the matcher runs, so lookups give the same lengths and edges it would find.
Searches longer than the bound fall back to a live Dijkstra. The bound is the longest of
`BOUNDS_M` whose table fits `MAX_ENTRIES`; a network too dense for the shortest gets none.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, NamedTuple

import numba
import numpy as np

from geodata.matching.dijkstra import bounded_dijkstra, reset_workspace

if TYPE_CHECKING:
    from geodata.matching.index import Graph, Workspace

__all__ = [
    "BOUNDS_M",
    "MAX_ENTRIES",
    "ROUTE",
    "RouteTable",
    "build_route_table",
    "empty_route_table",
    "find",
]

logger = logging.getLogger(__name__)

BOUNDS_M = (2_000.0, 1_000.0, 500.0, 250.0)
"""Bounds tried, longest first: 2 km covers every transition of 10 s fixes (the route limit
is at most 200 km/h x 10 s + 150 m slack) and most of 30 s fixes in town."""
MAX_ENTRIES = 2_000_000
"""About 40 MB of table (16 B of route and 4 B of target per entry); a worker holds one per
network. Shenzhen's Futian and Nanshan (10,983 edges) need 1.6 million within 2 km."""
_SAMPLE_NODES = 64
ROUTE = np.dtype([("dist_m", np.float64), ("first_edge", np.int32), ("last_edge", np.int32)])
"""One entry's route: what a lookup reads sits in one cache line."""


class RouteTable(NamedTuple):
    """Routes from each source node: row `indptr[s]:indptr[s + 1]` of `target` (ascending) and
    `route` (`ROUTE` records)."""

    bound_m: float
    indptr: np.ndarray
    target: np.ndarray
    route: np.ndarray


def empty_route_table(n_nodes: int) -> RouteTable:
    """A table with no rows: every search runs a live Dijkstra."""
    return RouteTable(
        -1.0, np.zeros(n_nodes + 1, np.int64), np.empty(0, np.int32), np.empty(0, ROUTE)
    )


def build_route_table(
    graph: Graph, ws: Workspace, *, max_entries: int = MAX_ENTRIES, seed: int = 0
) -> RouteTable:
    """Build the table with the longest bound of `BOUNDS_M` that fits `max_entries` entries.

    The size is estimated from the reach of a sample of nodes before anything is built.
    """
    n_nodes = len(graph.indptr) - 1
    if n_nodes == 0:
        return empty_route_table(0)
    sample = np.random.default_rng(seed).choice(n_nodes, min(n_nodes, _SAMPLE_NODES), False)
    for bound_m in BOUNDS_M:
        reach = _reach_counts(graph, ws, sample.astype(np.int64), bound_m)
        estimate = reach.mean() * n_nodes
        if estimate <= max_entries:
            counts = _reach_counts(graph, ws, np.arange(n_nodes, dtype=np.int64), bound_m)
            if counts.sum() > max_entries:  # the sample was too kind
                continue
            indptr = np.concatenate([[0], np.cumsum(counts)])
            target, route = np.empty(indptr[-1], np.int32), np.empty(indptr[-1], ROUTE)
            _fill(graph, ws, indptr, bound_m, target, route)
            table = RouteTable(bound_m, indptr, target, route)
            logger.info("route table: %d entries within %.0f m", len(table.target), bound_m)
            return table
    logger.info("route table: none (more than %d entries even within %.0f m)", max_entries,
                BOUNDS_M[-1])  # fmt: skip
    return empty_route_table(n_nodes)


@numba.njit(cache=True)
def _reach_counts(graph: Graph, ws: Workspace, sources, bound_m):  # type: ignore[no-untyped-def]
    """Nodes within `bound_m` of each source (the source included)."""
    counts = np.zeros(len(sources), np.int64)
    no_targets = np.empty(0, np.int64)
    for k in range(len(sources)):
        n = bounded_dijkstra(graph, ws, sources[k], bound_m, no_targets)
        reset_workspace(ws, n)
        counts[k] = n
    return counts


@numba.njit(cache=True)
def _fill(graph: Graph, ws: Workspace, indptr, bound_m, target, route):  # type: ignore[no-untyped-def]
    """Write the rows of every node: the Dijkstra's distances, first and last edges."""
    no_targets = np.empty(0, np.int64)
    for s in range(len(indptr) - 1):
        n = bounded_dijkstra(graph, ws, s, bound_m, no_targets)
        nodes = np.sort(ws.touched[:n])
        for k in range(n):
            slot, node = indptr[s] + k, nodes[k]
            target[slot] = node
            route[slot].dist_m = ws.dist_m[node]
            route[slot].first_edge = ws.first_edge[node]
            route[slot].last_edge = ws.pred_edge[node]
        reset_workspace(ws, n)


@numba.njit(cache=True, inline="always")
def find(table: RouteTable, source, node):  # type: ignore[no-untyped-def]
    """Slot of `node` in the row of `source`, or -1 when it lies beyond the bound."""
    lo, hi = table.indptr[source], table.indptr[source + 1]
    while lo < hi:
        mid = (lo + hi) >> 1
        if table.target[mid] < node:
            lo = mid + 1
        else:
            hi = mid
    return lo if lo < table.indptr[source + 1] and table.target[lo] == node else -1
