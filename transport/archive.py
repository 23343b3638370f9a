"""Fill a synthetic track archive from simulated fleets (for what-if studies and benchmarks).

Each day, a fleet from `simulation.simulate_fleet` drives; vehicles belong to carriers and carry
loads from a small mix of common tanker goods. The archived edge of a fix is the edge of the
true path nearest to it along the path (what a good matcher would give).
"""

from __future__ import annotations

import datetime as dt
import logging
import zlib
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import shapely

from geodata import track_archive
from transport import simulation

if TYPE_CHECKING:
    from pathlib import Path

    from geodata.network import RoadNetwork

__all__ = ["LOAD_MIX", "archive_fixes", "write_synthetic_archive"]

logger = logging.getLogger(__name__)

#: (classes, UN numbers, tunnel code): petrol, LPG, hydrochloric acid, methanol, ammonia.
LOAD_MIX: tuple[tuple[str, str, str], ...] = (
    ("3", "1203", "D/E"),
    ("2.1", "1075", "B/D"),
    ("8", "1789", "E"),
    ("3,6.1", "1230", "D/E"),
    ("2.3,8", "1005", "C/D"),
)
CARRIERS = ("C01", "C02", "C03", "C04", "C05")


def archive_fixes(
    network: RoadNetwork, trips: list[simulation.SimulatedTrip], *, day_tag: str
) -> pd.DataFrame:
    """Turn simulated trips into archive rows (see `track_archive.ARCHIVE_COLUMNS`)."""
    frames = []
    for trip in trips:
        fixes = trip.fixes
        vehicle_hash = zlib.crc32(trip.vehicle_id.encode())
        classes, un_numbers, tunnel_code = LOAD_MIX[vehicle_hash % len(LOAD_MIX)]
        frames.append(
            pd.DataFrame(
                {
                    "trip_id": f"{day_tag}-{trip.vehicle_id}",
                    "vehicle_id": trip.vehicle_id,
                    "carrier_id": CARRIERS[(vehicle_hash // 7) % len(CARRIERS)],
                    "fix_at": fixes["fix_at"],
                    "lon": fixes["lon"],
                    "lat": fixes["lat"],
                    "edge_id": _edges_along(network, trip),
                    "classes": classes,
                    "un_numbers": un_numbers,
                    "tunnel_code": tunnel_code,
                    "permits": "fuel_supply" if classes == "3" and vehicle_hash % 3 == 0 else "",
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _edges_along(network: RoadNetwork, trip: simulation.SimulatedTrip) -> np.ndarray:
    """Edge of the true path at each fix: the fix projected onto the path line."""
    edges = trip.true_edge_ids
    coords = [shapely.get_coordinates(network.geometries[e]) for e in edges]
    line = shapely.LineString(np.concatenate([coords[0]] + [c[1:] for c in coords[1:]]))
    along = shapely.line_locate_point(
        line, shapely.points(trip.fixes["x"].to_numpy(), trip.fixes["y"].to_numpy())
    )
    ends = np.cumsum(network.edge_length_m[edges])
    return edges[np.minimum(np.searchsorted(ends, along), len(edges) - 1)]


def write_synthetic_archive(
    network: RoadNetwork,
    root: Path,
    *,
    first_day: dt.date,
    days: int,
    vehicles_per_day: int,
    interval_s: float = 10.0,
    seed: int = 7,
    time_zone: str = "Asia/Shanghai",
) -> int:
    """Simulate `days` days of fleets from local midnight and archive them; return the fixes."""
    import zoneinfo

    zone = zoneinfo.ZoneInfo(time_zone)
    total = 0
    for k in range(days):
        day = first_day + dt.timedelta(days=k)
        start = dt.datetime.combine(day, dt.time(0, 20), tzinfo=zone)
        trips = simulation.simulate_fleet(
            network, vehicles_per_day, seed=seed + k, start_at=start, interval_s=interval_s
        )
        table = archive_fixes(network, trips, day_tag=day.isoformat())
        track_archive.write_archive(table, root)
        total += len(table)
        logger.info("day %s: %d trips, %d fixes", day, len(trips), len(table))
    return total
