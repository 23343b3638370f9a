"""Turn JT/T 808 location reports into validated `Fix`es, keeping alarm and status bits.

The terminal alarm bits the platform must act on (emergency, overspeed, fatigue, daily driving
over time, parking over time, area/route in-out, road-section time, route deviation) also become
named fix attributes, ``extras["terminal_alarm_<name>"] = 1.0``, which the rules read directly
(Traccar keeps only a few of them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from transport import fixes
from transport.gateway import jt808_messages as messages

if TYPE_CHECKING:
    from datetime import datetime

__all__ = ["ACTIONABLE_ALARMS", "TERMINAL_ALARM_PREFIX", "fix_of_location", "terminal_alarm_names"]

TERMINAL_ALARM_PREFIX = "terminal_alarm_"
Alarm = messages.Alarm
ACTIONABLE_ALARMS: dict[messages.Alarm, str] = {
    Alarm.EMERGENCY: "emergency",
    Alarm.OVERSPEED: "overspeed",
    Alarm.FATIGUE: "fatigue",
    Alarm.DAILY_DRIVING_OVERTIME: "daily_driving_overtime",  # bit 18
    Alarm.PARKING_OVERTIME: "parking_overtime",  # bit 19
    Alarm.AREA_IN_OUT: "area_in_out",  # bit 20
    Alarm.ROUTE_IN_OUT: "route_in_out",  # bit 21
    Alarm.ROAD_SECTION_TIME: "road_section_time",  # bit 22
    Alarm.ROUTE_DEVIATION: "route_deviation",  # bit 23
}
# the same as plain numbers: an enum flag operation costs a microsecond or two, and every
# fix is looked at
_ACTIONABLE_BITS = tuple((int(bit), name) for bit, name in ACTIONABLE_ALARMS.items())
_NUMERIC_EXTRAS = (
    "mileage_km", "fuel_l", "tachograph_speed_kmh", "signal_strength", "satellites",
)  # fmt: skip


def terminal_alarm_names(alarm_bits: int) -> list[str]:
    """Return the names of the actionable alarm bits set in a JT/T 808 alarm DWORD."""
    bits = int(alarm_bits)
    return [name for bit, name in _ACTIONABLE_BITS if bits & bit] if bits else []


def fix_of_location(
    report: messages.LocationReport,
    *,
    vehicle_id: str,
    received_at: datetime,
    is_backfill: bool = False,
) -> fixes.Fix | list[fixes.Rejection]:
    """Return the fix a location report gives, or every reason it is refused.

    Parameters
    ----------
    report
        A decoded 0x0200 (or one item of a 0x0704); its time is already aware UTC.
    vehicle_id
        The vehicle of the authenticated terminal.
    received_at
        When the platform received it (a time more than `fixes.MAX_FUTURE_S` later is refused).
    is_backfill
        True for items of a 0x0704 back-fill batch.
    """
    rejections = fixes.validate_fix_fields(
        vehicle_id=vehicle_id,
        fix_at=report.fix_at,
        lon=report.longitude_deg,
        lat=report.latitude_deg,
        speed_kmh=report.speed_kmh,
        heading_deg=float(report.direction_deg),
        received_at=received_at,
    )
    if rejections:
        return rejections
    extras = {
        name: float(value)
        for name in _NUMERIC_EXTRAS
        if (value := getattr(report.extras, name)) is not None
    }
    extras.update(
        (TERMINAL_ALARM_PREFIX + name, 1.0) for name in terminal_alarm_names(report.alarm)
    )
    return fixes.Fix(
        vehicle_id=vehicle_id,
        fix_at=report.fix_at,
        lon=report.longitude_deg,
        lat=report.latitude_deg,
        speed_kmh=report.speed_kmh,
        heading_deg=float(report.direction_deg),
        altitude_m=float(report.altitude_m),
        alarm_bits=int(report.alarm),
        status_bits=int(report.status),
        source=fixes.FixSource.JT808,
        is_backfill=is_backfill,
        extras=extras,
    )
