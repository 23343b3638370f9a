"""Speed limits by road class, posted limits, night reduction and minimum duration."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.transport.rules.conftest import fix_at, local, monitor, opened, timeline

NOON = local(2025, 10, 9, 12, 0)


@pytest.mark.parametrize(
    ("lon", "speed_kmh", "at", "expected"),
    [
        pytest.param(114.005, 79.0, NOON, 0, id="expressway-79"),
        pytest.param(114.005, 85.0, NOON, 1, id="expressway-85"),
        pytest.param(114.015, 55.0, NOON, 1, id="posted-50-beats-60"),
        pytest.param(114.035, 59.0, NOON, 0, id="other-road-59"),
        pytest.param(114.035, 59.0, local(2025, 10, 9, 23, 0), 1, id="night-80pct-of-60"),
        pytest.param(114.035, 47.0, local(2025, 10, 9, 23, 0), 0, id="night-47-under-48"),
        pytest.param(114.005, 70.0, local(2025, 10, 9, 21, 59), 0, id="21:59-day-limit"),
        pytest.param(114.005, 70.0, local(2025, 10, 9, 22, 0), 1, id="22:00-night-64"),
    ],
)
def test_limit_by_road_and_time(toy, lon, speed_kmh, at, expected) -> None:
    m = monitor(toy)
    changes = m.process_all(timeline(toy, at, 60, lon=lon, speed_kmh=speed_kmh))
    assert len(opened(changes, "overspeed")) == expected


def test_one_noisy_fix_does_not_alert(toy) -> None:
    m = monitor(toy)
    fixes = timeline(toy, NOON, 300, lon=114.035, speed_kmh=50.0)
    fixes[4] = fix_at(toy, fixes[4].fix_at, 114.035, speed_kmh=120.0)
    assert not opened(m.process_all(fixes), "overspeed")


def test_over_for_29_s_is_quiet_30_s_alerts(toy) -> None:
    start = NOON
    quiet = monitor(toy).process_all(
        [fix_at(toy, start + dt.timedelta(seconds=s), 114.035, speed_kmh=70.0) for s in (0, 29)]
    )
    loud = monitor(toy).process_all(
        [fix_at(toy, start + dt.timedelta(seconds=s), 114.035, speed_kmh=70.0) for s in (0, 30)]
    )
    assert not opened(quiet)
    (alert,) = opened(loud, "overspeed")
    assert alert.started_at == start + dt.timedelta(seconds=30)
    assert alert.evidence.limit == 60.0
