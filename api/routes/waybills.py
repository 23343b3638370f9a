"""E-waybills API: create, read, dispatch, loading check, depart, arrive, archive, cancel.

A carrier creates its waybills and moves them; the loader at the waybill's loading site runs
the loading checks; police read every waybill. The caller's scope decides which it sees.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import shapely
from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from api.deps import (
    MAX_ID,
    CatalogueDep,
    CurrentAccount,
    OwnCarrier,
    RecordId,
    Scope,
    ScopeDep,
    SessionDep,
    SettingsDep,
    require_role,
)
from api.errors import found
from api.schemas.waybills import (
    CheckRunPublic,
    EventCreate,
    LoadingCheckCreate,
    WaybillCreate,
    WaybillDocument,
    WaybillPublic,
)
from transport import waybills
from transport.accounts import Role
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
