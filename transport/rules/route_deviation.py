"""Route deviation: outside the approved route's corridor for longer than `min_duration_s`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

import shapely

from transport.rules.base import RuleEvent, RuleSpec, Text

if TYPE_CHECKING:
    from transport.rules.base import Observation
    from transport.rules.params import RuleParams

__all__ = ["RULE", "RULE_ID", "DeviationState", "step"]

RULE_ID = "route_deviation"
_LEGAL_BASIS = Text(
    "《危险化学品安全管理条例》第五十条；《危险货物道路运输安全管理办法》第四十九条（按核定路线行驶）",
    "Regulation 591 Art 50; Order 29 Art 49 (drive the approved route)",
)


@dataclass(frozen=True)
class DeviationState:
    """Since when the vehicle has been outside its corridor, ``None`` when inside."""

    outside_since: dt.datetime | None = None
    max_distance_m: float = 0.0


def step(
    state: DeviationState, obs: Observation, params: RuleParams
) -> tuple[DeviationState, tuple[RuleEvent, ...]]:
    """Track time outside the corridor; emit once it lasted `min_duration_s`."""
    corridor = obs.vehicle.corridor
    if corridor is None:
        return DeviationState(), ()
    point = shapely.Point(obs.fix.x, obs.fix.y)
    if corridor.covers(point):
        return DeviationState(), ()
    distance_m = float(corridor.distance(point))
    since = state.outside_since or obs.fix.fix_at
    state = DeviationState(since, max(state.max_distance_m, distance_m))
    lasted_s = (obs.fix.fix_at - since).total_seconds()
    if lasted_s < params.deviation.min_duration_s:
        return state, ()
    event = RuleEvent(
        rule_id=RULE_ID,
        key="deviation",
        at=obs.fix.fix_at,
        severity="violation",
        fact=Text(
            f"偏离核定路线 {lasted_s:.0f} 秒，距走廊 {distance_m:.0f} 米",
            f"Off the approved route for {lasted_s:.0f} s, {distance_m:.0f} m from the corridor",
        ),
        legal_basis=_LEGAL_BASIS,
        edge_ids=obs.fix.driven_edge_ids,
        value=distance_m,
    )
    return state, (event,)


def corridor_of(route: shapely.Geometry, *, width_m: float) -> shapely.Geometry:
    """Return the corridor of a metric route line: the line buffered by half the width."""
    return shapely.buffer(route, width_m / 2.0)


RULE: RuleSpec[DeviationState] = RuleSpec(
    rule_id=RULE_ID,
    title=Text("偏离核定路线", "Deviation from the approved route"),
    legal_basis=_LEGAL_BASIS,
    initial_state=DeviationState,
    step=step,
)
