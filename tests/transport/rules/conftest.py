"""A toy network, layer and cargo builders, and a fix timeline helper for rule scenarios."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
import shapely

from geodata import restriction_index, restrictions
from geodata.network import RoadNetwork
from transport.cargo import CargoProfile
from transport.matched import MatchedFix
from transport.monitoring import Monitor, process_fleet
from transport.rules.base import RoadContext, VehicleContext

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
LAT = 22.55
LONS = [114.00, 114.01, 114.02, 114.03, 114.04]
# Edges 0-3 run east (node i -> i+1), 4-7 run back west.
EDGE_TAGS = [
    {"highway": "motorway"},
    {"highway": "primary", "maxspeed_kmh": 50.0},
    {"highway": "tertiary", "is_tunnel": True, "tunnel_category": "C"},
    {"highway": "secondary"},
]


def local(*args: int) -> dt.datetime:
    """An aware time on the Shanghai wall clock, as UTC."""
    return dt.datetime(*args, tzinfo=SHANGHAI).astimezone(dt.UTC)


@pytest.fixture(scope="session")
def toy() -> RoadNetwork:
    """Four road pieces in a row, both directions, 1 km each, in Shenzhen."""
    nodes = pd.DataFrame({"lon": LONS, "lat": [LAT] * len(LONS)})
    rows = [{"u": i, "v": i + 1, **t} for i, t in enumerate(EDGE_TAGS)]
    rows += [{"u": i + 1, "v": i, **t} for i, t in enumerate(EDGE_TAGS)]
    arcs = pd.DataFrame(rows)
    arcs["osm_way_id"] = [101, 102, 103, 104] * 2
    arcs["is_forward"] = [True] * 4 + [False] * 4
    return RoadNetwork.from_tables(nodes, arcs.fillna({"is_tunnel": False}), name="toy")


def feature(rid: str, kind: str, geometry: dict[str, Any] | None, **props: Any) -> dict[str, Any]:
    """A restriction feature with defaults for the required fields."""
    return {
        "type": "Feature",
        "geometry": geometry,
        "properties": {
            "id": rid,
            "kind": kind,
            "name": {"zh": f"测试{rid}", "en": f"test {rid}"},
            "legal_basis": {"zh": "测试依据", "en": "test basis"},
            "cargo": {"all_dangerous_goods": True},
            "source": {"kind": "example", "ref": "test"},
            **props,
        },
    }


def box(lon0: float, lat0: float, lon1: float, lat1: float) -> dict[str, Any]:
    """A GeoJSON rectangle."""
    ring = [[lon0, lat0], [lon1, lat0], [lon1, lat1], [lon0, lat1], [lon0, lat0]]
    return {"type": "Polygon", "coordinates": [ring]}


def layer(*features: dict[str, Any]) -> restrictions.RestrictionLayer:
    """A layer of features."""
    return restrictions.load_layer(
        restrictions.layer_document(list(features), name="test", authority=("测试", "test"))
    )


def cargo(*un_numbers: str, carriage: str = "tank", permits: tuple[str, ...] = ()) -> CargoProfile:
    """A load of 10 t of each UN number."""
    lines = [
        {"un_number": un, "quantity": 10, "unit": "t", "carriage": carriage} for un in un_numbers
    ]
    return CargoProfile.from_lines(lines, permits=permits)


def monitor(
    network: RoadNetwork,
    *features: dict[str, Any],
    load: CargoProfile | None = None,
    corridor: shapely.Geometry | None = None,
    fuel: tuple[tuple[float, float], ...] = (),
    **kwargs: Any,
) -> Monitor:
    """A monitor for vehicle V1 over a layer of `features`."""
    compiled = restriction_index.compile_layers(network, [layer(*features)] if features else [])
    road = RoadContext.from_network(network, compiled, fuel_stations_lonlat=fuel)
    vehicle = VehicleContext(
        "V1", cargo=load if load is not None else cargo("1203"), corridor=corridor
    )
    return Monitor(vehicle, road, **kwargs)


def fix_at(
    network: RoadNetwork,
    at: dt.datetime,
    lon: float,
    *,
    lat: float = LAT,
    speed_kmh: float = 50.0,
    edge_id: int | None = None,
    path: tuple[int, ...] = (),
    is_backfill: bool = False,
) -> MatchedFix:
    """A matched fix at a position; the edge is the nearest east-bound one unless given."""
    x, y = network.from_lonlat.transform(lon, lat)
    if edge_id is None:
        edge_id = int(np.clip(np.searchsorted(LONS, lon) - 1, 0, 3))
    return MatchedFix(
        "V1", at, float(x), float(y), lon, lat, speed_kmh, edge_id, 0.0, path, 0, is_backfill
    )


def timeline(
    network: RoadNetwork,
    start: dt.datetime,
    duration_s: float,
    *,
    every_s: float = 30.0,
    lon: float = 114.015,
    speed_kmh: float = 50.0,
    noise_m: float = 0.0,
    seed: int = 0,
    **kwargs: Any,
) -> list[MatchedFix]:
    """Fixes every `every_s` for `duration_s` (end included) at one place, with GPS noise."""
    rng = np.random.default_rng(seed)
    count = int(duration_s // every_s) + 1
    jitter = rng.normal(0, noise_m / 111_000.0, size=count) if noise_m else np.zeros(count)
    return [
        fix_at(
            network,
            start + dt.timedelta(seconds=i * every_s),
            lon,
            lat=LAT + jitter[i],
            speed_kmh=speed_kmh,
            **kwargs,
        )
        for i in range(count)
    ]


def opened(changes: list[Any], rule_id: str | None = None) -> list[Any]:
    """The alerts opened among lifecycle changes, optionally of one rule."""
    return [
        c.alert
        for c in changes
        if c.change == "opened" and (rule_id is None or c.alert.rule_id == rule_id)
    ]


def alone_and_together(
    make: Callable[[str], Monitor], tracks: dict[str, list[MatchedFix]]
) -> tuple[dict[str, list[Any]], dict[str, list[Any]]]:
    """Each vehicle's alert changes when its track is fed fix by fix to a monitor of its own
    (`make`), and when the tracks go through fresh monitors together, a fix of each vehicle per
    round (`process_fleet`, as a live worker steps them)."""
    alone: dict[str, list[Any]] = {}
    for vehicle_id, track in tracks.items():
        single = make(vehicle_id)
        alone[vehicle_id] = [change for fix in track for change in single.process(fix)]
    monitors = {vehicle_id: make(vehicle_id) for vehicle_id in tracks}
    together: dict[str, list[Any]] = {vehicle_id: [] for vehicle_id in tracks}
    for round_fixes in zip(*tracks.values(), strict=True):
        for vehicle_id, found in process_fleet(monitors, round_fixes).items():
            together[vehicle_id] += found
    return alone, together
