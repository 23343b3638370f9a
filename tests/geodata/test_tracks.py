"""Reading track files: formats, time zones, datums and rows rejected with reasons."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from geodata import datum
from geodata._errors import TrackError
from geodata.tracks import Datum, read_track
from tests.conftest import shared_data_path

CSV = """lon,lat,time
114.05,22.54,2024-10-01 08:00:00
114.06,22.55,2024-10-01T08:00:10+08:00
abc,22.55,1727740810
114.07,95,2024-10-01 08:00:20
114.08,22.56,1727740830
114.08,22.56,
"""

GPX = """<?xml version="1.0"?>
<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">
<trk><trkseg>
<trkpt lat="22.54" lon="114.05"><time>2024-10-01T00:00:00Z</time></trkpt>
<trkpt lat="22.55" lon="114.06"><time>2024-10-01T00:00:10Z</time></trkpt>
</trkseg></trk></gpx>
"""


def test_csv_rows_are_typed_and_bad_rows_named(tmp_path: Path) -> None:
    path = tmp_path / "track.csv"
    path.write_text(CSV, encoding="utf-8")
    track = read_track(path, naive_tz="Asia/Shanghai")
    assert track.fixes["fix_at"].tolist() == [
        pd.Timestamp("2024-10-01 00:00:00", tz="UTC"),
        pd.Timestamp("2024-10-01 00:00:10", tz="UTC"),
        pd.Timestamp("2024-10-01 00:00:30", tz="UTC"),
    ]
    assert track.rejected.to_dict("records") == [
        {"row": 3, "reason": "longitude missing or not a number"},
        {"row": 4, "reason": "latitude outside -90..90"},
        {"row": 6, "reason": "time missing or unreadable"},
    ]


def test_gpx_points_are_read(tmp_path: Path) -> None:
    path = tmp_path / "track.gpx"
    path.write_text(GPX, encoding="utf-8")
    track = read_track(path)
    assert track.fixes["lon"].tolist() == [114.05, 114.06]
    assert track.seconds.tolist() == [1727740800.0, 1727740810.0]


def test_real_geojson_trace_with_local_times() -> None:
    path = shared_data_path("osm-china/shenzhen/st_mapmatching_trajs/traj_1.geojson")
    track = read_track(path, naive_tz="Asia/Shanghai")
    assert len(track.fixes) > 0 and track.rejected.empty
    assert track.fixes["fix_at"].iloc[0] == pd.Timestamp("2019-08-04 01:54:56", tz="UTC")


def test_gcj02_source_is_converted_to_wgs84(tmp_path: Path) -> None:
    gcj_lon, gcj_lat = datum.wgs84_to_gcj02(114.05, 22.54)
    path = tmp_path / "gcj.csv"
    path.write_text(f"lng,lat,timestamp\n{gcj_lon},{gcj_lat},1727740800\n", encoding="utf-8")
    track = read_track(path, datum_of_source=Datum.GCJ02)
    assert track.fixes["lon"].iloc[0] == pytest.approx(114.05, abs=1e-7)
    assert track.fixes["lat"].iloc[0] == pytest.approx(22.54, abs=1e-7)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        pytest.param("t.kml", "", "unsupported track file t.kml", id="suffix"),
        pytest.param("t.csv", "a,b,c\n1,2,3\n", "no longitude column", id="columns"),
        pytest.param("t.geojson", "[1, 2]", "not a GeoJSON FeatureCollection", id="geojson"),
    ],
)
def test_unreadable_track_files_are_named(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(TrackError, match=message):
        read_track(path)


def test_reported_speeds_are_kept_and_unreadable_ones_left_to_derive(tmp_path: Path) -> None:
    csv = tmp_path / "speeds.csv"
    csv.write_text(
        "lon,lat,time,Speed\n"
        "114.05,22.54,2024-10-01T08:00:00+08:00,42.5\n"
        "114.06,22.55,2024-10-01T08:00:10+08:00,fast\n"
        "114.07,22.56,2024-10-01T08:00:20+08:00,-3\n"
        "114.08,95,2024-10-01T08:00:30+08:00,50\n",
        encoding="utf-8",
    )
    speeds = read_track(csv).fixes["speed_kmh"].tolist()
    assert speeds[0] == 42.5 and len(speeds) == 3  # the row outside -90..90 is rejected
    assert all(pd.isna(s) for s in speeds[1:])
    geojson = tmp_path / "speeds.geojson"
    points = [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [114.05, 22.54]},
         "properties": {"time": "2024-10-01T00:00:00Z", "speed_kmh": 61}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [114.06, 22.55]},
         "properties": {"time": "2024-10-01T00:00:10Z"}},
    ]  # fmt: skip
    geojson.write_text(json.dumps({"type": "FeatureCollection", "features": points}))
    assert read_track(geojson).fixes["speed_kmh"].fillna(-1).tolist() == [61.0, -1.0]


def test_a_file_without_speeds_has_no_speed_column(tmp_path: Path) -> None:
    path = tmp_path / "track.csv"
    path.write_text(CSV, encoding="utf-8")
    assert "speed_kmh" not in read_track(path).fixes.columns
