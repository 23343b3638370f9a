"""Compliance rules over the matched stream: one module per rule, their order in `RULES`.

`RULES` are per-vehicle state machines run by `transport.monitoring.Monitor`; `waiting_clusters`
is the fleet-wide rule, run over all vehicles at one moment.
"""

from __future__ import annotations

from typing import Any

from transport.rules import (
    driving_time,
    forbidden,
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
    "forbidden",
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
    route_deviation.RULE,
)
