"""Registries API: carriers and each carrier's vehicles, tanks and people; CSV import/export."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException
from fastapi.responses import PlainTextResponse

from api.deps import CarrierScope, SessionDep
from api.schemas.registries import (
    CarrierCreate,
    CarrierPublic,
    ImportResult,
    PersonCreate,
    PersonPublic,
    TankCreate,
    TankPublic,
    VehicleCreate,
    VehiclePublic,
)
from transport import registry, registry_csv
from transport.registry_csv import RegistryKind
from transport.store import registries

router = APIRouter(prefix="/carriers", tags=["registries"])

_RECORD_OF_KIND: dict[RegistryKind, type[Any]] = {
    RegistryKind.VEHICLES: registry.Vehicle,
    RegistryKind.TANKS: registry.Tank,
    RegistryKind.PEOPLE: registry.Person,
}


@router.post("", status_code=201)
def create_carrier(session: SessionDep, body: CarrierCreate) -> CarrierPublic:
    """Register a carrier with its business permit."""
    carrier = registries.add_carrier(session, registry.Carrier.model_validate(body.model_dump()))
    return CarrierPublic.model_validate(carrier.model_dump())


@router.get("")
def read_carriers(session: SessionDep) -> list[CarrierPublic]:
    """List every carrier (police view; roles come with the API issue)."""
    return [
        CarrierPublic.model_validate(c.model_dump())
        for c in registries.list_carriers(session, all_carriers=True)
    ]


@router.get("/{carrier_id}")
def read_carrier(session: SessionDep, carrier_id: CarrierScope) -> CarrierPublic:
    """Return one carrier."""
    carrier = registries.get_carrier(session, carrier_id=carrier_id)
    assert carrier is not None  # checked by the scope dependency
    return CarrierPublic.model_validate(carrier.model_dump())


def _add(session: SessionDep, carrier_id: int, kind: type[Any], body: Any) -> Any:
    """Store one record of the carrier in the path."""
    record = kind.model_validate(body.model_dump() | {"carrier_id": carrier_id})
    return registries.add_record(session, record, carrier_id=carrier_id)


def _get(session: SessionDep, carrier_id: int, kind: type[Any], record_id: int) -> Any:
    """Return one record of the carrier, 404 when unknown or another carrier's."""
    found = registries.get_record(session, kind, record_id=record_id, carrier_id=carrier_id)
    if found is None:
        label = kind.__name__.lower()
        raise HTTPException(404, detail=f"{label} {record_id} not found / 未找到")
    return found


@router.post("/{carrier_id}/vehicles", status_code=201)
def create_vehicle(
    session: SessionDep, carrier_id: CarrierScope, body: VehicleCreate
) -> VehiclePublic:
    """Register a vehicle of the carrier."""
    return VehiclePublic.model_validate(
        _add(session, carrier_id, registry.Vehicle, body).model_dump()
    )


@router.get("/{carrier_id}/vehicles")
def read_vehicles(session: SessionDep, carrier_id: CarrierScope) -> list[VehiclePublic]:
    """List the carrier's vehicles."""
    records = registries.list_records(session, registry.Vehicle, carrier_id=carrier_id)
    return [VehiclePublic.model_validate(r.model_dump()) for r in records]


@router.get("/{carrier_id}/vehicles/{vehicle_id}")
def read_vehicle(session: SessionDep, carrier_id: CarrierScope, vehicle_id: int) -> VehiclePublic:
    """Return one vehicle of the carrier."""
    return VehiclePublic.model_validate(
        _get(session, carrier_id, registry.Vehicle, vehicle_id).model_dump()
    )


@router.post("/{carrier_id}/tanks", status_code=201)
def create_tank(session: SessionDep, carrier_id: CarrierScope, body: TankCreate) -> TankPublic:
    """Register a tank of the carrier."""
    return TankPublic.model_validate(_add(session, carrier_id, registry.Tank, body).model_dump())


@router.get("/{carrier_id}/tanks")
def read_tanks(session: SessionDep, carrier_id: CarrierScope) -> list[TankPublic]:
    """List the carrier's tanks."""
    records = registries.list_records(session, registry.Tank, carrier_id=carrier_id)
    return [TankPublic.model_validate(r.model_dump()) for r in records]


@router.get("/{carrier_id}/tanks/{tank_id}")
def read_tank(session: SessionDep, carrier_id: CarrierScope, tank_id: int) -> TankPublic:
    """Return one tank of the carrier."""
    return TankPublic.model_validate(_get(session, carrier_id, registry.Tank, tank_id).model_dump())


@router.post("/{carrier_id}/people", status_code=201)
def create_person(
    session: SessionDep, carrier_id: CarrierScope, body: PersonCreate
) -> PersonPublic:
    """Register a driver or escort of the carrier."""
    return PersonPublic.model_validate(
        _add(session, carrier_id, registry.Person, body).model_dump()
    )


@router.get("/{carrier_id}/people")
def read_people(session: SessionDep, carrier_id: CarrierScope) -> list[PersonPublic]:
    """List the carrier's drivers and escorts."""
    records = registries.list_records(session, registry.Person, carrier_id=carrier_id)
    return [PersonPublic.model_validate(r.model_dump()) for r in records]


@router.get("/{carrier_id}/people/{person_id}")
def read_person(session: SessionDep, carrier_id: CarrierScope, person_id: int) -> PersonPublic:
    """Return one driver or escort of the carrier."""
    return PersonPublic.model_validate(
        _get(session, carrier_id, registry.Person, person_id).model_dump()
    )


def _record_kind(kind: RegistryKind) -> type[Any]:
    """Return the record class of a carrier-owned kind; carriers are not a carrier's registry."""
    if kind not in _RECORD_OF_KIND:
        raise HTTPException(404, detail="use vehicles, tanks or people / 仅支持车辆、罐体、人员")
    return _RECORD_OF_KIND[kind]


@router.get("/{carrier_id}/registry/{kind}.csv", response_class=PlainTextResponse)
def export_registry(
    session: SessionDep, carrier_id: CarrierScope, kind: RegistryKind
) -> PlainTextResponse:
    """Export the carrier's vehicles, tanks or people as CSV."""
    records = registries.list_records(session, _record_kind(kind), carrier_id=carrier_id)
    text = registry_csv.write_records_csv(records, kind)
    return PlainTextResponse(text, media_type="text/csv; charset=utf-8")


@router.post("/{carrier_id}/registry/{kind}.csv")
def import_registry(
    session: SessionDep,
    carrier_id: CarrierScope,
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
