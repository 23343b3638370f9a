"""Time-dependent Dijkstra on CSR arrays: edges closed while a restriction on them is active.

The label of a node is the earliest arrival time (seconds after departure). An edge is entered
at the arrival time at its start node; it is refused when it is blocked outright or when one of
its time-dependent restrictions has an active interval containing that moment. Vehicles do not
wait on the way (waiting is modelled by later departures), so the search is label-setting on
arrival time, as in FIFO networks with constant edge times.
"""

from __future__ import annotations

import heapq

import numba
import numpy as np

__all__ = ["is_closed", "td_dijkstra"]


@numba.njit(cache=True)
def is_closed(e, t, r_ptr, r_idx, iv_ptr, iv_start, iv_end):  # type: ignore[no-untyped-def]
    """Whether one of edge `e`'s time-dependent restrictions is active at time `t`."""
    for k in range(r_ptr[e], r_ptr[e + 1]):
        r = r_idx[k]
        for j in range(iv_ptr[r], iv_ptr[r + 1]):
            if iv_start[j] <= t < iv_end[j]:
                return True
    return False


@numba.njit(cache=True)
def td_dijkstra(  # type: ignore[no-untyped-def]
    indptr, out_edge_ids, edge_v, edge_time_s, blocked,
    r_ptr, r_idx, iv_ptr, iv_start, iv_end,
    src_nodes, src_time_s, tgt_nodes, tgt_extra_s, node_x, node_y, goal_x, goal_y, s_per_m,
):  # fmt: skip
    """Earliest arrival from several sources until the best target arrival is settled.

    Parameters are plain arrays: CSR out-edges, per-edge end node and travel time, the static
    block mask, per-edge restriction CSR (`r_ptr`, `r_idx`) and per-restriction active
    intervals (`iv_ptr`, `iv_start`, `iv_end`, seconds after departure). A target is a node
    plus the time still needed after reaching it (the part of the destination edge).

    The search is A*: nodes are taken in order of arrival plus the straight-line distance to
    the goal point times `s_per_m` (the pace at the network's top speed). The bound is
    consistent (no edge is faster than the top speed), so the first settled best is exact;
    ``s_per_m = 0`` gives plain Dijkstra.

    Returns
    -------
    arrival_s, pred_edge, best_target
        Node arrival times (inf when unreached), the edge each node was reached by (-1 at
        sources) and the index of the best target (-1 when none is reachable).
    """
    n = len(indptr) - 1
    arrival = np.full(n, np.inf)
    pred = np.full(n, -1, np.int64)
    heap = [(0.0, np.int64(0)) for _ in range(0)]
    for k in range(len(src_nodes)):
        s = src_nodes[k]
        if src_time_s[k] < arrival[s]:
            arrival[s] = src_time_s[k]
            h = np.hypot(node_x[s] - goal_x, node_y[s] - goal_y) * s_per_m
            heapq.heappush(heap, (src_time_s[k] + h, s))
    best, best_k = np.inf, -1
    while heap:
        f, node = heapq.heappop(heap)
        d = arrival[node]
        if f > d + np.hypot(node_x[node] - goal_x, node_y[node] - goal_y) * s_per_m:
            continue
        if f >= best:
            break
        for k in range(len(tgt_nodes)):
            if tgt_nodes[k] == node and d + tgt_extra_s[k] < best:
                best, best_k = d + tgt_extra_s[k], k
        for k in range(indptr[node], indptr[node + 1]):
            e = out_edge_ids[k]
            if blocked[e]:
                continue
            if r_ptr[e] < r_ptr[e + 1] and is_closed(e, d, r_ptr, r_idx, iv_ptr, iv_start, iv_end):
                continue
            nd = d + edge_time_s[e]
            w = edge_v[e]
            if nd < arrival[w]:
                arrival[w] = nd
                pred[w] = e
                h = np.hypot(node_x[w] - goal_x, node_y[w] - goal_y) * s_per_m
                heapq.heappush(heap, (nd + h, w))
    return arrival, pred, best_k
