"""E-waybills API: create, read, dispatch, loading check, depart, arrive, archive, cancel, route.

A carrier creates its waybills and moves them; the loader at the waybill's loading site runs
the loading checks; police read every waybill. The caller's scope decides which it sees.
A carrier may have a waybill's compliant route computed and stored as its approved route.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

import shapely
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from sqlalchemy.orm import Session

from api import routing_support
from api.deps import (
    MAX_ID,
    CatalogueDep,
    CurrentAccount,
    NetworkDep,
    OwnCarrier,
    RecordId,
    Scope,
    ScopeDep,
    SessionDep,
    SettingsDep,
    require_role,
)
from api.errors import found
from api.schemas.routing import RoutePlanPublic, WaybillRoutePublic
from api.schemas.waybills import (
    CheckRunPublic,
    EventCreate,
    LoadingCheckCreate,
    WaybillCreate,
    WaybillDocument,
    WaybillPublic,
)
from geodata import route_explain, routing
from geodata.route_graph import RoutingIndex
from transport import route_planning, waybills
from transport._errors import CargoError, ConflictError, TransitionError
from transport.accounts import Role
from transport.reasons import Reason
from transport.store import check_runs
from transport.store import waybills as waybill_store
from transport.waybills import WaybillEvent, WaybillState

router = APIRouter(prefix="/v1/waybills", tags=["waybills"])

READERS = Depends(require_role(Role.POLICE, Role.CARRIER, Role.LOADER))
CARRIER_ONLY = Depends(require_role(Role.CARRIER))


def _document(session: Session, waybill: waybills.Waybill) -> WaybillDocument:
    """Return the registry numbers the waybill shows."""
    p = waybill_store.load_parties(session, waybill)
    return WaybillDocument(
        carrier_name=p.carrier.name,
        carrier_permit_number=p.carrier.permit_number,
        vehicle_plate=p.vehicle.plate,
        vehicle_plate_colour=p.vehicle.plate_colour,
        operating_certificate_number=p.vehicle.operating_certificate_number,
        tank_number=p.tank.number if p.tank else None,
        tank_volume_m3=p.tank.volume_m3 if p.tank else None,
        driver_name=p.driver.name if p.driver else None,
        driver_certificate_number=p.driver.certificate_number if p.driver else None,
        driver_phone=p.driver.phone if p.driver else None,
        escort_name=p.escort.name if p.escort else None,
        escort_certificate_number=p.escort.certificate_number if p.escort else None,
        escort_phone=p.escort.phone if p.escort else None,
    )


def _public(session: Session, waybill: waybills.Waybill) -> WaybillPublic:
    """Return the public form of a stored waybill."""
    line = waybills.route_line(waybill)
    geojson = None if line is None else json.loads(shapely.to_geojson(line))
    return WaybillPublic.model_validate(
        waybill.model_dump()
        | {"planned_route_geojson": geojson, "document": _document(session, waybill)}
    )


def _get(session: Session, scope: Scope, waybill_id: int) -> waybills.Waybill:
    """Return the waybill in the caller's scope or answer 404."""
    waybill = waybill_store.get_waybill(session, waybill_id=waybill_id, **scope.waybill_kwargs)
    return found(waybill, "waybill", "运单", waybill_id)


@router.post("", status_code=201, dependencies=[CARRIER_ONLY])
def create_waybill(
    session: SessionDep, carrier_id: OwnCarrier, catalogue: CatalogueDep, body: WaybillCreate
) -> WaybillPublic:
    """Create a waybill in state draft; goods lines are described from the catalogue."""
    created = waybill_store.create_waybill(
        session, body.to_waybill(carrier_id), carrier_id=carrier_id, catalogue=catalogue
    )
    return _public(session, created)


@router.get("", dependencies=[READERS])
def read_waybills(
    session: SessionDep,
    scope: ScopeDep,
    state: Annotated[WaybillState | None, Query()] = None,
    vehicle_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> list[WaybillPublic]:
    """List the waybills in scope, newest first (a loader: those loaded at its site)."""
    listed = waybill_store.list_waybills(
        session, state=state, vehicle_id=vehicle_id, **scope.waybill_kwargs
    )
    return [_public(session, waybill) for waybill in listed]


@router.get("/{waybill_id}", dependencies=[READERS])
def read_waybill(session: SessionDep, scope: ScopeDep, waybill_id: RecordId) -> WaybillPublic:
    """Return one waybill in scope."""
    return _public(session, _get(session, scope, waybill_id))


def _apply(
    session: Session,
    carrier_id: int,
    waybill_id: int,
    event: WaybillEvent,
    actor: str,
) -> WaybillPublic:
    """Apply one lifecycle event; refusals become 409 through the error handlers."""
    waybill = waybill_store.apply_event(
        session, waybill_id=waybill_id, event=event, actor=actor, carrier_id=carrier_id
    )
    return _public(session, found(waybill, "waybill", "运单", waybill_id))


@router.post("/{waybill_id}/dispatch", dependencies=[CARRIER_ONLY])
def dispatch_waybill(
    session: SessionDep,
    carrier_id: OwnCarrier,
    account: CurrentAccount,
    waybill_id: RecordId,
    body: EventCreate,
) -> WaybillPublic:
    """Dispatch: the vehicle takes this trip (409 when it holds another active waybill)."""
    return _apply(
        session, carrier_id, waybill_id, WaybillEvent.DISPATCH, body.actor or account.label
    )


@router.post("/{waybill_id}/depart", dependencies=[CARRIER_ONLY])
def depart_waybill(
    session: SessionDep,
    carrier_id: OwnCarrier,
    account: CurrentAccount,
    waybill_id: RecordId,
    body: EventCreate,
) -> WaybillPublic:
    """Depart: only after a passed loading check (409 with the reason otherwise)."""
    return _apply(session, carrier_id, waybill_id, WaybillEvent.DEPART, body.actor or account.label)


@router.post("/{waybill_id}/arrive", dependencies=[CARRIER_ONLY])
def arrive_waybill(
    session: SessionDep,
    carrier_id: OwnCarrier,
    account: CurrentAccount,
    waybill_id: RecordId,
    body: EventCreate,
) -> WaybillPublic:
    """Arrive at the unloading place."""
    return _apply(session, carrier_id, waybill_id, WaybillEvent.ARRIVE, body.actor or account.label)


@router.post("/{waybill_id}/archive", dependencies=[CARRIER_ONLY])
def archive_waybill(
    session: SessionDep,
    carrier_id: OwnCarrier,
    account: CurrentAccount,
    waybill_id: RecordId,
    body: EventCreate,
) -> WaybillPublic:
    """Archive an arrived waybill (kept at least 12 months)."""
    return _apply(
        session, carrier_id, waybill_id, WaybillEvent.ARCHIVE, body.actor or account.label
    )


@router.post("/{waybill_id}/cancel", dependencies=[CARRIER_ONLY])
def cancel_waybill(
    session: SessionDep,
    carrier_id: OwnCarrier,
    account: CurrentAccount,
    waybill_id: RecordId,
    body: EventCreate,
) -> WaybillPublic:
    """Cancel a waybill that has not departed."""
    return _apply(session, carrier_id, waybill_id, WaybillEvent.CANCEL, body.actor or account.label)


@router.post(
    "/{waybill_id}/loading-checks",
    status_code=201,
    dependencies=[Depends(require_role(Role.LOADER))],
)
def create_loading_check(
    session: SessionDep,
    settings: SettingsDep,
    catalogue: CatalogueDep,
    scope: ScopeDep,
    waybill_id: RecordId,
    body: LoadingCheckCreate,
) -> CheckRunPublic:
    """Run the five checks and the extra checks, record the run, and move the waybill.

    Only the loader of the waybill's loading site runs it (404 for other sites' waybills).
    A failed check is still a recorded run (201, ``passed: false``); departure is then refused.
    """
    waybill = _get(session, scope, waybill_id)
    loaded = body.loaded_lines
    if loaded is None and body.loaded_as_stated:
        loaded = list(waybill.lines)
    run = check_runs.run_loading_check(
        session,
        waybill_id=waybill_id,
        checked_by=body.checked_by,
        place=body.place,
        loading_at=body.loading_at or datetime.now(UTC),
        loaded_lines=loaded,
        catalogue=catalogue,
        zone=settings.zone,
        carrier_id=waybill.carrier_id,
    )
    assert isinstance(run, check_runs.CheckRun)
    return CheckRunPublic.of(run)


@router.get("/{waybill_id}/loading-checks", dependencies=[READERS])
def read_loading_checks(
    session: SessionDep, scope: ScopeDep, waybill_id: RecordId
) -> list[CheckRunPublic]:
    """List every recorded loading check run of a waybill in scope, oldest first."""
    waybill = _get(session, scope, waybill_id)
    runs = check_runs.list_check_runs(session, waybill_id=waybill_id, carrier_id=waybill.carrier_id)
    return [CheckRunPublic.of(run) for run in runs]


def _route_ends(waybill: waybills.Waybill) -> tuple[tuple[float, float], tuple[float, float]]:
    """Loading and unloading points: the places' coordinates, else the stored route's ends.

    Raises
    ------
    ConflictError
        When a place has no coordinates and the waybill has no route to take them from.
    """
    line = waybills.route_line(waybill)
    ends = []
    for field, place, k in (("loading_place", waybill.loading_place, 0),
                            ("unloading_place", waybill.unloading_place, -1)):  # fmt: skip
        if place.lon is not None and place.lat is not None:
            ends.append((place.lon, place.lat))
        elif line is not None:
            lon, lat = line.coords[k]
            ends.append((float(lon), float(lat)))
        else:
            raise ConflictError([Reason(
                field, "no_coordinates", f"{field} {place.name!r} has no coordinates (lon, lat)",
                f"{place.name} 没有经纬度坐标，无法规划路线",
            )])  # fmt: skip
    return ends[0], ends[1]


def _snap_place(index: RoutingIndex, point: tuple[float, float], field: str) -> routing.Snap:
    """A waybill place snapped to the road (409 naming the place when it is off the network)."""
    try:
        if not routing_support.in_area(index.network, point):
            msg = f"({point[0]:.6f}, {point[1]:.6f}) lies outside the road network's area"
            raise routing.RoutingError(msg)
        return routing.snap_point(index, *point)
    except routing.RoutingError as err:
        zh = f"{field} 不在路网范围内或附近无道路"
        raise ConflictError([Reason(field, "off_network", str(err), zh)]) from err


def _no_route(plan: route_explain.RoutePlan, zone: ZoneInfo) -> HTTPException:
    """The 409 of a trip with no compliant route: what blocks it, the earliest departure.

    Moments are given in the local zone.
    """
    names_en = "; ".join(f"{v.name_en} [{v.restriction_id}]" for v in plan.blocking)
    names_zh = "；".join(f"{v.name_zh} [{v.restriction_id}]" for v in plan.blocking)
    depart = plan.depart_at.astimezone(zone).isoformat(timespec="minutes")
    en = f"no compliant route at {depart}"
    zh = f"计划出发时间 {depart} 无合规路线"
    if plan.unrestricted is None:
        en, zh = f"{en}: no road connects the places", f"{zh}：装卸地点之间无道路连接"
    elif plan.blocking:
        en, zh = f"{en}: blocked by {names_en}", f"{zh}：受阻于 {names_zh}"
    earliest = plan.earliest_depart_at
    if earliest is not None:
        earliest = earliest.astimezone(zone)
        en += f"; earliest departure {earliest.isoformat(timespec='minutes')}"
        zh += f"；最早可行出发时间 {earliest.isoformat(timespec='minutes')}"
    detail = {
        "loc": ["waybill", "planned_departure_at"], "type": "no_compliant_route",
        "msg": en, "msg_zh": zh,
        "blocking": [v.to_dict() for v in plan.blocking],
        "earliest_depart_at": None if earliest is None else earliest.isoformat(),
    }  # fmt: skip
    return HTTPException(409, detail=[detail])


@router.post("/{waybill_id}/route", dependencies=[CARRIER_ONLY])
def route_waybill(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    scope: ScopeDep,
    network: NetworkDep,
    waybill_id: RecordId,
) -> WaybillRoutePublic:
    """Compute the waybill's compliant route and store it as its approved (planned) route.

    From the loading to the unloading place (their coordinates; a place without them takes the
    stored route's end) at the planned departure, for the waybill's goods and the special
    permits valid then, with the stored layers in force and the OSM-derived restrictions.
    Route-deviation checks then use this route. 409 with the zh/en reason when no compliant
    route exists (with the blocking restrictions and the earliest departure), when a place is
    off the network, or when the waybill has departed or ended.
    """
    waybill = _get(session, scope, waybill_id)
    refusal = waybill_store.route_refusal(waybill.state)
    if refusal is not None:
        raise TransitionError([refusal])
    start, end = _route_ends(waybill)
    try:
        cargo = route_planning.waybill_cargo(waybill)
    except CargoError as err:
        raise ConflictError([Reason("lines", "cargo", str(err), f"货物无法识别：{err}")]) from err
    stored = routing_support.stored_index(request, session, network)
    origin = _snap_place(stored.index, start, "loading_place")
    destination = _snap_place(stored.index, end, "unloading_place")
    plan = route_explain.plan_route(
        stored.index, origin, destination, waybill.planned_departure_at, cargo
    )
    if plan.route is None:
        raise _no_route(plan, settings.zone)
    line = routing.route_line(stored.index, plan.route)
    updated = waybill_store.set_planned_route(
        session, waybill_id=waybill_id, route_wkt=shapely.to_wkt(line), **scope.kwargs
    )
    return WaybillRoutePublic(
        waybill=_public(session, found(updated, "waybill", "运单", waybill_id)),
        plan=RoutePlanPublic.of(plan, stored.index, stored.layers),
    )
