"""Tests for geodata.schedules: windows, Chinese holidays, date ranges, next changes."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable

import chinese_calendar
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geodata import schedules
from geodata._errors import ScheduleError

UTC = dt.UTC
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
NIGHT = schedules.Schedule("19:00-06:00")
RUSH = schedules.Schedule("Mo-Fr 07:00-09:00,17:00-19:00; PH off")
WEEKDAY_NIGHT = schedules.Schedule("Mo-Fr 19:00-06:00")
HOLIDAY_ONLY = schedules.Schedule("PH")
NATIONAL_DAY = schedules.Schedule(
    "24/7", date_ranges=((dt.date(2026, 10, 1), dt.date(2026, 10, 7)),)
)


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def local(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)


def test_calendar_facts_used_below_hold() -> None:
    assert chinese_calendar.is_holiday(dt.date(2025, 10, 1))
    assert chinese_calendar.get_holiday_detail(dt.date(2025, 10, 8)) == (True, "National Day")
    assert dt.date(2025, 9, 28).weekday() == 6
    assert chinese_calendar.is_workday(dt.date(2025, 9, 28))
    assert dt.date(2025, 10, 11).weekday() == 5
    assert chinese_calendar.is_workday(dt.date(2025, 10, 11))


ACTIVE_CASES = [
    # Window borders in Shanghai (UTC+8) from UTC inputs.
    pytest.param(NIGHT, utc(2025, 10, 9, 10, 59, 59), False, id="night-18:59:59-before"),
    pytest.param(NIGHT, utc(2025, 10, 9, 11, 0, 0), True, id="night-19:00-starts"),
    pytest.param(NIGHT, utc(2025, 10, 9, 21, 59, 0), True, id="night-05:59-inside"),
    pytest.param(NIGHT, utc(2025, 10, 9, 21, 59, 59, 999999), True, id="night-05:59:59.999999"),
    pytest.param(NIGHT, utc(2025, 10, 9, 22, 0, 0), False, id="night-06:00-ends"),
    pytest.param(NIGHT, utc(2025, 10, 9, 16, 0, 0), True, id="night-00:00-overnight"),
    pytest.param(NIGHT, local(2025, 10, 10, 3, 0), True, id="night-local-input"),
    # Weekday rules with an overnight window spill into Saturday morning.
    pytest.param(WEEKDAY_NIGHT, local(2025, 10, 18, 3, 0), True, id="fri-night-into-sat"),
    pytest.param(WEEKDAY_NIGHT, local(2025, 10, 18, 20, 0), False, id="sat-evening-free"),
    pytest.param(WEEKDAY_NIGHT, local(2025, 10, 20, 3, 0), False, id="sun-night-into-mon"),
    # PH: Chinese statutory holidays from chinese-calendar, all days of the period.
    pytest.param(RUSH, local(2025, 10, 1, 8, 0), False, id="ph-2025-10-01-wed-off"),
    pytest.param(RUSH, local(2025, 10, 8, 8, 0), False, id="ph-2025-10-08-last-day-off"),
    pytest.param(RUSH, local(2025, 10, 9, 8, 0), True, id="2025-10-09-thu-working"),
    pytest.param(RUSH, local(2025, 10, 9, 9, 0), False, id="rush-09:00-ends"),
    pytest.param(RUSH, local(2026, 2, 17, 8, 0), False, id="ph-2026-spring-festival"),
    pytest.param(HOLIDAY_ONLY, local(2025, 10, 3, 12, 0), True, id="ph-matches-holiday"),
    pytest.param(HOLIDAY_ONLY, local(2025, 10, 9, 12, 0), False, id="ph-not-ordinary-day"),
    pytest.param(HOLIDAY_ONLY, local(2025, 4, 4, 12, 0), True, id="ph-qingming-2025"),
    pytest.param(HOLIDAY_ONLY, local(2027, 10, 1, 12, 0), False, id="ph-beyond-calendar"),
    # Adjusted working days (调休) count as weekdays.
    pytest.param(RUSH, local(2025, 9, 28, 8, 0), True, id="adjusted-sun-2025-09-28"),
    pytest.param(RUSH, local(2025, 10, 11, 17, 30), True, id="adjusted-sat-2025-10-11"),
    pytest.param(RUSH, local(2025, 9, 21, 8, 0), False, id="ordinary-sunday"),
    pytest.param(HOLIDAY_ONLY, local(2025, 9, 28, 12, 0), False, id="adjusted-day-not-ph"),
    # Explicit date ranges (local dates, both ends included).
    pytest.param(NATIONAL_DAY, local(2026, 9, 30, 23, 59, 59), False, id="range-day-before"),
    pytest.param(NATIONAL_DAY, local(2026, 10, 1, 0, 0), True, id="range-first-midnight"),
    pytest.param(NATIONAL_DAY, utc(2026, 10, 7, 15, 59, 59), True, id="range-last-second"),
    pytest.param(NATIONAL_DAY, utc(2026, 10, 7, 16, 0, 0), False, id="range-over-utc"),
    pytest.param(schedules.ALWAYS, utc(2025, 1, 1), True, id="24/7"),
    pytest.param(schedules.Schedule("24/7 off"), utc(2025, 1, 1), False, id="24/7-off"),
    pytest.param(schedules.Schedule("unknown"), utc(2025, 1, 1), True, id="unknown-counts-active"),
    pytest.param(
        schedules.Schedule("2026 Oct 01-07 00:00-24:00"),
        local(2026, 10, 7, 23),
        True,
        id="osm-dates",
    ),
    pytest.param(
        schedules.Schedule("19:00-06:00", time_zone="Asia/Urumqi"),
        utc(2025, 10, 9, 11, 0),
        False,
        id="other-zone-utc+6",
    ),
]


@pytest.mark.parametrize(("schedule", "at", "expected"), ACTIVE_CASES)
def test_is_active(schedule: schedules.Schedule, at: dt.datetime, expected: bool) -> None:
    assert schedules.is_active(schedule, at) is expected


def test_is_active_vectorised_matches_scalar() -> None:
    cases = [p.values for p in ACTIVE_CASES if p.values[0] is RUSH]
    moments = [at for _, at, _ in cases]
    expected = [want for _, _, want in cases]
    assert schedules.is_active(RUSH, moments).tolist() == expected
    assert schedules.is_active(RUSH, np.array(moments, dtype=object)).tolist() == expected
    series = pd.Series(pd.to_datetime(moments, utc=True))
    assert schedules.is_active(RUSH, series).tolist() == expected
    assert schedules.is_active(RUSH, []).tolist() == []


NEXT_CASES = [
    pytest.param(NIGHT, local(2025, 10, 9, 18, 59, 59), local(2025, 10, 9, 19), id="to-ban-start"),
    pytest.param(NIGHT, local(2025, 10, 9, 19), local(2025, 10, 10, 6), id="across-midnight"),
    pytest.param(NIGHT, local(2025, 10, 9, 23, 59), local(2025, 10, 10, 6), id="just-before-00"),
    pytest.param(NIGHT, utc(2025, 10, 9, 16), local(2025, 10, 10, 6), id="utc-input-at-00"),
    pytest.param(RUSH, local(2025, 9, 30, 19), local(2025, 10, 9, 7), id="skips-national-day"),
    pytest.param(RUSH, local(2025, 9, 27, 12), local(2025, 9, 28, 7), id="to-adjusted-sunday"),
    pytest.param(WEEKDAY_NIGHT, local(2025, 10, 17, 20), local(2025, 10, 18, 6), id="fri-to-sat"),
    pytest.param(NATIONAL_DAY, local(2026, 1, 1), local(2026, 10, 1), id="range-start"),
    pytest.param(NATIONAL_DAY, local(2026, 10, 1), local(2026, 10, 8), id="range-end"),
    pytest.param(NATIONAL_DAY, local(2026, 10, 8), None, id="range-over-never"),
    pytest.param(schedules.ALWAYS, utc(2025, 6, 1), None, id="24/7-never"),
    pytest.param(HOLIDAY_ONLY, local(2026, 10, 8), None, id="ph-after-calendar-never"),
    pytest.param(
        schedules.Schedule("Mo-Fr 07:00-09:00"),
        local(2030, 1, 4, 10),
        local(2030, 1, 7, 7),
        id="2030",
    ),
]


@pytest.mark.parametrize(("schedule", "after", "expected"), NEXT_CASES)
def test_next_change(
    schedule: schedules.Schedule, after: dt.datetime, expected: dt.datetime | None
) -> None:
    change = schedules.next_change(schedule, after)
    assert change == expected
    if change is not None:
        assert change.tzinfo is not None
        assert schedules.is_active(schedule, change) != schedules.is_active(schedule, after)


@pytest.mark.parametrize(
    ("expression", "kwargs", "message"),
    [
        pytest.param(
            "Mo-Fr 25:00-26:00", {}, r"invalid opening_hours 'Mo-Fr 25:00-26:00'", id="hours"
        ),
        pytest.param("garbage", {}, r"invalid opening_hours 'garbage'", id="garbage"),
        pytest.param("", {}, r"invalid opening_hours '': empty", id="empty"),
        pytest.param("PH Mo-Fr 08:00-10:00", {}, r"unsupported use of PH", id="ph-intersection"),
        pytest.param("24/7", {"time_zone": "Mars/Olympus"}, r"unknown time zone", id="zone"),
        pytest.param(
            "24/7",
            {"date_ranges": ((dt.date(2026, 10, 7), dt.date(2026, 10, 1)),)},
            r"date range 0 ends before it starts",
            id="range-order",
        ),
    ],
)
def test_invalid_schedule_is_refused(expression: str, kwargs: dict, message: str) -> None:
    with pytest.raises(ScheduleError, match=message):
        schedules.Schedule(expression, **kwargs)


def test_every_fault_is_reported_at_once() -> None:
    with pytest.raises(ScheduleError, match=r"date range 0 .*unknown time zone.*invalid opening"):
        schedules.Schedule(
            "Mo-Fr 25:00",
            time_zone="Nowhere/Nothing",
            date_ranges=((dt.date(2026, 2, 1), dt.date(2026, 1, 1)),),
        )


def test_ph_in_comment_is_left_alone() -> None:
    schedule = schedules.Schedule('Mo-Fr 08:00-10:00 "not on PH"')
    assert schedules.is_active(schedule, local(2025, 10, 1, 9)) is True


def test_schedule_is_a_hashable_value() -> None:
    assert schedules.Schedule("19:00-06:00") == NIGHT
    assert hash(schedules.Schedule("19:00-06:00")) == hash(NIGHT)
    with pytest.raises(AttributeError):
        NIGHT.expression = "24/7"  # type: ignore[misc]


NAIVE = dt.datetime.fromisoformat("2025-10-01T08:00")


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda: schedules.is_active(RUSH, NAIVE), id="is_active"),
        pytest.param(lambda: schedules.is_active(RUSH, [local(2025, 1, 1), NAIVE]), id="list"),
        pytest.param(
            lambda: schedules.is_active(RUSH, pd.Series(pd.to_datetime([NAIVE]))), id="series"
        ),
        pytest.param(lambda: schedules.next_change(RUSH, NAIVE), id="next_change"),
    ],
)
def test_naive_datetimes_are_refused(call: Callable[[], object]) -> None:
    with pytest.raises(ValueError, match="`at` must be timezone-aware"):
        call()


SCHEDULES = st.sampled_from([NIGHT, RUSH, WEEKDAY_NIGHT, HOLIDAY_ONLY, NATIONAL_DAY])
MOMENTS = st.datetimes(
    min_value=dt.datetime.fromisoformat("2025-01-01"),
    max_value=dt.datetime.fromisoformat("2027-01-31"),
    timezones=st.just(UTC),
)


@settings(max_examples=60, deadline=None)
@given(schedule=SCHEDULES, after=MOMENTS, fractions=st.lists(st.floats(0, 1), max_size=5))
def test_state_is_constant_between_changes(
    schedule: schedules.Schedule, after: dt.datetime, fractions: list[float]
) -> None:
    first = schedules.next_change(schedule, after)
    state = schedules.is_active(schedule, after)
    if first is None:
        later = [after + dt.timedelta(days=400 * f) for f in fractions]
        assert all(s == state for s in schedules.is_active(schedule, later).tolist())
        return
    second = schedules.next_change(schedule, first)
    assert schedules.is_active(schedule, first) != state
    if second is None:
        return
    assert second > first
    between = [first + (second - first) * f for f in fractions]
    between = [m for m in between if m < second]
    assert set(schedules.is_active(schedule, between).tolist()) <= {not state}


@settings(max_examples=200, deadline=None)
@given(schedule=SCHEDULES, moments=st.lists(MOMENTS, min_size=1, max_size=5))
def test_one_moment_and_many_agree(
    schedule: schedules.Schedule, moments: list[dt.datetime]
) -> None:
    one_by_one = [schedules.is_active(schedule, m) for m in moments]
    assert schedules.is_active(schedule, moments).tolist() == one_by_one
    local_moments = [m.astimezone(SHANGHAI) for m in moments]
    assert [schedules.is_active(schedule, m) for m in local_moments] == one_by_one


@settings(max_examples=30, deadline=None)
@given(
    moment=st.datetimes(
        min_value=dt.datetime.fromisoformat("2000-01-01"),
        max_value=dt.datetime.fromisoformat("2100-01-01"),
    )
)
def test_naive_datetimes_are_always_refused(moment: dt.datetime) -> None:
    with pytest.raises(ValueError, match="`at` must be timezone-aware"):
        schedules.is_active(RUSH, moment)
    with pytest.raises(ValueError, match="`at` must be timezone-aware"):
        schedules.next_change(NIGHT, moment)
