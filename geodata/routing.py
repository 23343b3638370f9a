"""Fastest compliant route for a hazmat load: time-dependent Dijkstra on the routing index.

Origin and destination are points snapped to the nearest road (both travel directions of a
two-way road are tried). Forbidden segments and zones close an edge while their schedules are
active at the moment the vehicle would enter it; tunnels whose ADR category the load's tunnel
code keeps out of are closed; water-source zones of level 2 and the protection belt open to a
load holding the permit. The origin and destination edges themselves are never closed (the trip
has to start and end there); `route_check.check_route` reports them if they are restricted.

Examples
--------
>>> from geodata import route_graph, restriction_index
>>> idx = route_graph.build_routing_index(network, compiled)  # doctest: +SKIP
>>> route = fastest_route(idx, (114.02, 22.53), (114.06, 22.54), depart_at,
...                       restriction_index.CargoKey(classes=frozenset({"3"})))  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely

from geodata import _td_dijkstra, route_graph

if TYPE_CHECKING:
    from geodata.restriction_index import CargoKey
    from geodata.route_graph import QueryMasks, RoutingIndex

__all__ = ["Route", "RoutingError", "Snap", "fastest_route", "route_line", "snap_point"]

logger = logging.getLogger(__name__)

DEFAULT_SNAP_M = 500.0


class RoutingError(ValueError):
    """A routing request cannot be answered as asked (no road near a point, bad input)."""


@dataclass(frozen=True, eq=False)
class Snap:
    """A point snapped to the road: candidate directed edges (twins) and offsets along them."""

    lon: float
    lat: float
    edge_ids: np.ndarray
    offset_m: np.ndarray
    distance_m: float
    x: float
    y: float


@dataclass(frozen=True, eq=False)
class Route:
    """A route: edges in travel order and the moment each is entered.

    Attributes
    ----------
    edge_ids
        Edge ids in travel order; the first holds the origin, the last the destination.
    entered_s
        Seconds after departure at which each edge is entered (0 for the origin edge).
    depart_at
        Aware departure moment.
    duration_s, length_m
        From the origin point to the destination point.
    """

    edge_ids: np.ndarray
    entered_s: np.ndarray
    depart_at: dt.datetime
    duration_s: float
    length_m: float

    @property
    def arrive_at(self) -> dt.datetime:
        """Aware arrival moment."""
        return self.depart_at + dt.timedelta(seconds=self.duration_s)

    def summary(self) -> dict[str, Any]:
        """Plain values for JSON: km, minutes, departure and arrival, edge count."""
        return {
            "km": round(self.length_m / 1000.0, 3),
            "minutes": round(self.duration_s / 60.0, 2),
            "depart_at": self.depart_at.isoformat(),
            "arrive_at": self.arrive_at.isoformat(),
            "edges": len(self.edge_ids),
        }


def snap_point(
    index: RoutingIndex, lon: float, lat: float, *, max_distance_m: float = DEFAULT_SNAP_M
) -> Snap:
    """Snap a WGS-84 point to the nearest road edges of the index's network.

    Raises
    ------
    RoutingError
        No road lies within `max_distance_m`.
    """
    network = index.network
    x, y = network.from_lonlat.transform(lon, lat)
    point = shapely.Point(x, y)
    found, distance = network.tree.query_nearest(
        point, max_distance=max_distance_m, return_distance=True, all_matches=True
    )
    if len(found) == 0:
        msg = f"no road within {max_distance_m:.0f} m of ({lon:.6f}, {lat:.6f})"
        raise RoutingError(msg)
    edges = np.asarray(found, dtype=np.int64)
    offsets = shapely.line_locate_point(network.geometries[edges], point)
    return Snap(
        float(lon),
        float(lat),
        edges,
        np.asarray(offsets, float),
        float(distance.min()),
        float(x),
        float(y),
    )


def _as_snap(index: RoutingIndex, place: Snap | tuple[float, float]) -> Snap:
    """A snap from a snap or a (lon, lat) pair."""
    return place if isinstance(place, Snap) else snap_point(index, *place)


def _free_masks(index: RoutingIndex) -> QueryMasks:
    """Kernel arrays that close nothing (the unrestricted route)."""
    n = len(index.edge_u)
    empty_f = np.zeros(0, np.float64)
    return route_graph.QueryMasks(
        np.zeros(n, bool), np.zeros(n + 1, np.int64), np.zeros(0, np.int64),
        np.zeros(1, np.int64), empty_f, empty_f,
    )  # fmt: skip


def fastest_route(
    index: RoutingIndex,
    origin: Snap | tuple[float, float],
    destination: Snap | tuple[float, float],
    depart_at: dt.datetime,
    cargo: CargoKey | None,
    *,
    horizon_s: float = route_graph.DEFAULT_HORIZON_S,
    lifted: frozenset[int] = frozenset(),
) -> Route | None:
    """Return the fastest route that breaks no restriction in force when each road is entered.

    Parameters
    ----------
    index
        Routing index of the network and its restrictions.
    origin, destination
        Snapped points or WGS-84 ``(lon, lat)`` pairs.
    depart_at
        Timezone-aware departure.
    cargo
        The load; ``None`` for the unrestricted route (no restriction, no tunnel rule).
    horizon_s
        How far ahead schedules are unrolled.
    lifted
        Restriction indices to ignore (`route_graph.TUNNEL_RULE` for the tunnel rule).

    Returns
    -------
    route
        The route, or ``None`` when no compliant route exists at this departure.
    """
    if depart_at.tzinfo is None or depart_at.utcoffset() is None:
        msg = "`depart_at` must be timezone-aware"
        raise ValueError(msg)
    src, dst = _as_snap(index, origin), _as_snap(index, destination)
    masks = (
        _free_masks(index)
        if cargo is None
        else route_graph.query_masks(index, cargo, depart_at, horizon_s=horizon_s, lifted=lifted)
    )
    return _solve(index, masks, src, dst, depart_at)


def _solve(
    index: RoutingIndex, masks: QueryMasks, src: Snap, dst: Snap, depart_at: dt.datetime
) -> Route | None:
    """Run the kernel from the origin candidates to the destination candidates."""
    length, time_s = index.edge_length_m, index.edge_time_s
    src_share = 1.0 - src.offset_m / np.maximum(length[src.edge_ids], 1e-9)
    src_time = src_share * time_s[src.edge_ids]
    dst_share = dst.offset_m / np.maximum(length[dst.edge_ids], 1e-9)
    arrival, pred, best = _td_dijkstra.td_dijkstra(
        index.indptr, index.out_edge_ids, index.edge_v, time_s, *masks,
        index.edge_v[src.edge_ids], src_time, index.edge_u[dst.edge_ids],
        dst_share * time_s[dst.edge_ids], index.node_x, index.node_y, dst.x, dst.y,
        index.s_per_m,
    )  # fmt: skip
    direct = _same_edge(src, dst, length, time_s)
    if best < 0 and direct is None:
        return None
    if direct is not None and (best < 0 or direct[1] <= arrival[index.edge_u[dst.edge_ids[best]]]):
        edge = direct[0]
        share = direct[1] / max(time_s[edge], 1e-9)
        return Route(np.array([edge]), np.zeros(1), depart_at, direct[1], share * length[edge])
    return _assemble(index, arrival, pred, src, dst, int(best), depart_at)


def _same_edge(
    src: Snap, dst: Snap, length: np.ndarray, time_s: np.ndarray
) -> tuple[int, float] | None:
    """(edge, seconds) when origin and destination lie in order on one directed edge."""
    best: tuple[int, float] | None = None
    for e, o in zip(src.edge_ids.tolist(), src.offset_m.tolist(), strict=True):
        hits = np.flatnonzero((dst.edge_ids == e) & (dst.offset_m >= o))
        if hits.size:
            seconds = (dst.offset_m[hits[0]] - o) / max(length[e], 1e-9) * time_s[e]
            if best is None or seconds < best[1]:
                best = (e, float(seconds))
    return best


def _assemble(
    index: RoutingIndex,
    arrival: np.ndarray,
    pred: np.ndarray,
    src: Snap,
    dst: Snap,
    best: int,
    depart_at: dt.datetime,
) -> Route:
    """Walk predecessors back from the destination and time every edge entry."""
    last = int(dst.edge_ids[best])
    node = int(index.edge_u[last])
    middle: list[int] = []
    while pred[node] >= 0:
        middle.append(int(pred[node]))
        node = int(index.edge_u[pred[node]])
    starts = np.flatnonzero(index.edge_v[src.edge_ids] == node)
    src_time = (1.0 - src.offset_m[starts] / np.maximum(index.edge_length_m[src.edge_ids[starts]],
                1e-9)) * index.edge_time_s[src.edge_ids[starts]]  # fmt: skip
    first_pos = int(starts[np.argmin(src_time)])
    first = int(src.edge_ids[first_pos])
    edge_ids = np.array([first, *middle[::-1], last], dtype=np.int64)
    entered = np.concatenate([[0.0], arrival[index.edge_u[edge_ids[1:]]]])
    share_last = dst.offset_m[best] / max(index.edge_length_m[last], 1e-9)
    duration = float(entered[-1] + share_last * index.edge_time_s[last])
    lengths = index.edge_length_m[edge_ids]
    length_m = float(lengths[:-1].sum() - src.offset_m[first_pos] + dst.offset_m[best])
    return Route(edge_ids, entered, depart_at, duration, length_m)


def route_line(index: RoutingIndex, route: Route, *, lonlat: bool = True) -> shapely.LineString:
    """One LineString through a route's edges (whole edges), WGS-84 by default."""
    coords = shapely.get_coordinates(index.network.geometries[route.edge_ids])
    keep = np.ones(len(coords), dtype=bool)
    keep[1:] = np.any(coords[1:] != coords[:-1], axis=1)
    coords = coords[keep]
    if lonlat:
        coords = np.column_stack(index.network.to_lonlat.transform(coords[:, 0], coords[:, 1]))
    return shapely.LineString(coords if len(coords) > 1 else np.vstack([coords, coords]))
