"""`hazmat route`: a compliant route explained, and a blocked trip with its earliest departure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from tests.conftest import REPO_ROOT, shared_data_path

runner = CliRunner()
LAYER = str(REPO_ROOT / "geodata/examples/shenzhen_demo_layer.geojson")


@pytest.fixture
def shenzhen_pbf(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """The Shenzhen extract, with a private network cache."""
    monkeypatch.setenv("HAZMAT_CACHE_DIR", str(tmp_path / "cache"))
    return str(shared_data_path("osm-china/shenzhen/shenzhen_futian_nanshan_drive_2024-10.osm.pbf"))


def test_route_json_names_the_detour_rule(shenzhen_pbf: str) -> None:
    result = runner.invoke(app, [
        "route", "--network", shenzhen_pbf, "--layers", LAYER, "--from", "113.975,22.52",
        "--to", "114.065,22.545", "--depart", "2025-10-15T08:00", "--cargo", "UN1203", "--json",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)
    assert plan["route"]["km"] > plan["unrestricted"]["km"]
    assert plan["detours"][0]["restriction_ids"] == ["demo-futian-centre-rush-hour-ban"]
    assert plan["geometry"]["type"] == "LineString"


def test_route_blocked_by_holiday_ban_exits_1_with_earliest_departure(shenzhen_pbf: str) -> None:
    result = runner.invoke(app, [
        "route", "--network", shenzhen_pbf, "--layers", LAYER, "--from", "113.975,22.52",
        "--to", "114.02,22.54", "--depart", "2026-10-07T20:00+08:00", "--cargo", "1203",
    ])  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "demo-national-day-2026-ban" in result.output
    assert "earliest departure" in result.output and "2026-10-07T23:5" in result.output


def test_route_with_fuel_permit_is_not_blocked(shenzhen_pbf: str) -> None:
    result = runner.invoke(app, [
        "route", "--network", shenzhen_pbf, "--layers", LAYER, "--from", "113.975,22.52",
        "--to", "114.02,22.54", "--depart", "2026-10-07T20:00+08:00", "--cargo", "1203",
        "--permit", "fuel_supply", "--json",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["blocking"] == []


def test_route_refuses_bad_point_and_unknown_un_number(shenzhen_pbf: str) -> None:
    bad_point = runner.invoke(app, ["route", "--from", "x", "--to", "1,2", "--depart",
                                    "2025-10-15T08:00", "--cargo", "1203"])  # fmt: skip
    assert bad_point.exit_code == 2 and "LON,LAT" in bad_point.output
    unknown = runner.invoke(app, [
        "route", "--network", shenzhen_pbf, "--from", "113.975,22.52", "--to", "114.02,22.54",
        "--depart", "2025-10-15T08:00", "--cargo", "9999",
    ])  # fmt: skip
    assert unknown.exit_code == 2 and "9999" in unknown.output
