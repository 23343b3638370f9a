"""Driving time from the fix stream: continuous, night-time and 24-hour limits.

Between two fixes the vehicle drove when the earlier fix moved (speed above the stop speed) and
the gap is short; otherwise it rested. A rest of at least `min_rest_s` ends a continuous spell;
shorter stops neither count as driving nor end it. Whether each interval was moving and at night
is found for a whole fleet's batches at once (`step_fleet`); the clocks then advance fix by fix.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from transport.rules.base import EPOCH, US, RuleEvent, RuleSpec, Text, in_window_us, local_us

if TYPE_CHECKING:
    from collections.abc import Sequence

    from transport.rules.base import FixBatch, Stepped
    from transport.rules.params import RuleParams

__all__ = ["RULE", "RULE_ID", "DrivingState", "step", "step_fleet"]

RULE_ID = "driving_time"
_LEGAL_BASIS = Text(
    "《道路交通安全法实施条例》第六十二条；《道路运输车辆动态监督管理办法》",
    "RTSL-I Art 62; Order 5 (dynamic supervision of road transport vehicles)",
)

_WHAT = {
    "continuous": Text("连续驾驶", "Continuous driving"),
    "night_continuous": Text("夜间连续驾驶", "Night driving"),
    "daily": Text("24 小时内累计驾驶", "Driving in 24 h"),
}


@dataclass(frozen=True)
class DrivingState:
    """The driving clock of one vehicle."""

    last_at: dt.datetime | None = None
    was_moving: bool = False
    continuous_s: float = 0.0
    night_s: float = 0.0
    rest_s: float = 0.0
    driven: tuple[tuple[int, int], ...] = ()  # merged intervals of the last 24 h, epoch µs


@dataclass
class _Clock:
    """The driving clock in epoch microseconds while a batch is stepped through."""

    last_us: int | None
    was_moving: bool
    continuous_s: float
    night_s: float
    rest_s: float
    driven: list[list[int]]  # merged [start, end] intervals, last 24 h
    driven_us: int = 0  # their total

    @classmethod
    def of(cls, state: DrivingState) -> _Clock:
        """The clock of a state."""
        last = None if state.last_at is None else (state.last_at - EPOCH) // US
        driven = [list(interval) for interval in state.driven]
        if driven and isinstance(driven[0][0], dt.datetime):  # checkpointed before µs
            driven = [[(a - EPOCH) // US, (b - EPOCH) // US] for a, b in driven]
        return cls(
            last,
            state.was_moving,
            state.continuous_s,
            state.night_s,
            state.rest_s,
            driven,
            sum(b - a for a, b in driven),
        )

    def state(self) -> DrivingState:
        """The state of the clock."""
        return DrivingState(
            None if self.last_us is None else EPOCH + self.last_us * US,
            self.was_moving,
            self.continuous_s,
            self.night_s,
            self.rest_s,
            tuple((a, b) for a, b in self.driven),
        )

    def advance(
        self, at_us: int, is_moving: bool, is_night: bool, params: RuleParams, window_us: int
    ) -> None:
        """Account for the interval since the previous fix (`is_night`: at its midpoint;
        `window_us`: the daily window, `daily_window_s` in microseconds)."""
        last_us, self.last_us, was_moving, self.was_moving = (
            self.last_us,
            at_us,
            self.was_moving,
            is_moving,
        )
        if last_us is None or at_us <= last_us:
            return
        p = params.driving_time
        gap_s = (at_us - last_us) / 1e6
        if not was_moving or gap_s > p.max_gap_s:
            self.rest_s += gap_s
            if self.rest_s >= p.min_rest_s:
                self.continuous_s, self.night_s = 0.0, 0.0
            return
        self.night_s += gap_s if is_night else 0.0
        self.continuous_s += gap_s
        self.rest_s = 0.0
        horizon = at_us - window_us
        driven = self.driven
        if driven and driven[-1][1] == last_us:
            driven[-1][1] = at_us
        else:
            driven.append([last_us, at_us])
        self.driven_us += at_us - last_us
        if driven[0][0] < horizon:
            self.driven = [[max(a, horizon), b] for a, b in driven if b > horizon]
            self.driven_us = sum(b - a for a, b in self.driven)

    def daily_s(self) -> float:
        """Seconds driven in the 24-hour window ending at the last fix."""
        return sum((b - a) / 1e6 for a, b in self.driven)


def _event(batch: FixBatch, pos: int, key: str, value_s: float, limit_s: float) -> RuleEvent:
    """An event for one exceeded limit, hours in the text."""
    hours, limit_h, what = value_s / 3600.0, limit_s / 3600.0, _WHAT[key]
    return RuleEvent(
        rule_id=RULE_ID,
        key=key,
        at=batch.fixes[pos].fix_at,
        severity="violation",
        fact=Text(
            f"{what.zh} {hours:.2f} 小时，超过 {limit_h:g} 小时",
            f"{what.en} {hours:.2f} h, over {limit_h:g} h",
        ),
        legal_basis=_LEGAL_BASIS,
        value=value_s,
        limit=limit_s,
    )


def _midpoint_night(
    at_us: np.ndarray, starts: np.ndarray, first_previous_us: np.ndarray, params: RuleParams
) -> np.ndarray:
    """Whether the midpoint of each interval ending at a fix falls in the night window: the
    fixes of many batches, each starting at `starts` after its own previous fix."""
    previous = np.empty_like(at_us)
    previous[1:] = at_us[:-1]
    previous[starts] = first_previous_us
    half, odd = np.divmod(at_us - previous, 2)
    midpoint = previous + half + (odd & half & 1)  # timedelta / 2 rounds half to even
    local = local_us(midpoint, params.time_zone)
    return in_window_us(local, params.night.start, params.night.end)


def step(state: DrivingState, batch: FixBatch, params: RuleParams) -> Stepped[DrivingState]:
    """Advance the clock fix by fix; emit an event per fix and limit exceeded."""
    return step_fleet([state], [batch], params)[0]


def step_fleet(
    states: Sequence[DrivingState], batches: Sequence[FixBatch], params: RuleParams
) -> list[Stepped[DrivingState]]:
    """`step` for many vehicles: moving and night found over all their fixes at once."""
    clocks = [_Clock.of(state) for state in states]
    sizes = [len(batch) for batch in batches]
    if not sum(sizes):
        return [(clock.state(), []) for clock in clocks]
    at_us = np.concatenate([batch.at_us for batch in batches])
    starts = np.cumsum([0, *sizes[:-1]])[np.array(sizes) > 0]
    first_previous_us = [
        batch.at_us[0] if clock.last_us is None else clock.last_us
        for clock, batch in zip(clocks, batches, strict=True)
        if len(batch)
    ]
    is_night = _midpoint_night(at_us, starts, np.array(first_previous_us, np.int64), params)
    speed_kmh = np.concatenate([batch.speed_kmh for batch in batches])
    flags = list(zip((speed_kmh > params.stop_speed_kmh).tolist(), is_night.tolist(), strict=True))
    stepped: list[Stepped[DrivingState]] = []
    begin = 0
    for clock, batch, size in zip(clocks, batches, sizes, strict=True):
        events = _advance(clock, batch, flags[begin : begin + size], params)
        stepped.append((clock.state(), events))
        begin += size
    return stepped


def _advance(
    clock: _Clock, batch: FixBatch, flags: list[tuple[bool, bool]], params: RuleParams
) -> list[tuple[int, RuleEvent]]:
    """Advance one vehicle's clock over its batch (moving, night at each fix); its events."""
    p = params.driving_time
    # Below this total the float sum of the intervals cannot exceed the limit: skip summing.
    daily_floor_us = p.max_daily_s * 1e6 * (1.0 - 1e-9)
    window_us = dt.timedelta(seconds=p.daily_window_s) // US
    events = []
    for pos, (at_us, (is_moving, is_night)) in enumerate(
        zip(batch.at_us.tolist(), flags, strict=True)
    ):
        clock.advance(at_us, is_moving, is_night, params, window_us)
        if clock.continuous_s > p.max_continuous_s:
            event = _event(batch, pos, "continuous", clock.continuous_s, p.max_continuous_s)
            events.append((pos, event))
        if clock.night_s > p.max_night_continuous_s:
            event = _event(batch, pos, "night_continuous", clock.night_s, p.max_night_continuous_s)
            events.append((pos, event))
        if clock.driven_us > daily_floor_us and (daily_s := clock.daily_s()) > p.max_daily_s:
            events.append((pos, _event(batch, pos, "daily", daily_s, p.max_daily_s)))
    return events


RULE: RuleSpec[DrivingState] = RuleSpec(
    rule_id=RULE_ID,
    title=Text("疲劳驾驶", "Driving-time limits exceeded"),
    legal_basis=_LEGAL_BASIS,
    initial_state=DrivingState,
    step=step,
    step_fleet=step_fleet,
)
