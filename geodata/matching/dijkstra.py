"""Bounded Dijkstra on the matcher's CSR graph (numba), leaving its marks in a workspace."""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING

import numba
import numpy as np

if TYPE_CHECKING:
    from geodata.matching.index import Graph, Workspace

__all__ = ["bounded_dijkstra", "reset_workspace"]


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
