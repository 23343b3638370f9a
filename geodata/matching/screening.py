"""Screen GPS fixes before matching: each fix gets a reason code, 0 when it can be matched."""

from __future__ import annotations

import enum

import numba
import numpy as np

__all__ = ["FixReason", "ScreenState", "screen_each", "screen_fixes"]


class FixReason(enum.IntEnum):
    """Why a fix was not matched (`OK` when it was)."""

    OK = 0
    BAD_COORDINATE = 1
    BAD_TIME = 2
    DUPLICATE_TIME = 3
    TIME_BACKWARDS = 4
    IMPOSSIBLE_JUMP = 5
    NO_ROAD_NEARBY = 6


ScreenState = tuple[float, float, float, int]
"""Last accepted fix (x, y, t) and the count of jump rejections since; t is NaN before any."""

INITIAL_STATE: ScreenState = (np.nan, np.nan, np.nan, 0)


def screen_fixes(
    x: np.ndarray,
    y: np.ndarray,
    t: np.ndarray,
    *,
    max_speed_ms: float,
    jump_slack_m: float,
    max_jump_rejects: int,
    state: ScreenState = INITIAL_STATE,
) -> tuple[np.ndarray, ScreenState]:
    """Return a reason code per fix, checking each against the last accepted fix.

    Parameters
    ----------
    x, y, t
        Positions in metres (network CRS) and times in seconds.
    max_speed_ms
        A fix further from the last accepted one than this speed allows, plus `jump_slack_m`
        for GPS noise, is an impossible jump.
    jump_slack_m
        Distance allowance for noise in the jump test.
    max_jump_rejects
        After this many jump rejections in a row the next fix is accepted (the vehicle really
        is elsewhere, or the last accepted fix was the outlier).
    state
        Screening state carried over from earlier fixes of the same vehicle.

    Returns
    -------
    reasons, state
        uint8 `FixReason` codes, and the state after the last fix.
    """
    arrays = (np.asarray(v, dtype=np.float64) for v in (x, y, t))
    reasons, *new_state = _screen(  # type: ignore[call-arg]  # numba dispatcher
        *arrays, float(max_speed_ms), float(jump_slack_m), int(max_jump_rejects), *state
    )
    lx, ly, lt, n_rejects = new_state
    return reasons, (float(lx), float(ly), float(lt), int(n_rejects))


@numba.njit(cache=True, inline="always")
def _screen_fix(x, y, t, max_speed_ms, jump_slack_m, max_rejects, lx, ly, lt, n_rejects):  # type: ignore[no-untyped-def]
    """Reason code of one fix against the last accepted one, and the state after it."""
    if not (np.isfinite(x) and np.isfinite(y)):
        return 1, lx, ly, lt, n_rejects
    if not np.isfinite(t):
        return 2, lx, ly, lt, n_rejects
    if t == lt:
        return 3, lx, ly, lt, n_rejects
    if t < lt:
        return 4, lx, ly, lt, n_rejects
    if np.hypot(x - lx, y - ly) > max_speed_ms * (t - lt) + jump_slack_m and (
        n_rejects < max_rejects
    ):
        return 5, lx, ly, lt, n_rejects + 1
    return 0, x, y, t, 0


@numba.njit(cache=True)
def _screen(x, y, t, max_speed_ms, jump_slack_m, max_rejects, lx, ly, lt, n_rejects):  # type: ignore[no-untyped-def]
    """Sequential screening kernel; see `screen_fixes`."""
    reasons = np.zeros(len(x), np.uint8)
    for i in range(len(x)):
        reasons[i], lx, ly, lt, n_rejects = _screen_fix(
            x[i], y[i], t[i], max_speed_ms, jump_slack_m, max_rejects, lx, ly, lt, n_rejects
        )
    return reasons, lx, ly, lt, n_rejects


@numba.njit(cache=True)
def screen_each(x, y, t, max_speed_ms, jump_slack_m, max_rejects, states):  # type: ignore[no-untyped-def]
    """Screen one fix of each of many vehicles against its own state.

    `states` holds a `ScreenState` per row (the count as a float); it is updated in place.
    Returns the uint8 `FixReason` codes.
    """
    reasons = np.zeros(len(x), np.uint8)
    for i in range(len(x)):
        reason, lx, ly, lt, n_rejects = _screen_fix(
            x[i], y[i], t[i], max_speed_ms, jump_slack_m, max_rejects,
            states[i, 0], states[i, 1], states[i, 2], int(states[i, 3]),
        )  # fmt: skip
        reasons[i] = reason
        states[i, 0], states[i, 1], states[i, 2], states[i, 3] = lx, ly, lt, n_rejects
    return reasons
