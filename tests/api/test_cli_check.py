"""`hazmat check`: one recorded trip alone, several as a fleet, and refused input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from geodata import restrictions, sources
from geodata.network import RoadNetwork
from tests.conftest import shared_data_path
from tests.scenarios import runner
from tests.scenarios.model import Scenario
from tests.scenarios.test_scenarios import FILES, load

SHENZHEN = shared_data_path("osm-china/shenzhen/shenzhen_futian_nanshan_drive_2024-10.osm.pbf")


def load_scenario(name: str) -> Scenario:
    [path] = [p for p in FILES if p.stem == name]
    return load(path)


@pytest.fixture(scope="module")
def shenzhen() -> RoadNetwork:
    return sources.load_network(SHENZHEN)


def _write_inputs(
    network: RoadNetwork, scenario: Scenario, folder: Path
) -> tuple[list[Path], list[Path]]:
    """The scenario's layers as GeoJSON files and its vehicles' fixes as CSV tracks."""
    layers = []
    for k, layer in enumerate(runner.build_layers(network, scenario)):
        path = folder / f"layer{k}.geojson"
        path.write_text(json.dumps(layer.model_dump(mode="json", exclude_none=True)))
        layers.append(path)
    members = scenario.vehicles or [scenario.vehicle]
    tracks = []
    for member in members:
        fixes = runner.build_fixes(network, member if scenario.vehicles else scenario)
        path = folder / f"{member.vehicle_id}.csv"
        columns = {"fix_at": "time", "speed_kmh": "speed"}  # speeds as a terminal reports them
        reported = fixes[["lon", "lat", "fix_at", "speed_kmh"]].rename(columns=columns)
        reported.to_csv(path, index=False)
        tracks.append(path)
    return layers, tracks


def _check(layers: list[Path], tracks: list[Path], *extra: str) -> dict:
    args = ["check", *map(str, tracks), "--network", str(SHENZHEN), "--cargo", "UN1203"]
    args += [a for layer in layers for a in ("--layers", str(layer))]
    result = CliRunner().invoke(app, [*args, "--json", *extra])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_one_trip_entering_a_night_ban_alerts(shenzhen: RoadNetwork, tmp_path: Path) -> None:
    scenario = load_scenario("sz_night_ban_1900_alert")
    layers, tracks = _write_inputs(shenzhen, scenario, tmp_path)
    report = _check(layers, tracks)
    assert report["tracks"] == [tracks[0].name]
    assert [a["rule_id"] for a in report["alerts"]] == ["forbidden_entry"]


def test_several_trips_are_checked_as_a_fleet(shenzhen: RoadNetwork, tmp_path: Path) -> None:
    scenario = load_scenario("sz_lot_capacity_third_of_2_alert")
    layers, tracks = _write_inputs(shenzhen, scenario, tmp_path)
    report = _check(layers, tracks, "--no-osm")
    assert [(a["rule_id"], a["vehicle_id"]) for a in report["alerts"]] == [("lot_capacity", "C")]
    alone = _check(layers, tracks[2:], "--no-osm")
    assert alone["alerts"] == []  # alone in the lot, the third tanker is within capacity


def test_tracks_with_one_vehicle_id_are_refused(tmp_path: Path) -> None:
    layer = tmp_path / "layer.geojson"
    document = restrictions.layer_document([], name="empty", authority=("测试", "test"))
    layer.write_text(json.dumps(document))
    (tmp_path / "a").mkdir()
    tracks = [tmp_path / "V1.csv", tmp_path / "a" / "V1.csv"]
    for track in tracks:
        track.write_text("lon,lat,time\n114.0,22.5,2026-03-02T10:00:00+08:00\n")
    args = ["check", *map(str, tracks), "--layers", str(layer), "--cargo", "UN1203"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert "two tracks share a vehicle id" in result.output
