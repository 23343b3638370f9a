"""Route distances between the candidates of consecutive fixes (numba).

From each distinct source node (the end of a previous candidate's edge) the routes within a
budget are looked up in the network's route table, or, beyond its bound, found by a bounded
Dijkstra on the CSR adjacency; a forward move on the same edge is the offset
difference, and a backward move on the same edge (GPS jitter at a stop) counts as standing
still, never as a trip around the block, with a penalty for the part beyond the jitter
allowance. U-turns at the ends of a route cost a penalty.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numba
import numpy as np

from geodata.matching import route_table
from geodata.matching.dijkstra import bounded_dijkstra, reset_workspace

if TYPE_CHECKING:
    from geodata.matching.index import Graph, Workspace
    from geodata.matching.route_table import RouteTable

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


@numba.njit(cache=True, inline="always")
def is_reverse(graph: Graph, a, b):  # type: ignore[no-untyped-def]
    """True when edge `b` runs back along edge `a` (a U-turn from one to the other)."""
    return graph.edge_u[a] == graph.edge_v[b] and graph.edge_v[a] == graph.edge_u[b]


@numba.njit(cache=True, inline="always")
def _uturn_m(graph: Graph, from_e, to_e, first, last, uturn_m):  # type: ignore[no-untyped-def]
    """Penalty for a route that starts or ends with a U-turn; `first` and `last` are the edges
    of the route between the two edges (unused when they meet at a node)."""
    if graph.edge_u[to_e] == graph.edge_v[from_e]:
        return uturn_m if is_reverse(graph, from_e, to_e) else 0.0
    if is_reverse(graph, from_e, first) or is_reverse(graph, last, to_e):
        return uturn_m
    return 0.0


@numba.njit(cache=True)
def _routes_from(  # type: ignore[no-untyped-def]
    graph: Graph, ws: Workspace, table: RouteTable, source, budget_m, nodes, dist, first, last
):
    """Fill `dist`, `first` and `last` with the route length (+inf beyond `budget_m`), first
    and last edge from `source` to each of `nodes`: from the table within its bound, else by a
    Dijkstra that stops once every node is settled."""
    if budget_m <= table.bound_m:
        for k in range(len(nodes)):
            slot = route_table.find(table, source, nodes[k])
            dist[k] = np.inf
            if slot >= 0:
                route = table.route[slot]
                if route.dist_m <= budget_m:
                    dist[k], first[k], last[k] = route.dist_m, route.first_edge, route.last_edge
        return
    n = bounded_dijkstra(graph, ws, source, budget_m, np.unique(nodes))
    for k in range(len(nodes)):
        node = nodes[k]
        dist[k], first[k], last[k] = ws.dist_m[node], ws.first_edge[node], ws.pred_edge[node]
    reset_workspace(ws, n)


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
    graph: Graph,
    ws: Workspace,
    table: RouteTable,
    prev_e,
    prev_o,
    cur_e,
    cur_o,
    limit_m,
    limits: RouteLimits,
):
    """Matrices (previous x current candidates) of route length and penalty, in metres.

    Route length is +inf beyond `limit_m`. The penalty is added to the transition mismatch:
    the part of a step back on one edge beyond the jitter allowance (the vehicle is taken to
    stand still), or `uturn_m` for a route that starts or ends with a U-turn.
    """
    n_prev, n_cur = len(prev_e), len(cur_e)
    out, penalty = _same_edge_routes(prev_e, prev_o, cur_e, cur_o, limits.jitter_m)
    done = np.zeros(n_prev, np.bool_)
    nodes = graph.edge_u[cur_e]
    dist = np.empty(n_cur)
    first = np.empty(n_cur, np.int64)
    last = np.empty(n_cur, np.int64)
    for i in range(n_prev):
        if done[i]:
            continue
        source = graph.edge_v[prev_e[i]]
        head = np.inf
        for i2 in range(i, n_prev):
            if graph.edge_v[prev_e[i2]] == source:
                head = min(head, graph.edge_length_m[prev_e[i2]] - prev_o[i2])
        _routes_from(graph, ws, table, source, limit_m - head, nodes, dist, first, last)
        for i2 in range(i, n_prev):
            if done[i2] or graph.edge_v[prev_e[i2]] != source:
                continue
            done[i2] = True
            rest = graph.edge_length_m[prev_e[i2]] - prev_o[i2]
            for j in range(n_cur):
                if out[i2, j] < np.inf:
                    continue
                r = rest + dist[j] + cur_o[j]
                if r <= limit_m:
                    out[i2, j] = r
                    uturn = _uturn_m(graph, prev_e[i2], cur_e[j], first[j], last[j],
                                     limits.uturn_m)  # fmt: skip
                    at_start = EDGE_CHANGE_M if cur_o[j] <= 0.0 else 0.0
                    penalty[i2, j] = uturn + EDGE_CHANGE_M + at_start
    return out, penalty


@numba.njit(cache=True)
def route_edges(  # type: ignore[no-untyped-def]
    graph: Graph, ws: Workspace, table: RouteTable, from_e, from_o, to_e, limit_m, out
):
    """Append to `out` the edges entered between two positions (with `to_e`); False if none."""
    if from_e == to_e:
        return True
    source, target = graph.edge_v[from_e], graph.edge_u[to_e]
    budget_m = limit_m - (graph.edge_length_m[from_e] - from_o)
    in_table = budget_m <= table.bound_m
    n = 0
    if in_table:
        slot = route_table.find(table, source, target)
        found = slot >= 0 and table.route[slot].dist_m <= budget_m
    else:
        n = bounded_dijkstra(graph, ws, source, budget_m, np.array([target]))
        found = ws.dist_m[target] < np.inf
    if found:
        backwards = []
        node = target
        while node != source:
            if in_table:
                e = np.int64(table.route[route_table.find(table, source, node)].last_edge)
            else:
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
    graph: Graph,
    ws: Workspace,
    table: RouteTable,
    edge,
    offset,
    x,
    y,
    t,
    is_break,
    limits: RouteLimits,
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
            found = route_edges(graph, ws, table, edge[i - 1], offset[i - 1], edge[i], limit, out)
            if not found:
                out.append(edge[i])
        counts[i] = len(out) - start
    return counts, np.array(out, dtype=np.int64)
