"""Tables of the registries, waybills and check runs (SQLAlchemy 2, typed).

Registry columns carry the names of the domain fields in :mod:`transport.registry`, so a row
turns into a record by ``model_validate(row, from_attributes=True)``. Lists and small nested
values (parties, places, permits) are JSON. Times are aware UTC (:class:`UTCDateTime`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from transport.accounts import Role
from transport.alerts.handling import AlertAction, HandlingState
from transport.five_checks import Outcome
from transport.layer_versions import LayerChange
from transport.registry import PersonRole, PlateColour
from transport.store._types import UTCDateTime
from transport.waybills import ACTIVE_STATES, WaybillState

__all__ = [
    "AccountRow",
    "AlertActionRow",
    "AlertEvidenceRow",
    "AlertRow",
    "Base",
    "CarrierRow",
    "CheckResultRow",
    "CheckRunRow",
    "PersonRow",
    "RestrictionLayerAuditRow",
    "RestrictionLayerRow",
    "RestrictionLayerVersionRow",
    "TankRow",
    "TrackPointRow",
    "VehicleRow",
    "WaybillEventRow",
    "WaybillLineRow",
    "WaybillRow",
    "WaybillUploadRow",
]

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _in(values: Any) -> str:
    """Return "('a', 'b')" for a CHECK or a partial index over enum values."""
    return "(" + ", ".join(f"'{value}'" for value in sorted(str(v) for v in values)) + ")"


def _utc_now() -> datetime:
    """Now, aware UTC (the moment a row is written)."""
    return datetime.now(UTC)


ACTIVE_WAYBILL = f"state IN {_in(ACTIVE_STATES)}"


class Base(DeclarativeBase):
    """Declarative base with constraint names Alembic can follow on both databases."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        date: Date(),
        dict[str, Any]: JSON(),
    }


class CarrierRow(Base):
    """A transport firm and its business permit."""

    __tablename__ = "carriers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    permit_number: Mapped[str] = mapped_column(String(64), unique=True)
    permitted_classes: Mapped[list[str]] = mapped_column(JSON)
    permit_valid_until: Mapped[date]
    created_at: Mapped[datetime] = mapped_column(default=_utc_now)


class VehicleRow(Base):
    """A vehicle of one carrier; plate and colour are unique nationwide."""

    __tablename__ = "vehicles"
    __table_args__ = (
        UniqueConstraint("plate", "plate_colour"),
        CheckConstraint(f"plate_colour IN {_in(PlateColour)}", name="plate_colour"),
        CheckConstraint("rated_load_kg > 0", name="rated_load_kg"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    carrier_id: Mapped[int] = mapped_column(ForeignKey("carriers.id"), index=True)
    plate: Mapped[str] = mapped_column(String(16))
    plate_colour: Mapped[str] = mapped_column(String(16))
    licence_number: Mapped[str] = mapped_column(String(64))
    licence_valid_until: Mapped[date]
    operating_certificate_number: Mapped[str] = mapped_column(String(64))
    operating_certificate_valid_until: Mapped[date]
    rated_load_kg: Mapped[float]
    is_tank: Mapped[bool]
    terminal_phone: Mapped[str | None] = mapped_column(String(20))


class TankRow(Base):
    """A tank with its inspection validity and permitted media (UN numbers, JSON list)."""

    __tablename__ = "tanks"
    __table_args__ = (
        UniqueConstraint("carrier_id", "number"),
        CheckConstraint("volume_m3 > 0", name="volume_m3"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    carrier_id: Mapped[int] = mapped_column(ForeignKey("carriers.id"), index=True)
    number: Mapped[str] = mapped_column(String(64))
    volume_m3: Mapped[float]
    inspection_valid_until: Mapped[date]
    permitted_un_numbers: Mapped[list[str]] = mapped_column(JSON)
    vehicle_id: Mapped[int | None] = mapped_column(ForeignKey("vehicles.id"))


class PersonRow(Base):
    """A driver or escort of one carrier."""

    __tablename__ = "people"
    __table_args__ = (
        UniqueConstraint("carrier_id", "certificate_number"),
        CheckConstraint(f"role IN {_in(PersonRole)}", name="role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    carrier_id: Mapped[int] = mapped_column(ForeignKey("carriers.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    certificate_number: Mapped[str] = mapped_column(String(64))
    permitted_classes: Mapped[list[str]] = mapped_column(JSON)
    certificate_valid_until: Mapped[date]
    phone: Mapped[str | None] = mapped_column(String(32))


class WaybillRow(Base):
    """An e-waybill; at most one active waybill per vehicle (partial unique index)."""

    __tablename__ = "waybills"
    __table_args__ = (
        UniqueConstraint("carrier_id", "number"),
        CheckConstraint(f"state IN {_in(WaybillState)}", name="state"),
        Index(
            "uq_waybills_active_vehicle",
            "vehicle_id",
            unique=True,
            sqlite_where=text(ACTIVE_WAYBILL),
            postgresql_where=text(ACTIVE_WAYBILL),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    carrier_id: Mapped[int] = mapped_column(ForeignKey("carriers.id"), index=True)
    number: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(24), default=WaybillState.DRAFT.value)
    consignor: Mapped[dict[str, Any]]
    consignee: Mapped[dict[str, Any]]
    loader: Mapped[dict[str, Any]]
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicles.id"), index=True)
    trailer_plate: Mapped[str | None] = mapped_column(String(16))
    tank_id: Mapped[int | None] = mapped_column(ForeignKey("tanks.id"))
    driver_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    escort_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    loading_place: Mapped[dict[str, Any]]
    unloading_place: Mapped[dict[str, Any]]
    planned_departure_at: Mapped[datetime]
    planned_route_wkt: Mapped[str | None] = mapped_column(Text)
    emergency_contact: Mapped[dict[str, Any]]
    permits: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=_utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=_utc_now, onupdate=_utc_now)

    lines: Mapped[list[WaybillLineRow]] = relationship(
        order_by="WaybillLineRow.position", cascade="all, delete-orphan", lazy="selectin"
    )


class WaybillLineRow(Base):
    """One goods line of a waybill, as stated (names and class filled from the catalogue)."""

    __tablename__ = "waybill_lines"
    __table_args__ = (
        UniqueConstraint("waybill_id", "position"),
        CheckConstraint("quantity > 0", name="quantity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    waybill_id: Mapped[int] = mapped_column(ForeignKey("waybills.id", ondelete="CASCADE"))
    position: Mapped[int]
    un_number: Mapped[str] = mapped_column(String(4))
    name: Mapped[str | None] = mapped_column(String(300))
    hazard_class: Mapped[str | None] = mapped_column(String(8))
    packing_group: Mapped[str | None] = mapped_column(String(3))
    quantity: Mapped[float]
    unit: Mapped[str] = mapped_column(String(4))
    carriage: Mapped[str] = mapped_column(String(16))
    mass_kg: Mapped[float | None]
    net_explosive_mass_kg: Mapped[float | None]


class WaybillEventRow(Base):
    """One accepted lifecycle event of a waybill: who, when, from which state to which."""

    __tablename__ = "waybill_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    waybill_id: Mapped[int] = mapped_column(ForeignKey("waybills.id"), index=True)
    event: Mapped[str] = mapped_column(String(24))
    from_state: Mapped[str] = mapped_column(String(24))
    to_state: Mapped[str] = mapped_column(String(24))
    actor: Mapped[str] = mapped_column(String(100))
    event_at: Mapped[datetime] = mapped_column(default=_utc_now)


class CheckRunRow(Base):
    """One loading check run: who ran it, when, where, for which loading time, the verdict."""

    __tablename__ = "check_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    waybill_id: Mapped[int] = mapped_column(ForeignKey("waybills.id"), index=True)
    carrier_id: Mapped[int] = mapped_column(ForeignKey("carriers.id"), index=True)
    checked_by: Mapped[str] = mapped_column(String(100))
    checked_at: Mapped[datetime] = mapped_column(default=_utc_now)
    loading_at: Mapped[datetime]
    place_name: Mapped[str] = mapped_column(String(200))
    lon: Mapped[float | None]
    lat: Mapped[float | None]
    passed: Mapped[bool]
    loaded_lines: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)

    results: Mapped[list[CheckResultRow]] = relationship(
        order_by="CheckResultRow.position", cascade="all, delete-orphan", lazy="selectin"
    )


class CheckResultRow(Base):
    """The result of one check within a run."""

    __tablename__ = "check_results"
    __table_args__ = (
        UniqueConstraint("check_run_id", "position"),
        CheckConstraint(f"outcome IN {_in(Outcome)}", name="outcome"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    check_run_id: Mapped[int] = mapped_column(ForeignKey("check_runs.id", ondelete="CASCADE"))
    position: Mapped[int]
    check_id: Mapped[str] = mapped_column(String(40))
    outcome: Mapped[str] = mapped_column(String(16))
    fact: Mapped[str] = mapped_column(Text)
    reason_en: Mapped[str] = mapped_column(Text)
    reason_zh: Mapped[str] = mapped_column(Text)
    legal_basis: Mapped[str] = mapped_column(String(200))


class AccountRow(Base):
    """A user account: role, tenant (carrier) or loading site, and the password's hash only."""

    __tablename__ = "accounts"
    __table_args__ = (CheckConstraint(f"role IN {_in(Role)}", name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    carrier_id: Mapped[int | None] = mapped_column(ForeignKey("carriers.id"), index=True)
    loader_site: Mapped[str | None] = mapped_column(String(200))
    display_name: Mapped[str | None] = mapped_column(String(100))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=_utc_now)


class TrackPointRow(Base):
    """One stored fix of a vehicle (the track archive in SQL), idempotent by (vehicle, time)."""

    __tablename__ = "track_points"

    vehicle_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    fix_at: Mapped[datetime] = mapped_column(primary_key=True)
    vehicle_id: Mapped[int | None] = mapped_column(ForeignKey("vehicles.id"))
    carrier_id: Mapped[int | None] = mapped_column(ForeignKey("carriers.id"), index=True)
    lon: Mapped[float]
    lat: Mapped[float]
    speed_kmh: Mapped[float]
    heading_deg: Mapped[float]


class AlertRow(Base):
    """An alert: the condition (open while it lasts, ended_at when over) and its handling."""

    __tablename__ = "alerts"
    __table_args__ = (
        CheckConstraint(f"state IN {_in(HandlingState)}", name="state"),
        Index("ix_alerts_carrier_started", "carrier_id", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_key: Mapped[str] = mapped_column(String(64), unique=True)
    vehicle_key: Mapped[str] = mapped_column(String(64), index=True)
    vehicle_id: Mapped[int | None] = mapped_column(ForeignKey("vehicles.id"))
    carrier_id: Mapped[int | None] = mapped_column(ForeignKey("carriers.id"))
    waybill_id: Mapped[int | None] = mapped_column(ForeignKey("waybills.id"))
    rule_id: Mapped[str] = mapped_column(String(40))
    condition_key: Mapped[str] = mapped_column(String(200))
    severity: Mapped[str] = mapped_column(String(16))
    is_active: Mapped[bool]
    started_at: Mapped[datetime]
    last_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    state: Mapped[str] = mapped_column(String(16), default=HandlingState.NEW.value)
    acknowledged_by: Mapped[str | None] = mapped_column(String(100))
    acknowledged_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(100))
    closed_at: Mapped[datetime | None]
    lon: Mapped[float | None]
    lat: Mapped[float | None]

    evidence: Mapped[AlertEvidenceRow] = relationship(
        cascade="all, delete-orphan", lazy="selectin", uselist=False
    )


class AlertEvidenceRow(Base):
    """The evidence of an alert (latest state): fixes, edges, rule, legal basis, matched roads."""

    __tablename__ = "alert_evidence"

    alert_id: Mapped[int] = mapped_column(
        ForeignKey("alerts.id", ondelete="CASCADE"), primary_key=True
    )
    content: Mapped[dict[str, Any]]
    matched_geojson: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=_utc_now, onupdate=_utc_now)


class AlertActionRow(Base):
    """One entry of an alert's history: opened, ended, acknowledged, note, closed, reminder steps.

    `source_key` names the record an entry was copied from (a reminder-log entry: stream and
    entry id); unique, so an entry delivered twice is recorded once. None for everything else.
    """

    __tablename__ = "alert_actions"
    __table_args__ = (CheckConstraint(f"action IN {_in(AlertAction)}", name="action"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)
    acted_at: Mapped[datetime] = mapped_column(default=_utc_now)
    source_key: Mapped[str | None] = mapped_column(String(200), unique=True)


class WaybillUploadRow(Base):
    """An e-waybill a terminal uploaded (JT/T 808 0x0701), its content as sent.

    `source_key` names the gateway's stream entry it was recorded from, unique, so an entry
    delivered twice is recorded once. The registry vehicle and carrier are those the vehicle key
    names (None: unregistered); `waybill_id` the vehicle's active waybill when the content
    carries its number.
    """

    __tablename__ = "waybill_uploads"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_key: Mapped[str] = mapped_column(String(200), unique=True)
    phone: Mapped[str] = mapped_column(String(20))
    vehicle_key: Mapped[str] = mapped_column(String(64), index=True)
    vehicle_id: Mapped[int | None] = mapped_column(ForeignKey("vehicles.id"))
    carrier_id: Mapped[int | None] = mapped_column(ForeignKey("carriers.id"), index=True)
    waybill_id: Mapped[int | None] = mapped_column(ForeignKey("waybills.id"))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    received_at: Mapped[datetime]


class RestrictionLayerRow(Base):
    """A restriction layer under version control: its name and current version."""

    __tablename__ = "restriction_layers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    current_version: Mapped[int]
    is_retired: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=_utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=_utc_now)


class RestrictionLayerVersionRow(Base):
    """One immutable version of a layer: the GeoJSON as uploaded, its hash, who and when."""

    __tablename__ = "restriction_layer_versions"
    __table_args__ = (UniqueConstraint("layer_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    layer_id: Mapped[int] = mapped_column(ForeignKey("restriction_layers.id"), index=True)
    version: Mapped[int]
    content: Mapped[dict[str, Any]]
    sha256: Mapped[str] = mapped_column(String(64))
    feature_count: Mapped[int]
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=_utc_now)


class RestrictionLayerAuditRow(Base):
    """One audited change of a layer: who, when, what (action and feature ids touched)."""

    __tablename__ = "restriction_layer_audit"
    __table_args__ = (CheckConstraint(f"action IN {_in(LayerChange)}", name="action"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    layer_id: Mapped[int] = mapped_column(ForeignKey("restriction_layers.id"), index=True)
    version: Mapped[int]
    action: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(100))
    acted_at: Mapped[datetime] = mapped_column(default=_utc_now)
    added_ids: Mapped[list[str]] = mapped_column(JSON)
    removed_ids: Mapped[list[str]] = mapped_column(JSON)
    changed_ids: Mapped[list[str]] = mapped_column(JSON)
