"""Route distances between the candidates of consecutive fixes (numba bounded Dijkstra).

From each distinct source node (the end of a previous candidate's edge) a Dijkstra runs on the
CSR adjacency, bounded by a route budget; a forward move on the same edge is the offset
difference, and a backward move on the same edge (GPS jitter at a stop) counts as standing
still, never as a trip around the block, with a penalty for the part beyond the jitter
allowance. U-turns at the ends of a route cost a penalty.
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING, NamedTuple

import numba
import numpy as np

if TYPE_CHECKING:
    from geodata.matching.index import Graph, Workspace

EDGE_CHANGE_M = 0.5
"""Tiny penalty for entering another edge, again for entering it only at its start node: of
equal positions at a node, the end of the current edge wins over the start of the next."""

__all__ = ["RouteLimits", "route_distances", "route_edges", "route_limit_m", "trace_paths"]


class RouteLimits(NamedTuple):
    """How far a route between two fixes may run, and the stop jitter allowance."""

    route_factor: float
    route_slack_m: float
    max_speed_ms: float
    jitter_m: float
    uturn_m: float


@numba.njit(cache=True)
def route_limit_m(gc_m, dt_s, limits: RouteLimits):  # type: ignore[no-untyped-def]
    """Longest route worth considering between two fixes `gc_m` apart, `dt_s` seconds apart."""
    by_shape = gc_m * limits.route_factor + limits.route_slack_m
    by_speed = limits.max_speed_ms * dt_s + limits.route_slack_m
    return min(by_shape, by_speed)


@numba.njit(cache=True)
def bounded_dijkstra(graph: Graph, ws: Workspace, source, limit_m, targets):  # type: ignore[no-untyped-def]
    """Settle nodes from `source` up to `limit_m`, or until every node of `targets` (distinct;
    none: no early stop) is settled; return the count of nodes touched.

    Distances, predecessor and first edges are left in the workspace for the `count` nodes
    listed in `ws.touched` (final for the settled ones, the targets among them); the caller
    resets them with `reset_workspace`.
    """
    ws.dist_m[source] = 0.0
    ws.pred_edge[source] = -1
    ws.first_edge[source] = -1
    ws.touched[0] = source
    n = 1
    waiting = len(targets)
    heap = [(0.0, source)]
    while heap:
        d, node = heapq.heappop(heap)
        if d > ws.dist_m[node]:
            continue
        if waiting:
            for k in range(len(targets)):
                if targets[k] == node:
                    waiting -= 1
            if waiting == 0:
                break
        for k in range(graph.indptr[node], graph.indptr[node + 1]):
            e = graph.out_edge_ids[k]
            w = graph.edge_v[e]
            nd = d + graph.edge_length_m[e]
            if nd > limit_m or nd >= ws.dist_m[w]:
                continue
            if ws.dist_m[w] == np.inf:
                ws.touched[n] = w
                n += 1
            ws.dist_m[w] = nd
            ws.pred_edge[w] = e
            ws.first_edge[w] = e if node == source else ws.first_edge[node]
            heapq.heappush(heap, (nd, w))
    return n


@numba.njit(cache=True)
def reset_workspace(ws: Workspace, n):  # type: ignore[no-untyped-def]
    """Undo a Dijkstra's marks on the workspace."""
    for k in range(n):
        ws.dist_m[ws.touched[k]] = np.inf


@numba.njit(cache=True)
def is_reverse(graph: Graph, a, b):  # type: ignore[no-untyped-def]
    """True when edge `b` runs back along edge `a` (a U-turn from one to the other)."""
    return graph.edge_u[a] == graph.edge_v[b] and graph.edge_v[a] == graph.edge_u[b]


@numba.njit(cache=True)
def _uturn_m(graph: Graph, ws: Workspace, from_e, to_e, uturn_m):  # type: ignore[no-untyped-def]
    """Penalty for a route that starts or ends with a U-turn (after a Dijkstra from v[from_e])."""
    node = graph.edge_u[to_e]
    if node == graph.edge_v[from_e]:
        return uturn_m if is_reverse(graph, from_e, to_e) else 0.0
    first, last = ws.first_edge[node], ws.pred_edge[node]
    if is_reverse(graph, from_e, first) or is_reverse(graph, last, to_e):
        return uturn_m
    return 0.0


@numba.njit(cache=True)
def _same_edge_routes(prev_e, prev_o, cur_e, cur_o, jitter_m):  # type: ignore[no-untyped-def]
    """Route and penalty matrices with only the moves along one edge filled in."""
    out = np.full((len(prev_e), len(cur_e)), np.inf)
    penalty = np.zeros((len(prev_e), len(cur_e)))
    for i in range(len(prev_e)):
        for j in range(len(cur_e)):
            if cur_e[j] == prev_e[i]:
                out[i, j] = max(0.0, cur_o[j] - prev_o[i])
                penalty[i, j] = max(0.0, prev_o[i] - cur_o[j] - jitter_m)
    return out, penalty


@numba.njit(cache=True)
def route_distances(  # type: ignore[no-untyped-def]
    graph: Graph, ws: Workspace, prev_e, prev_o, cur_e, cur_o, limit_m, limits: RouteLimits
):
    """Matrices (previous x current candidates) of route length and penalty, in metres.

    Route length is +inf beyond `limit_m`. The penalty is added to the transition mismatch:
    the part of a step back on one edge beyond the jitter allowance (the vehicle is taken to
    stand still), or `uturn_m` for a route that starts or ends with a U-turn.
    """
    n_prev, n_cur = len(prev_e), len(cur_e)
    out, penalty = _same_edge_routes(prev_e, prev_o, cur_e, cur_o, limits.jitter_m)
    done = np.zeros(n_prev, np.bool_)
    targets = np.unique(graph.edge_u[cur_e])  # a search may stop once these are settled
    for i in range(n_prev):
        if done[i]:
            continue
        source = graph.edge_v[prev_e[i]]
        head = np.inf
        for i2 in range(i, n_prev):
            if graph.edge_v[prev_e[i2]] == source:
                head = min(head, graph.edge_length_m[prev_e[i2]] - prev_o[i2])
        n = bounded_dijkstra(graph, ws, source, limit_m - head, targets)
        for i2 in range(i, n_prev):
            if done[i2] or graph.edge_v[prev_e[i2]] != source:
                continue
            done[i2] = True
            rest = graph.edge_length_m[prev_e[i2]] - prev_o[i2]
            for j in range(n_cur):
                if out[i2, j] < np.inf:
                    continue
                r = rest + ws.dist_m[graph.edge_u[cur_e[j]]] + cur_o[j]
                if r <= limit_m:
                    out[i2, j] = r
                    uturn = _uturn_m(graph, ws, prev_e[i2], cur_e[j], limits.uturn_m)
                    at_start = EDGE_CHANGE_M if cur_o[j] <= 0.0 else 0.0
                    penalty[i2, j] = uturn + EDGE_CHANGE_M + at_start
        reset_workspace(ws, n)
    return out, penalty


@numba.njit(cache=True)
def route_edges(  # type: ignore[no-untyped-def]
    graph: Graph, ws: Workspace, from_e, from_o, to_e, limit_m, out
):
    """Append to `out` the edges entered between two positions (with `to_e`); False if none."""
    if from_e == to_e:
        return True
    source, target = graph.edge_v[from_e], graph.edge_u[to_e]
    head = graph.edge_length_m[from_e] - from_o
    n = bounded_dijkstra(graph, ws, source, limit_m - head, np.array([target]))
    found = ws.dist_m[target] < np.inf
    if found:
        backwards = []
        node = target
        while node != source:
            e = ws.pred_edge[node]
            backwards.append(e)
            node = graph.edge_u[e]
        for k in range(len(backwards) - 1, -1, -1):
            out.append(backwards[k])
        out.append(to_e)
    reset_workspace(ws, n)
    return found


@numba.njit(cache=True)
def trace_paths(  # type: ignore[no-untyped-def]
    graph: Graph, ws: Workspace, edge, offset, x, y, t, is_break, limits: RouteLimits
):
    """Edges travelled up to each matched position, as CSR (counts per fix, edge ids).

    A chain start gets its own edge; a later fix gets the edges entered since the previous fix,
    its own edge last, or nothing while it stays on the previous fix's edge.
    """
    counts = np.zeros(len(edge), np.int64)
    out = [np.int64(0) for _ in range(0)]
    for i in range(len(edge)):
        start = len(out)
        if is_break[i]:
            out.append(edge[i])
        else:
            gc = np.hypot(x[i] - x[i - 1], y[i] - y[i - 1])
            limit = route_limit_m(gc, t[i] - t[i - 1], limits)
            found = route_edges(graph, ws, edge[i - 1], offset[i - 1], edge[i], limit, out)
            if not found:
                out.append(edge[i])
        counts[i] = len(out) - start
    return counts, np.array(out, dtype=np.int64)
