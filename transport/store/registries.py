"""Store and read carriers, vehicles, tanks and people, always within a carrier scope."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from transport import registry
from transport._errors import ConflictError, RegistryError, ScopeError
from transport.reasons import Reason
from transport.store import models
from transport.store.scope import check_scope, scoped

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.orm import Session

__all__ = [
    "RECORD_KINDS",
    "UpsertReport",
    "add_carrier",
    "add_record",
    "get_carrier",
    "get_record",
    "list_carriers",
    "list_records",
    "upsert_carriers",
    "upsert_records",
]

logger = logging.getLogger(__name__)

R = TypeVar("R", registry.Vehicle, registry.Tank, registry.Person)


@dataclass(frozen=True)
class _Spec:
    """How one record kind is stored: its table and its natural key."""

    row: type[Any]
    key: tuple[str, ...]
    label_en: str
    label_zh: str


#: Record kinds of a carrier's registry, by domain class.
RECORD_KINDS: dict[type[Any], _Spec] = {
    registry.Vehicle: _Spec(models.VehicleRow, ("plate", "plate_colour"), "vehicle", "车辆"),
    registry.Tank: _Spec(models.TankRow, ("number",), "tank", "罐体"),
    registry.Person: _Spec(models.PersonRow, ("certificate_number",), "person", "人员"),
}


@dataclass(frozen=True)
class UpsertReport:
    """What an import did: records created and updated, in input order."""

    created: tuple[Any, ...]
    updated: tuple[Any, ...]


def _columns(record: registry.Carrier | R) -> dict[str, Any]:
    """Return the record's fields as column values (tuples as JSON lists, enums as text)."""
    data = record.model_dump(mode="json", exclude={"id"})
    for name, value in record.model_dump(exclude={"id"}).items():
        if hasattr(value, "isoformat"):
            data[name] = value  # dates stay dates
    return data


def _to_carrier(row: models.CarrierRow) -> registry.Carrier:
    """Return the domain carrier of a row."""
    return registry.Carrier.model_validate(row, from_attributes=True)


def add_carrier(session: Session, carrier: registry.Carrier) -> registry.Carrier:
    """Store a new carrier and return it with its id.

    Raises
    ------
    ConflictError
        When a carrier with the same permit number exists.
    """
    row = models.CarrierRow(**_columns(carrier))
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError as err:
        reason = Reason(
            "permit_number",
            "duplicate",
            f"a carrier with permit number {carrier.permit_number} exists",
            f"许可证号 {carrier.permit_number} 的承运人已存在",
        )
        raise ConflictError([reason]) from err
    return _to_carrier(row)


def get_carrier(
    session: Session, *, carrier_id: int, all_carriers: bool = False
) -> registry.Carrier | None:
    """Return one carrier, None when unknown (a carrier's scope is itself)."""
    row = session.get(models.CarrierRow, carrier_id)
    return None if row is None else _to_carrier(row)


def list_carriers(
    session: Session, *, carrier_id: int | None = None, all_carriers: bool = False
) -> list[registry.Carrier]:
    """Return the carriers in scope: one carrier, or every carrier for police."""
    check_scope(carrier_id, all_carriers)
    statement = select(models.CarrierRow).order_by(models.CarrierRow.id)
    if not all_carriers:
        statement = statement.where(models.CarrierRow.id == carrier_id)
    return [_to_carrier(row) for row in session.scalars(statement)]


def _to_record(kind: type[R], row: Any) -> R:
    """Return the domain record of a row."""
    return kind.model_validate(row, from_attributes=True)


def get_record(
    session: Session,
    kind: type[R],
    *,
    record_id: int,
    carrier_id: int | None = None,
    all_carriers: bool = False,
) -> R | None:
    """Return one vehicle, tank or person in scope, None when unknown or another carrier's."""
    spec = RECORD_KINDS[kind]
    statement = scoped(
        select(spec.row).where(spec.row.id == record_id),
        spec.row,
        carrier_id=carrier_id,
        all_carriers=all_carriers,
    )
    row = session.scalars(statement).one_or_none()
    return None if row is None else _to_record(kind, row)


def list_records(
    session: Session, kind: type[R], *, carrier_id: int | None = None, all_carriers: bool = False
) -> list[R]:
    """Return the vehicles, tanks or people in scope, by id."""
    spec = RECORD_KINDS[kind]
    statement = scoped(
        select(spec.row).order_by(spec.row.id),
        spec.row,
        carrier_id=carrier_id,
        all_carriers=all_carriers,
    )
    return [_to_record(kind, row) for row in session.scalars(statement)]


def _reference_reasons(session: Session, record: R, carrier_id: int, where: str) -> list[Reason]:
    """Return why a record's references do not hold: unknown carrier, another carrier's vehicle."""
    reasons = []
    if session.get(models.CarrierRow, carrier_id) is None:
        reasons.append(
            Reason("carrier_id", "unknown", f"carrier {carrier_id} does not exist", "承运人不存在")
        )
    vehicle_id = getattr(record, "vehicle_id", None)
    if vehicle_id is not None:
        vehicle = session.get(models.VehicleRow, vehicle_id)
        if vehicle is None or vehicle.carrier_id != carrier_id:
            reasons.append(
                Reason(
                    f"{where}vehicle_id",
                    "unknown",
                    f"vehicle {vehicle_id} is not in this carrier's registry",
                    f"本承运人名下没有车辆 {vehicle_id}",
                )
            )
    return reasons


def _check_owner(record: R, carrier_id: int) -> None:
    """Refuse a record that names another carrier than the scope."""
    if record.carrier_id != carrier_id:
        msg = f"record belongs to carrier {record.carrier_id}, scope is carrier {carrier_id}"
        raise ScopeError(msg)


def _duplicate(record: R, spec: _Spec, where: str = "") -> Reason:
    """Return the reason a record's natural key is taken."""
    key = " ".join(str(getattr(record, name)) for name in spec.key)
    return Reason(
        f"{where}{spec.key[0]}",
        "duplicate",
        f"{spec.label_en} {key} is already registered",
        f"{spec.label_zh} {key} 已登记",
    )


def add_record(session: Session, record: R, *, carrier_id: int) -> R:
    """Store a new vehicle, tank or person of one carrier and return it with its id.

    Raises
    ------
    RegistryError
        When the carrier or a referenced vehicle is not the scope's.
    ConflictError
        When the natural key (plate and colour, tank number, certificate number) is taken.
    """
    _check_owner(record, carrier_id)
    reasons = _reference_reasons(session, record, carrier_id, "")
    if reasons:
        raise RegistryError(reasons)
    spec = RECORD_KINDS[type(record)]
    row = spec.row(**_columns(record))
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError as err:
        raise ConflictError([_duplicate(record, spec)]) from err
    return _to_record(type(record), row)


def _find_by_key(session: Session, record: R, spec: _Spec) -> Any:
    """Return the stored row with the record's natural key, of any carrier, or None."""
    statement = select(spec.row)
    for name in spec.key:
        statement = statement.where(getattr(spec.row, name) == _columns(record)[name])
    if spec.row is not models.VehicleRow:  # only plates are unique nationwide
        statement = statement.where(spec.row.carrier_id == record.carrier_id)
    return session.scalars(statement).one_or_none()


def upsert_records(session: Session, records: Sequence[R], *, carrier_id: int) -> UpsertReport:
    """Create or update records by natural key, all of them or none.

    Raises
    ------
    RegistryError
        Naming every faulty record as ``rows[i]``; nothing is stored then.
    """
    reasons: list[Reason] = []
    for index, record in enumerate(records):
        _check_owner(record, carrier_id)
        reasons += _reference_reasons(session, record, carrier_id, f"rows[{index}].")
    if reasons:
        raise RegistryError(reasons)
    created: list[Any] = []
    updated: list[Any] = []
    with session.begin_nested():
        for index, record in enumerate(records):
            spec = RECORD_KINDS[type(record)]
            row = _find_by_key(session, record, spec)
            if row is not None and row.carrier_id != carrier_id:
                reasons.append(_duplicate(record, spec, f"rows[{index}]."))
            elif row is None:
                row = spec.row(**_columns(record))
                session.add(row)
                created.append(row)
            else:
                for name, value in _columns(record).items():
                    setattr(row, name, value)
                updated.append(row)
        if reasons:
            raise RegistryError(reasons)
        session.flush()
    return UpsertReport(
        tuple(_to_record(type(records[0]), row) for row in created),
        tuple(_to_record(type(records[0]), row) for row in updated),
    )


def upsert_carriers(
    session: Session, carriers: Sequence[registry.Carrier], *, all_carriers: bool
) -> UpsertReport:
    """Create or update carriers by permit number, all or none (police and admins only).

    Raises
    ------
    ScopeError
        Unless ``all_carriers=True``: one carrier cannot register others.
    """
    check_scope(None, all_carriers)
    created: list[models.CarrierRow] = []
    updated: list[models.CarrierRow] = []
    with session.begin_nested():
        for carrier in carriers:
            statement = select(models.CarrierRow).where(
                models.CarrierRow.permit_number == carrier.permit_number
            )
            row = session.scalars(statement).one_or_none()
            if row is None:
                row = models.CarrierRow(**_columns(carrier))
                session.add(row)
                created.append(row)
            else:
                for name, value in _columns(carrier).items():
                    setattr(row, name, value)
                updated.append(row)
        session.flush()
    return UpsertReport(
        tuple(_to_carrier(row) for row in created), tuple(_to_carrier(row) for row in updated)
    )
