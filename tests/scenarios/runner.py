"""Run a scenario: build its layers, vehicle and fixes, check the track, compare the alerts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely

from geodata import restriction_index, restrictions
from geodata.network import RoadNetwork
from tests.scenarios import drive
from tests.scenarios.model import Expected, FleetMember, Scenario, Vehicle
from transport import fleet_check, track_check
from transport.alerts.lifecycle import Alert
from transport.cargo import CargoProfile
from transport.rules.base import RoadContext, VehicleContext
from transport.rules.params import RuleParams

HERE = Path(__file__).parent
REPO_ROOT = HERE.parents[1]
LAYER_DIRS = (HERE / "layers", REPO_ROOT)
_FEATURE_DEFAULTS: dict[str, Any] = {
    "legal_basis": {"zh": "情景测试依据（示意）", "en": "Scenario test basis (illustrative)"},
    "cargo": {"all_dangerous_goods": True},
    "source": {"kind": "example", "ref": "scenario"},
}
_NOT_PROPERTIES = frozenset({"geometry"})


def _feature(spec: dict[str, Any]) -> dict[str, Any]:
    """A GeoJSON feature from a compact inline spec (defaults for the required texts)."""
    props = {k: v for k, v in spec.items() if k not in _NOT_PROPERTIES}
    name = {"zh": f"情景{spec['id']}", "en": f"scenario {spec['id']}"}
    return {
        "type": "Feature",
        "geometry": spec.get("geometry"),
        "properties": {"name": name, **_FEATURE_DEFAULTS, **props},
    }


def _layer(name: str, features: list[dict[str, Any]]) -> restrictions.RestrictionLayer:
    """A layer from features."""
    return restrictions.load_layer(
        restrictions.layer_document(features, name=name, authority=("情景测试", "scenario test"))
    )


def _layer_file(name: str) -> Path:
    """A layer file under tests/scenarios/layers/ or the repository."""
    for folder in LAYER_DIRS:
        if (folder / name).is_file():
            return folder / name
    msg = f"layer file not found: {name}"
    raise FileNotFoundError(msg)


def build_layers(network: RoadNetwork, scenario: Scenario) -> list[restrictions.RestrictionLayer]:
    """The scenario's layer files, inline features and corridors."""
    layers = [
        restrictions.load_layer(_layer_file(s)) for s in scenario.layers if isinstance(s, str)
    ]
    inline = [_feature(s) for s in scenario.layers if isinstance(s, dict)]
    for corridor in scenario.corridors:
        legs = drive.route_edges(network, corridor.waypoints)
        line = drive.route_line(network, np.concatenate(legs))
        lon, lat = network.to_lonlat.transform(*shapely.get_coordinates(line).T)
        geometry = {"type": "LineString", "coordinates": np.column_stack([lon, lat]).tolist()}
        spec = {"id": corridor.id, "kind": "approved_corridor", "width_m": corridor.width_m}
        inline.append(_feature({**spec, "geometry": geometry}))
    if inline:
        layers.append(_layer(scenario.name, inline))
    return layers


def build_road(network: RoadNetwork, scenario: Scenario) -> RoadContext:
    """Compile the layers; stamp the scenario's tunnel categories on their edges."""
    road = track_check.road_context(
        network,
        build_layers(network, scenario),
        with_osm=scenario.with_osm,
        fuel_stations_lonlat=scenario.fuel_stations,
    )
    if scenario.tunnel_categories:
        categories = road.compiled.edge_tunnel_category.copy()
        for stamp in scenario.tunnel_categories:
            on_ways = np.isin(road.osm_way_id, stamp.osm_way_ids)
            categories[on_ways] = restriction_index.TUNNEL_CATEGORY_CODES[stamp.category]
        road.compiled.edge_tunnel_category = categories
    return road


def build_vehicle(
    road: RoadContext, scenario: Scenario, spec: Vehicle | None = None
) -> VehicleContext:
    """The vehicle (the scenario's, or one of its `vehicles`) with load, permits and corridor."""
    spec = spec or scenario.vehicle
    lines = [
        {"un_number": line.removeprefix("UN"), "quantity": 20, "unit": "t", "carriage": "tank"}
        if isinstance(line, str)
        else line
        for line in spec.cargo
    ]
    cargo = None if spec.empty else CargoProfile.from_lines(lines, permits=spec.permits)
    corridor = road.compiled.corridors[spec.corridor] if spec.corridor else None
    return VehicleContext(
        spec.vehicle_id, cargo=cargo, waybill_id=spec.waybill_id, corridor=corridor
    )


def build_fixes(network: RoadNetwork, scenario: Scenario | FleetMember) -> pd.DataFrame:
    """The fixes (of the scenario or of one vehicle): driven through waypoints, or listed."""
    if scenario.fixes is not None:
        return pd.DataFrame(
            {
                "lon": [f.lon for f in scenario.fixes],
                "lat": [f.lat for f in scenario.fixes],
                "fix_at": pd.to_datetime([f.at for f in scenario.fixes], utc=True),
                "speed_kmh": [
                    np.nan if f.speed_kmh is None else f.speed_kmh for f in scenario.fixes
                ],
            }
        )
    plan = scenario.drive
    assert plan is not None
    waypoints = [
        drive.WaypointPlan(w.lon, w.lat, w.speed_kmh, w.stop_s, w.via) for w in plan.waypoints
    ] * plan.laps
    return drive.drive_fixes(
        network,
        waypoints,
        start_at=plan.start_at,
        interval_s=plan.interval_s,
        noise_m=plan.noise_m,
        seed=plan.seed,
        speed_noise_kmh=plan.speed_noise_kmh,
        rests=plan.rests,
    )


def run_scenario(network: RoadNetwork, scenario: Scenario) -> track_check.TrackCheck:
    """Build everything and check the track."""
    road = build_road(network, scenario)
    params = RuleParams.model_validate(scenario.rule_params)
    if scenario.vehicles is not None:
        tracks = [
            (build_vehicle(road, scenario, member), build_fixes(network, member))
            for member in scenario.vehicles
        ]
        return fleet_check.check_fleet(network, road, tracks, params=params)
    vehicle = build_vehicle(road, scenario)
    fixes = build_fixes(network, scenario)
    return track_check.check_track(network, road, vehicle, fixes, params=params)


def _fits(alert: Alert, expected: Expected) -> bool:
    """Whether an alert is the one expected."""
    if alert.rule_id != expected.rule_id:
        return False
    if expected.vehicle_id is not None and alert.vehicle_id != expected.vehicle_id:
        return False
    if expected.key is not None:
        key = expected.key
        if not (alert.key.startswith(key[:-1]) if key.endswith("*") else alert.key == key):
            return False
    if expected.restriction_id and alert.evidence.restriction_id != expected.restriction_id:
        return False
    if expected.start_after and alert.started_at < expected.start_after:
        return False
    return not (expected.start_before and alert.started_at > expected.start_before)


def describe(alerts: tuple[Alert, ...]) -> str:
    """One line per alert, for failure messages."""
    return (
        "\n".join(
            f"  {a.vehicle_id} {a.rule_id} key={a.key} restriction={a.evidence.restriction_id} "
            f"{a.started_at.isoformat()} .. {a.ended_at.isoformat() if a.ended_at else '-'} "
            f"({a.evidence.fact.en})"
            for a in alerts
        )
        or "  (none)"
    )


def compare(alerts: tuple[Alert, ...], scenario: Scenario) -> list[str]:
    """Return what differs between the alerts and the expectations (empty when they agree)."""
    left = list(alerts)
    faults = []
    for expected in scenario.expect:
        found = next((a for a in left if _fits(a, expected)), None)
        if found is None:
            faults.append(f"missing: {expected.model_dump(exclude_none=True)}")
        else:
            left.remove(found)
    faults += [
        f"unexpected: {a.vehicle_id} {a.rule_id} key={a.key} at {a.started_at.isoformat()}"
        for a in left
        if a.rule_id not in scenario.ignore_rules
    ]
    return faults
