"""Batch matcher: synthetic drives on the Shenzhen network, bad fixes, gaps, U-turns, stops."""

from __future__ import annotations

import json

import numpy as np
import pytest
import shapely

from geodata.matching import matcher
from geodata.matching.screening import FixReason
from tests.conftest import shared_data_path
from tests.geodata.matching.conftest import (
    drive_along,
    overlap_fraction,
    random_route,
    shortest_route,
)

NOISY = matcher.MatchParams(sigma_m=10.0)


@pytest.mark.parametrize(
    ("dt_s", "noise_m"),
    [(1.0, 5.0), (1.0, 10.0), (10.0, 10.0), (30.0, 5.0), (30.0, 15.0)],
    ids=["1s-5m", "1s-10m", "10s-10m", "30s-5m", "30s-15m"],
)
def test_synthetic_drive_recovers_route(shenzhen, dt_s, noise_m) -> None:
    fractions = []
    for seed in range(4):
        route = random_route(shenzhen, seed)
        drive = drive_along(shenzhen, route, dt_s=dt_s, noise_m=noise_m, seed=seed)
        result = matcher.match_track(shenzhen, drive.x, drive.y, drive.t, params=NOISY)
        assert result.is_matched.all()
        fractions.append(overlap_fraction(shenzhen, result.matched_edge_ids(), route))
    assert np.mean(fractions) >= 0.95, fractions


def test_path_csr_is_consistent_with_edges(shenzhen) -> None:
    route = random_route(shenzhen, 7)
    drive = drive_along(shenzhen, route, dt_s=10.0, noise_m=5.0, seed=7)
    result = matcher.match_track(shenzhen, drive.x, drive.y, drive.t)
    for i in np.flatnonzero(result.is_matched):
        path = result.path_of(i)
        if len(path):
            assert path[-1] == result.edge_id[i]
    edges = result.matched_edge_ids()
    assert (shenzhen.edge_v[edges[:-1]] == shenzhen.edge_u[edges[1:]]).all()
    assert isinstance(result.matched_geometry(shenzhen), shapely.LineString)


def test_snapped_points_lie_on_matched_edges(shenzhen) -> None:
    route = random_route(shenzhen, 3)
    drive = drive_along(shenzhen, route, dt_s=5.0, noise_m=8.0, seed=3)
    result = matcher.match_track(shenzhen, drive.x, drive.y, drive.t)
    points = shapely.points(result.snapped_x, result.snapped_y)
    lines = shenzhen.geometries[result.edge_id]
    assert np.allclose(shapely.distance(points, lines), 0.0, atol=1e-6)
    assert np.allclose(shapely.line_locate_point(lines, points), result.offset_m, atol=1e-6)
    raw = shapely.points(drive.x, drive.y)
    assert np.allclose(shapely.distance(raw, points), result.distance_m)


def test_time_gap_restarts_chain_with_break(shenzhen) -> None:
    route = random_route(shenzhen, 11)
    drive = drive_along(shenzhen, route, dt_s=5.0, noise_m=5.0, seed=11)
    t = drive.t.copy()
    half = len(t) // 2
    t[half:] += 3600.0
    result = matcher.match_track(shenzhen, drive.x, drive.y, t)
    assert np.flatnonzero(result.is_break).tolist() == [0, half]
    assert result.path_of(half).tolist() == [result.edge_id[half]]
    assert len(result.piece_edge_ids()) == 2
    assert isinstance(result.matched_geometry(shenzhen), shapely.MultiLineString)


def test_bad_fixes_get_reason_codes(shenzhen) -> None:
    route = random_route(shenzhen, 5)
    drive = drive_along(shenzhen, route, dt_s=5.0, noise_m=5.0, seed=5)
    x, y, t = drive.x.copy(), drive.y.copy(), drive.t.copy()
    lon, lat = shenzhen.to_lonlat.transform(x, y)
    lat[3] = 95.0
    x, y = shenzhen.from_lonlat.transform(lon, lat)
    x[5] = np.nan
    t[8] = t[7]
    t[12] = t[11] - 3.0
    x[15] += 5000.0
    x[20] += 300.0
    y[20] += 300.0
    t[20] += 0.0
    t[25] = np.nan
    result = matcher.match_track(shenzhen, x, y, t)
    expected = {
        3: FixReason.BAD_COORDINATE, 5: FixReason.BAD_COORDINATE, 8: FixReason.DUPLICATE_TIME,
        12: FixReason.TIME_BACKWARDS, 15: FixReason.IMPOSSIBLE_JUMP, 25: FixReason.BAD_TIME,
    }  # fmt: skip
    for i, reason in expected.items():
        assert result.reason[i] == reason, i
        assert result.edge_id[i] == -1
        assert np.isnan(result.offset_m[i])
    good = np.setdiff1d(np.arange(len(x)), [*expected, 20])
    assert (result.reason[good] == 0).all()
    assert overlap_fraction(shenzhen, result.matched_edge_ids(), route) >= 0.95


def test_fix_far_from_roads_has_no_road_reason(shenzhen) -> None:
    x0, y0 = shenzhen.nodes["x"].min() - 5000.0, shenzhen.nodes["y"].min() - 5000.0
    result = matcher.match_track(shenzhen, [x0, x0 + 10.0], [y0, y0], [0.0, 1.0])
    assert result.reason.tolist() == [FixReason.NO_ROAD_NEARBY] * 2
    assert len(result.matched_edge_ids()) == 0


def test_empty_track_and_length_mismatch(shenzhen) -> None:
    result = matcher.match_track(shenzhen, [], [], [])
    assert len(result) == 0
    with pytest.raises(ValueError, match="must have one length"):
        matcher.match_track(shenzhen, [0.0], [0.0, 1.0], [0.0])


def test_bad_params_are_refused() -> None:
    with pytest.raises(ValueError, match="sigma_m, search_radius_m"):
        matcher.MatchParams(sigma_m=0.0, search_radius_m=-1.0)


def _two_way_street(shenzhen) -> tuple[int, int]:
    """A long edge whose reverse edge exists (a two-way road)."""
    u, v, length = shenzhen.edge_u, shenzhen.edge_v, shenzhen.edge_length_m
    pairs = {(a, b): e for e, (a, b) in enumerate(zip(u.tolist(), v.tolist(), strict=True))}
    for e in np.argsort(-length):
        back = pairs.get((int(v[e]), int(u[e])))
        if back is not None and length[e] < 400:
            return int(e), back
    raise AssertionError


def test_u_turn_on_two_way_road(shenzhen) -> None:
    forward, backward = _two_way_street(shenzhen)
    there = drive_along(shenzhen, np.array([forward]), dt_s=2.0, noise_m=3.0, seed=1)
    back = drive_along(shenzhen, np.array([backward]), dt_s=2.0, noise_m=3.0, seed=2)
    keep = len(back.x) * 3 // 4  # stop before the far node, where the next edge would tie
    x = np.concatenate([there.x, back.x[:keep]])
    y = np.concatenate([there.y, back.y[:keep]])
    t = np.arange(len(x)) * 2.0
    result = matcher.match_track(shenzhen, x, y, t)
    assert result.matched_edge_ids().tolist() == [forward, backward]
    assert not result.is_break[1:].any()


def test_stop_with_gps_drift_makes_no_loops(shenzhen) -> None:
    route = random_route(shenzhen, 21)
    drive = drive_along(shenzhen, route, dt_s=1.0, noise_m=3.0, seed=21)
    stop = len(drive.x) // 2
    rng = np.random.default_rng(0)
    drift = rng.normal(0.0, 12.0, (120, 2))
    x = np.concatenate([drive.x[:stop], drive.x[stop] + drift[:, 0], drive.x[stop:]])
    y = np.concatenate([drive.y[:stop], drive.y[stop] + drift[:, 1], drive.y[stop:]])
    t = np.arange(len(x), dtype=float)
    result = matcher.match_track(shenzhen, x, y, t, params=NOISY)
    edges = result.matched_edge_ids()
    assert len(edges) == len(np.unique(edges)), "an edge is driven twice: a loop"
    assert overlap_fraction(shenzhen, edges, route) >= 0.95


def test_shortest_route_helper_finds_connected_path(shenzhen) -> None:
    route = random_route(shenzhen, 2)
    again = shortest_route(
        shenzhen, int(shenzhen.edge_u[route[0]]), int(shenzhen.edge_v[route[-1]])
    )
    assert again.tolist() == route.tolist()


def _read_trace(shenzhen, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A real trace (CRS84 points, no times) projected, timed at 10 m/s between points."""
    path = shared_data_path(f"osm-china/shenzhen/st_mapmatching_trajs/{name}.geojson")
    features = json.loads(path.read_text())["features"]
    lon, lat = np.array([f["geometry"]["coordinates"][:2] for f in features]).T
    x, y = shenzhen.from_lonlat.transform(lon, lat)
    step_m = np.hypot(np.diff(x), np.diff(y))
    return x, y, np.concatenate([[0.0], np.cumsum(np.maximum(step_m, 1.0) / 10.0)])


@pytest.mark.parametrize("name", ["traj_0", "traj_1", "traj_9", "traj_11", "traj_12"])
def test_real_shenzhen_trace_matches_close(shenzhen, name) -> None:
    result = matcher.match_track(shenzhen, *_read_trace(shenzhen, name))
    matched = result.is_matched
    assert matched.mean() >= 0.8
    assert np.median(result.distance_m[matched]) < 15.0
    assert len(result.matched_edge_ids()) >= 1


@pytest.mark.parametrize("name", ["traj_4", "traj_15"])
def test_real_trace_outside_network_is_refused_with_reason(shenzhen, name) -> None:
    result = matcher.match_track(shenzhen, *_read_trace(shenzhen, name))
    unmatched = ~result.is_matched
    assert unmatched.any()
    assert (result.reason[unmatched] == FixReason.NO_ROAD_NEARBY).all()
