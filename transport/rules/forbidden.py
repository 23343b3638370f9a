"""Forbidden segments, zones, tunnels, bridges and dense areas entered while in force."""

from __future__ import annotations

from typing import TYPE_CHECKING

from geodata.restrictions import RestrictionKind
from transport.rules.base import RuleEvent, RuleSpec, Text, restriction_event

if TYPE_CHECKING:
    from transport.rules.base import Observation
    from transport.rules.params import RuleParams

__all__ = ["KINDS", "RULE", "RULE_ID", "step"]

RULE_ID = "forbidden_entry"
KINDS = frozenset(
    {
        RestrictionKind.FORBIDDEN_SEGMENT,
        RestrictionKind.ZONE,
        RestrictionKind.TUNNEL,
        RestrictionKind.BRIDGE,
        RestrictionKind.DENSE_AREA,
    }
)


def step(state: None, obs: Observation, params: RuleParams) -> tuple[None, tuple[RuleEvent, ...]]:
    """Emit one event per forbidden restriction the path or position is in while it applies."""
    events = []
    for idx in obs.road.of_kinds(obs.hit_idx, KINDS).tolist():
        name = obs.road.compiled.restrictions[idx].properties.name
        fact = Text(f"禁行期间驶入：{name.zh}", f"Entered while banned: {name.en}")
        events.append(restriction_event(RULE_ID, obs, idx, fact=fact))
    return state, tuple(events)


RULE: RuleSpec[None] = RuleSpec(
    rule_id=RULE_ID,
    title=Text("限行时段驶入禁行路段或区域", "Restricted road or zone entered while banned"),
    legal_basis=Text(
        "《危险货物道路运输安全管理办法》第四十九条；《危险化学品安全管理条例》第四十九条",
        "Order 29 Art 49; Regulation 591 Art 49",
    ),
    initial_state=lambda: None,
    step=step,
)
