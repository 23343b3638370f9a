"""Glue between loads, restriction layers and the router, shared by `hazmat route` and the API.

`routing_index` compiles restriction layers (and, by default, those derived from the network's
OSM tags) onto a network and prepares it for routing; `waybill_cargo` is the load of a waybill
as the router reads it; `plan_json` is a route plan as plain JSON with its route's geometry.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Any

from geodata import osm_restrictions, restriction_index, route_graph, routing
from geodata.restrictions import Restriction, RestrictionLayer
from transport.cargo import CargoProfile
from transport.rules.base import cargo_key

if TYPE_CHECKING:
    from collections.abc import Iterable

    from geodata.network import RoadNetwork
    from geodata.restriction_index import CargoKey
    from geodata.route_explain import RoutePlan
    from transport import goods
    from transport.waybills import Waybill

__all__ = ["permits_in_force", "plan_json", "routing_index", "waybill_cargo"]

logger = logging.getLogger(__name__)


def routing_index(
    network: RoadNetwork,
    layers: Iterable[RestrictionLayer | Restriction],
    *,
    with_osm: bool = True,
) -> route_graph.RoutingIndex:
    """Compile layers onto a network, with the OSM-derived restrictions, ready for routing.

    A restriction id met again in a later layer is dropped with a warning (the first one
    counts), so layers stored independently never make the whole index fail.
    """
    chosen: dict[str, Restriction] = {}
    pieces = list(layers)
    if with_osm:
        pieces.append(osm_restrictions.derive_layer(network))
    for piece in pieces:
        for restriction in piece.features if isinstance(piece, RestrictionLayer) else [piece]:
            rid = restriction.properties.id
            if rid in chosen:
                logger.warning("restriction id %s repeats across layers: later one ignored", rid)
                continue
            chosen[rid] = restriction
    compiled = restriction_index.compile_layers(network, list(chosen.values()))
    return route_graph.build_routing_index(network, compiled)


def permits_in_force(waybill: Waybill, at: dt.datetime) -> set[str]:
    """The kinds of the waybill's special permits valid at a moment (``highly_toxic`` ...)."""
    return {p.kind.value for p in waybill.permits if p.valid_from_at <= at < p.valid_until_at}


def waybill_cargo(
    waybill: Waybill, *, at: dt.datetime | None = None, catalogue: goods.Catalogue | None = None
) -> CargoKey:
    """The load of a waybill as the router reads it, with the permits valid at `at`.

    `at` defaults to the planned departure.

    Raises
    ------
    CargoError
        When the catalogue does not read the waybill's goods lines.
    """
    at = waybill.planned_departure_at if at is None else at
    profile = CargoProfile.from_lines(
        [line.to_goods_line() for line in waybill.lines],
        catalogue,
        permits=sorted(permits_in_force(waybill, at)),
    )
    return cargo_key(profile)


def plan_json(index: route_graph.RoutingIndex, plan: RoutePlan) -> dict[str, Any]:
    """A plan as plain JSON values, with its route's WGS-84 geometry when there is one."""
    out = plan.to_dict()
    if plan.route is not None:
        out["geometry"] = routing.route_line(index, plan.route).__geo_interface__
    return out
