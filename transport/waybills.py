"""The e-waybill (电子运单): its fields, its goods lines, its planned route and its lifecycle.

Pure values and functions, no I/O. The lifecycle is one function, :func:`next_state`, of a state
and an event that returns the new state or a :class:`Refusal` with zh/en reasons; the store
loads and saves the state around it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import shapely
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from transport import goods, registry
from transport._errors import CatalogueError, WaybillError
from transport.cargo import CarriageType, GoodsLine, QuantityUnit
from transport.goods import PackingGroup
from transport.reasons import Reason

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

__all__ = [
    "ACTIVE_STATES",
    "TRANSITIONS",
    "Contact",
    "Party",
    "PermitKind",
    "Place",
    "Refusal",
    "SpecialPermit",
    "Waybill",
    "WaybillEvent",
    "WaybillLine",
    "WaybillState",
    "describe_lines",
    "next_state",
    "parse_route",
    "refusal_for_second_active",
    "route_line",
]

_KG_PER_UNIT = {QuantityUnit.KG: 1.0, QuantityUnit.T: 1000.0}
_M3_PER_UNIT = {QuantityUnit.L: 0.001, QuantityUnit.M3: 1.0}


class WaybillState(StrEnum):
    """Where a waybill is in its life."""

    DRAFT = "draft"
    DISPATCHED = "dispatched"
    LOADING_CHECKED = "loading_checked"
    DEPARTED = "departed"
    ARRIVED = "arrived"
    ARCHIVED = "archived"
    CANCELLED = "cancelled"


class WaybillEvent(StrEnum):
    """What happens to a waybill; a loading check reports passed or failed."""

    DISPATCH = "dispatch"
    CHECK_PASSED = "check_passed"
    CHECK_FAILED = "check_failed"
    DEPART = "depart"
    ARRIVE = "arrive"
    ARCHIVE = "archive"
    CANCEL = "cancel"


#: States in which a waybill holds its vehicle: one vehicle, one trip (一车一趟一派).
ACTIVE_STATES: frozenset[WaybillState] = frozenset(
    {WaybillState.DISPATCHED, WaybillState.LOADING_CHECKED, WaybillState.DEPARTED}
)

_S, _E = WaybillState, WaybillEvent

#: Every allowed (state, event) and the state it leads to; anything else is refused.
TRANSITIONS: Mapping[tuple[WaybillState, WaybillEvent], WaybillState] = {
    (_S.DRAFT, _E.DISPATCH): _S.DISPATCHED,
    (_S.DISPATCHED, _E.CHECK_PASSED): _S.LOADING_CHECKED,
    (_S.DISPATCHED, _E.CHECK_FAILED): _S.DISPATCHED,
    # A later failed check withdraws an earlier pass: the newest check decides.
    (_S.LOADING_CHECKED, _E.CHECK_PASSED): _S.LOADING_CHECKED,
    (_S.LOADING_CHECKED, _E.CHECK_FAILED): _S.DISPATCHED,
    (_S.LOADING_CHECKED, _E.DEPART): _S.DEPARTED,
    (_S.DEPARTED, _E.ARRIVE): _S.ARRIVED,
    (_S.ARRIVED, _E.ARCHIVE): _S.ARCHIVED,
    (_S.DRAFT, _E.CANCEL): _S.CANCELLED,
    (_S.DISPATCHED, _E.CANCEL): _S.CANCELLED,
    (_S.LOADING_CHECKED, _E.CANCEL): _S.CANCELLED,
}

_STATE_ZH = {
    _S.DRAFT: "草稿",
    _S.DISPATCHED: "已派车",
    _S.LOADING_CHECKED: "装货查验通过",
    _S.DEPARTED: "已发车",
    _S.ARRIVED: "已到达",
    _S.ARCHIVED: "已归档",
    _S.CANCELLED: "已作废",
}
_EVENT_ZH = {
    _E.DISPATCH: "派车",
    _E.CHECK_PASSED: "记录查验通过",
    _E.CHECK_FAILED: "记录查验未通过",
    _E.DEPART: "发车",
    _E.ARRIVE: "到达",
    _E.ARCHIVE: "归档",
    _E.CANCEL: "作废",
}

#: Refusals with a specific explanation; other refused pairs get a generic one.
_SPECIFIC_REFUSALS: Mapping[tuple[WaybillState, WaybillEvent], tuple[str, str, str]] = {
    (_S.DISPATCHED, _E.DEPART): (
        "check_not_passed",
        "departure refused: the last loading check did not pass or none was run",
        "不得发车：最近一次装货查验（五必查）未通过或尚未查验",
    ),
    (_S.DRAFT, _E.DEPART): (
        "not_dispatched",
        "departure refused: the waybill is not dispatched and has no passed loading check",
        "不得发车：运单尚未派车，也没有通过的装货查验",
    ),
    (_S.DRAFT, _E.CHECK_PASSED): (
        "not_dispatched",
        "a loading check needs a dispatched waybill",
        "运单尚未派车，不能进行装货查验",
    ),
    (_S.DRAFT, _E.CHECK_FAILED): (
        "not_dispatched",
        "a loading check needs a dispatched waybill",
        "运单尚未派车，不能进行装货查验",
    ),
    (_S.DEPARTED, _E.CANCEL): (
        "already_departed",
        "a departed waybill cannot be cancelled: record its arrival",
        "已发车的运单不能作废，请登记到达",
    ),
}


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why an event is not allowed in a state."""

    state: WaybillState
    event: WaybillEvent
    reason: Reason


def next_state(state: WaybillState, event: WaybillEvent) -> WaybillState | Refusal:
    """Return the state an event leads to, or the refusal with a zh/en reason.

    Departure is allowed only from ``loading_checked``, which only a passed check reaches, so
    no sequence of events departs without a passed loading check.

    Examples
    --------
    >>> next_state(WaybillState.DISPATCHED, WaybillEvent.CHECK_PASSED).value
    'loading_checked'
    >>> next_state(WaybillState.DISPATCHED, WaybillEvent.DEPART).reason.code
    'check_not_passed'
    """
    state, event = WaybillState(state), WaybillEvent(event)
    target = TRANSITIONS.get((state, event))
    if target is not None:
        return target
    specific = _SPECIFIC_REFUSALS.get((state, event))
    if specific is not None:
        code, en, zh = specific
    else:
        code = "not_allowed"
        en = f"event {event.value!r} is not allowed on a waybill in state {state.value!r}"
        zh = f"运单状态为“{_STATE_ZH[state]}”，不能{_EVENT_ZH[event]}"
    return Refusal(state, event, Reason("state", code, en, zh))


def refusal_for_second_active(plate: str, waybill_number: str) -> Reason:
    """Return the reason a vehicle cannot hold a second active waybill."""
    return Reason(
        "vehicle_id",
        "vehicle_has_active_waybill",
        f"vehicle {plate} already has active waybill {waybill_number} (one vehicle, one trip)",
        f"车辆 {plate} 已有在途运单 {waybill_number}（一车一趟一派）",
    )


class PermitKind(StrEnum):
    """Special documents some goods need in addition to the waybill."""

    HIGHLY_TOXIC = "highly_toxic"  # 剧毒化学品道路运输通行证
    EXPLOSIVES = "explosives"  # 民用爆炸物品运输许可证
    RADIOACTIVE = "radioactive"  # 放射性物品道路运输许可 / 通行证


class _Value(BaseModel):
    """Frozen, no unknown fields, text stripped."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class Party(_Value):
    """Consignor (托运人), consignee (收货人) or loader (装货人)."""

    name: str = Field(min_length=1, max_length=200)
    phone: str | None = Field(default=None, max_length=32)
    address: str | None = Field(default=None, max_length=300)


class Contact(_Value):
    """Emergency contact (应急联系人) reachable during the trip."""

    name: str = Field(min_length=1, max_length=100)
    phone: str = Field(min_length=5, max_length=32)


class Place(_Value):
    """A loading or unloading place; WGS-84 coordinates when known."""

    name: str = Field(min_length=1, max_length=200)
    address: str | None = Field(default=None, max_length=300)
    lon: float | None = Field(default=None, ge=-180, le=180)
    lat: float | None = Field(default=None, ge=-90, le=90)

    @model_validator(mode="after")
    def _both_or_neither(self) -> Place:
        if (self.lon is None) != (self.lat is None):
            msg = "give both `lon` and `lat`, or neither"
            raise ValueError(msg)
        return self


def _check_aware(value: datetime) -> datetime:
    """Refuse naive datetimes."""
    if value.tzinfo is None or value.utcoffset() is None:
        msg = "must be timezone-aware (e.g. 2025-03-01T08:00:00+08:00)"
        raise ValueError(msg)
    return value


class SpecialPermit(_Value):
    """A permit for 剧毒 goods, explosives or radioactive material: number, route, time window."""

    kind: PermitKind
    number: str = Field(min_length=1, max_length=64)
    issued_by: str = Field(default="", max_length=200)
    route_description: str = Field(min_length=1, max_length=2000)
    valid_from_at: datetime
    valid_until_at: datetime

    @field_validator("valid_from_at", "valid_until_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        return _check_aware(value)

    @model_validator(mode="after")
    def _window_in_order(self) -> SpecialPermit:
        if self.valid_until_at <= self.valid_from_at:
            msg = "`valid_until_at` must be after `valid_from_at`"
            raise ValueError(msg)
        return self


class WaybillLine(_Value):
    """One goods line as the waybill states it: UN number, name, class, packing group, quantity.

    ``name`` and ``hazard_class`` are filled from the catalogue when left out (see
    :func:`describe_lines`). ``mass_kg`` is the goods' mass when the quantity is a volume; it
    lets the rated-load check weigh the load.
    """

    un_number: str
    name: str | None = Field(default=None, max_length=300)
    hazard_class: str | None = None
    packing_group: PackingGroup | None = None
    quantity: float = Field(gt=0)
    unit: QuantityUnit
    carriage: CarriageType = CarriageType.TANK
    mass_kg: float | None = Field(default=None, gt=0)
    net_explosive_mass_kg: float | None = Field(default=None, ge=0)

    @field_validator("un_number", mode="before")
    @classmethod
    def _check_un_number(cls, value: object) -> str:
        try:
            return goods.normalise_un_number(value)
        except CatalogueError as err:
            raise ValueError(str(err)) from err

    @field_validator("quantity", "mass_kg")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            msg = "must be a finite number"
            raise ValueError(msg)
        return value

    def to_goods_line(self) -> GoodsLine:
        """Return the line as the cargo profile reads it."""
        return GoodsLine(
            un_number=self.un_number,
            packing_group=self.packing_group,
            name=self.name,
            quantity=self.quantity,
            unit=self.unit,
            carriage=self.carriage,
            net_explosive_mass_kg=self.net_explosive_mass_kg,
        )

    @property
    def quantity_kg(self) -> float | None:
        """Mass in kg: from a mass unit, else ``mass_kg``; None when unknown."""
        factor = _KG_PER_UNIT.get(self.unit)
        return self.quantity * factor if factor is not None else self.mass_kg

    @property
    def quantity_m3(self) -> float | None:
        """Volume in m³ for a volume unit, else None."""
        factor = _M3_PER_UNIT.get(self.unit)
        return self.quantity * factor if factor is not None else None


class Waybill(_Value):
    """An e-waybill: one vehicle, one trip (DOMAIN.md §3).

    Registry entries are referenced by id; the store joins their numbers (permit, plate,
    certificates) when the waybill is shown. ``planned_route_wkt`` is a WGS-84 LineString.
    """

    id: int | None = None
    number: str | None = Field(default=None, max_length=64)
    carrier_id: int
    state: WaybillState = WaybillState.DRAFT
    consignor: Party
    consignee: Party
    loader: Party
    vehicle_id: int
    trailer_plate: str | None = None
    tank_id: int | None = None
    driver_id: int
    escort_id: int | None = None
    lines: tuple[WaybillLine, ...] = Field(min_length=1, max_length=50)
    loading_place: Place
    unloading_place: Place
    planned_departure_at: datetime
    planned_route_wkt: str | None = None
    emergency_contact: Contact
    permits: tuple[SpecialPermit, ...] = ()
    created_at: datetime | None = None

    @field_validator("trailer_plate", mode="before")
    @classmethod
    def _check_trailer(cls, value: object) -> str | None:
        if value is None or not str(value).strip():
            return None
        return registry.normalise_plate(value)

    @field_validator("planned_departure_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        return _check_aware(value)

    @field_validator("planned_route_wkt", mode="before")
    @classmethod
    def _check_route(cls, value: object) -> str | None:
        return None if value is None else parse_route(value)  # type: ignore[arg-type]


def parse_route(route: str | Mapping[str, Any]) -> str:
    """Return a planned route as WKT, from WKT or a GeoJSON LineString (text or mapping).

    Raises
    ------
    ValueError
        When the route is not a LineString of at least two WGS-84 points.
    """
    try:
        if isinstance(route, Mapping) or str(route).lstrip().startswith("{"):
            text = json.dumps(route) if isinstance(route, Mapping) else str(route)
            geometry = shapely.from_geojson(text)
        else:
            geometry = shapely.from_wkt(str(route))
    except (shapely.errors.GEOSException, ValueError, TypeError) as err:
        msg = f"route is neither WKT nor GeoJSON: {err}"
        raise ValueError(msg) from err
    if not isinstance(geometry, shapely.LineString) or geometry.is_empty:
        msg = f"route must be a LineString, got {geometry.geom_type}"
        raise ValueError(msg)
    coords = shapely.get_coordinates(geometry)
    if len(coords) < 2:
        msg = "route needs at least two points"
        raise ValueError(msg)
    if not ((abs(coords[:, 0]) <= 180).all() and (abs(coords[:, 1]) <= 90).all()):
        msg = "route coordinates must be WGS-84 longitude, latitude in degrees"
        raise ValueError(msg)
    return shapely.to_wkt(geometry, rounding_precision=7, trim=True)


def route_line(waybill: Waybill) -> shapely.LineString | None:
    """Return the planned route as a WGS-84 LineString, None when the waybill has none."""
    if waybill.planned_route_wkt is None:
        return None
    geometry = shapely.from_wkt(waybill.planned_route_wkt)
    assert isinstance(geometry, shapely.LineString)
    return geometry


def describe_lines(
    lines: Sequence[WaybillLine | Mapping[str, Any]], catalogue: goods.Catalogue
) -> tuple[WaybillLine, ...]:
    """Return goods lines with name, class and packing group filled from the catalogue.

    A stated class or packing group that disagrees with the catalogue is refused, so the
    waybill states what the catalogue says.

    Raises
    ------
    WaybillError
        With one reason per faulty line field, named ``lines[i].field``.
    """
    reasons: list[Reason] = []
    described = [_describe_line(i, line, catalogue, reasons) for i, line in enumerate(lines)]
    if not lines:
        reasons.append(
            Reason("lines", "empty", "a waybill needs a goods line", "运单至少需要一行货物")
        )
    if reasons:
        raise WaybillError(reasons)
    return tuple(line for line in described if line is not None)


def _describe_line(
    index: int,
    raw: WaybillLine | Mapping[str, Any],
    catalogue: goods.Catalogue,
    reasons: list[Reason],
) -> WaybillLine | None:
    """Validate and fill one line; on failure add reasons and return None."""
    where = f"lines[{index}]"
    try:
        line = raw if isinstance(raw, WaybillLine) else WaybillLine.model_validate(raw)
    except ValidationError as err:
        reasons.extend(_validation_reasons(err, prefix=where))
        return None
    try:
        entry = catalogue.lookup(
            line.un_number,
            packing_group=line.packing_group.value if line.packing_group else None,
            name=line.name,
        )
    except CatalogueError as err:
        reasons.append(Reason(where, "unknown_goods", str(err), f"品名表中找不到该货物：{err}"))
        return None
    if line.hazard_class is not None and line.hazard_class != entry.hazard_class:
        reasons.append(
            Reason(
                f"{where}.hazard_class",
                "class_mismatch",
                f"UN{entry.un_number} is class {entry.hazard_class}, not {line.hazard_class}",
                f"UN{entry.un_number} 属于第 {entry.hazard_class} 类，而不是 {line.hazard_class}",
            )
        )
        return None
    return line.model_copy(
        update={
            "name": line.name or entry.name_zh or entry.name_en,
            "hazard_class": entry.hazard_class,
            "packing_group": line.packing_group or entry.packing_group,
        }
    )


def _validation_reasons(err: ValidationError, *, prefix: str = "") -> Iterable[Reason]:
    """Turn pydantic errors into reasons named by dotted field path."""
    for detail in err.errors():
        path = ".".join(str(part) for part in detail["loc"])
        field = f"{prefix}.{path}" if prefix and path else prefix or path
        cause = detail.get("ctx", {}).get("error")
        text = str(cause) if cause is not None else detail["msg"]
        yield Reason(field, detail["type"], text, f"字段无效：{text}")
