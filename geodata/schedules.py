"""Evaluate restriction schedules written in OSM ``opening_hours`` syntax on the Chinese calendar.

Expressions are parsed and evaluated by opening-hours-py; this module adds the Chinese calendar,
which that library cannot take from the caller (its built-in ``CN`` calendar knows only the first
day of each holiday and nothing of adjusted working days):

- The library runs on local wall-clock time of the schedule's zone (Asia/Shanghai by default).
- Each local day has a calendar kind taken from chinese-calendar:

  * a **statutory holiday** (every day off of an official holiday period, e.g. 2025-10-01..08) is
    evaluated with every ``PH`` token of the expression matching, so ``PH off`` and
    ``Mo-Fr,PH 08:00-10:00`` mean what they say;
  * an **adjusted working day** (调休, a Saturday or Sunday that is a working day, e.g. Sunday
    2025-09-28) is evaluated as the nearest weekday: a Saturday as the Friday before it, a Sunday
    as the Monday after it, so rules for ``Mo-Fr`` apply on it;
  * any other day is evaluated as itself, where ``PH`` never matches.

- A day's kind also governs the early hours an overnight window of the day before carries into
  it (opening_hours lets a later rule for a day override such hours anyway, e.g. ``PH off``).
- Years chinese-calendar does not cover (see `HOLIDAY_CALENDAR_YEARS`) have no holidays and no
  adjusted working days: their ``PH`` rules never apply. Update chinese-calendar each December.
- ``PH`` is supported as a day selector alone or in a list (``PH``, ``Sa,PH``); forms that
  combine it with a weekday by intersection (``PH Mo-Fr``) or offset it (``PH +1 day``) are refused.
- The state ``unknown`` counts as active: a restriction that may be in force is treated as in force.

A `Schedule` may also carry explicit date ranges (local dates, both ends included), for holiday
bans announced by notice: the schedule is active only on those days, and then as its expression
says (``"24/7"`` for the whole day).
"""

from __future__ import annotations

import bisect
import datetime as dt
import enum
import functools
import logging
import re
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, overload

import chinese_calendar
import numpy as np
import opening_hours
import pandas as pd

from geodata._errors import ScheduleError

__all__ = [
    "ALWAYS",
    "DEFAULT_TIME_ZONE",
    "HOLIDAY_CALENDAR_YEARS",
    "DayKind",
    "Schedule",
    "day_kind",
    "is_active",
    "next_change",
]

logger = logging.getLogger(__name__)

DEFAULT_TIME_ZONE = "Asia/Shanghai"
_HOLIDAYS = frozenset(chinese_calendar.constants.holidays)
_ADJUSTED_WORKDAYS = frozenset(chinese_calendar.constants.workdays)
_SPECIAL_DAYS = tuple(sorted(_HOLIDAYS | _ADJUSTED_WORKDAYS))
HOLIDAY_CALENDAR_YEARS = range(_SPECIAL_DAYS[0].year, _SPECIAL_DAYS[-1].year + 1)
# `PH` outside double-quoted comments; comments are kept as they are.
_QUOTED_OR_PH = re.compile(r'("[^"]*")|\bPH\b')
_EVERY_DAY = "Mo-Su"
_DAY = dt.timedelta(days=1)
_US_PER_DAY = 86_400_000_000
# The stub omits the parser error class the extension raises.
_PARSER_ERROR: type[Exception] = opening_hours.ParserError  # type: ignore[attr-defined]
_OPEN_STATES = frozenset({opening_hours.State.OPEN, opening_hours.State.UNKNOWN})


class DayKind(enum.Enum):
    """Kind of a local day on the Chinese calendar."""

    ORDINARY = "ordinary"
    HOLIDAY = "holiday"
    ADJUSTED_WORKDAY = "adjusted_workday"


def day_kind(day: dt.date) -> DayKind:
    """Return the calendar kind of a local date on the Chinese statutory calendar.

    Parameters
    ----------
    day
        Local date.

    Returns
    -------
    kind
        ``HOLIDAY`` for a day off of an official holiday period, ``ADJUSTED_WORKDAY`` for a weekend
        day that is a working day (调休), ``ORDINARY`` otherwise, and for years not covered.

    Examples
    --------
    >>> day_kind(dt.date(2025, 10, 1)).value
    'holiday'
    >>> day_kind(dt.date(2025, 9, 28)).value
    'adjusted_workday'
    >>> day_kind(dt.date(2025, 9, 27)).value
    'ordinary'
    """
    if day in _HOLIDAYS:
        return DayKind.HOLIDAY
    if day in _ADJUSTED_WORKDAYS:
        return DayKind.ADJUSTED_WORKDAY
    return DayKind.ORDINARY


@dataclass(frozen=True)
class Schedule:
    """A parsed schedule: an opening_hours expression, its time zone and optional date ranges.

    Parameters
    ----------
    expression
        OSM opening_hours expression; ``"24/7"`` is always active.
    time_zone
        IANA zone in which the expression and date ranges are read.
    date_ranges
        Local ``(first, last)`` dates, both included; when given, the schedule is active only on
        those days. Empty means every day.

    Raises
    ------
    ScheduleError
        The expression, time zone or a date range is invalid; the message names it.

    Examples
    --------
    >>> Schedule("Mo-Fr 07:00-09:00; PH off").expression
    'Mo-Fr 07:00-09:00; PH off'
    >>> Schedule("Mo-Fr 25:00-26:00")
    Traceback (most recent call last):
    ...
    geodata._errors.ScheduleError: invalid opening_hours 'Mo-Fr 25:00-26:00'
    """

    expression: str = "24/7"
    time_zone: str = DEFAULT_TIME_ZONE
    date_ranges: tuple[tuple[dt.date, dt.date], ...] = ()
    _zone: zoneinfo.ZoneInfo = field(init=False, repr=False, compare=False)
    _plain: opening_hours.OpeningHours = field(init=False, repr=False, compare=False)
    _holiday: opening_hours.OpeningHours = field(init=False, repr=False, compare=False)
    _boundaries: tuple[dt.date, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "date_ranges", tuple(tuple(r) for r in self.date_ranges))
        reasons = _date_range_faults(self.date_ranges)
        zone = _parse_zone(self.time_zone, reasons)
        plain = _parse_expression(self.expression, reasons)
        holiday = _parse_holiday_variant(self.expression, reasons) if plain else None
        if reasons:
            raise ScheduleError("; ".join(reasons))
        object.__setattr__(self, "_zone", zone)
        object.__setattr__(self, "_plain", plain)
        object.__setattr__(self, "_holiday", holiday)
        object.__setattr__(self, "_boundaries", _context_boundaries(self.date_ranges))

    def __str__(self) -> str:
        ranges = ", ".join(f"{a.isoformat()}..{b.isoformat()}" for a, b in self.date_ranges)
        return f"{self.expression} ({self.time_zone})" + (f" on {ranges}" if ranges else "")


def _parse_expression(expression: str, reasons: list[str]) -> opening_hours.OpeningHours | None:
    """Parse an expression with no holiday calendar, adding a reason on failure."""
    if not isinstance(expression, str) or not expression.strip():
        reasons.append(f"invalid opening_hours {expression!r}: empty")
        return None
    try:
        return opening_hours.OpeningHours(expression, auto_country=False, auto_timezone=False)
    except _PARSER_ERROR:
        reasons.append(f"invalid opening_hours {expression!r}")
        return None


def _parse_holiday_variant(
    expression: str, reasons: list[str]
) -> opening_hours.OpeningHours | None:
    """Parse the expression as read on a holiday: every ``PH`` token matches every day."""
    variant = _QUOTED_OR_PH.sub(lambda m: m.group(1) or _EVERY_DAY, expression)
    try:
        return opening_hours.OpeningHours(variant, auto_country=False, auto_timezone=False)
    except _PARSER_ERROR:
        reasons.append(
            f"unsupported use of PH in {expression!r}: PH must stand alone or in a list of days"
            " (e.g. 'PH off', 'Sa,PH 08:00-10:00'), not as 'PH Mo-Fr' or 'PH +1 day'"
        )
        return None


def _parse_zone(time_zone: str, reasons: list[str]) -> zoneinfo.ZoneInfo | None:
    """Load an IANA zone, adding a reason on failure."""
    try:
        return zoneinfo.ZoneInfo(time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        reasons.append(f"unknown time zone {time_zone!r}")
        return None


def _date_range_faults(date_ranges: tuple[Any, ...]) -> list[str]:
    """Return a reason for every date range that is not two ordered dates."""
    reasons = []
    for i, pair in enumerate(date_ranges):
        is_pair = len(pair) == 2 and all(
            isinstance(d, dt.date) and not isinstance(d, dt.datetime) for d in pair
        )
        if not is_pair:
            reasons.append(f"date range {i} is not two dates: {pair!r}")
        elif pair[0] > pair[1]:
            reasons.append(f"date range {i} ends before it starts: {pair[0]}..{pair[1]}")
    return reasons


def _context_boundaries(date_ranges: tuple[tuple[dt.date, dt.date], ...]) -> tuple[dt.date, ...]:
    """Return the sorted dates on which a day's calendar kind or range membership may change."""
    days = {d for s in _SPECIAL_DAYS for d in (s, s + _DAY)}
    days |= {d for first, last in date_ranges for d in (first, last + _DAY)}
    return tuple(sorted(days))


ALWAYS = Schedule("24/7")


def _in_ranges(schedule: Schedule, day: dt.date) -> bool:
    """Whether a local date lies in the schedule's date ranges (always, when it has none)."""
    return not schedule.date_ranges or any(a <= day <= b for a, b in schedule.date_ranges)


def _evaluator(schedule: Schedule, day: dt.date) -> tuple[opening_hours.OpeningHours, dt.date]:
    """Return the parsed expression and the proxy date on which to evaluate a local date."""
    kind = day_kind(day)
    if kind is DayKind.HOLIDAY:
        return schedule._holiday, day
    if kind is DayKind.ADJUSTED_WORKDAY and day.weekday() >= 5:
        # Saturday as the Friday before, Sunday as the Monday after.
        return schedule._plain, day + (-_DAY if day.weekday() == 5 else _DAY)
    return schedule._plain, day


@functools.lru_cache(maxsize=8192)
def _day_segments(schedule: Schedule, day: dt.date) -> tuple[np.ndarray, np.ndarray]:
    """Return segment starts (µs after local midnight) and states of one local day, merged."""
    if not _in_ranges(schedule, day):
        return np.zeros(1, dtype=np.int64), np.zeros(1, dtype=bool)
    oh, proxy = _evaluator(schedule, day)
    midnight = dt.datetime.combine(proxy, dt.time())
    starts: list[int] = []
    states: list[bool] = []
    for start, _end, state, _comment in oh.intervals(midnight, midnight + _DAY):
        is_on = state in _OPEN_STATES
        if not states or states[-1] != is_on:
            starts.append((start - midnight) // dt.timedelta(microseconds=1))
            states.append(is_on)
    return np.asarray(starts, dtype=np.int64), np.asarray(states, dtype=bool)


def _require_aware(at: dt.datetime) -> None:
    """Refuse a naive datetime."""
    if at.tzinfo is None or at.utcoffset() is None:
        msg = "`at` must be timezone-aware"
        raise ValueError(msg)


def _local_wall_times(schedule: Schedule, at: Any) -> np.ndarray:
    """Return local wall-clock times as datetime64[us], refusing naive input."""
    if isinstance(at, pd.Series | pd.DatetimeIndex):
        index = pd.DatetimeIndex(at)
        if index.tz is None:
            msg = "`at` must be timezone-aware"
            raise ValueError(msg)
    else:
        values = np.asarray(at, dtype=object).ravel()
        if values.size and not all(isinstance(v, dt.datetime) for v in values):
            msg = "`at` must hold datetime values"
            raise TypeError(msg)
        for value in values:
            _require_aware(value)
        index = pd.DatetimeIndex(pd.to_datetime(list(values), utc=True))
    local = index.tz_convert(schedule._zone).tz_localize(None)
    return local.to_numpy(dtype="datetime64[us]")


def _active_at_local(schedule: Schedule, local: np.ndarray) -> np.ndarray:
    """Evaluate local wall-clock times (datetime64[us]), one lookup per distinct day."""
    days = local.astype("datetime64[D]")
    offsets_us = (local - days.astype("datetime64[us]")).astype(np.int64)
    active = np.zeros(local.shape, dtype=bool)
    for day in np.unique(days):
        starts, states = _day_segments(schedule, day.item())
        rows = days == day
        active[rows] = states[np.searchsorted(starts, offsets_us[rows], side="right") - 1]
    return active


@overload
def is_active(schedule: Schedule, at: dt.datetime) -> bool: ...
@overload
def is_active(
    schedule: Schedule, at: Sequence[dt.datetime] | np.ndarray | pd.Series
) -> np.ndarray: ...
def is_active(schedule: Schedule, at: Any) -> bool | np.ndarray:
    """Tell whether a schedule is active at one moment or at each of many.

    Parameters
    ----------
    schedule
        Parsed schedule.
    at
        One timezone-aware datetime, or a sequence / object array of them, or a tz-aware pandas
        ``Series`` / ``DatetimeIndex``. Naive values are refused.

    Returns
    -------
    active
        A bool for one datetime, otherwise a bool array of the same length.

    Raises
    ------
    ValueError
        A datetime is naive.

    Examples
    --------
    >>> night = Schedule("19:00-06:00")
    >>> utc = dt.timezone.utc
    >>> is_active(night, dt.datetime(2025, 10, 9, 10, 59, 59, tzinfo=utc))  # 18:59:59 in Shanghai
    False
    >>> is_active(night, [dt.datetime(2025, 10, 9, 11, tzinfo=utc),
    ...                   dt.datetime(2025, 10, 9, 22, tzinfo=utc)]).tolist()
    [True, False]
    """
    if isinstance(at, dt.datetime):
        return _is_active_at(schedule, at)
    return _active_at_local(schedule, _local_wall_times(schedule, at))


def _is_active_at(schedule: Schedule, at: dt.datetime) -> bool:
    """`is_active` for one moment, without pandas: the same local day segments and lookup."""
    _require_aware(at)
    local = at.astimezone(schedule._zone).replace(tzinfo=None)
    day = local.date()
    offset_us = (local - dt.datetime.combine(day, dt.time())) // dt.timedelta(microseconds=1)
    starts, states = _day_segments(schedule, day)
    return bool(states[bisect.bisect_right(starts, offset_us) - 1])


def next_change(schedule: Schedule, after: dt.datetime) -> dt.datetime | None:
    """Return the first moment strictly after `after` at which the schedule's state changes.

    Parameters
    ----------
    schedule
        Parsed schedule.
    after
        Timezone-aware moment.

    Returns
    -------
    change_at
        Aware datetime in the schedule's zone, or ``None`` when the state never changes again
        (``"24/7"``, or a date range that has ended).

    Raises
    ------
    ValueError
        `after` is naive.

    Examples
    --------
    >>> night = Schedule("19:00-06:00")
    >>> shanghai = zoneinfo.ZoneInfo("Asia/Shanghai")
    >>> next_change(night, dt.datetime(2025, 10, 9, 23, 0, tzinfo=shanghai)).isoformat()
    '2025-10-10T06:00:00+08:00'
    >>> next_change(ALWAYS, dt.datetime(2025, 10, 9, tzinfo=shanghai)) is None
    True
    """
    _require_aware(after)
    local = after.astimezone(schedule._zone).replace(tzinfo=None)
    day = local.date()
    offset_us = (local - dt.datetime.combine(day, dt.time())) // dt.timedelta(microseconds=1)
    starts, states = _day_segments(schedule, day)
    position = int(np.searchsorted(starts, offset_us, side="right"))
    if position < len(starts):
        return _aware_at(schedule, day, int(starts[position]))
    change = _next_change_from_day(schedule, day + _DAY, state=bool(states[-1]))
    return None if change is None else change.replace(tzinfo=schedule._zone)


def _next_change_from_day(schedule: Schedule, day: dt.date, *, state: bool) -> dt.datetime | None:
    """Walk days from `day` (the state at its start was `state`); return a local naive change."""
    while True:
        starts, states = _day_segments(schedule, day)
        if states[0] != state:
            return dt.datetime.combine(day, dt.time())
        if len(starts) > 1:
            return _local_at(day, int(starts[1]))
        boundary = _next_boundary(schedule, day)
        if day_kind(day) is not DayKind.ORDINARY:
            day += _DAY
            continue
        jump = None
        if _in_ranges(schedule, day):
            # Ordinary days up to the boundary: the library sees them as we do; skip to its change.
            change = schedule._plain.next_change(dt.datetime.combine(day, dt.time()))
            jump = None if change is None else max(change.date(), day + _DAY)
        targets = [d for d in (jump, boundary) if d is not None]
        if not targets:
            return None
        day = min(targets)


def _next_boundary(schedule: Schedule, day: dt.date) -> dt.date | None:
    """Return the first context boundary after `day`, or ``None``."""
    i = bisect.bisect_right(schedule._boundaries, day)
    return schedule._boundaries[i] if i < len(schedule._boundaries) else None


def _local_at(day: dt.date, offset_us: int) -> dt.datetime:
    """Return the naive local datetime `offset_us` after midnight of `day`."""
    return dt.datetime.combine(day, dt.time()) + dt.timedelta(microseconds=offset_us)


def _aware_at(schedule: Schedule, day: dt.date, offset_us: int) -> dt.datetime:
    """Return the aware datetime `offset_us` after local midnight of `day`."""
    return _local_at(day, offset_us).replace(tzinfo=schedule._zone)
