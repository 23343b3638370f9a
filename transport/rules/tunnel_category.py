"""ADR tunnel restriction code of the load against the ADR category of tunnels driven through.

The load's code is resolved (combined codes such as D/E, B1000C by carriage and explosive mass)
when its `CargoProfile` is built; a code keeps out of its own category and every later one.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import numpy as np

from transport import cargo, goods
from transport.rules.base import RuleEvent, RuleSpec, Text

if TYPE_CHECKING:
    from transport.rules.base import FixBatch
    from transport.rules.params import RuleParams

__all__ = ["RULE", "RULE_ID", "barred_categories", "step"]

RULE_ID = "adr_tunnel_category"
_LEGAL_BASIS = Text(
    "JT/T 617（ADR 8.6 隧道限制）；隧道通行限制通告",
    "JT/T 617 (ADR 8.6 tunnel restrictions); tunnel restriction notices",
)


@functools.cache
def barred_categories(code: str) -> np.ndarray:
    """Return the category codes (1..5 for A..E) a resolved load code may not enter."""
    tunnel_code = goods.TunnelCode(code)
    barred = np.array(
        [
            i + 1
            for i, c in enumerate(cargo.TUNNEL_CATEGORIES)
            if not cargo.may_enter(tunnel_code, c)
        ],
        dtype=np.uint8,
    )
    barred.flags.writeable = False
    return barred


@functools.cache
def _is_barred(code: str) -> np.ndarray:
    """Bool lookup over category codes 0..5: whether the load's code bars the category."""
    table = np.zeros(6, dtype=bool)
    table[barred_categories(code)] = True
    table.flags.writeable = False
    return table


def step(
    state: None, batch: FixBatch, params: RuleParams
) -> tuple[None, list[tuple[int, RuleEvent]]]:
    """Emit one event per fix and tunnel (OSM way) of a category the load's code bars."""
    code = batch.vehicle.cargo_key.tunnel_code
    if code is None or batch.driven_edge.size == 0:
        return state, []
    road = batch.road
    categories = road.compiled.edge_tunnel_category[batch.driven_edge]
    barred_at = np.flatnonzero(_is_barred(code)[categories])
    if barred_at.size == 0:
        return state, []
    fix_of = np.searchsorted(batch.driven_ptr, barred_at, side="right") - 1
    events = []
    for pos in dict.fromkeys(fix_of.tolist()):
        barred = batch.driven_edge[barred_at[fix_of == pos]]
        events += [(pos, e) for e in _events_at(batch, pos, barred, code)]
    return state, events


def _events_at(batch: FixBatch, pos: int, barred: np.ndarray, code: str) -> list[RuleEvent]:
    """The events of one fix: one per OSM way among the barred edges it drove."""
    road, fix = batch.road, batch.fixes[pos]
    events = []
    for way_id in dict.fromkeys(road.osm_way_id[barred].tolist()):
        on_way = barred[road.osm_way_id[barred] == way_id]
        letter = "-ABCDE"[int(road.compiled.edge_tunnel_category[on_way[0]])]
        name = road.edge_name[on_way[0]]
        label = name if isinstance(name, str) else f"OSM {way_id}"
        events.append(
            RuleEvent(
                rule_id=RULE_ID,
                key=f"tunnel:{way_id}",
                at=fix.fix_at,
                severity="violation",
                fact=Text(
                    f"隧道代码 {code} 的货物驶入 {letter} 类隧道 {label}",
                    f"Load with tunnel code {code} in category {letter} tunnel {label}",
                ),
                legal_basis=_LEGAL_BASIS,
                edge_ids=tuple(int(e) for e in on_way),
            )
        )
    return events


RULE: RuleSpec[None] = RuleSpec(
    rule_id=RULE_ID,
    title=Text("隧道限制代码与隧道类别不符", "Tunnel restriction code bars this tunnel category"),
    legal_basis=_LEGAL_BASIS,
    initial_state=lambda: None,
    step=step,
)
