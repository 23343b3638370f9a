"""Speed: 80 km/h on expressways, 60 elsewhere or the lower posted limit, reduced at night.

An alert needs the speed over the limit for `min_duration_s` (one noisy fix never alerts):
the state is the moment the vehicle went over. The limits of a whole fleet's batches are found
at once (`step_fleet`); only the fixes over the limit are visited one by one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from transport.rules.base import EPOCH, US, RuleEvent, RuleSpec, Text, in_window_us

if TYPE_CHECKING:
    from collections.abc import Sequence

    from transport.rules.base import FixBatch, RoadContext, Stepped
    from transport.rules.params import RuleParams

__all__ = ["RULE", "RULE_ID", "SpeedState", "speed_limit_kmh", "step", "step_fleet"]

RULE_ID = "overspeed"
_LEGAL_BASIS = Text(
    "《危险货物道路运输安全管理办法》第四十六条：高速公路不超过80公里/小时，其他道路不超过60公里/小时",
    "Order 29 Art 46: at most 80 km/h on expressways, 60 km/h on other roads",
)


@dataclass(frozen=True)
class SpeedState:
    """Since when the vehicle has been over its limit, ``None`` when it is not."""

    over_since: dt.datetime | None = None
    peak_kmh: float = 0.0


def speed_limit_kmh(
    road: RoadContext, edge_id: np.ndarray, local_us: np.ndarray, params: RuleParams
) -> np.ndarray:
    """Return the limit on each fix's edge at the fix's local time (NaN when unmatched)."""
    p = params.speed
    matched = edge_id >= 0
    edges = edge_id[matched]
    is_expressway = road.is_expressway(p.expressway_highways)[edges]
    base = np.where(is_expressway, p.expressway_kmh, p.other_road_kmh)
    limit = np.full(len(edge_id), np.nan)
    limit[matched] = np.fmin(base, road.speed_limit_kmh[edges])  # NaN posted: the base
    night = in_window_us(local_us, params.night.start, params.night.end)
    limit[night] *= p.night_factor
    return limit


def step(state: SpeedState, batch: FixBatch, params: RuleParams) -> Stepped[SpeedState]:
    """Track time over the limit; emit at each fix once it lasted `min_duration_s`."""
    return step_fleet([state], [batch], params)[0]


def step_fleet(
    states: Sequence[SpeedState], batches: Sequence[FixBatch], params: RuleParams
) -> list[Stepped[SpeedState]]:
    """`step` for many vehicles (one road): limits and comparisons over all their fixes."""
    if not batches:
        return []
    edge_id = np.concatenate([batch.edge_id for batch in batches])
    limit = speed_limit_kmh(
        batches[0].road, edge_id, np.concatenate([b.local_us for b in batches]), params
    )
    speed = np.concatenate([batch.speed_kmh for batch in batches])
    is_over = speed > limit + params.speed.tolerance_kmh  # False where unmatched (NaN)
    # Unmatched fixes keep the state; matched ones under the limit reset it: count the resets
    # and visit only the fixes over the limit.
    resets = np.cumsum((edge_id >= 0) & ~is_over).tolist()
    over = np.flatnonzero(is_over).tolist()
    facts = _Over(resets, speed.tolist(), limit.tolist(), params)
    ends = np.cumsum([len(batch) for batch in batches]).tolist()
    stepped, k = [], 0
    for state, batch, end in zip(states, batches, ends, strict=True):
        begin = end - len(batch)
        first = k
        while k < len(over) and over[k] < end:
            k += 1
        stepped.append(facts.follow(state, batch, begin, over[first:k]))
    return stepped


@dataclass(frozen=True)
class _Over:
    """A fleet's fixes as plain lists: resets so far, speeds and limits, by fleet position."""

    resets: list[int]
    speed_kmh: list[float]
    limit_kmh: list[float]
    params: RuleParams

    def follow(
        self, state: SpeedState, batch: FixBatch, begin: int, over: list[int]
    ) -> Stepped[SpeedState]:
        """One vehicle's batch from fleet position `begin`, visiting the fixes `over` it."""
        since_us = None if state.over_since is None else (state.over_since - EPOCH) // US
        peak, events = state.peak_kmh, []
        seen_resets = self.resets[begin - 1] if begin else 0
        for at in over:
            pos = at - begin
            if self.resets[at] > seen_resets:
                since_us, peak, seen_resets = None, 0.0, self.resets[at]
            at_us = int(batch.at_us[pos])
            since_us = at_us if since_us is None else since_us
            peak = max(peak, self.speed_kmh[at])
            lasted_s = (at_us - since_us) / 1e6
            if lasted_s >= self.params.speed.min_duration_s:
                events.append((pos, _event(batch, pos, lasted_s, self.limit_kmh[at])))
        if len(batch) and self.resets[begin + len(batch) - 1] > seen_resets:
            since_us, peak = None, 0.0
        since = None if since_us is None else EPOCH + since_us * US
        return SpeedState(over_since=since, peak_kmh=peak), events


def _event(batch: FixBatch, pos: int, lasted_s: float, limit: float) -> RuleEvent:
    """The overspeed event of one fix."""
    fix = batch.fixes[pos]
    speed = fix.speed_kmh
    return RuleEvent(
        rule_id=RULE_ID,
        key="overspeed",
        at=fix.fix_at,
        severity="violation",
        fact=Text(
            f"超速 {lasted_s:.0f} 秒：{speed:.0f} km/h，限速 {limit:.0f} km/h",
            f"Over the limit for {lasted_s:.0f} s: {speed:.0f} km/h, limit {limit:.0f} km/h",
        ),
        legal_basis=_LEGAL_BASIS,
        edge_ids=batch.driven[pos],
        value=speed,
        limit=limit,
    )


RULE: RuleSpec[SpeedState] = RuleSpec(
    rule_id=RULE_ID,
    title=Text("危险货物运输车辆超速", "Hazmat vehicle over the speed limit"),
    legal_basis=_LEGAL_BASIS,
    initial_state=SpeedState,
    step=step,
    step_fleet=step_fleet,
)
