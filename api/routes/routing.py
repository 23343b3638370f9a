"""Route planning API: the fastest compliant route for a load, explained; checks of given routes.

Restrictions are the stored layers in force (current versions) plus, unless ``with_osm`` is
false, those derived from the network's OSM tags, compiled once per set of layer versions
(`api.routing_support`). Schedules are evaluated at the moment the vehicle reaches each road.
Planners, carriers and police may route; a point off the network, or no road within 500 m of
it, is a 422 naming the field.
"""

from __future__ import annotations

import logging

import numpy as np
import shapely
from fastapi import APIRouter, Depends, HTTPException, Request

from api import routing_support
from api.deps import NetworkDep, SessionDep, require_role
from api.schemas.routing import (
    LayerRef,
    LoadBase,
    RouteCheckCreate,
    RouteCheckPublic,
    RouteCreate,
    RoutePlanPublic,
    ViolationPublic,
)
from geodata import route_check, route_explain, routing
from geodata.network import RoadNetwork
from geodata.restriction_index import CargoKey
from geodata.route_graph import RoutingIndex
from transport._errors import CargoError
from transport.accounts import Role
from transport.cargo import CargoProfile
from transport.rules.base import cargo_key

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/routes", tags=["routes"])

ROUTERS = Depends(require_role(Role.PLANNER, Role.CARRIER, Role.POLICE))
#: Longest drawn line checked (its points are matched to the roads every 15 m).
MAX_LINE_KM = 500.0


def load_of(body: LoadBase) -> CargoKey:
    """The load of a request; 422 naming the cargo when the catalogue does not read it."""
    try:
        profile = CargoProfile.from_lines(
            [line.to_goods_line() for line in body.cargo], permits=body.permits
        )
    except CargoError as err:
        detail = {"loc": ["body", "cargo"], "type": "cargo", "msg": str(err)}
        raise HTTPException(422, detail=[detail]) from err
    return cargo_key(profile)


def snap(index: RoutingIndex, lon: float, lat: float, field: str) -> routing.Snap:
    """A point snapped to the road; 422 naming `field` when it is off the network."""
    loc: list[str | int] = ["body", field]
    routing_support.check_in_area(index.network, np.array([lon, lat]), loc)
    try:
        return routing.snap_point(index, lon, lat)
    except routing.RoutingError as err:
        raise HTTPException(
            422, detail=[{"loc": loc, "type": "off_network", "msg": f"{err} / 附近无道路"}]
        ) from err


def _layers(key: tuple[tuple[int, int], ...]) -> list[LayerRef]:
    return [LayerRef(layer_id=i, version=v) for i, v in key]


@router.post("", dependencies=[ROUTERS])
def plan_route(
    request: Request, session: SessionDep, network: NetworkDep, body: RouteCreate
) -> RoutePlanPublic:
    """Route a load at a departure time; explain the detours, or what blocks and when to leave.

    The answer has the compliant route (GeoJSON, km, minutes), the unrestricted route beside it,
    each detour with the restrictions that forced it (ids, zh/en names); when no compliant route
    exists (``compliant: false``), the blocking restrictions and the earliest departure.
    """
    cargo = load_of(body)
    stored = routing_support.stored_index(request, session, network, with_osm=body.with_osm)
    origin = snap(stored.index, body.origin.lon, body.origin.lat, "origin")
    destination = snap(stored.index, body.destination.lon, body.destination.lat, "destination")
    plan = route_explain.plan_route(stored.index, origin, destination, body.depart_at, cargo)
    return RoutePlanPublic.of(plan, stored.index, stored.layers)


def _edges_of_body(network: RoadNetwork, body: RouteCheckCreate) -> np.ndarray | None:
    """The edge list of the body, or None when the body gives a line; 422 for unknown edges."""
    if body.edge_ids is None:
        return None
    edges = np.asarray(body.edge_ids, dtype=np.int64)
    unknown = np.flatnonzero(edges >= len(network.edges))
    if unknown.size:
        detail = [
            {"loc": ["body", "edge_ids", int(k)], "type": "unknown_edge",
             "msg": f"no edge {int(edges[k])} in network {network.name} / 路网中无此路段"}
            for k in unknown[:20]
        ]  # fmt: skip
        raise HTTPException(422, detail=detail)
    return edges


@router.post("/check", dependencies=[ROUTERS])
def check_route(
    request: Request, session: SessionDep, network: NetworkDep, body: RouteCheckCreate
) -> RouteCheckPublic:
    """Check a route (a drawn WGS-84 line, matched to the roads, or edge ids) for a load.

    Each road is entered at routing speeds from the departure; the answer lists every
    restriction broken, where it starts (lon, lat) and when it is entered.
    """
    cargo = load_of(body)
    edges = _edges_of_body(network, body)
    stored = routing_support.stored_index(request, session, network, with_osm=body.with_osm)
    if edges is None:
        assert body.route is not None
        line = shapely.from_wkt(body.route)
        routing_support.check_in_area(network, shapely.get_coordinates(line), ["body", "route"])
        if routing_support.line_length_m(network, line) > MAX_LINE_KM * 1000.0:
            msg = f"route is longer than {MAX_LINE_KM:.0f} km / 路线过长"
            raise HTTPException(422, detail=[{"loc": ["body", "route"], "type": "too_long",
                                              "msg": msg}])  # fmt: skip
        edges, violations = route_check.check_line(stored.index, line, body.depart_at, cargo)
    else:
        violations = route_check.check_route(stored.index, edges, body.depart_at, cargo)
    return RouteCheckPublic(
        depart_at=body.depart_at,
        compliant=not violations,
        km=round(float(stored.index.edge_length_m[edges].sum()) / 1000.0, 3),
        edge_ids=[int(e) for e in edges],
        violations=[ViolationPublic.of(v) for v in violations],
        network=network.name,
        layers=_layers(stored.layers),
    )
