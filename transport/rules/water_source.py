"""Drinking-water source protection zones: level 1 never, level 2 and belt only with a permit.

Permits are applied when the index is compiled: level-1 zones exempt no one, level-2 zones and
belts are lifted by their layer exemptions and the water-source permit (see `CompileParams`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from geodata.restrictions import RestrictionKind
from transport.rules.base import RuleEvent, RuleSpec, Text, restriction_event

if TYPE_CHECKING:
    from transport.rules.base import FixBatch, RoadContext
    from transport.rules.params import RuleParams

__all__ = ["KINDS", "RULE", "RULE_ID", "step"]

RULE_ID = "water_source_zone"
KINDS = frozenset(
    {
        RestrictionKind.WATER_SOURCE_LEVEL1,
        RestrictionKind.WATER_SOURCE_LEVEL2,
        RestrictionKind.WATER_SOURCE_BELT,
    }
)
_LEVEL = {
    RestrictionKind.WATER_SOURCE_LEVEL1: Text("一级保护区", "level-1 zone"),
    RestrictionKind.WATER_SOURCE_LEVEL2: Text(
        "二级保护区（无通行许可）", "level-2 zone (no permit)"
    ),
    RestrictionKind.WATER_SOURCE_BELT: Text(
        "准保护区（无通行许可）", "protection belt (no permit)"
    ),
}


def step(
    state: None, batch: FixBatch, params: RuleParams
) -> tuple[None, list[tuple[int, RuleEvent]]]:
    """Emit one event per fix and water-source zone it is in without a valid permit."""
    events = []
    road = batch.road
    for pos, idx in zip(*(a.tolist() for a in batch.hits_of_kinds(KINDS)), strict=True):
        fact = road.memoized((RULE_ID, idx), _fact, road, idx)
        events.append((pos, restriction_event(RULE_ID, batch, pos, idx, fact=fact)))
    return state, events


def _fact(road: RoadContext, idx: int) -> Text:
    """The fact of being in water-source zone `idx`."""
    p = road.compiled.restrictions[idx].properties
    level = _LEVEL[p.kind]
    return Text(
        f"驶入饮用水水源{level.zh}：{p.name.zh}",
        f"In a drinking-water source {level.en}: {p.name.en}",
    )


RULE: RuleSpec[None] = RuleSpec(
    rule_id=RULE_ID,
    title=Text("驶入饮用水水源保护区", "Drinking-water source protection zone entered"),
    legal_basis=Text(
        "《危险化学品安全管理条例》第四十九条；《中华人民共和国水污染防治法》第六十五、六十六条",
        "Regulation 591 Art 49; Water Pollution Prevention and Control Law Art 65–66",
    ),
    initial_state=lambda: None,
    step=step,
)
