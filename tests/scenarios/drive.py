"""Drive a route through waypoints and report realistic fixes: sampled, noisy, with stops.

The route is the shortest path through the network nodes nearest the waypoints; a waypoint's
stop and speed change happen at the point of the route nearest the waypoint, so a stop can be
mid-edge (on a bridge, 100 m before a tunnel). Speeds are constant per piece (no acceleration);
the reported speed carries a little noise and is 0 while stopped, as terminals report it.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
import shapely.ops

from geodata import paths
from geodata.network import RoadNetwork
from transport import simulation

__all__ = ["Stop", "WaypointPlan", "drive_fixes", "route_edges", "route_line"]


@dataclass(frozen=True)
class WaypointPlan:
    """A waypoint: a WGS-84 position, the speed from here on (None: keep), a stop here.

    A waypoint that is not `is_via` does not route: it only marks a place on the route (the
    nearest point between the via waypoints around it) for a stop or a speed change.
    """

    lon: float
    lat: float
    speed_kmh: float | None = None
    stop_s: float = 0.0
    is_via: bool = True


@dataclass(frozen=True)
class Stop:
    """A stop at a distance along the route."""

    distance_m: float
    duration_s: float


def nearest_node(network: RoadNetwork, lon: float, lat: float) -> int:
    """Position of the node nearest a WGS-84 point."""
    x, y = network.from_lonlat.transform(lon, lat)
    d2 = (network.nodes["x"].to_numpy() - x) ** 2 + (network.nodes["y"].to_numpy() - y) ** 2
    return int(np.argmin(d2))


def route_edges(network: RoadNetwork, points: list[tuple[float, float]]) -> list[np.ndarray]:
    """Edge paths between the nodes nearest consecutive points (one array per leg)."""
    nodes = [nearest_node(network, lon, lat) for lon, lat in points]
    legs = []
    for k, (a, b) in enumerate(itertools.pairwise(nodes)):
        leg = paths.shortest_edge_path(network, a, b)
        if a != b and len(leg) == 0:
            msg = f"no route from waypoint {k} to waypoint {k + 1}"
            raise ValueError(msg)
        legs.append(leg)
    return legs


def route_line(network: RoadNetwork, edge_ids: np.ndarray) -> shapely.LineString:
    """One metric LineString through consecutive edges."""
    coords = [shapely.get_coordinates(network.geometries[e]) for e in edge_ids]
    return shapely.LineString(np.concatenate([coords[0]] + [c[1:] for c in coords[1:]]))


def _waypoint_distances(
    network: RoadNetwork, waypoints: list[WaypointPlan], legs: list[np.ndarray]
) -> np.ndarray:
    """Distance along the route of each waypoint, searched near its place in the route."""
    leg_m = np.array([network.edge_length_m[leg].sum() for leg in legs])
    bounds = np.concatenate([[0.0], np.cumsum(leg_m)])
    line = route_line(network, np.concatenate(legs))
    via = np.cumsum([w.is_via for w in waypoints]) - 1  # via index at or before each waypoint
    out = np.empty(len(waypoints))
    for k, wp in enumerate(waypoints):
        v = int(via[k])
        lo = bounds[max(v - 1, 0)] if wp.is_via else bounds[v]
        hi = bounds[min(v + 1, len(legs))]
        x, y = network.from_lonlat.transform(wp.lon, wp.lat)
        piece = shapely.ops.substring(line, lo, hi) if hi > lo else None
        out[k] = lo + (piece.project(shapely.Point(x, y)) if piece is not None else 0.0)
    return np.maximum.accumulate(out)


def _with_rests(
    times: np.ndarray, dists: np.ndarray, rests: Sequence[tuple[float, float]]
) -> tuple[np.ndarray, np.ndarray]:
    """Insert stops at moments of a (time, distance) profile, shifting what follows."""
    for after_s, duration_s in sorted(rests, reverse=True):
        at_m = float(np.interp(after_s, times, dists))
        k = int(np.searchsorted(times, after_s, side="right"))
        times = np.concatenate([times[:k], [after_s, after_s + duration_s], times[k:] + duration_s])
        dists = np.concatenate([dists[:k], [at_m, at_m], dists[k:]])
    return times, dists


def drive_fixes(
    network: RoadNetwork,
    waypoints: list[WaypointPlan],
    *,
    start_at: dt.datetime,
    interval_s: float,
    noise_m: float,
    seed: int,
    speed_noise_kmh: float = 1.0,
    rests: list[tuple[float, float]] | tuple[tuple[float, float], ...] = (),
) -> pd.DataFrame:
    """Return fixes (lon, lat, fix_at, speed_kmh) of a drive through the waypoints.

    `rests` are (after_s, duration_s) stops at moments of the drive (in order), wherever the
    vehicle is then; waypoint stops happen at their places.
    """
    rng = np.random.default_rng(seed)
    legs = route_edges(network, [(w.lon, w.lat) for w in waypoints if w.is_via])
    edges = np.concatenate(legs)
    line = route_line(network, edges)
    wp_m = _waypoint_distances(network, waypoints, legs)
    edge_end_m = np.cumsum(network.edge_length_m[edges])
    cruise_kmh = simulation.travel_speed_kmh(network, edges)
    # Pieces between every edge end and waypoint: constant speed on each.
    cuts = np.unique(np.concatenate([[0.0], edge_end_m, wp_m]))
    cuts = cuts[cuts <= edge_end_m[-1]]
    mid = (cuts[:-1] + cuts[1:]) / 2.0
    speed = cruise_kmh[np.minimum(np.searchsorted(edge_end_m, mid), len(edges) - 1)]
    chosen = pd.Series([w.speed_kmh for w in waypoints], dtype=float).ffill().to_numpy()
    owner = np.clip(np.searchsorted(wp_m, mid, side="right") - 1, 0, len(waypoints) - 1)
    speed = np.where(np.isnan(chosen[owner]), speed, chosen[owner])
    times = [0.0]
    dists = [0.0]
    stops = {float(wp_m[k]): wp.stop_s for k, wp in enumerate(waypoints) if wp.stop_s > 0}
    for d0, d1, v in zip(cuts[:-1], cuts[1:], speed, strict=True):
        if float(d0) in stops:
            times.append(times[-1] + stops.pop(float(d0)))
            dists.append(d0)
        times.append(times[-1] + (d1 - d0) / (v / 3.6))
        dists.append(d1)
    if stops:  # a stop at the very end
        times.append(times[-1] + sum(stops.values()))
        dists.append(dists[-1])
    times_a, dists_a = _with_rests(np.array(times), np.array(dists), rests)
    t = np.arange(0.0, times_a[-1] + 1e-9, interval_s)
    d = np.interp(t, times_a, dists_a)
    seg = np.clip(np.searchsorted(times_a, t, side="right") - 1, 0, len(times_a) - 2)
    seg_v = (dists_a[seg + 1] - dists_a[seg]) / np.maximum(times_a[seg + 1] - times_a[seg], 1e-9)
    reported = np.where(seg_v > 0, seg_v * 3.6 + rng.normal(0, speed_noise_kmh, len(t)), 0.0)
    points = shapely.line_interpolate_point(line, d)
    x = shapely.get_x(points) + rng.normal(0.0, noise_m, len(t))
    y = shapely.get_y(points) + rng.normal(0.0, noise_m, len(t))
    lon, lat = network.to_lonlat.transform(x, y)
    return pd.DataFrame(
        {
            "lon": lon,
            "lat": lat,
            "fix_at": pd.Timestamp(start_at).tz_convert("UTC") + pd.to_timedelta(t, unit="s"),
            "speed_kmh": np.maximum(reported, 0.0),
        }
    )
