"""Shortest paths on a RoadNetwork as edge-id sequences (scipy's Dijkstra on the node graph)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

if TYPE_CHECKING:
    from geodata.network import RoadNetwork

__all__ = ["cheapest_parallel_edges", "shortest_edge_path"]


def cheapest_parallel_edges(network: RoadNetwork, cost: np.ndarray) -> np.ndarray:
    """Edge ids of the cheapest edge for each ordered (u, v) node pair, sorted by (u, v)."""
    order = np.lexsort((cost, network.edge_v, network.edge_u))
    u, v = network.edge_u[order], network.edge_v[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
    return order[first]


def shortest_edge_path(
    network: RoadNetwork, origin: int, destination: int, *, cost: np.ndarray | None = None
) -> np.ndarray:
    """Return the edge ids of the cheapest path between two node positions.

    Parameters
    ----------
    network
        The road network.
    origin, destination
        Node positions (rows of `network.nodes`).
    cost
        Cost per edge id (default: `length_m`).

    Returns
    -------
    edge_ids
        In travel order; empty when origin equals destination or no path exists.
    """
    cost = network.edge_length_m if cost is None else cost
    keep = cheapest_parallel_edges(network, cost)
    n = len(network.nodes)
    weights = np.maximum(cost[keep], 1e-9)  # scipy reads explicit zeros as missing arcs
    matrix = sparse.csr_matrix(
        (weights, (network.edge_u[keep], network.edge_v[keep])), shape=(n, n)
    )
    _, predecessors = csgraph.dijkstra(matrix, indices=origin, return_predecessors=True)
    if origin == destination or predecessors[destination] < 0:
        return np.empty(0, dtype=np.int64)
    nodes = [destination]
    while nodes[-1] != origin:
        nodes.append(int(predecessors[nodes[-1]]))
    path = np.asarray(nodes[::-1], dtype=np.int64)
    pair_keys = network.edge_u[keep] * n + network.edge_v[keep]
    return keep[np.searchsorted(pair_keys, path[:-1] * n + path[1:])]
