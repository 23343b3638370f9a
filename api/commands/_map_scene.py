"""A map scene from a simulated run: fleet fixes, an example restriction layer, checked alerts.

`hazmat map ...` and `hazmat demo` draw their maps from a `MapScene`. The restriction layer is
made for the run (source kind ``example``): zones, ways and points placed on the simulated
trips so that some restrictions are in force and hit, others drawn but not in force.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely

from geodata import restrictions, sources
from maps.live import VehicleInfo
from transport import track_check
from transport.cargo import CargoProfile
from transport.rules.base import VehicleContext
from transport.simulation import simulate_fleet

if TYPE_CHECKING:
    from geodata.network import RoadNetwork
    from geodata.restrictions import RestrictionLayer
    from transport.alerts.lifecycle import Alert
    from transport.simulation import SimulatedTrip

__all__ = ["MapScene", "scene_from_trips", "simulated_scene"]

logger = logging.getLogger(__name__)

DEFAULT_START_AT = dt.datetime(2026, 11, 26, 0, 30, tzinfo=dt.UTC)  # 08:30 in Asia/Shanghai
# Loads cycled over the fleet: UN number, zh/en name.
LOADS = (
    ("1203", "汽油 gasoline"),
    ("1202", "柴油 diesel"),
    ("1005", "液氨 anhydrous ammonia"),
    ("1830", "硫酸 sulphuric acid"),
)


@dataclass(frozen=True)
class MapScene:
    """Everything the maps of one run draw."""

    network: RoadNetwork
    layers: tuple[RestrictionLayer, ...]
    fixes: pd.DataFrame  # vehicle_id, lon, lat, fix_at, speed_kmh, heading_deg
    alerts: tuple[Alert, ...]
    vehicles: dict[str, VehicleInfo]
    start_at: dt.datetime
    end_at: dt.datetime

    @property
    def live_at(self) -> dt.datetime:
        """A moment when most of the fleet is on the road: 60 % into the run."""
        return self.start_at + (self.end_at - self.start_at) * 0.6

    def fixes_of(self, vehicle_id: str) -> pd.DataFrame:
        """One vehicle's fixes in time order."""
        frame = self.fixes[self.fixes["vehicle_id"] == vehicle_id]
        return frame.sort_values("fix_at").reset_index(drop=True)


def simulated_scene(
    network_source: str = sources.DEFAULT_SOURCE,
    *,
    vehicles: int = 6,
    seed: int = 808,
    start_at: dt.datetime = DEFAULT_START_AT,
    interval_s: float = 10.0,
) -> MapScene:
    """Simulate a fleet on a network and build its scene (as `hazmat demo` does)."""
    network = sources.load_network(network_source)
    trips = simulate_fleet(network, vehicles, seed=seed, start_at=start_at, interval_s=interval_s)
    return scene_from_trips(network, trips)


def scene_from_trips(network: RoadNetwork, trips: list[SimulatedTrip]) -> MapScene:
    """Build a scene from simulated trips: example layer, cargo per vehicle, checked alerts."""
    layer = example_layer(network, trips)
    road = track_check.road_context(network, [layer])
    alerts: list[Alert] = []
    infos: dict[str, VehicleInfo] = {}
    frames = []
    for i, trip in enumerate(trips):
        un_number, goods = LOADS[i % len(LOADS)]
        waybill_id = f"WB{trip.fixes['fix_at'].iloc[0]:%Y%m%d}{i + 1:04d}"
        cargo = CargoProfile.from_lines(
            [{"un_number": un_number, "quantity": 20, "unit": "t", "carriage": "tank"}]
        )
        vehicle = VehicleContext(trip.vehicle_id, cargo=cargo, waybill_id=waybill_id)
        check = track_check.check_track(network, road, vehicle, trip.fixes)
        alerts += check.alerts
        infos[trip.vehicle_id] = VehicleInfo(
            trip.vehicle_id, trip.plate, waybill_id=waybill_id, goods=f"UN{un_number} {goods}"
        )
        frames.append(trip.fixes.assign(vehicle_id=trip.vehicle_id))
    fixes = pd.concat(frames, ignore_index=True)
    alerts.sort(key=lambda a: a.started_at)
    return MapScene(
        network=network,
        layers=(layer,),
        fixes=fixes[["vehicle_id", "lon", "lat", "fix_at", "speed_kmh", "heading_deg"]],
        alerts=tuple(alerts),
        vehicles=infos,
        start_at=fixes["fix_at"].min().to_pydatetime(),
        end_at=fixes["fix_at"].max().to_pydatetime(),
    )


def _square(network: RoadNetwork, x: float, y: float, half_m: float) -> dict[str, Any]:
    """A GeoJSON square of side 2 * `half_m` around a metric point, in WGS-84."""
    xs = np.array([x - half_m, x + half_m, x + half_m, x - half_m, x - half_m])
    ys = np.array([y - half_m, y - half_m, y + half_m, y + half_m, y - half_m])
    lon, lat = network.to_lonlat.transform(xs, ys)
    ring = [[round(a, 6), round(b, 6)] for a, b in zip(lon, lat, strict=True)]
    return {"type": "Polygon", "coordinates": [ring]}


def _point_on(network: RoadNetwork, trip: SimulatedTrip, share: float) -> tuple[float, float]:
    """The metric point `share` of the way along a trip's true path."""
    coords = [shapely.get_coordinates(network.geometries[e]) for e in trip.true_edge_ids]
    line = shapely.LineString(np.concatenate(coords))
    point = line.interpolate(share, normalized=True)
    return point.x, point.y


def _feature(rid: str, kind: str, zh: str, en: str, **props: Any) -> dict[str, Any]:
    """An example restriction feature."""
    geometry = props.pop("geometry", None)
    return {
        "type": "Feature",
        "geometry": geometry,
        "properties": {
            "id": rid, "kind": kind, "name": {"zh": zh, "en": en},
            "legal_basis": {
                "zh": "《危险货物道路运输安全管理办法》第四十条（示例）",
                "en": "Order 29 Art 40 (example)",
            },
            "cargo": {"all_dangerous_goods": True},
            "source": {"kind": "example", "ref": "hazmat map demo"},
            **props,
        },
    }  # fmt: skip


def example_layer(network: RoadNetwork, trips: list[SimulatedTrip]) -> RestrictionLayer:
    """An example layer placed on the trips: some restrictions in force and hit, some not."""
    pick = [trips[i % len(trips)] for i in range(4)]
    x0, y0 = _point_on(network, pick[0], 0.5)
    x1, y1 = _point_on(network, pick[1], 0.35)
    x3, y3 = _point_on(network, pick[3], 0.8)
    night_edge = int(pick[2].true_edge_ids[len(pick[2].true_edge_ids) // 2])
    way_id = int(network.edges["osm_way_id"].iloc[night_edge])
    lon3, lat3 = network.to_lonlat.transform(x3, y3)
    features = [
        _feature("EX-WATER-1", "water_source_level1", "示例一级水源保护区",
                 "example water source level 1", geometry=_square(network, x0, y0, 120.0)),
        _feature("EX-ZONE-PEAK", "zone", "早高峰限行区", "morning peak restricted zone",
                 schedule="Mo-Su 07:00-09:30", geometry=_square(network, x1, y1, 180.0)),
        _feature("EX-NIGHT-WAY", "forbidden_segment", "夜间禁行路段", "night-time ban segment",
                 schedule="22:00-06:00", osm_way_ids=[way_id]),
        _feature("EX-DENSE-1", "dense_area", "示例人员密集区", "example dense area",
                 schedule="Mo-Fr 10:00-20:00", buffer_m=150.0,
                 geometry={"type": "Point", "coordinates": [round(lon3, 6), round(lat3, 6)]}),
    ]  # fmt: skip
    tunnels = network.edges.index[network.edges["is_tunnel"].to_numpy(bool)]
    if len(tunnels):
        tunnel_way = int(network.edges["osm_way_id"].loc[tunnels[0]])
        features.append(
            _feature("EX-TUNNEL", "tunnel", "示例隧道", "example tunnel",
                     osm_way_ids=[tunnel_way], cargo={"classes": ["1"]})
        )  # fmt: skip
    return restrictions.load_layer(
        restrictions.layer_document(
            features, name="map-demo-example", authority=("示例", "example")
        )
    )
