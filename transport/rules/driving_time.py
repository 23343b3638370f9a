"""Driving time from the fix stream: continuous, night-time and 24-hour limits.

Between two fixes the vehicle drove when the earlier fix moved (speed above the stop speed) and
the gap is short; otherwise it rested. A rest of at least `min_rest_s` ends a continuous spell;
shorter stops neither count as driving nor end it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from transport.rules.base import RuleEvent, RuleSpec, Text, local_time

if TYPE_CHECKING:
    from transport.rules.base import Observation
    from transport.rules.params import RuleParams

__all__ = ["RULE", "RULE_ID", "DrivingState", "step"]

RULE_ID = "driving_time"
_LEGAL_BASIS = Text(
    "《道路交通安全法实施条例》第六十二条；《道路运输车辆动态监督管理办法》",
    "RTSL-I Art 62; Order 5 (dynamic supervision of road transport vehicles)",
)


@dataclass(frozen=True)
class DrivingState:
    """The driving clock of one vehicle."""

    last_at: dt.datetime | None = None
    was_moving: bool = False
    continuous_s: float = 0.0
    night_s: float = 0.0
    rest_s: float = 0.0
    driven: tuple[tuple[dt.datetime, dt.datetime], ...] = ()  # merged, last 24 h


def _advance(state: DrivingState, obs: Observation, params: RuleParams) -> DrivingState:
    """Account for the interval since the previous fix."""
    at = obs.fix.fix_at
    is_moving = obs.fix.speed_kmh > params.stop_speed_kmh
    if state.last_at is None or at <= state.last_at:
        return DrivingState(
            at, is_moving, state.continuous_s, state.night_s, state.rest_s, state.driven
        )
    p = params.driving_time
    gap_s = (at - state.last_at).total_seconds()
    if not state.was_moving or gap_s > p.max_gap_s:
        rest_s = state.rest_s + gap_s
        if rest_s >= p.min_rest_s:
            return DrivingState(at, is_moving, 0.0, 0.0, rest_s, state.driven)
        return DrivingState(at, is_moving, state.continuous_s, state.night_s, rest_s, state.driven)
    midpoint = local_time(state.last_at + (at - state.last_at) / 2, params)
    night_s = state.night_s + (gap_s if params.night.contains(midpoint) else 0.0)
    driven = _append(state.driven, state.last_at, at, at - dt.timedelta(seconds=p.daily_window_s))
    return DrivingState(at, is_moving, state.continuous_s + gap_s, night_s, 0.0, driven)


def _append(
    driven: tuple[tuple[dt.datetime, dt.datetime], ...],
    start: dt.datetime,
    end: dt.datetime,
    horizon: dt.datetime,
) -> tuple[tuple[dt.datetime, dt.datetime], ...]:
    """Add a driving interval, merging with the last one, dropping those before `horizon`."""
    if driven and driven[-1][1] == start:
        driven = (*driven[:-1], (driven[-1][0], end))
    else:
        driven = (*driven, (start, end))
    return tuple((max(a, horizon), b) for a, b in driven if b > horizon)


def daily_driving_s(state: DrivingState) -> float:
    """Seconds driven in the 24-hour window ending at the last fix."""
    return sum((b - a).total_seconds() for a, b in state.driven)


def _event(obs: Observation, key: str, value_s: float, limit_s: float, what: Text) -> RuleEvent:
    """An event for one exceeded limit, hours in the text."""
    hours, limit_h = value_s / 3600.0, limit_s / 3600.0
    return RuleEvent(
        rule_id=RULE_ID,
        key=key,
        at=obs.fix.fix_at,
        severity="violation",
        fact=Text(
            f"{what.zh} {hours:.2f} 小时，超过 {limit_h:g} 小时",
            f"{what.en} {hours:.2f} h, over {limit_h:g} h",
        ),
        legal_basis=_LEGAL_BASIS,
        value=value_s,
        limit=limit_s,
    )


def step(
    state: DrivingState, obs: Observation, params: RuleParams
) -> tuple[DrivingState, tuple[RuleEvent, ...]]:
    """Advance the clock by one fix; emit an event per limit exceeded."""
    state = _advance(state, obs, params)
    p = params.driving_time
    checks = (
        (
            "continuous",
            state.continuous_s,
            p.max_continuous_s,
            Text("连续驾驶", "Continuous driving"),
        ),
        (
            "night_continuous",
            state.night_s,
            p.max_night_continuous_s,
            Text("夜间连续驾驶", "Night driving"),
        ),
        (
            "daily",
            daily_driving_s(state),
            p.max_daily_s,
            Text("24 小时内累计驾驶", "Driving in 24 h"),
        ),
    )
    events = tuple(
        _event(obs, key, value, limit, what) for key, value, limit, what in checks if value > limit
    )
    return state, events


RULE: RuleSpec[DrivingState] = RuleSpec(
    rule_id=RULE_ID,
    title=Text("疲劳驾驶", "Driving-time limits exceeded"),
    legal_basis=_LEGAL_BASIS,
    initial_state=DrivingState,
    step=step,
)
