"""E-waybills terminals uploaded (JT/T 808 0x0701), recorded with their vehicle and waybill.

The content is vendor-defined bytes and is kept as sent. An upload is linked to the registry
vehicle its vehicle key names and, when its text (GBK, as JT/T 808 strings are) carries the
number of that vehicle's active waybill, to that waybill.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, cast

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from transport.store import models, waybills
from transport.store.engine import dialect_insert
from transport.store.scope import check_scope, scoped
from transport.store.vehicle_keys import resolve_vehicle_keys

if TYPE_CHECKING:
    from collections.abc import Mapping

    from sqlalchemy import Table
    from sqlalchemy.orm import Session

    from transport.gateway.terminal_registry import KeptWaybill
    from transport.waybills import Waybill

__all__ = [
    "StoredWaybillUpload",
    "list_waybill_uploads",
    "record_waybill_uploads",
]


class StoredWaybillUpload(BaseModel):
    """A recorded upload with the registry vehicle, carrier and waybill it was linked to."""

    model_config = ConfigDict(frozen=True)

    id: int
    phone: str
    vehicle_key: str
    vehicle_id: int | None
    carrier_id: int | None
    waybill_id: int | None
    content: bytes
    received_at: datetime


def record_waybill_uploads(
    session: Session, uploads: Mapping[str, KeptWaybill], *, all_carriers: bool
) -> set[str]:
    """Store the uploads not stored yet, each by its source key (the gateway's log entry,
    unique); return the source keys of those that were new.

    The recorder stores every carrier's uploads, so the scope must be ``all_carriers=True``.
    """
    check_scope(None, all_carriers)
    if not uploads:
        return set()
    refs = resolve_vehicle_keys(session, {upload.vehicle_id for upload in uploads.values()})
    registered = {ref.vehicle_id for ref in refs.values() if ref.vehicle_id is not None}
    active = waybills.find_active_waybills(session, vehicle_ids=registered, all_carriers=True)
    rows = []
    for source_key, upload in uploads.items():
        ref = refs[upload.vehicle_id]
        waybill = active.get(ref.vehicle_id) if ref.vehicle_id is not None else None
        rows.append({
            "source_key": source_key, "phone": upload.phone, "vehicle_key": upload.vehicle_id,
            "vehicle_id": ref.vehicle_id, "carrier_id": ref.carrier_id,
            "waybill_id": _named_waybill_id(upload, waybill),
            "content": upload.content, "received_at": upload.received_at,
        })  # fmt: skip
    table = cast("Table", models.WaybillUploadRow.__table__)
    statement = (
        dialect_insert(session)(table).on_conflict_do_nothing().returning(table.c.source_key)
    )
    return set(session.scalars(statement, rows))


def list_waybill_uploads(
    session: Session,
    *,
    vehicle_id: int | None = None,
    vehicle_key: str | None = None,
    carrier_id: int | None = None,
    all_carriers: bool = False,
    limit: int = 100,
) -> list[StoredWaybillUpload]:
    """Return the latest uploads in scope, newest first: of one registry vehicle or one
    vehicle key (a plate, or ``jt808:<phone>`` for a terminal registered without one) if
    given."""
    row = models.WaybillUploadRow
    statement = scoped(select(row), row, carrier_id=carrier_id, all_carriers=all_carriers)
    if vehicle_id is not None:
        statement = statement.where(row.vehicle_id == vehicle_id)
    if vehicle_key is not None:
        statement = statement.where(row.vehicle_key == vehicle_key)
    statement = statement.order_by(row.received_at.desc(), row.id.desc()).limit(limit)
    return [_stored(r) for r in session.scalars(statement)]


def _stored(row: models.WaybillUploadRow) -> StoredWaybillUpload:
    """Return the upload of a row."""
    return StoredWaybillUpload.model_validate(row, from_attributes=True)


def _named_waybill_id(upload: KeptWaybill, waybill: Waybill | None) -> int | None:
    """The waybill's id when the upload's text carries its number, else None."""
    if waybill is None or not waybill.number:
        return None
    return waybill.id if waybill.number in upload.text else None
