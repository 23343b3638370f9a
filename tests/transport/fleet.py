"""A small valid fleet for tests: one carrier with a fuel tanker, its tank, driver and escort.

Every builder takes keyword overrides, so a test states only what its case changes. Dates are
chosen around one loading moment, ``LOADING_AT`` (2025-06-10 08:00 Beijing time).
"""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta, timezone
from typing import Any

from transport.registry import Carrier, Person, PersonRole, Tank, Vehicle
from transport.waybills import Waybill

BEIJING = timezone(timedelta(hours=8))
LOADING_AT = datetime(2025, 6, 10, 8, 0, tzinfo=BEIJING)
CREATED_AT = datetime(2025, 6, 1, 9, 0, tzinfo=BEIJING)
VALID = date(2026, 12, 31)
ROUTE_WKT = "LINESTRING (113.93 22.53, 113.98 22.54, 114.05 22.55)"

_serial = itertools.count(1)


def unique(prefix: str) -> str:
    """Return a text unique within the test session (for natural keys on a shared database)."""
    return f"{prefix}{next(_serial):05d}"


def unique_plate() -> str:
    """Return a valid Chinese plate unique within the session."""
    n = next(_serial)
    return f"粤B{n % 100000:05d}"


def carrier(**changes: Any) -> Carrier:
    """A fuel carrier permitted classes 2, 3 and 8."""
    fields: dict[str, Any] = {
        "name": "深圳安运危险品运输有限公司",
        "permit_number": unique("粤交运管许可深字440300"),
        "permitted_classes": ("2", "3", "8"),
        "permit_valid_until": VALID,
    }
    return Carrier(**(fields | changes))


def vehicle(carrier_id: int, **changes: Any) -> Vehicle:
    """A 30 t tank truck with valid documents."""
    fields: dict[str, Any] = {
        "carrier_id": carrier_id,
        "plate": unique_plate(),
        "licence_number": unique("XSZ"),
        "licence_valid_until": VALID,
        "operating_certificate_number": unique("YYZ"),
        "operating_certificate_valid_until": VALID,
        "rated_load_kg": 30_000,
        "is_tank": True,
        "terminal_phone": "013800138000",
    }
    return Vehicle(**(fields | changes))


def tank(carrier_id: int, **changes: Any) -> Tank:
    """A 40 m³ tank for gasoline, diesel and kerosene."""
    fields: dict[str, Any] = {
        "carrier_id": carrier_id,
        "number": unique("TK"),
        "volume_m3": 40.0,
        "inspection_valid_until": VALID,
        "permitted_un_numbers": ("1203", "1202", "1223"),
    }
    return Tank(**(fields | changes))


def person(carrier_id: int, role: PersonRole = PersonRole.DRIVER, **changes: Any) -> Person:
    """A driver (or escort) qualified for classes 2, 3 and 8."""
    fields: dict[str, Any] = {
        "carrier_id": carrier_id,
        "name": "张伟" if role is PersonRole.DRIVER else "李娜",
        "role": role,
        "certificate_number": unique("440300"),
        "permitted_classes": ("2", "3", "8"),
        "certificate_valid_until": VALID,
        "phone": "13800138000",
    }
    return Person(**(fields | changes))


def waybill_fields(**changes: Any) -> dict[str, Any]:
    """Fields of a gasoline waybill (20 t UN1203), references left for the caller to set."""
    fields: dict[str, Any] = {
        "consignor": {"name": "中石化深圳石油分公司", "phone": "0755-88888888"},
        "consignee": {"name": "南山加油站", "phone": "0755-26666666"},
        "loader": {"name": "大铲湾油库"},
        "lines": [{"un_number": "1203", "quantity": 20, "unit": "t", "carriage": "tank"}],
        "loading_place": {"name": "大铲湾油库", "lon": 113.87, "lat": 22.53},
        "unloading_place": {"name": "南山加油站", "lon": 114.05, "lat": 22.55},
        "planned_departure_at": LOADING_AT + timedelta(hours=1),
        "planned_route_wkt": ROUTE_WKT,
        "emergency_contact": {"name": "王强", "phone": "13900139000"},
    }
    return fields | changes


def waybill(**changes: Any) -> Waybill:
    """A waybill with ids 1–4 for carrier, vehicle, driver and escort, tank 1."""
    refs = {"carrier_id": 1, "vehicle_id": 1, "tank_id": 1, "driver_id": 1, "escort_id": 2}
    return Waybill.model_validate(waybill_fields(**(refs | changes)))
