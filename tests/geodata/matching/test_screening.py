"""Screening one fix of many vehicles at a time equals screening each vehicle's track."""

from __future__ import annotations

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st

from geodata.matching import screening

_LIMITS = {"max_speed_ms": 30.0, "jump_slack_m": 50.0, "max_jump_rejects": 2}

coordinate = st.one_of(st.floats(-5_000, 5_000), st.just(float("nan")), st.just(float("inf")))
step_s = st.one_of(st.integers(-5, 60).map(float), st.just(float("nan")))


@st.composite
def track(draw: st.DrawFn) -> list[tuple[float, float, float]]:
    """Fixes with mostly increasing times (repeats, steps back and NaN among them)."""
    fixes = draw(st.lists(st.tuples(coordinate, coordinate, step_s), min_size=1, max_size=15))
    steps = np.array([dt for _, _, dt in fixes])
    times = np.cumsum(np.nan_to_num(steps))
    times[np.isnan(steps)] = np.nan
    return [(x, y, t) for (x, y, _), t in zip(fixes, times.tolist(), strict=True)]


tracks = st.lists(track(), min_size=1, max_size=5)


@given(tracks)
@example([[(k * 10_000.0, 0.0, float(k)) for k in range(5)], [(0.0, 0.0, 0.0)]])  # jump after jump
def test_screen_each_equals_screen_fixes_per_vehicle(tracks) -> None:
    """Jumps, repeated and backward times, non-finite values: round by round as track by track."""
    expected = [
        screening.screen_fixes(*np.array(track, np.float64).T, **_LIMITS)[0].tolist()
        for track in tracks
    ]
    states = np.array([screening.INITIAL_STATE] * len(tracks), np.float64)
    got: list[list[int]] = [[] for _ in tracks]
    for k in range(max(map(len, tracks))):
        rows = [v for v, track in enumerate(tracks) if k < len(track)]
        x, y, t = np.array([tracks[v][k] for v in rows], np.float64).T
        sub = states[rows]
        reasons = screening.screen_each(
            x, y, t, _LIMITS["max_speed_ms"], _LIMITS["jump_slack_m"],
            _LIMITS["max_jump_rejects"], sub,
        )  # fmt: skip
        states[rows] = sub
        for v, reason in zip(rows, reasons.tolist(), strict=True):
            got[v].append(reason)
    assert got == expected
    assert any(r != 0 for rs in got for r in rs) or all(r == 0 for rs in expected for r in rs)
