"""Prepare a network and its restrictions for compliant routing: edge times and per-query masks.

`RoutingIndex` is built once per (network, compiled restrictions): CSR adjacency, travel time
per edge (road-class speed capped by the hazmat limits of Order 29 Art 46 and by posted limits)
and every (edge, restriction) pair that can close an edge: edge features from the compiled CSR,
and zone features (zones, water-source zones, dense areas) on every edge that touches them.

A query turns a load and a departure time into `QueryMasks`: restrictions that do not apply to
the load or that its permits exempt drop out; those in force over the whole horizon and tunnels
the load's code keeps out of go into one static block mask; the rest keep their active
intervals (seconds after departure), so schedules are evaluated only for restricted edges.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import zoneinfo
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from geodata import restriction_index, schedules
from geodata.arrays import concatenated_ranges
from geodata.restrictions import Restriction, RestrictionKind

if TYPE_CHECKING:
    from geodata.network import RoadNetwork
    from geodata.restriction_index import CargoKey, CompiledRestrictions

__all__ = [
    "BLOCKING_KINDS",
    "TUNNEL_RULE",
    "QueryMasks",
    "RoutingIndex",
    "SpeedParams",
    "active_intervals",
    "build_routing_index",
    "edge_speed_kmh",
    "query_masks",
    "tunnel_block_threshold",
]

logger = logging.getLogger(__name__)

#: Restriction kinds that close roads to routing (parking rules and corridors do not).
BLOCKING_KINDS = frozenset(
    {
        RestrictionKind.FORBIDDEN_SEGMENT,
        RestrictionKind.ZONE,
        RestrictionKind.TUNNEL,
        RestrictionKind.BRIDGE,
        RestrictionKind.WATER_SOURCE_LEVEL1,
        RestrictionKind.WATER_SOURCE_LEVEL2,
        RestrictionKind.WATER_SOURCE_BELT,
        RestrictionKind.DENSE_AREA,
    }
)
#: Pseudo restriction index of the ADR tunnel rule (category vs the load's tunnel code).
TUNNEL_RULE = -1
DEFAULT_HORIZON_S = 24 * 3600.0

# Free-flow speed of a loaded tanker by road class, before hazmat and posted limits.
CLASS_SPEED_KMH = {
    "motorway": 100.0, "motorway_link": 50.0, "trunk": 80.0, "trunk_link": 45.0,
    "primary": 60.0, "primary_link": 40.0, "secondary": 50.0, "secondary_link": 35.0,
    "tertiary": 40.0, "tertiary_link": 30.0, "unclassified": 30.0, "residential": 25.0,
    "living_street": 15.0, "service": 15.0, "road": 30.0,
}  # fmt: skip


@dataclass(frozen=True)
class SpeedParams:
    """Speeds for routing: class defaults and the hazmat limits (Order 29 Art 46)."""

    class_speed_kmh: tuple[tuple[str, float], ...] = tuple(CLASS_SPEED_KMH.items())
    default_speed_kmh: float = 30.0
    expressway_classes: frozenset[str] = frozenset({"motorway", "motorway_link"})
    expressway_limit_kmh: float = 80.0
    other_limit_kmh: float = 60.0


def edge_speed_kmh(network: RoadNetwork, params: SpeedParams | None = None) -> np.ndarray:
    """Return the routing speed of every edge in km/h.

    Road-class speed, capped by the hazmat limit (80 km/h on expressways, 60 elsewhere) and by
    the posted `maxspeed` and `maxspeed:hgv` where known.
    """
    params = params or SpeedParams()
    highway = network.edges["highway"].astype(object).fillna("").to_numpy(object)
    classes, codes = np.unique(highway, return_inverse=True)
    table = dict(params.class_speed_kmh)
    base = np.array([table.get(c, params.default_speed_kmh) for c in classes])[codes]
    is_express = np.isin(highway, list(params.expressway_classes))
    limit = np.where(is_express, params.expressway_limit_kmh, params.other_limit_kmh)
    posted = network.edges[["maxspeed_kmh", "maxspeed_hgv_kmh"]].to_numpy(float)
    posted = np.where(np.isnan(posted) | (posted <= 0), np.inf, posted).min(axis=1)
    return np.minimum(np.minimum(base, limit), posted)


class QueryMasks(NamedTuple):
    """Per-query kernel arrays; interval times are seconds after departure."""

    blocked: np.ndarray
    r_ptr: np.ndarray
    r_idx: np.ndarray
    iv_ptr: np.ndarray
    iv_start: np.ndarray
    iv_end: np.ndarray


@dataclass(eq=False)
class RoutingIndex:
    """A network prepared for routing with its restrictions (build with `build_routing_index`).

    Attributes
    ----------
    pair_edge, pair_restriction
        Every (edge, restriction index) pair that may close the edge, sorted by edge.
    pair_ptr
        CSR over edges into the pair arrays.
    """

    network: RoadNetwork
    compiled: CompiledRestrictions | None
    indptr: np.ndarray
    out_edge_ids: np.ndarray
    edge_u: np.ndarray
    edge_v: np.ndarray
    edge_length_m: np.ndarray
    edge_time_s: np.ndarray
    edge_tunnel_category: np.ndarray
    pair_edge: np.ndarray
    pair_restriction: np.ndarray
    pair_ptr: np.ndarray
    node_x: np.ndarray
    node_y: np.ndarray
    s_per_m: float
    _intervals: dict[tuple[int, dt.datetime, float], np.ndarray]

    @property
    def restrictions(self) -> tuple[Restriction, ...]:
        """The compiled restrictions (empty without layers)."""
        return () if self.compiled is None else self.compiled.restrictions

    def restriction_pairs(self, edge_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return (position in `edge_ids`, restriction index) of every pair on those edges."""
        starts, ends = self.pair_ptr[edge_ids], self.pair_ptr[edge_ids + 1]
        counts = ends - starts
        owner = np.repeat(np.arange(len(edge_ids)), counts)
        return owner, self.pair_restriction[concatenated_ranges(starts, counts)]


def build_routing_index(
    network: RoadNetwork,
    compiled: CompiledRestrictions | None = None,
    *,
    speeds: SpeedParams | None = None,
) -> RoutingIndex:
    """Prepare a network and compiled restrictions for routing queries.

    Parameters
    ----------
    network
        Projected road network.
    compiled
        Restrictions compiled onto `network`; ``None`` routes with tunnel categories only.
    speeds
        Speed parameters; ``None`` for the national defaults.
    """
    indptr, out_edge_ids = network.out_edges
    time_s = network.edge_length_m / (edge_speed_kmh(network, speeds) / 3.6)
    n_edges = len(network.edges)
    edges, owners = _blocking_pairs(network, compiled)
    order = np.lexsort((owners, edges))
    edges, owners = edges[order], owners[order]
    pair_ptr = np.zeros(n_edges + 1, dtype=np.int64)
    pair_ptr[1:] = np.cumsum(np.bincount(edges, minlength=n_edges))
    categories = (
        compiled.edge_tunnel_category if compiled is not None else _tunnel_categories(network)
    )
    return RoutingIndex(
        network=network,
        compiled=compiled,
        indptr=np.ascontiguousarray(indptr, np.int64),
        out_edge_ids=np.ascontiguousarray(out_edge_ids, np.int64),
        edge_u=np.ascontiguousarray(network.edge_u, np.int64),
        edge_v=np.ascontiguousarray(network.edge_v, np.int64),
        edge_length_m=np.ascontiguousarray(network.edge_length_m, np.float64),
        edge_time_s=np.ascontiguousarray(time_s, np.float64),
        edge_tunnel_category=np.asarray(categories, np.uint8),
        pair_edge=edges,
        pair_restriction=owners,
        pair_ptr=pair_ptr,
        node_x=np.ascontiguousarray(network.nodes["x"].to_numpy(np.float64)),
        node_y=np.ascontiguousarray(network.nodes["y"].to_numpy(np.float64)),
        s_per_m=_pace_bound(network, time_s),
        _intervals={},
    )


def _pace_bound(network: RoadNetwork, time_s: np.ndarray) -> float:
    """Seconds per metre of straight line that no edge beats (the A* bound of the kernel)."""
    u, v = network.edge_u, network.edge_v
    x, y = network.nodes["x"].to_numpy(), network.nodes["y"].to_numpy()
    chord_m = np.hypot(x[v] - x[u], y[v] - y[u])
    with np.errstate(divide="ignore", invalid="ignore"):
        pace = np.where(chord_m > 0, time_s / chord_m, np.inf)
    return float(max(0.0, pace.min() * (1.0 - 1e-9))) if len(pace) else 0.0


def _tunnel_categories(network: RoadNetwork) -> np.ndarray:
    """ADR category code per edge (0 none, 1..5 = A..E) read from the edge table."""
    column = network.edges["tunnel_category"].astype(object)
    codes = restriction_index.TUNNEL_CATEGORY_CODES
    return np.array([codes.get(c, 0) if isinstance(c, str) else 0 for c in column], np.uint8)


def _blocking_pairs(
    network: RoadNetwork, compiled: CompiledRestrictions | None
) -> tuple[np.ndarray, np.ndarray]:
    """(edge, restriction) pairs of blocking kinds: compiled edge pairs and zones on edges."""
    if compiled is None or len(compiled) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    blocking = np.array([k in BLOCKING_KINDS for k in compiled.kinds], dtype=bool)
    counts = np.diff(compiled.edge_indptr)
    edge_rows = np.repeat(np.arange(len(counts)), counts)
    edge_owner = compiled.edge_restriction_idx.astype(np.int64)
    keep = blocking[edge_owner]
    edges, owners = [edge_rows[keep]], [edge_owner[keep]]
    if len(compiled.zone_geometries):
        zone_pos, edge_ids = network.tree.query(compiled.zone_geometries, predicate="intersects")
        zone_owner = compiled.zone_restriction_idx[zone_pos].astype(np.int64)
        keep = blocking[zone_owner]
        edges.append(edge_ids[keep].astype(np.int64))
        owners.append(zone_owner[keep])
    return np.concatenate(edges), np.concatenate(owners)


def tunnel_block_threshold(tunnel_code: str | None) -> int:
    """Lowest tunnel category code (1..5 = A..E) a load code keeps out of; 6 when none.

    Combined codes take their most restrictive letter (B1000C → B, C/D → C), the safe reading
    when the carriage or mass is unknown.

    Examples
    --------
    >>> tunnel_block_threshold("C"), tunnel_block_threshold("D/E"), tunnel_block_threshold(None)
    (3, 4, 6)
    """
    if not tunnel_code:
        return 6
    letter = tunnel_code.strip().upper()[:1]
    return restriction_index.TUNNEL_CATEGORY_CODES.get(letter, 6) if letter != "A" else 6


def active_intervals(
    restriction: Restriction, start_at: dt.datetime, horizon_s: float
) -> np.ndarray:
    """Return the (start, end) seconds after `start_at` during which a restriction is in force.

    Covers ``[0, horizon_s)``; an interval still open at the horizon ends at +inf. Validity
    dates count as well as the schedule.

    Returns
    -------
    intervals
        Float array of shape (k, 2), sorted, non-overlapping.
    """
    end_at = start_at + dt.timedelta(seconds=horizon_s)
    out: list[tuple[float, float]] = []
    t = start_at
    while t < end_at:
        nxt = _next_change(restriction, t)
        if restriction.is_in_force(t):
            stop = math.inf if nxt is None or nxt >= end_at else (nxt - start_at).total_seconds()
            out.append(((t - start_at).total_seconds(), stop))
        if nxt is None:
            break
        t = nxt
    return np.array(out, dtype=np.float64).reshape(-1, 2)


def _next_change(restriction: Restriction, at: dt.datetime) -> dt.datetime | None:
    """First moment after `at` at which the schedule or the validity dates change."""
    p = restriction.properties
    zone = zoneinfo.ZoneInfo(p.time_zone)
    changes = [schedules.next_change(restriction.schedule, at)]
    for day in (p.valid_from, (p.valid_to + dt.timedelta(days=1)) if p.valid_to else None):
        if day is not None:
            boundary = dt.datetime.combine(day, dt.time(), tzinfo=zone)
            changes.append(boundary if boundary > at else None)
    return min((c for c in changes if c is not None), default=None)


def relevant_restrictions(index: RoutingIndex, cargo: CargoKey) -> np.ndarray:
    """Bool mask over restrictions: applies to the load and no permit of it exempts it."""
    if index.compiled is None or len(index.compiled) == 0:
        return np.zeros(0, dtype=bool)
    applies, exempt = restriction_index.applies_mask(index.compiled, cargo)
    return applies & ~exempt


def restriction_intervals(
    index: RoutingIndex, r: int, depart_at: dt.datetime, horizon_s: float
) -> np.ndarray:
    """Active intervals of restriction `r`, in seconds after `depart_at`, up to `horizon_s`.

    Schedules are unrolled once per UTC day of departure (over the horizon plus a day) and
    cached on the index, so queries on one day share the evaluation.
    """
    utc = depart_at.astimezone(dt.UTC)
    anchor = utc.replace(hour=0, minute=0, second=0, microsecond=0)
    span_s = math.ceil(horizon_s / 86400.0) * 86400.0 + 86400.0
    key = (r, anchor, span_s)
    cached = index._intervals.get(key)
    if cached is None:
        if len(index._intervals) > 50_000:
            index._intervals.clear()
        cached = index._intervals[key] = active_intervals(index.restrictions[r], anchor, span_s)
    shifted = cached - (utc - anchor).total_seconds()
    keep = (shifted[:, 1] > 0.0) & (shifted[:, 0] < horizon_s)
    return shifted[keep]


def query_masks(
    index: RoutingIndex,
    cargo: CargoKey,
    depart_at: dt.datetime,
    *,
    horizon_s: float = DEFAULT_HORIZON_S,
    lifted: frozenset[int] = frozenset(),
) -> QueryMasks:
    """Build the kernel arrays for one load and departure.

    Parameters
    ----------
    index
        Routing index.
    cargo
        The load (classes, UN numbers, tunnel code, flags, permits).
    depart_at
        Timezone-aware departure.
    horizon_s
        How far ahead schedules are unrolled; beyond it the last state holds.
    lifted
        Restriction indices to ignore (and `TUNNEL_RULE` to ignore tunnel categories), for
        asking which restriction blocks a trip.
    """
    n_edges = len(index.edge_u)
    blocked = np.zeros(n_edges, dtype=bool)
    if TUNNEL_RULE not in lifted:
        blocked |= index.edge_tunnel_category >= tunnel_block_threshold(cargo.tunnel_code)
    relevant = relevant_restrictions(index, cargo)
    for r in lifted:
        if r >= 0:
            relevant[r] = False
    n_r = len(relevant)
    iv_ptr = np.zeros(n_r + 1, dtype=np.int64)
    pieces: list[np.ndarray] = []
    always = np.zeros(n_r, dtype=bool)
    used = np.zeros(n_r, dtype=bool)
    if n_r:
        used[np.unique(index.pair_restriction)] = True
    for r in np.flatnonzero(relevant & used).tolist():
        iv = restriction_intervals(index, r, depart_at, horizon_s)
        if len(iv) == 1 and iv[0, 0] <= 0.0 and iv[0, 1] == math.inf:
            always[r] = True
        elif len(iv):
            iv_ptr[r + 1] = len(iv)
            pieces.append(iv)
    iv_ptr = np.cumsum(iv_ptr)
    intervals = np.concatenate(pieces) if pieces else np.zeros((0, 2))
    pr = index.pair_restriction
    timed = np.zeros(len(pr), dtype=bool)
    if n_r:
        blocked[index.pair_edge[always[pr]]] = True
        timed = iv_ptr[pr + 1] > iv_ptr[pr]
    r_ptr = np.zeros(n_edges + 1, dtype=np.int64)
    r_ptr[1:] = np.cumsum(np.bincount(index.pair_edge[timed], minlength=n_edges))
    return QueryMasks(
        blocked, r_ptr, pr[timed].astype(np.int64), iv_ptr,
        np.ascontiguousarray(intervals[:, 0]), np.ascontiguousarray(intervals[:, 1]),
    )  # fmt: skip
