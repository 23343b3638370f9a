"""Forbidden segments, zones, tunnels, bridges and dense areas entered while in force."""

from __future__ import annotations

from typing import TYPE_CHECKING

from geodata.restrictions import RestrictionKind
from transport.rules.base import RuleEvent, RuleSpec, Text, restriction_event

if TYPE_CHECKING:
    from transport.rules.base import FixBatch, RoadContext
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


def step(
    state: None, batch: FixBatch, params: RuleParams
) -> tuple[None, list[tuple[int, RuleEvent]]]:
    """Emit one event per fix and forbidden restriction its path or position is in."""
    events = []
    road = batch.road
    for pos, idx in zip(*(a.tolist() for a in batch.hits_of_kinds(KINDS)), strict=True):
        fact = road.memoized((RULE_ID, idx), _fact, road, idx)
        events.append((pos, restriction_event(RULE_ID, batch, pos, idx, fact=fact)))
    return state, events


def _fact(road: RoadContext, idx: int) -> Text:
    """The fact of entering restriction `idx`."""
    name = road.compiled.restrictions[idx].properties.name
    return Text(f"禁行期间驶入：{name.zh}", f"Entered while banned: {name.en}")


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
