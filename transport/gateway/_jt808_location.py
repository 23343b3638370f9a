"""Read and write JT/T 808 location reports (0x0200) and batches of them (0x0704).

Coordinates come in 1e-6 degrees with the hemisphere in status bits 2 (south) and 3 (west), the
time as BCD YYMMDDhhmmss in UTC+8; both are validated on reading and every fault is named.
The public names are exported by `jt808_messages`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, ClassVar

from transport.gateway import _jt808_fields as fields
from transport.gateway._errors import MessageError

if TYPE_CHECKING:
    from transport.gateway import jt808_frames as frames

TERMINAL_TZ = timezone(timedelta(hours=8))
LOCATION_FIXED_BYTES = 28
MAX_LATITUDE_DEG = 90.0
MAX_LONGITUDE_DEG = 180.0
COORDINATE_SCALE = 1_000_000


class BatchType(enum.IntEnum):
    """Kind of a batch location upload (0x0704)."""

    NORMAL = 0
    BACKFILL = 1


class Alarm(enum.IntFlag):
    """Alarm bits of a location report; bits not named here are kept as they come."""

    EMERGENCY = 1 << 0
    OVERSPEED = 1 << 1
    FATIGUE = 1 << 2
    DANGER_WARNING = 1 << 3
    GNSS_FAULT = 1 << 4
    GNSS_ANTENNA_CUT = 1 << 5
    GNSS_ANTENNA_SHORT = 1 << 6
    POWER_UNDERVOLTAGE = 1 << 7
    POWER_LOST = 1 << 8
    DISPLAY_FAULT = 1 << 9
    TTS_FAULT = 1 << 10
    CAMERA_FAULT = 1 << 11
    IC_CARD_FAULT = 1 << 12
    OVERSPEED_WARNING = 1 << 13
    FATIGUE_WARNING = 1 << 14
    DAILY_DRIVING_OVERTIME = 1 << 18
    PARKING_OVERTIME = 1 << 19
    AREA_IN_OUT = 1 << 20
    ROUTE_IN_OUT = 1 << 21
    ROAD_SECTION_TIME = 1 << 22
    ROUTE_DEVIATION = 1 << 23
    VSS_FAULT = 1 << 24
    FUEL_ABNORMAL = 1 << 25
    VEHICLE_STOLEN = 1 << 26
    ILLEGAL_IGNITION = 1 << 27
    ILLEGAL_DISPLACEMENT = 1 << 28
    COLLISION_WARNING = 1 << 29
    ROLLOVER_WARNING = 1 << 30
    ILLEGAL_DOOR_OPEN = 1 << 31


class Status(enum.IntFlag):
    """Status bits of a location report; bits not named here are kept as they come."""

    ACC_ON = 1 << 0
    FIXED = 1 << 1
    SOUTH = 1 << 2
    WEST = 1 << 3
    OUT_OF_SERVICE = 1 << 4
    COORDINATES_ENCRYPTED = 1 << 5
    OIL_CUT = 1 << 10
    CIRCUIT_CUT = 1 << 11
    DOORS_LOCKED = 1 << 12
    GPS_USED = 1 << 18
    BEIDOU_USED = 1 << 19
    GLONASS_USED = 1 << 20
    GALILEO_USED = 1 << 21


def _uint(value: int, width: int) -> bytes:
    """Shorthand for a big-endian unsigned field."""
    return fields.pack_uint(value, width)


# --- location ---------------------------------------------------------------------------------

# Extra id -> (field, width in bytes, divisor from wire units to the field's unit).
_EXTRA_FIELDS: dict[int, tuple[str, int, int]] = {
    0x01: ("mileage_km", 4, 10),
    0x02: ("fuel_l", 2, 10),
    0x03: ("tachograph_speed_kmh", 2, 10),
    0x04: ("alarm_event_id", 2, 1),
    0x25: ("vehicle_signal_status", 4, 1),
    0x2A: ("io_status", 2, 1),
    0x2B: ("analog", 4, 1),
    0x30: ("signal_strength", 1, 1),
    0x31: ("satellites", 1, 1),
}


_EXTRA_HEADER_BYTES = 2


@dataclass(frozen=True)
class LocationExtras:
    """Additional items (TLV) of a location report; None where the terminal sent none.

    `raw` keeps, in frame order, every item not understood: an unknown id, a known id with an
    unexpected length, a repeated id, or a last item whose length overruns the body (kept with
    the bytes there are, so the fix itself is not lost). A lone last byte is padding.
    """

    mileage_km: float | None = None
    fuel_l: float | None = None
    tachograph_speed_kmh: float | None = None
    alarm_event_id: int | None = None
    vehicle_signal_status: int | None = None
    io_status: int | None = None
    analog: int | None = None
    signal_strength: int | None = None
    satellites: int | None = None
    raw: tuple[tuple[int, bytes], ...] = ()

    @classmethod
    def from_reader(cls, reader: fields.Reader) -> LocationExtras:
        """Read items up to the end of the body."""
        known: dict[str, Any] = {}
        raw: list[tuple[int, bytes]] = []
        while reader.remaining >= _EXTRA_HEADER_BYTES:
            extra_id, declared_length = reader.uint(1), reader.uint(1)
            value = reader.take(min(declared_length, reader.remaining))
            name, width, divisor = _EXTRA_FIELDS.get(extra_id, ("", -1, 1))
            if len(value) != width or name in known:
                raw.append((extra_id, value))
                continue
            number = int.from_bytes(value, "big")
            known[name] = number / divisor if divisor != 1 else number
        reader.rest()  # a lone last byte cannot hold an item: padding
        return cls(**known, raw=tuple(raw))

    def to_bytes(self) -> bytes:
        """Write the known items in id order, then the raw ones."""
        items = []
        for extra_id, (name, width, divisor) in _EXTRA_FIELDS.items():
            value = getattr(self, name)
            if value is not None:
                items.append((extra_id, _uint(round(value * divisor), width)))
        items += self.raw
        return b"".join(_uint(extra_id, 1) + _uint(len(v), 1) + v for extra_id, v in items)


@dataclass(frozen=True)
class LocationReport:
    """0x0200 location report: one fix, hemisphere applied, time as aware UTC."""

    MESSAGE_ID: ClassVar[int] = 0x0200
    alarm: Alarm
    status: Status
    latitude_deg: float
    longitude_deg: float
    altitude_m: int
    speed_kmh: float
    direction_deg: int
    fix_at: datetime
    extras: LocationExtras = LocationExtras()

    @classmethod
    def from_body(cls, reader: fields.Reader, version: frames.Version) -> LocationReport:
        """Read and validate the body; every fault found is named in one `MessageError`."""
        alarm, status = Alarm(reader.uint(4)), Status(reader.uint(4))
        latitude_deg = _signed(reader.uint(4) / COORDINATE_SCALE, Status.SOUTH in status)
        longitude_deg = _signed(reader.uint(4) / COORDINATE_SCALE, Status.WEST in status)
        altitude_m, speed, direction_deg = reader.uint(2), reader.uint(2), reader.uint(2)
        time_bcd = reader.take(6)
        fix_at = _parse_fix_time(time_bcd)
        problems = _coordinate_problems(latitude_deg, longitude_deg)
        if fix_at is None:
            problems.append(("invalid_time", f"{time_bcd.hex()} is not a YYMMDDhhmmss date"))
        if problems or fix_at is None:
            raise MessageError(problems)
        extras = LocationExtras.from_reader(reader)
        position = (latitude_deg, longitude_deg, altitude_m, speed / 10, direction_deg)
        return cls(alarm, status, *position, fix_at, extras)

    def to_body(self, version: frames.Version) -> bytes:
        """Write the body; the hemisphere bits of `status` follow the coordinates' signs."""
        status = _hemisphere(self.status, Status.SOUTH, self.latitude_deg)
        status = _hemisphere(status, Status.WEST, self.longitude_deg)
        parts = [
            (self.alarm, 4),
            (status, 4),
            (round(abs(self.latitude_deg) * COORDINATE_SCALE), 4),
            (round(abs(self.longitude_deg) * COORDINATE_SCALE), 4),
            (self.altitude_m, 2),
            (round(self.speed_kmh * 10), 2),
            (self.direction_deg, 2),
        ]
        fixed = b"".join(_uint(value, width) for value, width in parts)
        return fixed + _format_fix_time(self.fix_at) + self.extras.to_bytes()


def _signed(value_deg: float, is_negative: bool) -> float:
    """Return the coordinate with the sign its hemisphere bit gives."""
    return -value_deg if is_negative else value_deg


def _hemisphere(status: Status, bit: Status, value_deg: float) -> Status:
    """Return `status` with `bit` set for a negative coordinate, cleared for a positive one."""
    if value_deg < 0:
        return status | bit
    # int arithmetic: `~` on an IntFlag drops the bits that have no name
    return Status(int(status) & ~int(bit)) if value_deg > 0 else status


def _coordinate_problems(latitude_deg: float, longitude_deg: float) -> list[tuple[str, str]]:
    """Return a reason for each coordinate outside its range (swapped ones end here)."""
    problems = []
    if abs(latitude_deg) > MAX_LATITUDE_DEG:
        problems.append(("latitude_out_of_range", f"{latitude_deg} is beyond ±90°"))
    if abs(longitude_deg) > MAX_LONGITUDE_DEG:
        problems.append(("longitude_out_of_range", f"{longitude_deg} is beyond ±180°"))
    return problems


def _parse_fix_time(data: bytes) -> datetime | None:
    """Return BCD YYMMDDhhmmss in UTC+8 as an aware UTC datetime, None if not a real moment."""
    if fields.unpack_bcd(data) is None:
        return None
    # two decimal digits per byte, read as numbers: 3 µs a frame, against 16 µs for strptime
    year, month, day, hour, minute, second = ((byte >> 4) * 10 + (byte & 0x0F) for byte in data)
    try:
        local = datetime(2000 + year, month, day, hour, minute, second, tzinfo=TERMINAL_TZ)
    except ValueError:
        return None
    return local.astimezone(UTC)


def _format_fix_time(fix_at: datetime) -> bytes:
    """Return an aware datetime as BCD YYMMDDhhmmss in UTC+8 (seconds truncated)."""
    if fix_at.tzinfo is None:
        msg = "`fix_at` must be timezone-aware"
        raise ValueError(msg)
    local = fix_at.astimezone(TERMINAL_TZ)
    if not 2000 <= local.year <= 2099:
        msg = f"`fix_at` {fix_at} is outside the years 2000-2099 that BCD[6] can carry"
        raise ValueError(msg)
    return fields.pack_bcd(local.strftime("%y%m%d%H%M%S"), 6)


@dataclass(frozen=True)
class RejectedItem:
    """A batch item refused by validation: its position, reasons and raw body."""

    index: int
    reasons: tuple[str, ...]
    body: bytes


_BATCH_ITEM_MIN_BYTES = 2 + LOCATION_FIXED_BYTES


@dataclass(frozen=True)
class LocationBatch:
    """0x0704 batch of location reports; a bad item is set aside, the rest are kept."""

    MESSAGE_ID: ClassVar[int] = 0x0704
    batch_type: BatchType
    locations: tuple[LocationReport, ...]
    rejected: tuple[RejectedItem, ...] = ()

    @classmethod
    def from_body(cls, reader: fields.Reader, version: frames.Version) -> LocationBatch:
        """Read the body; the item count must fit the body before any item is read."""
        count, batch_type = reader.uint(2), reader.uint(1)
        if count * _BATCH_ITEM_MIN_BYTES > reader.remaining:
            detail = f"{count} item(s) cannot fit in {reader.remaining} byte(s)"
            raise MessageError([("bad_item_count", detail)])
        if batch_type not in set(BatchType):
            raise MessageError([("bad_batch_type", f"{batch_type} is neither 0 nor 1")])
        locations, rejected = [], []
        for index in range(count):
            body = reader.take(reader.uint(2))
            try:
                locations.append(LocationReport.from_body(fields.Reader(body), version))
            except MessageError as err:
                rejected.append(RejectedItem(index, err.reasons, body))
        return cls(BatchType(batch_type), tuple(locations), tuple(rejected))

    def to_body(self, version: frames.Version) -> bytes:
        """Write the body; rejected items go back, as they came, at their positions."""
        bodies = [location.to_body(version) for location in self.locations]
        for item in sorted(self.rejected, key=lambda item: item.index):
            bodies.insert(item.index, item.body)
        head = _uint(len(bodies), 2) + _uint(self.batch_type, 1)
        return head + b"".join(_uint(len(body), 2) + body for body in bodies)
