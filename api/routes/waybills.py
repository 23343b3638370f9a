"""E-waybills API: create, read, dispatch, loading check, depart, arrive, archive, cancel."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import shapely
from fastapi import APIRouter, HTTPException, Query
from sqlalchemy.orm import Session

from api.deps import CarrierScope, CatalogueDep, SessionDep, SettingsDep
from api.schemas.waybills import (
    CheckRunPublic,
    EventCreate,
    LoadingCheckCreate,
    WaybillCreate,
    WaybillDocument,
    WaybillPublic,
)
from transport import waybills
from transport.store import check_runs
from transport.store import waybills as waybill_store
from transport.waybills import WaybillEvent, WaybillState

router = APIRouter(prefix="/carriers/{carrier_id}/waybills", tags=["waybills"])


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


def _found(waybill: waybills.Waybill | None, waybill_id: int) -> waybills.Waybill:
    """Return the waybill or answer 404."""
    if waybill is None:
        raise HTTPException(404, detail=f"waybill {waybill_id} not found / 运单不存在")
    return waybill


@router.post("", status_code=201)
def create_waybill(
    session: SessionDep, carrier_id: CarrierScope, catalogue: CatalogueDep, body: WaybillCreate
) -> WaybillPublic:
    """Create a waybill in state draft; goods lines are described from the catalogue."""
    created = waybill_store.create_waybill(
        session, body.to_waybill(carrier_id), carrier_id=carrier_id, catalogue=catalogue
    )
    return _public(session, created)


@router.get("")
def read_waybills(
    session: SessionDep,
    carrier_id: CarrierScope,
    state: Annotated[WaybillState | None, Query()] = None,
    vehicle_id: Annotated[int | None, Query()] = None,
) -> list[WaybillPublic]:
    """List the carrier's waybills, newest first."""
    found = waybill_store.list_waybills(
        session, carrier_id=carrier_id, state=state, vehicle_id=vehicle_id
    )
    return [_public(session, waybill) for waybill in found]


@router.get("/{waybill_id}")
def read_waybill(session: SessionDep, carrier_id: CarrierScope, waybill_id: int) -> WaybillPublic:
    """Return one waybill of the carrier."""
    waybill = waybill_store.get_waybill(session, waybill_id=waybill_id, carrier_id=carrier_id)
    return _public(session, _found(waybill, waybill_id))


def _apply(
    session: Session, carrier_id: int, waybill_id: int, event: WaybillEvent, body: EventCreate
) -> WaybillPublic:
    """Apply one lifecycle event; refusals become 409 through the error handlers."""
    waybill = waybill_store.apply_event(
        session, waybill_id=waybill_id, event=event, actor=body.actor, carrier_id=carrier_id
    )
    return _public(session, _found(waybill, waybill_id))


@router.post("/{waybill_id}/dispatch")
def dispatch_waybill(
    session: SessionDep, carrier_id: CarrierScope, waybill_id: int, body: EventCreate
) -> WaybillPublic:
    """Dispatch: the vehicle takes this trip (409 when it holds another active waybill)."""
    return _apply(session, carrier_id, waybill_id, WaybillEvent.DISPATCH, body)


@router.post("/{waybill_id}/depart")
def depart_waybill(
    session: SessionDep, carrier_id: CarrierScope, waybill_id: int, body: EventCreate
) -> WaybillPublic:
    """Depart: only after a passed loading check (409 with the reason otherwise)."""
    return _apply(session, carrier_id, waybill_id, WaybillEvent.DEPART, body)


@router.post("/{waybill_id}/arrive")
def arrive_waybill(
    session: SessionDep, carrier_id: CarrierScope, waybill_id: int, body: EventCreate
) -> WaybillPublic:
    """Arrive at the unloading place."""
    return _apply(session, carrier_id, waybill_id, WaybillEvent.ARRIVE, body)


@router.post("/{waybill_id}/archive")
def archive_waybill(
    session: SessionDep, carrier_id: CarrierScope, waybill_id: int, body: EventCreate
) -> WaybillPublic:
    """Archive an arrived waybill (kept at least 12 months)."""
    return _apply(session, carrier_id, waybill_id, WaybillEvent.ARCHIVE, body)


@router.post("/{waybill_id}/cancel")
def cancel_waybill(
    session: SessionDep, carrier_id: CarrierScope, waybill_id: int, body: EventCreate
) -> WaybillPublic:
    """Cancel a waybill that has not departed."""
    return _apply(session, carrier_id, waybill_id, WaybillEvent.CANCEL, body)


@router.post("/{waybill_id}/loading-checks", status_code=201)
def create_loading_check(
    session: SessionDep,
    settings: SettingsDep,
    catalogue: CatalogueDep,
    carrier_id: CarrierScope,
    waybill_id: int,
    body: LoadingCheckCreate,
) -> CheckRunPublic:
    """Run the five checks and the extra checks, record the run, and move the waybill.

    A failed check is still a recorded run (201, ``passed: false``); departure is then refused.
    """
    waybill = _found(
        waybill_store.get_waybill(session, waybill_id=waybill_id, carrier_id=carrier_id), waybill_id
    )
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
        carrier_id=carrier_id,
    )
    assert isinstance(run, check_runs.CheckRun)
    return CheckRunPublic.of(run)


@router.get("/{waybill_id}/loading-checks")
def read_loading_checks(
    session: SessionDep, carrier_id: CarrierScope, waybill_id: int
) -> list[CheckRunPublic]:
    """List every recorded loading check run of a waybill, oldest first."""
    _found(
        waybill_store.get_waybill(session, waybill_id=waybill_id, carrier_id=carrier_id), waybill_id
    )
    runs = check_runs.list_check_runs(session, waybill_id=waybill_id, carrier_id=carrier_id)
    return [CheckRunPublic.of(run) for run in runs]
