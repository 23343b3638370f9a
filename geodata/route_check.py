"""Check a given route (edge list or drawn line) against the restrictions: which, where, when.

Each edge is entered at a moment (from the route's own timing, or road-class speeds from the
departure); a restriction is broken on an edge when it applies to the load, no permit exempts
it, and it is in force when the edge is entered. Consecutive edges under one restriction make
one violation, with the place and moment it starts.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely

from geodata import route_graph

if TYPE_CHECKING:
    from geodata.restriction_index import CargoKey
    from geodata.route_graph import RoutingIndex

__all__ = ["Violation", "check_line", "check_route", "entry_times_s", "match_line"]

logger = logging.getLogger(__name__)

TUNNEL_LETTERS = " ABCDE"
TUNNEL_BASIS = (
    "JT/T 617.7 / ADR 8.6：隧道限制代码与隧道类别",
    "JT/T 617.7 / ADR 8.6: tunnel restriction code vs tunnel category",
)
LINE_STEP_M = 15.0
LINE_SPEED_MS = 10.0


@dataclass(frozen=True)
class Violation:
    """One restriction broken along a route: which rule, where it starts, when."""

    restriction_id: str
    kind: str
    name_zh: str
    name_en: str
    legal_basis_zh: str
    legal_basis_en: str
    severity: str
    edge_ids: tuple[int, ...]
    entered_at: dt.datetime
    lon: float
    lat: float
    length_m: float

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values."""
        out = asdict(self)
        out["entered_at"] = self.entered_at.isoformat()
        out["edge_ids"] = list(self.edge_ids)
        return out


def entry_times_s(index: RoutingIndex, edge_ids: np.ndarray) -> np.ndarray:
    """Seconds after departure at which each edge is entered, at routing speeds."""
    times = index.edge_time_s[np.asarray(edge_ids, dtype=np.int64)]
    return np.concatenate([[0.0], np.cumsum(times)[:-1]]) if len(times) else np.zeros(0)


def check_route(
    index: RoutingIndex,
    edge_ids: np.ndarray,
    depart_at: dt.datetime,
    cargo: CargoKey,
    *,
    entered_s: np.ndarray | None = None,
) -> list[Violation]:
    """Return the restrictions a route breaks, in the order it meets them.

    Parameters
    ----------
    index
        Routing index of the network and its restrictions.
    edge_ids
        Edges in travel order.
    depart_at
        Aware moment the first edge is entered.
    cargo
        The load.
    entered_s
        Seconds after `depart_at` each edge is entered; default: routing speeds.

    Returns
    -------
    violations
        Sorted by the moment they start; empty for a compliant route.
    """
    edges = np.asarray(edge_ids, dtype=np.int64)
    entered = entry_times_s(index, edges) if entered_s is None else np.asarray(entered_s, float)
    horizon = max(route_graph.DEFAULT_HORIZON_S, float(entered.max(initial=0.0)) + 3600.0)
    pos, r = index.restriction_pairs(edges)
    relevant = route_graph.relevant_restrictions(index, cargo)
    keep = relevant[r] if len(relevant) else np.zeros(len(r), dtype=bool)
    pos, r = pos[keep], r[keep]
    active = np.zeros(len(pos), dtype=bool)
    for rid in np.unique(r).tolist():
        iv = route_graph.restriction_intervals(index, rid, depart_at, horizon)
        rows = np.flatnonzero(r == rid)
        if len(iv) == 0:
            continue
        k = np.searchsorted(iv[:, 0], entered[pos[rows]], side="right") - 1
        active[rows] = (k >= 0) & (entered[pos[rows]] < iv[np.maximum(k, 0), 1])
    found = [
        _violation(index, edges, entered, rid, depart_at, run)
        for rid in np.unique(r[active]).tolist()
        for run in _runs(pos[active & (r == rid)])
    ]
    found += _tunnel_violations(index, edges, entered, cargo, depart_at)
    return sorted(found, key=lambda v: (v.entered_at, v.restriction_id))


def _runs(positions: np.ndarray) -> list[np.ndarray]:
    """Split sorted positions into runs of consecutive values."""
    positions = np.unique(positions)
    return np.split(positions, np.flatnonzero(np.diff(positions) > 1) + 1) if positions.size else []


def _place(
    index: RoutingIndex, edges: np.ndarray, entered: np.ndarray, run: np.ndarray,
    depart_at: dt.datetime,
) -> dict[str, Any]:  # fmt: skip
    """Where and when a run of route positions starts, and its edges and length."""
    start = index.network.geometries[edges[run[0]]]
    x, y = shapely.get_coordinates(start)[0]
    lon, lat = index.network.to_lonlat.transform(x, y)
    return {
        "edge_ids": tuple(int(e) for e in edges[run]),
        "entered_at": depart_at + dt.timedelta(seconds=float(entered[run[0]])),
        "lon": round(float(lon), 6),
        "lat": round(float(lat), 6),
        "length_m": round(float(index.edge_length_m[edges[run]].sum()), 1),
    }


def _violation(
    index: RoutingIndex, edges: np.ndarray, entered: np.ndarray, rid: int,
    depart_at: dt.datetime, run: np.ndarray,
) -> Violation:  # fmt: skip
    """A violation of restriction `rid` over one run of route positions."""
    p = index.restrictions[rid].properties
    return Violation(
        restriction_id=p.id, kind=p.kind.value, name_zh=p.name.zh, name_en=p.name.en,
        legal_basis_zh=p.legal_basis.zh, legal_basis_en=p.legal_basis.en,
        severity=p.severity.value, **_place(index, edges, entered, run, depart_at),
    )  # fmt: skip


def tunnel_rule_id(category: int) -> str:
    """Id of the pseudo restriction for ADR tunnel category code 1..5."""
    return f"adr-tunnel-category-{TUNNEL_LETTERS[category]}"


def _tunnel_violations(
    index: RoutingIndex, edges: np.ndarray, entered: np.ndarray, cargo: CargoKey,
    depart_at: dt.datetime,
) -> list[Violation]:  # fmt: skip
    """Tunnels of a category the load's tunnel code keeps out of."""
    threshold = route_graph.tunnel_block_threshold(cargo.tunnel_code)
    categories = index.edge_tunnel_category[edges]
    out = []
    for cat in np.unique(categories[categories >= threshold]).tolist():
        letter = TUNNEL_LETTERS[cat]
        for run in _runs(np.flatnonzero(categories == cat)):
            out.append(
                Violation(
                    restriction_id=tunnel_rule_id(cat), kind="tunnel_category",
                    name_zh=f"ADR 隧道类别 {letter}：隧道限制代码 {cargo.tunnel_code} "
                    "的货物禁止通行",
                    name_en=f"ADR tunnel category {letter}: closed to tunnel code "
                    f"{cargo.tunnel_code}",
                    legal_basis_zh=TUNNEL_BASIS[0], legal_basis_en=TUNNEL_BASIS[1],
                    severity="violation", **_place(index, edges, entered, run, depart_at),
                )
            )  # fmt: skip
    return out


def match_line(index: RoutingIndex, line_lonlat: shapely.LineString) -> np.ndarray:
    """Snap a drawn WGS-84 line to the road edges it follows (map matching of its points)."""
    from geodata.matching import matcher  # numba kernels compile on import: only when used

    network = index.network
    coords = shapely.get_coordinates(line_lonlat)
    x, y = network.from_lonlat.transform(coords[:, 0], coords[:, 1])
    metric = shapely.LineString(np.column_stack([x, y]))
    distances = np.append(np.arange(0.0, metric.length, LINE_STEP_M), metric.length)
    points = shapely.line_interpolate_point(metric, distances)
    result = matcher.match_track(
        network, shapely.get_x(points), shapely.get_y(points), distances / LINE_SPEED_MS
    )
    return result.matched_edge_ids()


def check_line(
    index: RoutingIndex, line_lonlat: shapely.LineString, depart_at: dt.datetime, cargo: CargoKey
) -> tuple[np.ndarray, list[Violation]]:
    """Snap a drawn line to the roads and check it; return (edge ids, violations)."""
    edges = match_line(index, line_lonlat)
    return edges, check_route(index, edges, depart_at, cargo)
