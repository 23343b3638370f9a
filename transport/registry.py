"""Registries of a transport firm: carriers, vehicles, tanks and people, with validity dates.

Pure values, no I/O. Validity dates are calendar dates read in the local time zone
(Asia/Shanghai by default): a certificate "valid until 2025-03-01" is valid through that day.
Whether a record is valid is always asked for one moment (the loading time), never for "now".
"""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, field_validator

from transport import goods
from transport._errors import CatalogueError

if TYPE_CHECKING:
    from collections.abc import Iterable
    from zoneinfo import ZoneInfo

__all__ = [
    "CLASS_TOKENS",
    "JT808_PLATE_COLOUR_CODES",
    "Carrier",
    "Person",
    "PersonRole",
    "PlateColour",
    "Tank",
    "Validity",
    "Vehicle",
    "classes_covered",
    "local_date",
    "normalise_plate",
    "validity_on",
]

#: Class tokens a permit or a certificate may list: whole classes ("2" covers 2.1–2.3) or divisions.
CLASS_TOKENS: frozenset[str] = frozenset(goods.HAZARD_CLASSES) | {str(n) for n in range(1, 10)}

_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_PLATE = re.compile(rf"[{_PROVINCES}][A-Z](?:[A-Z0-9]{{5,6}}|[A-Z0-9]{{4}}挂)")
_PHONE = re.compile(r"\+?[0-9][0-9 -]{4,19}")
_TERMINAL_PHONE = re.compile(r"[0-9]{1,20}")


class PlateColour(StrEnum):
    """Number-plate colour; dangerous-goods trucks and trailers carry yellow plates."""

    BLUE = "blue"
    YELLOW = "yellow"
    BLACK = "black"
    WHITE = "white"
    GREEN = "green"
    YELLOW_GREEN = "yellow_green"
    OTHER = "other"


#: Plate colour codes of JT/T 808-2019 (registration message 0x0100).
JT808_PLATE_COLOUR_CODES: dict[PlateColour, int] = {
    PlateColour.BLUE: 1,
    PlateColour.YELLOW: 2,
    PlateColour.BLACK: 3,
    PlateColour.WHITE: 4,
    PlateColour.GREEN: 5,
    PlateColour.YELLOW_GREEN: 5,
    PlateColour.OTHER: 9,
}


class PersonRole(StrEnum):
    """What a person on a dangerous-goods vehicle does: drive (驾驶员) or escort (押运员)."""

    DRIVER = "driver"
    ESCORT = "escort"


class Validity(StrEnum):
    """Whether a dated document holds at one moment."""

    VALID = "valid"
    EXPIRED = "expired"


def local_date(at: datetime, zone: ZoneInfo) -> date:
    """Return the calendar date of an aware moment in a time zone.

    Raises
    ------
    ValueError
        When ``at`` is naive.
    """
    if at.tzinfo is None or at.utcoffset() is None:
        msg = "`at` must be timezone-aware"
        raise ValueError(msg)
    return at.astimezone(zone).date()


def validity_on(valid_until: date, at: datetime, zone: ZoneInfo) -> Validity:
    """Return whether a document valid through ``valid_until`` (local date) holds at ``at``."""
    return Validity.VALID if local_date(at, zone) <= valid_until else Validity.EXPIRED


def classes_covered(permitted: Iterable[str], hazard_class: str) -> bool:
    """Return whether permitted class tokens cover a class or division ("2" covers "2.3")."""
    return any(token == hazard_class or hazard_class.startswith(f"{token}.") for token in permitted)


def normalise_plate(value: object) -> str:
    """Return a plate without spaces or separator dots, upper case ("粤 B·12345" → "粤B12345").

    Raises
    ------
    ValueError
        When the text is not a Chinese number plate.
    """
    text = re.sub(r"[\s·.\-]", "", str(value)).upper()
    if not _PLATE.fullmatch(text):
        msg = f"{value!r} is not a Chinese number plate (e.g. 粤B12345, 粤BD12345, 粤B1234挂)"
        raise ValueError(msg)
    return text


def _split_tokens(value: object) -> list[str]:
    """Split "3 8", "3,8" or a sequence into stripped, non-empty tokens."""
    if isinstance(value, str):
        parts: list[object] = list(re.split(r"[\s,;，；]+", value))
    elif isinstance(value, list | tuple | set | frozenset):
        parts = list(value)
    else:
        msg = f"expected text or a list, got {type(value).__name__}"
        raise TypeError(msg)
    return [str(part).strip() for part in parts if str(part).strip()]


def _check_class_tokens(value: object) -> tuple[str, ...]:
    """Split and check class tokens; accept "3 8", "3,8" or a sequence."""
    cleaned = tuple(dict.fromkeys(_split_tokens(value)))
    if not cleaned:
        msg = "at least one class is needed"
        raise ValueError(msg)
    unknown = [token for token in cleaned if token not in CLASS_TOKENS]
    if unknown:
        msg = f"unknown classes {unknown}: use a class 1–9 or a division such as 2.1"
        raise ValueError(msg)
    return cleaned


def _check_phone(value: str | None, pattern: re.Pattern[str]) -> str | None:
    """Strip a phone number and check its characters; None and blank stay None."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if not pattern.fullmatch(text):
        msg = f"{value!r} is not a phone number"
        raise ValueError(msg)
    return text


class _Record(BaseModel):
    """Common configuration: frozen, no unknown fields, blank text refused."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class Carrier(_Record):
    """A dangerous-goods road transport firm (承运人) and its business permit.

    ``permitted_classes`` is the permit's scope (经营范围): class tokens such as "2", "3", "8.1".
    """

    id: int | None = None
    name: str = Field(min_length=1, max_length=200)
    permit_number: str = Field(min_length=1, max_length=64)
    permitted_classes: tuple[str, ...]
    permit_valid_until: date

    @field_validator("permitted_classes", mode="before")
    @classmethod
    def _check_classes(cls, value: object) -> tuple[str, ...]:
        return _check_class_tokens(value)


class Vehicle(_Record):
    """A vehicle with its licence (行驶证) and operating certificate (道路运输证).

    ``licence_valid_until`` is the inspection validity printed on the licence.
    ``terminal_phone`` is the JT/T 808 terminal's number (up to 20 digits).
    """

    id: int | None = None
    carrier_id: int
    plate: str
    plate_colour: PlateColour = PlateColour.YELLOW
    licence_number: str = Field(min_length=1, max_length=64)
    licence_valid_until: date
    operating_certificate_number: str = Field(min_length=1, max_length=64)
    operating_certificate_valid_until: date
    rated_load_kg: float = Field(gt=0, le=100_000)
    is_tank: bool
    terminal_phone: str | None = None

    @field_validator("plate", mode="before")
    @classmethod
    def _check_plate(cls, value: object) -> str:
        return normalise_plate(value)

    @field_validator("terminal_phone", mode="before")
    @classmethod
    def _check_terminal_phone(cls, value: str | None) -> str | None:
        return _check_phone(value, _TERMINAL_PHONE)


class Tank(_Record):
    """A tank (罐体) with its inspection validity and the media it may carry (适装介质)."""

    id: int | None = None
    carrier_id: int
    number: str = Field(min_length=1, max_length=64)
    volume_m3: float = Field(gt=0, le=200)
    inspection_valid_until: date
    permitted_un_numbers: tuple[str, ...]
    vehicle_id: int | None = None

    @field_validator("permitted_un_numbers", mode="before")
    @classmethod
    def _check_media(cls, value: object) -> tuple[str, ...]:
        numbers = []
        for token in _split_tokens(value):
            try:
                numbers.append(goods.normalise_un_number(token))
            except CatalogueError as err:
                raise ValueError(str(err)) from err
        if not numbers:
            msg = "a tank needs at least one permitted medium (UN number)"
            raise ValueError(msg)
        return tuple(dict.fromkeys(numbers))


class Person(_Record):
    """A driver or escort with a dangerous-goods qualification certificate (从业资格证)."""

    id: int | None = None
    carrier_id: int
    name: str = Field(min_length=1, max_length=100)
    role: PersonRole
    certificate_number: str = Field(min_length=1, max_length=64)
    permitted_classes: tuple[str, ...]
    certificate_valid_until: date
    phone: str | None = None

    @field_validator("permitted_classes", mode="before")
    @classmethod
    def _check_classes(cls, value: object) -> tuple[str, ...]:
        return _check_class_tokens(value)

    @field_validator("phone", mode="before")
    @classmethod
    def _check_person_phone(cls, value: str | None) -> str | None:
        return _check_phone(value, _PHONE)
