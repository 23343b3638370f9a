"""Screening one fix of many vehicles at a time equals screening each vehicle's track."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from geodata.matching import screening

_LIMITS = {"max_speed_ms": 30.0, "jump_slack_m": 50.0, "max_jump_rejects": 2}

coordinate = st.one_of(st.floats(-2_000, 2_000), st.just(float("nan")), st.just(float("inf")))
moment = st.one_of(st.integers(0, 200).map(float), st.just(float("nan")))
tracks = st.lists(
    st.lists(st.tuples(coordinate, coordinate, moment), min_size=1, max_size=15),
    min_size=1,
    max_size=5,
)


@given(tracks)
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
