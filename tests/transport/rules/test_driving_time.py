"""Driving time as timelines: 4 h continuous with a 19- vs 20-minute rest, night, 24 hours."""

from __future__ import annotations

import dataclasses
import datetime as dt

from tests.transport.rules.conftest import local, monitor, opened, timeline
from transport.rules.base import EPOCH, US
from transport.rules.driving_time import DrivingState


def _trip(toy, start, legs):
    """Fixes for (minutes, speed) legs in sequence, every 30 s, no repeated instants."""
    fixes, at = [], start
    for minutes, speed in legs:
        leg = timeline(toy, at, minutes * 60, lon=114.035, speed_kmh=speed)
        fixes += leg[:-1]
        at += dt.timedelta(minutes=minutes)
    return fixes + timeline(toy, at, 0, lon=114.035, speed_kmh=0.0)


MORNING = local(2025, 10, 9, 8, 0)


def test_four_hours_with_a_19_minute_rest_alerts(toy) -> None:
    changes = monitor(toy).process_all(_trip(toy, MORNING, [(120, 50), (19, 0), (130, 50)]))
    (alert,) = opened(changes, "driving_time")
    assert alert.key == "continuous"


def test_four_hours_with_a_20_minute_rest_is_quiet(toy) -> None:
    changes = monitor(toy).process_all(_trip(toy, MORNING, [(120, 50), (20, 0), (130, 50)]))
    assert not opened(changes, "driving_time")


def test_night_continuous_over_two_hours_alerts(toy) -> None:
    changes = monitor(toy).process_all(_trip(toy, local(2025, 10, 9, 22, 0), [(125, 50)]))
    assert [a.key for a in opened(changes, "driving_time")] == ["night_continuous"]


def test_day_drive_of_125_minutes_is_quiet(toy) -> None:
    changes = monitor(toy).process_all(_trip(toy, MORNING, [(125, 50)]))
    assert not opened(changes, "driving_time")


def test_more_than_eight_hours_in_24_alerts(toy) -> None:
    legs = [(170, 50), (30, 0)] * 3  # 8.5 h of driving, rested every 170 min
    changes = monitor(toy).process_all(_trip(toy, local(2025, 10, 9, 6, 0), legs))
    assert [a.key for a in opened(changes, "driving_time")] == ["daily"]


def test_checkpoint_with_intervals_as_times_resumes_the_same_clock(toy) -> None:
    """Checkpoints written before the driven intervals were epoch µs held datetimes."""
    fixes = _trip(toy, local(2025, 10, 9, 6, 0), [(170, 50), (30, 0)] * 3)
    cut = len(fixes) * 2 // 3
    first = monitor(toy)
    first.process_all(fixes[:cut])
    now = first.state
    clock = next(s for s in now.rule_states if isinstance(s, DrivingState))
    as_times = dataclasses.replace(
        clock, driven=tuple((EPOCH + a * US, EPOCH + b * US) for a, b in clock.driven)
    )
    legacy = dataclasses.replace(
        now, rule_states=tuple(as_times if s is clock else s for s in now.rule_states)
    )
    assert clock.driven and legacy != now
    resumed = [monitor(toy, state=state).process_all(fixes[cut:]) for state in (now, legacy)]
    assert resumed[0] == resumed[1]
    assert [a.key for a in opened(resumed[0], "driving_time")] == ["daily"]
