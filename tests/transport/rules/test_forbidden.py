"""Forbidden segments and zones as timelines: window borders, cargo selection, exemptions."""

from __future__ import annotations

import pytest

from tests.transport.rules.conftest import box, cargo, feature, fix_at, local, monitor, opened

NIGHT_SEGMENT = feature(
    "night-ban",
    "forbidden_segment",
    {"type": "LineString", "coordinates": [[114.01, 22.55], [114.02, 22.55]]},
    schedule="19:00-06:00",
)


@pytest.mark.parametrize(
    ("hhmm", "expected"),
    [
        pytest.param((18, 59), 0, id="18:59-open-road"),
        pytest.param((19, 0), 1, id="19:00-banned"),
        pytest.param((5, 59), 1, id="05:59-banned"),
        pytest.param((6, 0), 0, id="06:00-open-road"),
    ],
)
def test_night_segment_window_borders_in_shanghai_time(toy, hhmm, expected) -> None:
    m = monitor(toy, NIGHT_SEGMENT)
    changes = m.process(fix_at(toy, local(2025, 10, 9, *hhmm), 114.015, path=(1,)))
    assert len(opened(list(changes), "forbidden_entry")) == expected


def test_driving_through_a_short_ban_between_fixes_opens_alert(toy) -> None:
    m = monitor(toy, NIGHT_SEGMENT)
    # The fix lies on edge 2; the path since the last fix crossed the banned edge 1.
    changes = m.process(fix_at(toy, local(2025, 10, 9, 20, 0), 114.025, path=(0, 1, 2)))
    (alert,) = opened(list(changes))
    assert alert.evidence.restriction_id == "night-ban"
    assert 1 in alert.evidence.edge_ids
    assert "19:00-06:00" in alert.evidence.schedule


def test_ban_on_other_direction_of_way_does_not_hit(toy) -> None:
    westbound = feature(
        "west-only", "forbidden_segment", None, osm_way_ids=[102], direction="backward"
    )
    m = monitor(toy, westbound)
    assert not m.process(fix_at(toy, local(2025, 10, 9, 12, 0), 114.015, edge_id=1))
    back = m.process(fix_at(toy, local(2025, 10, 9, 12, 1), 114.015, edge_id=5))
    assert opened(list(back))[0].key == "west-only"


def test_selector_for_other_class_does_not_apply(toy) -> None:
    only_toxic_gas = feature(
        "toxic-gas-zone", "zone", box(114.01, 22.54, 114.02, 22.56), cargo={"classes": ["2.3"]}
    )
    gasoline = monitor(toy, only_toxic_gas, load=cargo("1203"))
    chlorine = monitor(toy, only_toxic_gas, load=cargo("1017"))
    at = local(2025, 10, 9, 12, 0)
    assert not gasoline.process(fix_at(toy, at, 114.015))
    assert opened(list(chlorine.process(fix_at(toy, at, 114.015))))


def test_exemption_permit_lifts_zone_ban(toy) -> None:
    zone = feature("centre", "zone", box(114.01, 22.54, 114.02, 22.56), exemptions=["fuel_supply"])
    at = local(2025, 10, 9, 12, 0)
    held = monitor(toy, zone, load=cargo("1203", permits=("fuel_supply",)))
    without = monitor(toy, zone, load=cargo("1203"))
    assert not held.process(fix_at(toy, at, 114.015))
    assert opened(list(without.process(fix_at(toy, at, 114.015))))


def test_holiday_vs_adjusted_working_day_rush_hour_zone(toy) -> None:
    zone = feature(
        "rush", "zone", box(114.01, 22.54, 114.02, 22.56), schedule="Mo-Fr 07:00-09:00; PH off"
    )
    holiday = monitor(toy, zone).process(fix_at(toy, local(2025, 10, 1, 8, 0), 114.015))
    adjusted_sunday = monitor(toy, zone).process(fix_at(toy, local(2025, 9, 28, 8, 0), 114.015))
    assert not holiday
    assert opened(list(adjusted_sunday))


def test_empty_vehicle_is_not_restricted(toy) -> None:
    from transport.rules.base import VehicleContext

    m = monitor(toy, NIGHT_SEGMENT)
    m.vehicle = VehicleContext("V1", cargo=None)
    assert not m.process(fix_at(toy, local(2025, 10, 9, 20, 0), 114.015, path=(1,)))
