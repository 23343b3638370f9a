"""Speed: 80 km/h on expressways, 60 elsewhere or the lower posted limit, reduced at night.

An alert needs the speed over the limit for `min_duration_s` (one noisy fix never alerts):
the state is the moment the vehicle went over.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from transport.rules.base import EPOCH, US, RuleEvent, RuleSpec, Text, in_window_us

if TYPE_CHECKING:
    from transport.rules.base import FixBatch
    from transport.rules.params import RuleParams

__all__ = ["RULE", "RULE_ID", "SpeedState", "speed_limit_kmh", "step"]

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


def speed_limit_kmh(batch: FixBatch, params: RuleParams) -> np.ndarray:
    """Return the limit on each fix's edge at the fix's local time (NaN when unmatched)."""
    p = params.speed
    matched = batch.edge_id >= 0
    edges = batch.edge_id[matched]
    is_expressway = batch.road.is_expressway(p.expressway_highways)[edges]
    base = np.where(is_expressway, p.expressway_kmh, p.other_road_kmh)
    limit = np.full(len(batch), np.nan)
    limit[matched] = np.fmin(base, batch.road.speed_limit_kmh[edges])  # NaN posted: the base
    night = in_window_us(batch.local_us, params.night.start, params.night.end)
    limit[night] *= p.night_factor
    return limit


def step(
    state: SpeedState, batch: FixBatch, params: RuleParams
) -> tuple[SpeedState, list[tuple[int, RuleEvent]]]:
    """Track time over the limit; emit at each fix once it lasted `min_duration_s`."""
    limit = speed_limit_kmh(batch, params)
    speed = batch.speed_kmh
    is_over = speed > limit + params.speed.tolerance_kmh  # False where unmatched (NaN)
    since_us = None if state.over_since is None else (state.over_since - EPOCH) // US
    peak, events = state.peak_kmh, []
    # Unmatched fixes keep the state; matched ones under the limit reset it: count the resets
    # and visit only the fixes over the limit.
    resets = np.cumsum((batch.edge_id >= 0) & ~is_over).tolist()
    seen_resets = 0
    for pos in np.flatnonzero(is_over).tolist():
        if resets[pos] > seen_resets:
            since_us, peak, seen_resets = None, 0.0, resets[pos]
        at_us = int(batch.at_us[pos])
        since_us = at_us if since_us is None else since_us
        peak = max(peak, float(speed[pos]))
        lasted_s = (at_us - since_us) / 1e6
        if lasted_s >= params.speed.min_duration_s:
            events.append((pos, _event(batch, pos, lasted_s, float(limit[pos]))))
    if resets and resets[-1] > seen_resets:
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
)
