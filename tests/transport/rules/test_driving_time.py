"""Driving time as timelines: 4 h continuous with a 19- vs 20-minute rest, night, 24 hours."""

from __future__ import annotations

import datetime as dt

from tests.transport.rules.conftest import local, monitor, opened, timeline


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
