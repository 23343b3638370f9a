"""ADR tunnel restriction code of the load against the ADR category of tunnels driven through.

The load's code is resolved (combined codes such as D/E, B1000C by carriage and explosive mass)
when its `CargoProfile` is built; a code keeps out of its own category and every later one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from transport import cargo
from transport.rules.base import RuleEvent, RuleSpec, Text

if TYPE_CHECKING:
    from transport.rules.base import Observation
    from transport.rules.params import RuleParams

__all__ = ["RULE", "RULE_ID", "barred_categories", "step"]

RULE_ID = "adr_tunnel_category"
_LEGAL_BASIS = Text(
    "JT/T 617（ADR 8.6 隧道限制）；隧道通行限制通告",
    "JT/T 617 (ADR 8.6 tunnel restrictions); tunnel restriction notices",
)


def barred_categories(code: str) -> np.ndarray:
    """Return the category codes (1..5 for A..E) a resolved load code may not enter."""
    tunnel_code = cargo.TunnelCode(code)
    return np.array(
        [
            i + 1
            for i, c in enumerate(cargo.TUNNEL_CATEGORIES)
            if not cargo.may_enter(tunnel_code, c)
        ],
        dtype=np.uint8,
    )


def step(state: None, obs: Observation, params: RuleParams) -> tuple[None, tuple[RuleEvent, ...]]:
    """Emit one event per tunnel (OSM way) of a category the load's code bars."""
    code = obs.vehicle.cargo_key.tunnel_code
    edges = np.asarray(obs.fix.driven_edge_ids, dtype=np.int64)
    if code is None or edges.size == 0:
        return state, ()
    categories = obs.road.compiled.edge_tunnel_category[edges]
    barred = edges[np.isin(categories, barred_categories(code))]
    events = []
    for way_id in dict.fromkeys(obs.road.osm_way_id[barred].tolist()):
        on_way = barred[obs.road.osm_way_id[barred] == way_id]
        letter = "-ABCDE"[int(obs.road.compiled.edge_tunnel_category[on_way[0]])]
        name = obs.road.edge_name[on_way[0]]
        label = name if isinstance(name, str) else f"OSM {way_id}"
        events.append(
            RuleEvent(
                rule_id=RULE_ID,
                key=f"tunnel:{way_id}",
                at=obs.fix.fix_at,
                severity="violation",
                fact=Text(
                    f"隧道代码 {code} 的货物驶入 {letter} 类隧道 {label}",
                    f"Load with tunnel code {code} in category {letter} tunnel {label}",
                ),
                legal_basis=_LEGAL_BASIS,
                edge_ids=tuple(int(e) for e in on_way),
            )
        )
    return state, tuple(events)


RULE: RuleSpec[None] = RuleSpec(
    rule_id=RULE_ID,
    title=Text("隧道限制代码与隧道类别不符", "Tunnel restriction code bars this tunnel category"),
    legal_basis=_LEGAL_BASIS,
    initial_state=lambda: None,
    step=step,
)
