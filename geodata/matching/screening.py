"""Screen GPS fixes before matching: each fix gets a reason code, 0 when it can be matched."""

from __future__ import annotations

import enum

import numba
import numpy as np

__all__ = ["FixReason", "ScreenState", "screen_fixes"]


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


@numba.njit(cache=True)
def _screen(x, y, t, max_speed_ms, jump_slack_m, max_rejects, lx, ly, lt, n_rejects):  # type: ignore[no-untyped-def]
    """Sequential screening kernel; see `screen_fixes`."""
    reasons = np.zeros(len(x), np.uint8)
    for i in range(len(x)):
        if not (np.isfinite(x[i]) and np.isfinite(y[i])):
            reasons[i] = 1
        elif not np.isfinite(t[i]):
            reasons[i] = 2
        elif t[i] == lt:
            reasons[i] = 3
        elif t[i] < lt:
            reasons[i] = 4
        elif np.hypot(x[i] - lx, y[i] - ly) > max_speed_ms * (t[i] - lt) + jump_slack_m and (
            n_rejects < max_rejects
        ):
            reasons[i] = 5
            n_rejects += 1
        else:
            lx, ly, lt, n_rejects = x[i], y[i], t[i], 0
    return reasons, lx, ly, lt, n_rejects
