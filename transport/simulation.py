"""Simulated tanker trips on a real road network: a true path and the noisy fixes it produces.

Used by `hazmat demo`, the simulators and the tests: the true path is known, so what the
matcher and the rules make of the fixes can be checked.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import shapely

from geodata import paths
from transport.fixes import Fix, FixSource

if TYPE_CHECKING:
    from geodata.network import RoadNetwork

__all__ = ["SimulatedTrip", "simulate_fleet", "simulate_trip", "travel_speed_kmh", "trip_fixes"]

# Typical loaded-tanker cruising speeds by road class, capped by the hazmat limits of
# Order 29 Art 46 (80 km/h expressway, 60 km/h elsewhere) and by posted limits.
CRUISE_KMH = {
    "motorway": 75.0, "motorway_link": 45.0, "trunk": 60.0, "trunk_link": 40.0,
    "primary": 50.0, "primary_link": 35.0, "secondary": 45.0, "secondary_link": 30.0,
    "tertiary": 40.0, "tertiary_link": 30.0, "unclassified": 30.0, "residential": 25.0,
    "living_street": 15.0, "service": 15.0, "road": 30.0,
}  # fmt: skip
DEFAULT_CRUISE_KMH = 30.0
MIN_TRIP_M = 1_500.0


@dataclass(frozen=True)
class SimulatedTrip:
    """One simulated trip: who drove, the true edge path and the fixes reported."""

    vehicle_id: str
    plate: str
    true_edge_ids: np.ndarray
    fixes: pd.DataFrame  # lon, lat, x, y, fix_at (aware UTC), speed_kmh, heading_deg

    @property
    def true_length_m(self) -> float:
        """Length of the true path in metres (whole edges)."""
        return float(self.fixes.attrs.get("true_length_m", 0.0))


def travel_speed_kmh(network: RoadNetwork, edge_ids: np.ndarray) -> np.ndarray:
    """Cruising speed on each edge: class default, capped by the posted maxspeed."""
    highway = network.edges["highway"].to_numpy(dtype=object)[edge_ids]
    cruise = np.array([CRUISE_KMH.get(h, DEFAULT_CRUISE_KMH) for h in highway])
    posted = network.edges["maxspeed_kmh"].to_numpy(float)[edge_ids]
    return np.where(np.isnan(posted), cruise, np.minimum(cruise, posted))


def simulate_trip(
    network: RoadNetwork,
    edge_ids: np.ndarray,
    *,
    vehicle_id: str,
    start_at: datetime,
    interval_s: float = 10.0,
    noise_m: float = 8.0,
    stop_s: float = 0.0,
    rng: np.random.Generator,
) -> SimulatedTrip:
    """Drive a path at class speeds and report a noisy fix every `interval_s` seconds.

    A stop of `stop_s` seconds half way (at a random point) adds GPS drift at zero speed.
    """
    speed_kmh = travel_speed_kmh(network, edge_ids)
    speed_ms = speed_kmh / 3.6
    length = network.edge_length_m[edge_ids]
    distance_at_edge_end = np.cumsum(length)
    time_at_edge_end = np.cumsum(length / speed_ms)
    stop_distance = float(rng.uniform(0.3, 0.7) * distance_at_edge_end[-1])
    stop_time = float(np.interp(stop_distance, distance_at_edge_end, time_at_edge_end))
    total_s = time_at_edge_end[-1] + stop_s
    t = np.arange(0.0, total_s, interval_s)
    driving_t = np.where(t < stop_time, t, np.maximum(t - stop_s, stop_time))
    distance = np.interp(driving_t, np.concatenate([[0.0], time_at_edge_end]),
                         np.concatenate([[0.0], distance_at_edge_end]))  # fmt: skip
    line = _path_line(network, edge_ids)
    true_points = shapely.line_interpolate_point(line, distance)
    x = shapely.get_x(true_points) + rng.normal(0.0, noise_m, len(t))
    y = shapely.get_y(true_points) + rng.normal(0.0, noise_m, len(t))
    lon, lat = network.to_lonlat.transform(x, y)
    edge_at = np.minimum(np.searchsorted(distance_at_edge_end, distance), len(edge_ids) - 1)
    moving = np.diff(np.concatenate([distance, [distance[-1]]])) > 0
    fixes = pd.DataFrame(
        {
            "lon": lon, "lat": lat, "x": x, "y": y,
            "fix_at": pd.Timestamp(start_at) + pd.to_timedelta(t, unit="s"),
            "speed_kmh": np.where(moving, speed_kmh[edge_at], 0.0),
            "heading_deg": _headings(line, distance),
        }
    )  # fmt: skip
    fixes.attrs["true_length_m"] = float(distance_at_edge_end[-1])
    plate = f"粤B{zlib.crc32(vehicle_id.encode()) % 100000:05d}D"
    return SimulatedTrip(vehicle_id, plate, edge_ids, fixes)


def _path_line(network: RoadNetwork, edge_ids: np.ndarray) -> shapely.LineString:
    """One LineString through the geometries of consecutive edges."""
    coords = [shapely.get_coordinates(network.geometries[e]) for e in edge_ids]
    joined = np.concatenate([coords[0]] + [c[1:] for c in coords[1:]])
    return shapely.LineString(joined)


def _headings(line: shapely.LineString, distance: np.ndarray) -> np.ndarray:
    """Compass heading (degrees from north, clockwise) of the line at each distance."""
    ahead = shapely.line_interpolate_point(line, distance + 1.0)
    here = shapely.line_interpolate_point(line, np.maximum(distance - 1.0, 0.0))
    dx = shapely.get_x(ahead) - shapely.get_x(here)
    dy = shapely.get_y(ahead) - shapely.get_y(here)
    return np.degrees(np.arctan2(dx, dy)) % 360.0


def simulate_fleet(
    network: RoadNetwork,
    n_vehicles: int,
    *,
    seed: int = 808,
    start_at: datetime,
    interval_s: float = 10.0,
    noise_m: float = 8.0,
) -> list[SimulatedTrip]:
    """Simulate one trip per vehicle between random nodes, each at least `MIN_TRIP_M` long."""
    rng = np.random.default_rng(seed)
    trips: list[SimulatedTrip] = []
    while len(trips) < n_vehicles:
        origin, destination = rng.integers(0, len(network.nodes), size=2)
        path = paths.shortest_edge_path(network, int(origin), int(destination))
        if len(path) == 0 or network.edge_length_m[path].sum() < MIN_TRIP_M:
            continue
        trips.append(
            simulate_trip(
                network, path, vehicle_id=f"V{len(trips) + 1:03d}",
                start_at=start_at + timedelta(minutes=7 * len(trips)), interval_s=interval_s,
                noise_m=noise_m, stop_s=float(rng.choice([0.0, 180.0, 600.0])), rng=rng,
            )
        )  # fmt: skip
    return trips


def trip_fixes(trip: SimulatedTrip) -> list[Fix]:
    """The trip's fixes as the gateway would put them on the bus."""
    return [
        Fix(
            trip.vehicle_id, row.fix_at.to_pydatetime(), float(row.lon), float(row.lat),
            speed_kmh=float(row.speed_kmh), heading_deg=float(row.heading_deg),
            source=FixSource.SIMULATION,
        )
        for row in trip.fixes.itertuples()
    ]  # fmt: skip
