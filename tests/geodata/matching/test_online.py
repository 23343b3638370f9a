"""Online matcher: fixed-lag output against the batch matcher, reasons, breaks, many vehicles."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from geodata.matching import matcher, online
from geodata.matching.screening import FixReason
from tests.geodata.matching.conftest import drive_along, random_route


def _run_online(network, x, y, t, params) -> list:
    """Push a whole track through one online matcher, then flush."""
    m = online.OnlineMatcher(network, params)
    points = [p for xi, yi, ti in zip(x, y, t, strict=True) for p in m.push(xi, yi, ti)]
    return points + m.flush()


@pytest.mark.parametrize(("seed", "dt_s"), [(0, 1.0), (1, 10.0), (2, 30.0)])
def test_online_equals_batch_away_from_breaks(shenzhen, seed, dt_s) -> None:
    params = matcher.MatchParams(lag=15)
    drive = drive_along(shenzhen, random_route(shenzhen, seed), dt_s=dt_s, noise_m=5.0, seed=seed)
    batch = matcher.match_track(shenzhen, drive.x, drive.y, drive.t, params=params)
    points = _run_online(shenzhen, drive.x, drive.y, drive.t, params)
    assert [p.seq for p in points] == list(range(len(drive.x)))
    edges = np.array([p.edge_id for p in points])
    assert (edges == batch.edge_id).mean() >= 0.98
    assert np.array([p.is_break for p in points]).tolist() == batch.is_break.tolist()
    online_path = [e for p in points for e in p.path_edge_ids]
    assert online_path == batch.path_edge_ids.tolist()


def test_online_emits_with_fixed_lag(shenzhen) -> None:
    drive = drive_along(shenzhen, random_route(shenzhen, 4), dt_s=5.0, noise_m=5.0, seed=4)
    m = online.OnlineMatcher(shenzhen, matcher.MatchParams(lag=3))
    counts = [len(m.push(x, y, t)) for x, y, t in zip(drive.x, drive.y, drive.t, strict=True)]
    assert counts[:3] == [0, 0, 0]
    assert all(c == 1 for c in counts[3:])
    assert len(m.flush()) == 3


def test_online_rejects_bad_fixes_in_order(shenzhen) -> None:
    drive = drive_along(shenzhen, random_route(shenzhen, 6), dt_s=5.0, noise_m=5.0, seed=6)
    x, y, t = drive.x[:12].copy(), drive.y[:12].copy(), drive.t[:12].copy()
    x[4], t[7] = np.nan, t[6]
    points = _run_online(shenzhen, x, y, t, matcher.MatchParams(lag=2))
    assert [p.seq for p in points] == list(range(12))
    assert points[4].reason == FixReason.BAD_COORDINATE
    assert points[7].reason == FixReason.DUPLICATE_TIME
    assert points[4].edge_id == points[7].edge_id == -1
    assert all(p.reason == 0 for k, p in enumerate(points) if k not in (4, 7))


def test_online_gap_restarts_chain(shenzhen) -> None:
    drive = drive_along(shenzhen, random_route(shenzhen, 8), dt_s=5.0, noise_m=5.0, seed=8)
    t = drive.t.copy()
    t[10:] += 7200.0
    points = _run_online(shenzhen, drive.x, drive.y, t, matcher.MatchParams(lag=4))
    assert [p.seq for p in points if p.is_break] == [0, 10]
    assert points[10].path_edge_ids == (points[10].edge_id,)


def test_step_many_equals_one_matcher_per_vehicle(shenzhen) -> None:
    params = matcher.MatchParams(lag=5)
    drives = [
        drive_along(shenzhen, random_route(shenzhen, s), dt_s=10.0, noise_m=5.0, seed=s)
        for s in range(3)
    ]
    n = min(len(d.x) for d in drives)
    drives[1].t[n // 2 :] += 7200.0  # a gap: this chain restarts while the others go on
    drives[2].x[5:8] += 2000.0  # a jump away and back
    fleet = [online.OnlineMatcher(shenzhen, params) for _ in drives]
    together: list[list] = [[] for _ in drives]
    for k in range(n):
        xs, ys, ts = (np.array([getattr(d, a)[k] for d in drives]) for a in ("x", "y", "t"))
        for out, emitted in zip(together, online.match_step_many(fleet, xs, ys, ts), strict=True):
            out.extend(emitted)
    for out, m in zip(together, fleet, strict=True):
        out.extend(m.flush())
    for d, out in zip(drives, together, strict=True):
        alone = _run_online(shenzhen, d.x[:n], d.y[:n], d.t[:n], params)
        # repr: a refused fix's NaN fields compare equal as text
        assert [repr(dataclasses.astuple(p)) for p in out] == [
            repr(dataclasses.astuple(p)) for p in alone
        ]
    assert any(p.is_break for p in together[1][1:])


def test_step_many_refuses_misaligned_input(shenzhen) -> None:
    m = online.OnlineMatcher(shenzhen)
    with pytest.raises(ValueError, match="must have one length"):
        online.match_step_many([m], np.zeros(2), np.zeros(2), np.zeros(2))


def test_step_many_refuses_a_vehicle_twice(shenzhen) -> None:
    m = online.OnlineMatcher(shenzhen)
    with pytest.raises(ValueError, match="must be distinct"):
        online.match_step_many([m, m], np.zeros(2), np.zeros(2), np.arange(2.0))
