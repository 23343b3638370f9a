"""The `hazmat network`, `hazmat match` and `hazmat demo` commands, run as a user runs them."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from api.cli import app
from api.commands import demo
from tests.conftest import shared_data_path

runner = CliRunner()
SHENZHEN_PBF = "osm-china/shenzhen/shenzhen_futian_nanshan_drive_2024-10.osm.pbf"


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test builds networks into its own cache."""
    monkeypatch.setenv("HAZMAT_CACHE_DIR", str(tmp_path / "cache"))


def test_network_info_json_counts_tunnels_and_hazmat_tags() -> None:
    result = runner.invoke(app, ["network", "info", "default", "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["tunnel_edges"] > 0 and info["hazmat_tags"]["hazmat:A"] > 0
    assert info["crs"] == "EPSG:32635"


def test_network_info_of_a_missing_file_exits_2_with_the_reason() -> None:
    result = runner.invoke(app, ["network", "info", "nowhere.osm.pbf"])
    assert result.exit_code == 2
    assert "network source not found: nowhere.osm.pbf" in result.output


def test_match_writes_one_feature_per_edge_in_travel_order(tmp_path: Path) -> None:
    network = str(shared_data_path(SHENZHEN_PBF))
    track = shared_data_path("osm-china/shenzhen/st_mapmatching_trajs/traj_0.geojson")
    csv = tmp_path / "track.csv"
    points = json.loads(track.read_text(encoding="utf-8"))["features"]
    coords = [p["geometry"]["coordinates"] for p in points]
    rows = [f"{lon},{lat},{1_700_000_000 + 15 * i}" for i, (lon, lat) in enumerate(coords)]
    csv.write_text("lon,lat,time\n" + "\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "matched.geojson"
    result = runner.invoke(app, ["match", str(csv), "--network", network, "--out", str(out)])
    assert result.exit_code == 0, result.output
    features = json.loads(out.read_text(encoding="utf-8"))["features"]
    props = [f["properties"] for f in features]
    assert [p["seq"] for p in props] == list(range(len(props)))
    assert all(p["osm_way_id"] > 0 and p["length_m"] > 0 for p in props)
    connected = sum(a["v_osm"] == b["u_osm"] for a, b in itertools.pairwise(props))
    assert connected >= 0.9 * (len(props) - 1)
    summary = " ".join(result.output.split())
    matched = int(re.search(r"matched / 已匹配: (\d+)", summary).group(1))
    assert f"fixes / 定位点: {len(points)}" in summary and matched >= len(points) - 2


def test_demo_runs_the_fleet_through_the_pipeline_and_reports_alerts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a console wide enough for whole rule ids, whatever width an earlier test left behind
    monkeypatch.setattr(demo, "console", Console(emoji=False, width=240))
    args = ["demo", "--vehicles", "3", "--out-dir", str(tmp_path)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "V001" in text and "V003" in text and "Trips / 行程" in text
    assert "water_source_zone" in text
    published = int(re.search(r"fixes published / 上报: (\d+)", text).group(1))
    assert f"stored / 入库: {published}," in text
    page = (tmp_path / "supervisor-map.html").read_text(encoding="utf-8")
    assert "L.map(" in page
    assert not re.search(r"<(script|link)[^>]+(src|href)=[\"']https?://", page)
