"""What the live and playback maps compute: vehicle states, positions, the GeoJSON, stops."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from maps import live, playback, styles
from maps.styles import VehicleState

AT = dt.datetime(2026, 11, 26, 1, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("age_s", "speed_kmh", "in_alert", "expected"),
    [
        pytest.param(10.0, 40.0, False, VehicleState.MOVING, id="fresh-fast-moving"),
        pytest.param(10.0, 2.0, False, VehicleState.STOPPED, id="fresh-slow-stopped"),
        pytest.param(900.0, 40.0, False, VehicleState.OFFLINE, id="old-fix-offline"),
        pytest.param(900.0, 0.0, True, VehicleState.ALERT, id="alert-beats-offline"),
        pytest.param(10.0, 40.0, True, VehicleState.ALERT, id="alert-beats-moving"),
    ],
)
def test_vehicle_state(
    age_s: float, speed_kmh: float, in_alert: bool, expected: VehicleState
) -> None:
    assert live.vehicle_state(age_s, speed_kmh, is_in_alert=in_alert) is expected


def _fleet() -> pd.DataFrame:
    """V1 drives until AT, V2 stands still, V3 stopped reporting 20 minutes ago, V4 starts later."""
    rows = []
    for i in range(10):
        t = AT - dt.timedelta(seconds=10 * (9 - i))
        rows.append(("V1", 24.94 + i * 1e-4, 60.17, t, 36.0, 90.0))
        rows.append(("V2", 24.95, 60.16, t, 0.0, 0.0))
        rows.append(("V3", 24.93, 60.15, t - dt.timedelta(minutes=20), 30.0, 180.0))
        rows.append(("V4", 24.92, 60.15, t + dt.timedelta(minutes=5), 30.0, 180.0))
    return pd.DataFrame(rows, columns=["vehicle_id", "lon", "lat", "fix_at", "speed_kmh",
                                       "heading_deg"])  # fmt: skip


def test_vehicle_positions_take_the_last_fix_and_state_at_the_moment() -> None:
    info = {"V1": live.VehicleInfo("V1", "粤B00001D", waybill_id="WB1", goods="UN1203")}
    positions = live.vehicle_positions(_fleet(), at=AT, vehicles=info, alert_vehicle_ids={"V2"})
    by_id = {p.vehicle_id: p for p in positions}
    assert sorted(by_id) == ["V1", "V2", "V3"]  # V4 has not started yet
    assert by_id["V1"].state is VehicleState.MOVING
    assert by_id["V1"].lon == pytest.approx(24.9409)
    assert (by_id["V1"].plate, by_id["V1"].waybill_id) == ("粤B00001D", "WB1")
    assert by_id["V2"].state is VehicleState.ALERT
    assert by_id["V3"].state is VehicleState.OFFLINE
    assert by_id["V3"].plate == "V3"
    assert len(by_id["V1"].trail) == 10


def test_positions_geojson_is_the_documented_contract() -> None:
    positions = live.vehicle_positions(_fleet(), at=AT)
    data = live.positions_geojson(positions)
    assert data["type"] == "FeatureCollection"
    feature = data["features"][0]
    assert feature["geometry"]["type"] == "Point"
    assert set(feature["properties"]) == {
        "vehicle_id", "plate", "state", "speed_kmh", "heading_deg", "fix_at", "waybill_id",
        "goods", "trail",
    }  # fmt: skip
    assert feature["properties"]["fix_at"].endswith("+00:00")
    assert feature["properties"]["state"] in {s.value for s in VehicleState}


def test_positions_geojson_writes_unknown_heading_as_null() -> None:
    fleet = _fleet().assign(heading_deg=np.nan)
    data = live.positions_geojson(live.vehicle_positions(fleet, at=AT))
    assert {f["properties"]["heading_deg"] for f in data["features"]} == {None}


def test_find_stops_keeps_long_standstills_only() -> None:
    speeds = [30.0] * 5 + [0.0] * 20 + [30.0] * 5 + [0.0] * 3 + [30.0] * 2
    times = [AT + dt.timedelta(seconds=10 * i) for i in range(len(speeds))]
    fixes = pd.DataFrame({"lon": 24.94, "lat": 60.17, "fix_at": times, "speed_kmh": speeds})
    stops = playback.find_stops(fixes)
    assert len(stops) == 1
    assert stops[0].started_at == times[5]
    assert stops[0].duration_s == 190.0


def test_find_stops_of_an_empty_track_is_empty() -> None:
    empty = pd.DataFrame({"lon": [], "lat": [], "fix_at": [], "speed_kmh": []})
    assert playback.find_stops(empty) == []


def test_every_state_and_kind_has_a_style() -> None:
    from geodata.restrictions import RestrictionKind

    assert set(styles.STATE_STYLES) == set(VehicleState)
    assert set(styles.KIND_STYLES) == set(RestrictionKind)
    assert len(styles.SPEED_COLOURS) == len(styles.SPEED_BINS_KMH) + 1
