"""Results of map matching: per-fix arrays of a batch match and single matched points online."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import shapely

if TYPE_CHECKING:
    from geodata.network import RoadNetwork

__all__ = ["MatchResult", "MatchedPoint", "merge_repeats"]


def merge_repeats(edge_ids: np.ndarray) -> np.ndarray:
    """Drop consecutive repeats from a sequence of edge ids."""
    edge_ids = np.asarray(edge_ids, dtype=np.int64)
    keep = np.ones(len(edge_ids), dtype=bool)
    keep[1:] = edge_ids[1:] != edge_ids[:-1]
    return edge_ids[keep]


@dataclass(frozen=True, eq=False)
class MatchResult:
    """Per-fix parallel arrays of one matched track, in input order.

    Attributes
    ----------
    edge_id
        Matched edge, -1 when the fix was not matched (see `reason`).
    offset_m
        Distance along the edge from its start node to the snapped point (NaN if unmatched).
    snapped_x, snapped_y
        Snapped position in the network CRS (NaN if unmatched).
    distance_m
        Distance from the fix to the snapped point (NaN if unmatched).
    reason
        `screening.FixReason` code, 0 when matched.
    is_break
        True where a chain (re)starts: the first matched fix and after a gap or an unreachable
        step; the path of a break fix holds only its own edge.
    path_indptr, path_edge_ids
        CSR: edges travelled since the previous matched fix, ending with the fix's own edge and
        not repeating the previous fix's edge; empty while the vehicle stays on one edge.
    """

    edge_id: np.ndarray
    offset_m: np.ndarray
    snapped_x: np.ndarray
    snapped_y: np.ndarray
    distance_m: np.ndarray
    reason: np.ndarray
    is_break: np.ndarray
    path_indptr: np.ndarray
    path_edge_ids: np.ndarray

    def __len__(self) -> int:
        return len(self.edge_id)

    @property
    def is_matched(self) -> np.ndarray:
        """Mask of matched fixes."""
        return self.edge_id >= 0

    def path_of(self, i: int) -> np.ndarray:
        """Edges travelled up to fix `i` since the previous matched fix."""
        return self.path_edge_ids[self.path_indptr[i] : self.path_indptr[i + 1]]

    def reason_counts(self) -> dict[int, int]:
        """Number of fixes per reason code."""
        codes, counts = np.unique(self.reason, return_counts=True)
        return dict(zip(codes.tolist(), counts.tolist(), strict=True))

    def matched_edge_ids(self) -> np.ndarray:
        """The whole matched path in travel order, consecutive duplicates merged."""
        return merge_repeats(self.path_edge_ids)

    def piece_edge_ids(self) -> list[np.ndarray]:
        """The matched path split at breaks: one edge sequence per unbroken piece."""
        starts = np.flatnonzero(self.is_break & self.is_matched)
        cuts = self.path_indptr[starts[1:]]
        return [merge_repeats(p) for p in np.split(self.path_edge_ids, cuts) if len(p)]

    def matched_geometry(
        self, network: RoadNetwork
    ) -> shapely.LineString | shapely.MultiLineString:
        """Matched path as lines in the network CRS: a LineString per unbroken piece."""
        lines = [_join_edges(network, piece) for piece in self.piece_edge_ids()]
        if len(lines) == 1:
            return lines[0]
        return shapely.MultiLineString(lines)


def _join_edges(network: RoadNetwork, edge_ids: np.ndarray) -> shapely.LineString:
    """One LineString through consecutive edges (shared end points kept once)."""
    coords, _owner = shapely.get_coordinates(network.geometries[edge_ids], return_index=True)
    keep = np.ones(len(coords), dtype=bool)
    keep[1:] = np.any(coords[1:] != coords[:-1], axis=1)
    return shapely.LineString(coords[keep])


@dataclass(frozen=True)
class MatchedPoint:
    """One fix matched online (`reason` != 0 and `edge_id` == -1 when rejected)."""

    seq: int
    t: float
    edge_id: int
    offset_m: float
    snapped_x: float
    snapped_y: float
    distance_m: float
    reason: int
    is_break: bool
    path_edge_ids: tuple[int, ...]
