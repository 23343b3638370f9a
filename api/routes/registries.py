"""Registries API: carriers, and each carrier's tanks and people; CSV import and export.

A carrier account sees and writes its own records; police read every carrier's; admins
register carriers. Vehicles have their own router (`api.routes.vehicles`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException
from fastapi.responses import PlainTextResponse

from api.deps import OwnCarrier, RecordId, ScopeDep, SessionDep, require_role
from api.errors import found
from api.schemas.registries import (
    CarrierCreate,
    CarrierPublic,
    ImportResult,
    PersonCreate,
    PersonPublic,
    TankCreate,
    TankPublic,
)
from transport import registry, registry_csv
from transport.accounts import Role
from transport.registry_csv import RegistryKind
from transport.store import registries

router = APIRouter(prefix="/v1", tags=["registries"])

READERS = Depends(require_role(Role.POLICE, Role.CARRIER))
CARRIER_ONLY = Depends(require_role(Role.CARRIER))

_RECORD_OF_KIND: dict[RegistryKind, type[Any]] = {
    RegistryKind.VEHICLES: registry.Vehicle,
    RegistryKind.TANKS: registry.Tank,
    RegistryKind.PEOPLE: registry.Person,
}


@router.post("/carriers", status_code=201, dependencies=[Depends(require_role(Role.ADMIN))])
def create_carrier(session: SessionDep, body: CarrierCreate) -> CarrierPublic:
    """Register a carrier with its business permit (admins onboard carriers)."""
    carrier = registries.add_carrier(session, registry.Carrier.model_validate(body.model_dump()))
    return CarrierPublic.model_validate(carrier.model_dump())


@router.get(
    "/carriers", dependencies=[Depends(require_role(Role.POLICE, Role.CARRIER, Role.ADMIN))]
)
def read_carriers(session: SessionDep, scope: ScopeDep) -> list[CarrierPublic]:
    """List the carriers in scope: all for police and admins, its own for a carrier."""
    return [
        CarrierPublic.model_validate(c.model_dump())
        for c in registries.list_carriers(session, **scope.kwargs)
    ]


@router.get(
    "/carriers/{carrier_id}",
    dependencies=[Depends(require_role(Role.POLICE, Role.CARRIER, Role.ADMIN))],
)
def read_carrier(session: SessionDep, scope: ScopeDep, carrier_id: RecordId) -> CarrierPublic:
    """Return one carrier in scope (404 for another carrier's)."""
    carriers = [c for c in registries.list_carriers(session, **scope.kwargs) if c.id == carrier_id]
    carrier = found(carriers[0] if carriers else None, "carrier", "承运人", carrier_id)
    return CarrierPublic.model_validate(carrier.model_dump())


def add_record(session: SessionDep, carrier_id: int, kind: type[Any], body: Any) -> Any:
    """Store one record of the caller's carrier."""
    record = kind.model_validate(body.model_dump() | {"carrier_id": carrier_id})
    return registries.add_record(session, record, carrier_id=carrier_id)


def get_record(session: SessionDep, scope: ScopeDep, kind: type[Any], record_id: int) -> Any:
    """Return one record in scope, 404 when unknown or another carrier's."""
    spec = registries.RECORD_KINDS[kind]
    record = registries.get_record(session, kind, record_id=record_id, **scope.kwargs)
    return found(record, spec.label_en, spec.label_zh, record_id)


@router.post("/tanks", status_code=201, dependencies=[CARRIER_ONLY])
def create_tank(session: SessionDep, carrier_id: OwnCarrier, body: TankCreate) -> TankPublic:
    """Register a tank of the caller's carrier."""
    return TankPublic.model_validate(
        add_record(session, carrier_id, registry.Tank, body).model_dump()
    )


@router.get("/tanks", dependencies=[READERS])
def read_tanks(session: SessionDep, scope: ScopeDep) -> list[TankPublic]:
    """List the tanks in scope."""
    records = registries.list_records(session, registry.Tank, **scope.kwargs)
    return [TankPublic.model_validate(r.model_dump()) for r in records]


@router.get("/tanks/{tank_id}", dependencies=[READERS])
def read_tank(session: SessionDep, scope: ScopeDep, tank_id: RecordId) -> TankPublic:
    """Return one tank in scope."""
    return TankPublic.model_validate(
        get_record(session, scope, registry.Tank, tank_id).model_dump()
    )


@router.post("/people", status_code=201, dependencies=[CARRIER_ONLY])
def create_person(session: SessionDep, carrier_id: OwnCarrier, body: PersonCreate) -> PersonPublic:
    """Register a driver or escort of the caller's carrier."""
    return PersonPublic.model_validate(
        add_record(session, carrier_id, registry.Person, body).model_dump()
    )


@router.get("/people", dependencies=[READERS])
def read_people(session: SessionDep, scope: ScopeDep) -> list[PersonPublic]:
    """List the drivers and escorts in scope."""
    records = registries.list_records(session, registry.Person, **scope.kwargs)
    return [PersonPublic.model_validate(r.model_dump()) for r in records]


@router.get("/people/{person_id}", dependencies=[READERS])
def read_person(session: SessionDep, scope: ScopeDep, person_id: RecordId) -> PersonPublic:
    """Return one driver or escort in scope."""
    return PersonPublic.model_validate(
        get_record(session, scope, registry.Person, person_id).model_dump()
    )


def _record_kind(kind: RegistryKind) -> type[Any]:
    """Return the record class of a carrier-owned kind; carriers are not a carrier's registry."""
    if kind not in _RECORD_OF_KIND:
        raise HTTPException(404, detail="use vehicles, tanks or people / 仅支持车辆、罐体、人员")
    return _RECORD_OF_KIND[kind]


@router.get("/registry/{kind}.csv", response_class=PlainTextResponse, dependencies=[READERS])
def export_registry(session: SessionDep, scope: ScopeDep, kind: RegistryKind) -> PlainTextResponse:
    """Export the vehicles, tanks or people in scope as CSV."""
    records = registries.list_records(session, _record_kind(kind), **scope.kwargs)
    text = registry_csv.write_records_csv(records, kind)
    return PlainTextResponse(text, media_type="text/csv; charset=utf-8")


@router.post("/registry/{kind}.csv", dependencies=[CARRIER_ONLY])
def import_registry(
    session: SessionDep,
    carrier_id: OwnCarrier,
    kind: RegistryKind,
    csv_text: Annotated[str, Body(media_type="text/csv", description="CSV with a header row.")],
) -> ImportResult:
    """Import vehicles, tanks or people from CSV: create or update by natural key, all or none."""
    _record_kind(kind)
    records = registry_csv.read_records_csv(csv_text, kind, carrier_id=carrier_id)
    report = registries.upsert_records(session, records, carrier_id=carrier_id)
    return ImportResult(
        kind=kind.value,
        created_ids=[r.id for r in report.created],
        updated_ids=[r.id for r in report.updated],
    )
