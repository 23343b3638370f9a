"""The planner's view: every restriction layer by kind, as in force at a chosen moment.

Each kind is an overlay the planner can switch; a restriction in force at `at` is drawn solid,
one that is not (outside its schedule, dates or validity) dashed and faint, so moving `at`
through a day shows what a route would meet. Popups give schedule, cargo, exemptions, severity,
validity and legal basis.
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import folium

from maps import base, layers, live
from maps.base import esc

if TYPE_CHECKING:
    from pathlib import Path

    from geodata.network import RoadNetwork
    from geodata.restrictions import Restriction

__all__ = ["planner_map", "write_planner_map"]

logger = logging.getLogger(__name__)


def planner_map(
    network: RoadNetwork,
    restrictions: Sequence[Restriction],
    *,
    at: dt.datetime,
    time_zone: str = live.DISPLAY_TIME_ZONE,
) -> folium.Map:
    """Build the planner's map of restriction layers as in force at `at` (aware)."""
    m = base.new_map(network, title="限行图层 / Restriction layers")
    groups = layers.add_restriction_layers(m, network, restrictions, at=at)
    active = sum(r.is_in_force(at) for r in restrictions)
    local = at.astimezone(zoneinfo.ZoneInfo(time_zone))
    legend = (
        "<h4>限行图层 / Restriction layers</h4>"
        f"<div>{local:%Y-%m-%d %H:%M} ({esc(time_zone)})</div>"
        f'<div class="hz-planner-count">{active} / {len(restrictions)} 生效 in force</div>'
        f"{layers.restriction_legend_html(list(groups))}"
    )
    m.add_child(base.InfoControl(legend, css_class="hz-legend"))
    folium.LayerControl(collapsed=False).add_to(m)
    return m


def write_planner_map(path: Path, network: RoadNetwork, restrictions: Sequence[Restriction], *,
                      static_url: str | None = None, **kwargs: Any) -> Path:  # fmt: skip
    """Build the planner map (`planner_map` arguments) and write it as offline HTML."""
    return base.save(planner_map(network, restrictions, **kwargs), path, static_url=static_url)
