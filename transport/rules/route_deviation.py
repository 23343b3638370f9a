"""Route deviation: outside the approved route's corridor for longer than `min_duration_s`.

The fixes of a whole fleet's batches are tested against their corridors at once (`step_fleet`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import shapely

from transport.rules.base import EPOCH, US, RuleEvent, RuleSpec, Text, step_alone

if TYPE_CHECKING:
    from collections.abc import Sequence

    from transport.rules.base import FixBatch, Stepped
    from transport.rules.params import RuleParams

__all__ = ["RULE", "RULE_ID", "DeviationState", "step_fleet"]

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


def step_fleet(
    states: Sequence[DeviationState], batches: Sequence[FixBatch], params: RuleParams
) -> list[Stepped[DeviationState]]:
    """Track each vehicle's time outside its corridor; emit at each fix once it lasted
    `min_duration_s`. Whether each fix lies outside its vehicle's corridor, and how far, is
    found for all the vehicles' fixes in one call each."""
    out: list[Stepped[DeviationState]] = [(DeviationState(), []) for _ in batches]
    located = [k for k, batch in enumerate(batches) if batch.vehicle.corridor is not None]
    if not located:
        return out
    sizes = [len(batches[k]) for k in located]
    corridors = np.empty(len(located), dtype=object)
    corridors[:] = [batches[k].vehicle.corridor for k in located]
    corridors = np.repeat(corridors, sizes)
    points = shapely.points(
        np.concatenate([batches[k].x for k in located]),
        np.concatenate([batches[k].y for k in located]),
    )
    is_outside = ~shapely.covers(corridors, points)
    distance_m = np.zeros(len(points))
    distance_m[is_outside] = shapely.distance(corridors[is_outside], points[is_outside])
    ends = np.cumsum(sizes).tolist()
    for k, begin, end in zip(located, [0, *ends], ends, strict=False):
        outside, off_m = is_outside[begin:end], distance_m[begin:end]
        out[k] = _follow(states[k], batches[k], outside, off_m, params)
    return out


def _follow(
    state: DeviationState,
    batch: FixBatch,
    is_outside: np.ndarray,
    distance_m: np.ndarray,
    params: RuleParams,
) -> Stepped[DeviationState]:
    """Follow one vehicle's time outside its corridor over its batch (outside and distance
    told for each fix)."""
    since = None if state.outside_since is None else (state.outside_since - EPOCH) // US
    worst_m, events = state.max_distance_m, []
    for pos, outside in enumerate(is_outside.tolist()):
        if not outside:
            since, worst_m = None, 0.0
            continue
        at_us, off_m = int(batch.at_us[pos]), float(distance_m[pos])
        since = at_us if since is None else since
        worst_m = max(worst_m, off_m)
        lasted_s = (at_us - since) / 1e6
        if lasted_s >= params.deviation.min_duration_s:
            events.append((pos, _event(batch, pos, lasted_s, off_m)))
    outside_since = None if since is None else EPOCH + since * US
    return DeviationState(outside_since, worst_m), events


def _event(batch: FixBatch, pos: int, lasted_s: float, distance_m: float) -> RuleEvent:
    """The deviation event of one fix."""
    fix = batch.fixes[pos]
    return RuleEvent(
        rule_id=RULE_ID,
        key="deviation",
        at=fix.fix_at,
        severity="violation",
        fact=Text(
            f"偏离核定路线 {lasted_s:.0f} 秒，距走廊 {distance_m:.0f} 米",
            f"Off the approved route for {lasted_s:.0f} s, {distance_m:.0f} m from the corridor",
        ),
        legal_basis=_LEGAL_BASIS,
        edge_ids=batch.driven[pos],
        value=distance_m,
    )


def corridor_of(route: shapely.Geometry, *, width_m: float) -> shapely.Geometry:
    """Return the corridor of a metric route line: the line buffered by half the width, prepared
    (each batch of the trip asks it whether it covers the fixes)."""
    corridor = shapely.buffer(route, width_m / 2.0)
    shapely.prepare(corridor)
    return corridor


RULE: RuleSpec[DeviationState] = RuleSpec(
    rule_id=RULE_ID,
    title=Text("偏离核定路线", "Deviation from the approved route"),
    legal_basis=_LEGAL_BASIS,
    initial_state=DeviationState,
    step=step_alone(step_fleet),
    step_fleet=step_fleet,
)
