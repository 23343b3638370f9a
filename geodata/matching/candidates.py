"""Find candidate road positions for many GPS fixes at once (numba segment-grid search).

For each fix: every edge with a piece within the search radius, its nearest point (offset along
the edge, snapped x/y, distance), at most one candidate per edge, the K nearest kept.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numba
import numpy as np

if TYPE_CHECKING:
    from geodata.matching.index import MatchIndex, SegmentGrid

__all__ = ["Candidates", "find_candidates"]

MAX_EDGES_PER_FIX = 4096


class Candidates(NamedTuple):
    """Candidates of many fixes as CSR: fix i owns rows `fix_indptr[i]:fix_indptr[i+1]`.

    Rows of one fix are sorted by distance (nearest first).
    """

    fix_indptr: np.ndarray
    edge_id: np.ndarray
    offset_m: np.ndarray
    x: np.ndarray
    y: np.ndarray
    dist_m: np.ndarray

    def counts(self) -> np.ndarray:
        """Number of candidates per fix."""
        return np.diff(self.fix_indptr)


def find_candidates(
    index: MatchIndex, x: np.ndarray, y: np.ndarray, *, radius_m: float, max_candidates: int
) -> Candidates:
    """Return the nearest road positions of each fix within a radius.

    Parameters
    ----------
    index
        Matching index of the network (`index.match_index`).
    x, y
        Fix positions in the network CRS (metres); non-finite fixes get no candidates.
    radius_m
        Search radius around each fix.
    max_candidates
        Keep at most this many candidates per fix, nearest first, one per edge.

    Returns
    -------
    candidates
        CSR arrays over the fixes, in input order.
    """
    x = np.ascontiguousarray(x, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.float64)
    counts, rows = _query_grid(
        index.grid, index.workspace.edge_slot, x, y, float(radius_m), int(max_candidates)
    )
    keep = (np.arange(max_candidates)[None, :] < counts[:, None]).ravel()
    indptr = np.zeros(len(x) + 1, np.int64)
    np.cumsum(counts, out=indptr[1:])
    edge_id = rows[:, 0].astype(np.int64)[keep]
    return Candidates(indptr, edge_id, *(rows[keep, c] for c in range(1, 5)))


@numba.njit(cache=True)
def _project(px, py, x0, y0, x1, y1):  # type: ignore[no-untyped-def]
    """Nearest point of a segment: (fraction along, snapped x, snapped y, distance, length)."""
    dx, dy = x1 - x0, y1 - y0
    length2 = dx * dx + dy * dy
    frac = 0.0
    if length2 > 0.0:
        frac = min(1.0, max(0.0, ((px - x0) * dx + (py - y0) * dy) / length2))
    qx, qy = x0 + frac * dx, y0 + frac * dy
    return frac, qx, qy, np.hypot(px - qx, py - qy), np.sqrt(length2)


@numba.njit(cache=True)
def _scan_fix(grid: SegmentGrid, edge_slot, px, py, radius, buf):  # type: ignore[no-untyped-def]
    """Fill `buf` rows (edge, offset, x, y, dist) with the best piece of each edge in range."""
    nx, ny = grid.shape_cells[0], grid.shape_cells[1]
    cx0 = max(0, int((px - radius - grid.origin_xy[0]) // grid.cell_m))
    cx1 = min(nx - 1, int((px + radius - grid.origin_xy[0]) // grid.cell_m))
    cy0 = max(0, int((py - radius - grid.origin_xy[1]) // grid.cell_m))
    cy1 = min(ny - 1, int((py + radius - grid.origin_xy[1]) // grid.cell_m))
    m = 0
    for cy in range(cy0, cy1 + 1):
        for cx in range(cx0, cx1 + 1):
            cell = cy * nx + cx
            for k in range(grid.cell_indptr[cell], grid.cell_indptr[cell + 1]):
                s = grid.cell_segments[k]
                frac, qx, qy, d, seg_len = _project(
                    px, py, grid.seg_x0[s], grid.seg_y0[s], grid.seg_x1[s], grid.seg_y1[s]
                )
                if d > radius:
                    continue
                e = grid.seg_edge[s]
                slot = edge_slot[e]
                if slot < 0:
                    if m == len(buf):
                        continue
                    slot = m
                    edge_slot[e] = m
                    m += 1
                elif buf[slot, 4] <= d:
                    continue
                buf[slot, 0] = e
                buf[slot, 1] = grid.seg_offset_m[s] + frac * seg_len
                buf[slot, 2], buf[slot, 3], buf[slot, 4] = qx, qy, d
    for j in range(m):
        edge_slot[int(buf[j, 0])] = -1
    return m


@numba.njit(cache=True)
def _query_grid(grid: SegmentGrid, edge_slot, x, y, radius, k):  # type: ignore[no-untyped-def]
    """Top-k candidates of every fix as an (n*k, 5) table and a count per fix."""
    n = len(x)
    rows = np.zeros((n * k, 5))
    counts = np.zeros(n, np.int64)
    buf = np.empty((MAX_EDGES_PER_FIX, 5))
    for i in range(n):
        if not (np.isfinite(x[i]) and np.isfinite(y[i])):
            continue
        m = _scan_fix(grid, edge_slot, x[i], y[i], radius, buf)
        order = np.argsort(buf[:m, 4], kind="mergesort")
        kept = min(k, m)
        for j in range(kept):
            rows[i * k + j] = buf[order[j]]
        counts[i] = kept
    return counts, rows
