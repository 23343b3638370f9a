"""Compliance rules over the matched stream: one module per rule, their order in `RULES`.

`RULES` are per-vehicle state machines run by `transport.monitoring.Monitor`. The fleet-level
parking rules (`lot_occupancy`: lot capacity and segregation of incompatible goods;
`waiting_clusters`) are per-vehicle too: they read the other vehicles' current stops from the
`fleet_view.FleetView` the monitor is given, and raise nothing without one.
"""

from __future__ import annotations

from typing import Any

from transport.rules import (
    driving_time,
    fleet_view,
    forbidden,
    lot_occupancy,
    parking,
    route_deviation,
    speed,
    tunnel_category,
    waiting_clusters,
    water_source,
)
from transport.rules.base import RuleSpec

__all__ = [
    "RULES",
    "driving_time",
    "fleet_view",
    "forbidden",
    "lot_occupancy",
    "parking",
    "route_deviation",
    "speed",
    "tunnel_category",
    "waiting_clusters",
    "water_source",
]

RULES: tuple[RuleSpec[Any], ...] = (
    forbidden.RULE,
    tunnel_category.RULE,
    water_source.RULE,
    speed.RULE,
    driving_time.RULE,
    parking.RULE,
    lot_occupancy.CAPACITY_RULE,
    lot_occupancy.SEGREGATION_RULE,
    waiting_clusters.RULE,
    route_deviation.RULE,
)
