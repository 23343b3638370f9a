"""Schemas of e-waybills, lifecycle events and loading check runs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, computed_field, field_validator

from transport import waybills
from transport.five_checks import CheckId, CheckResult, Outcome
from transport.gateway.jt808_messages import WaybillUpload
from transport.registry import PlateColour
from transport.store.check_runs import CheckRun
from transport.store.waybill_uploads import StoredWaybillUpload
from transport.waybills import Contact, Party, Place, SpecialPermit, WaybillLine, WaybillState

MAX_ID = 2**31 - 1


class WaybillCreate(BaseModel):
    """A new e-waybill; the carrier is the caller's, the state starts as draft.

    ``planned_route`` is a WGS-84 LineString as WKT or GeoJSON (text or object).
    ``number`` is generated when left out.
    """

    model_config = ConfigDict(extra="forbid")

    number: str | None = Field(default=None, max_length=64)
    consignor: Party
    consignee: Party
    loader: Party
    vehicle_id: int = Field(ge=1, le=MAX_ID)
    trailer_plate: str | None = None
    tank_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    driver_id: int = Field(ge=1, le=MAX_ID)
    escort_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    lines: list[WaybillLine] = Field(min_length=1, max_length=50)
    loading_place: Place
    unloading_place: Place
    planned_departure_at: AwareDatetime
    planned_route: str | dict[str, Any] | None = None
    emergency_contact: Contact
    permits: list[SpecialPermit] = []

    @field_validator("planned_route")
    @classmethod
    def _check_route(cls, value: str | dict[str, Any] | None) -> str | None:
        return None if value is None else waybills.parse_route(value)

    def to_waybill(self, carrier_id: int) -> waybills.Waybill:
        """Return the domain waybill of this body for one carrier."""
        data = self.model_dump(exclude={"planned_route"})
        return waybills.Waybill.model_validate(
            data | {"carrier_id": carrier_id, "planned_route_wkt": self.planned_route}
        )


class WaybillDocument(BaseModel):
    """Registry numbers a waybill shows (DOMAIN.md §3), read from the registries."""

    carrier_name: str
    carrier_permit_number: str
    vehicle_plate: str
    vehicle_plate_colour: PlateColour
    operating_certificate_number: str
    tank_number: str | None
    tank_volume_m3: float | None
    driver_name: str | None
    driver_certificate_number: str | None
    driver_phone: str | None
    escort_name: str | None
    escort_certificate_number: str | None
    escort_phone: str | None


class WaybillPublic(waybills.Waybill):
    """A stored waybill with its route as GeoJSON and the registry numbers it shows."""

    id: int
    number: str
    planned_route_geojson: dict[str, Any] | None = None
    document: WaybillDocument | None = None


class EventCreate(BaseModel):
    """Who triggers a lifecycle event (default: the caller's account)."""

    actor: str | None = Field(default=None, min_length=1, max_length=100)


class LoadingCheckCreate(BaseModel):
    """A loading check at the loading site.

    ``loading_at`` is when loading takes place (validity is judged then; default: now).
    ``loaded_lines`` are the goods actually loaded; ``loaded_as_stated=true`` records that
    the loader found them as the waybill states. Giving neither fails the goods check.
    """

    model_config = ConfigDict(extra="forbid")

    checked_by: str = Field(min_length=1, max_length=100)
    place: Place
    loading_at: AwareDatetime | None = None
    loaded_lines: list[WaybillLine] | None = None
    loaded_as_stated: bool = False


class CheckResultPublic(BaseModel):
    """One check's outcome with its deciding fact and reasons."""

    check_id: CheckId
    title_en: str
    title_zh: str
    outcome: Outcome
    fact: str
    reason_en: str
    reason_zh: str
    legal_basis: str

    @classmethod
    def of(cls, result: CheckResult) -> CheckResultPublic:
        """Return the public form of a result."""
        return cls(
            check_id=result.check_id,
            title_en=result.title_en,
            title_zh=result.title_zh,
            outcome=result.outcome,
            fact=result.fact,
            reason_en=result.reason_en,
            reason_zh=result.reason_zh,
            legal_basis=result.legal_basis,
        )


class CheckRunPublic(BaseModel):
    """A recorded loading check run."""

    id: int
    waybill_id: int
    checked_by: str
    checked_at: datetime
    loading_at: datetime
    place: Place
    passed: bool
    state_after: WaybillState | None
    results: list[CheckResultPublic]

    @classmethod
    def of(cls, run: CheckRun) -> CheckRunPublic:
        """Return the public form of a stored run."""
        return cls(
            id=run.id,
            waybill_id=run.waybill_id,
            checked_by=run.checked_by,
            checked_at=run.checked_at,
            loading_at=run.report.loading_at,
            place=run.place,
            passed=run.passed,
            state_after=run.state_after,
            results=[CheckResultPublic.of(result) for result in run.report.results],
        )


class WaybillUploadPublic(StoredWaybillUpload):
    """An e-waybill a terminal uploaded (JT/T 808 0x0701): its content as sent (hex) and read
    as text (GBK, unreadable bytes replaced), with the waybill it named, if any."""

    content: bytes = Field(exclude=True)  # given as `content_hex` and `content_text`

    @computed_field  # type: ignore[prop-decorator]
    @property
    def content_hex(self) -> str:
        """The content as sent, in hexadecimal."""
        return self.content.hex()

    @computed_field  # type: ignore[prop-decorator]
    @property
    def content_text(self) -> str:
        """The content read as GBK text, as the message reads it."""
        return WaybillUpload(self.content).text
