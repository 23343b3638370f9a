"""Speed: 80 km/h on expressways, 60 elsewhere or the lower posted limit, reduced at night.

An alert needs the speed over the limit for `min_duration_s` (one noisy fix never alerts):
the state is the moment the vehicle went over.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from transport.rules.base import RuleEvent, RuleSpec, Text, local_time

if TYPE_CHECKING:
    from transport.rules.base import Observation
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


def speed_limit_kmh(obs: Observation, params: RuleParams) -> float:
    """Return the limit on the fix's edge at the fix's local time."""
    p = params.speed
    highway = obs.road.highway[obs.edge_id]
    base = p.expressway_kmh if highway in p.expressway_highways else p.other_road_kmh
    posted = obs.road.speed_limit_kmh[obs.edge_id]
    limit = min(base, posted) if math.isfinite(posted) else base
    if params.night.contains(local_time(obs.fix.fix_at, params)):
        limit *= p.night_factor
    return limit


def step(
    state: SpeedState, obs: Observation, params: RuleParams
) -> tuple[SpeedState, tuple[RuleEvent, ...]]:
    """Track time over the limit; emit once it lasted `min_duration_s`."""
    if not obs.fix.is_matched:
        return state, ()
    limit = speed_limit_kmh(obs, params)
    speed = obs.fix.speed_kmh
    if speed <= limit + params.speed.tolerance_kmh:
        return SpeedState(), ()
    since = state.over_since or obs.fix.fix_at
    state = SpeedState(over_since=since, peak_kmh=max(state.peak_kmh, speed))
    lasted_s = (obs.fix.fix_at - since).total_seconds()
    if lasted_s < params.speed.min_duration_s:
        return state, ()
    event = RuleEvent(
        rule_id=RULE_ID,
        key="overspeed",
        at=obs.fix.fix_at,
        severity="violation",
        fact=Text(
            f"超速 {lasted_s:.0f} 秒：{speed:.0f} km/h，限速 {limit:.0f} km/h",
            f"Over the limit for {lasted_s:.0f} s: {speed:.0f} km/h, limit {limit:.0f} km/h",
        ),
        legal_basis=_LEGAL_BASIS,
        edge_ids=obs.fix.driven_edge_ids,
        value=speed,
        limit=limit,
    )
    return state, (event,)


RULE: RuleSpec[SpeedState] = RuleSpec(
    rule_id=RULE_ID,
    title=Text("危险货物运输车辆超速", "Hazmat vehicle over the speed limit"),
    legal_basis=_LEGAL_BASIS,
    initial_state=SpeedState,
    step=step,
)
