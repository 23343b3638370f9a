"""GPS fixes as the system carries them: validated, WGS-84, aware UTC, SI units at the core.

A `Fix` is what the edge (gateway, HTTP, replay) puts on the bus; `validate_fix_fields` collects
every reason a candidate fix is refused, in Chinese and English, so the sender can be told.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

__all__ = ["MAX_FUTURE_S", "Fix", "FixSource", "Rejection", "utc_now", "validate_fix_fields"]

MAX_FUTURE_S = 300.0  # a terminal clock this far ahead of the platform is refused
MAX_SPEED_KMH = 250.0


class FixSource(StrEnum):
    """Where a fix entered the system."""

    JT808 = "jt808"
    HTTP = "http"
    REPLAY = "replay"
    SIMULATION = "simulation"


@dataclass(frozen=True)
class Rejection:
    """One reason a candidate fix was refused: field, machine code and zh/en text."""

    field: str
    code: str
    message_en: str
    message_zh: str


@dataclass(frozen=True)
class Fix:
    """One validated position report of one vehicle.

    `alarm_bits` and `status_bits` are the JT/T 808 DWORDs as reported (0 for other sources);
    `is_backfill` marks fixes stored by the terminal while offline (0x0704 type 1).
    """

    vehicle_id: str
    fix_at: datetime
    lon: float
    lat: float
    speed_kmh: float = 0.0
    heading_deg: float = 0.0
    altitude_m: float = 0.0
    alarm_bits: int = 0
    status_bits: int = 0
    source: FixSource = FixSource.HTTP
    is_backfill: bool = False
    extras: dict[str, float] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, datetime]:
        """Identity for idempotent processing: a (vehicle, fix time) is processed once."""
        return self.vehicle_id, self.fix_at


def validate_fix_fields(
    *,
    vehicle_id: str,
    fix_at: datetime,
    lon: float,
    lat: float,
    speed_kmh: float,
    heading_deg: float,
    received_at: datetime,
) -> list[Rejection]:
    """Return every reason these fields cannot form a `Fix` (empty when they can)."""
    problems: list[Rejection] = []
    if not vehicle_id.strip():
        problems.append(Rejection("vehicle_id", "missing", "vehicle id is empty", "车辆标识为空"))
    if fix_at.tzinfo is None:
        problems.append(Rejection("fix_at", "naive_time", "time has no time zone", "时间缺少时区"))
    elif fix_at - received_at > timedelta(seconds=MAX_FUTURE_S):
        problems.append(
            Rejection("fix_at", "future_time", "time is in the future", "定位时间晚于当前时间")
        )
    if not (math.isfinite(lat) and -90.0 <= lat <= 90.0):
        problems.append(
            Rejection("lat", "out_of_range", "latitude outside -90..90", "纬度超出 -90..90")
        )
    if not (math.isfinite(lon) and -180.0 <= lon <= 180.0):
        problems.append(
            Rejection("lon", "out_of_range", "longitude outside -180..180", "经度超出 -180..180")
        )
    if not (math.isfinite(speed_kmh) and 0.0 <= speed_kmh <= MAX_SPEED_KMH):
        problems.append(
            Rejection(
                "speed_kmh", "out_of_range", "speed outside 0..250 km/h", "速度超出 0..250 km/h"
            )
        )
    if not (math.isfinite(heading_deg) and 0.0 <= heading_deg <= 360.0):
        problems.append(
            Rejection("heading_deg", "out_of_range", "heading outside 0..360", "方向超出 0..360")
        )
    return problems


def utc_now() -> datetime:
    """The current time, aware UTC (the one place the core reads the clock)."""
    return datetime.now(UTC)
