"""Prepare a road network for map matching: segment grid, CSR adjacency and route table as
plain arrays.

The arrays are what the numba kernels of `candidates` and `transitions` read; building them is
the one-off cost of matching on a network, done once per network and cached on it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, NamedTuple

import numba
import numpy as np
import shapely

from geodata.matching import route_table
from geodata.matching.route_table import RouteTable

if TYPE_CHECKING:
    from geodata.network import RoadNetwork

__all__ = ["Graph", "MatchIndex", "SegmentGrid", "Workspace", "match_index"]

logger = logging.getLogger(__name__)

GRID_CELL_M = 60.0
MAX_GRID_CELLS = 8_000_000


class Graph(NamedTuple):
    """Directed graph as arrays: CSR out-edges per node and per-edge ends and lengths."""

    indptr: np.ndarray
    out_edge_ids: np.ndarray
    edge_u: np.ndarray
    edge_v: np.ndarray
    edge_length_m: np.ndarray


class SegmentGrid(NamedTuple):
    """Straight pieces of every edge, bucketed in a uniform grid of square cells."""

    seg_edge: np.ndarray
    seg_x0: np.ndarray
    seg_y0: np.ndarray
    seg_x1: np.ndarray
    seg_y1: np.ndarray
    seg_offset_m: np.ndarray
    origin_xy: np.ndarray
    shape_cells: np.ndarray
    cell_m: float
    cell_indptr: np.ndarray
    cell_segments: np.ndarray


class Workspace(NamedTuple):
    """Scratch of the kernels; they leave `dist_m` all +inf and `edge_slot` all -1 on return."""

    dist_m: np.ndarray
    pred_edge: np.ndarray
    first_edge: np.ndarray
    touched: np.ndarray
    edge_slot: np.ndarray


class MatchIndex(NamedTuple):
    """Everything the matcher needs from a network, as arrays."""

    graph: Graph
    grid: SegmentGrid
    workspace: Workspace
    routes: RouteTable


def match_index(network: RoadNetwork) -> MatchIndex:
    """Return the matching index of a network (cached on it as `network.matching_index`).

    Graph arrays, segment grid, route table and a Dijkstra workspace are shared by every
    matcher of the network (kernels hold the GIL and leave the workspace clean).
    """
    return network.matching_index


def build_index(network: RoadNetwork, *, cell_m: float = GRID_CELL_M) -> MatchIndex:
    """Build the matching index of a network (`RoadNetwork.matching_index` caches it)."""
    indptr, out_edge_ids = network.out_edges
    graph = Graph(
        np.ascontiguousarray(indptr, dtype=np.int64),
        np.ascontiguousarray(out_edge_ids, dtype=np.int64),
        np.ascontiguousarray(network.edge_u, dtype=np.int64),
        np.ascontiguousarray(network.edge_v, dtype=np.int64),
        np.ascontiguousarray(network.edge_length_m, dtype=np.float64),
    )
    n_nodes = len(indptr) - 1
    workspace = Workspace(
        np.full(n_nodes, np.inf),
        np.full(n_nodes, -1, np.int64),
        np.full(n_nodes, -1, np.int64),
        np.zeros(n_nodes, np.int64),
        np.full(len(graph.edge_u), -1, np.int64),
    )
    grid = build_segment_grid(network.geometries, cell_m=cell_m)
    logger.info("match index: %d nodes, %d segments", n_nodes, len(grid.seg_edge))
    return MatchIndex(graph, grid, workspace, route_table.build_route_table(graph, workspace))


def build_segment_grid(geometries: np.ndarray, *, cell_m: float = GRID_CELL_M) -> SegmentGrid:
    """Split LineStrings into straight segments and bucket them by grid cell."""
    coords, owner = shapely.get_coordinates(geometries, return_index=True)
    same = owner[1:] == owner[:-1]
    start = np.flatnonzero(same)
    x0, y0 = coords[start, 0], coords[start, 1]
    x1, y1 = coords[start + 1, 0], coords[start + 1, 1]
    seg_edge = owner[start].astype(np.int64)
    seg_len = np.hypot(x1 - x0, y1 - y0)
    cum = np.cumsum(seg_len)
    first = np.ones(len(start), dtype=bool)
    first[1:] = seg_edge[1:] != seg_edge[:-1]
    base = np.maximum.accumulate(np.where(first, np.arange(len(start)), 0))
    seg_offset = cum - seg_len - (cum[base] - seg_len[base])
    lo = np.array([min(x0.min(), x1.min()), min(y0.min(), y1.min())]) - cell_m
    hi = np.array([max(x0.max(), x1.max()), max(y0.max(), y1.max())]) + cell_m
    while np.prod(np.ceil((hi - lo) / cell_m)) > MAX_GRID_CELLS:
        cell_m *= 2.0
    shape = np.ceil((hi - lo) / cell_m).astype(np.int64)
    cell_indptr, cell_segments = _bucket_segments(x0, y0, x1, y1, lo, shape, cell_m)
    return SegmentGrid(
        seg_edge, x0, y0, x1, y1, seg_offset, lo, shape, float(cell_m), cell_indptr, cell_segments
    )


@numba.njit(cache=True)
def _segment_cells(x0, y0, x1, y1, origin, cell_m):  # type: ignore[no-untyped-def]
    """Cell range (cx0, cx1, cy0, cy1) covered by one segment's bounding box."""
    cx0 = int((min(x0, x1) - origin[0]) // cell_m)
    cx1 = int((max(x0, x1) - origin[0]) // cell_m)
    cy0 = int((min(y0, y1) - origin[1]) // cell_m)
    cy1 = int((max(y0, y1) - origin[1]) // cell_m)
    return cx0, cx1, cy0, cy1


@numba.njit(cache=True)
def _bucket_segments(x0, y0, x1, y1, origin, shape, cell_m):  # type: ignore[no-untyped-def]
    """CSR of segment ids per grid cell (a segment goes into every cell its box touches)."""
    counts = np.zeros(shape[0] * shape[1] + 1, np.int64)
    for s in range(len(x0)):
        cx0, cx1, cy0, cy1 = _segment_cells(x0[s], y0[s], x1[s], y1[s], origin, cell_m)
        for cy in range(cy0, cy1 + 1):
            for cx in range(cx0, cx1 + 1):
                counts[cy * shape[0] + cx + 1] += 1
    indptr = np.cumsum(counts)
    fill = indptr[:-1].copy()
    out = np.empty(indptr[-1], np.int64)
    for s in range(len(x0)):
        cx0, cx1, cy0, cy1 = _segment_cells(x0[s], y0[s], x1[s], y1[s], origin, cell_m)
        for cy in range(cy0, cy1 + 1):
            for cx in range(cx0, cx1 + 1):
                cell = cy * shape[0] + cx
                out[fill[cell]] = s
                fill[cell] += 1
    return indptr, out
