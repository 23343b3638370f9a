"""Forbidden segments and zones as timelines: window borders, cargo selection, exemptions."""

from __future__ import annotations

import pickle

import pandas as pd
import pytest

from geodata.network import RoadNetwork
from tests.transport.alert_events import as_one_batch
from tests.transport.rules.conftest import (
    LAT,
    box,
    cargo,
    feature,
    fix_at,
    local,
    monitor,
    opened,
)
from transport.rules.params import ExitGraceParams, RuleParams

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


# An expressway (way 201) running east 0 -> 1 -> 2 -> 3, 1 km per piece, with an off-ramp
# (way 202) at node 1 to node 4 and back: node 1 is the only exit before the end of the ban.
RAMP_LON, RAMP_LAT = 114.01, 22.56
MAINLINE = [(0, 1), (1, 2), (2, 3)]
EXPRESSWAY_BAN = feature(
    "expressway-night-ban", "forbidden_segment", None, osm_way_ids=[201], schedule="19:00-06:00"
)


@pytest.fixture(scope="module")
def ramp() -> RoadNetwork:
    """Three expressway pieces east, an off-ramp at the first junction (edges 3 out, 4 back)."""
    nodes = pd.DataFrame(
        {"lon": [114.00, 114.01, 114.02, 114.03, RAMP_LON], "lat": [LAT] * 4 + [RAMP_LAT]}
    )
    rows = [{"u": u, "v": v, "highway": "motorway", "osm_way_id": 201} for u, v in MAINLINE]
    rows += [
        {"u": 1, "v": 4, "highway": "motorway_link", "osm_way_id": 202},
        {"u": 4, "v": 1, "highway": "motorway_link", "osm_way_id": 202},
    ]
    return RoadNetwork.from_tables(nodes, pd.DataFrame(rows), name="ramp")


def _run(network: RoadNetwork, features, steps, **kwargs) -> list:
    """Feed fixes given as (local hh, mm, ss, lon, lat, edge, path); the alerts opened."""
    m = monitor(network, *features, **kwargs)
    fixes = [
        fix_at(network, local(2025, 10, 9, hh, mm, ss), lon, lat=lat, edge_id=e, path=path)
        for hh, mm, ss, lon, lat, e, path in steps
    ]
    return opened(m.process_all(fixes), "forbidden_entry")


ON_RAMP_START = [(18, 59, 30, 114.004, LAT, 0, (0,)), (19, 0, 0, 114.008, LAT, 0, ())]


def test_on_expressway_when_ban_begins_and_off_at_first_exit_raises_nothing(ramp) -> None:
    took_ramp = [*ON_RAMP_START, (19, 0, 30, 114.01, 22.553, 3, (3,))]
    assert not _run(ramp, [EXPRESSWAY_BAN], took_ramp)


def test_on_expressway_when_ban_begins_and_past_the_exit_alerts(ramp) -> None:
    drove_on = [*ON_RAMP_START, (19, 0, 30, 114.013, LAT, 1, (1,))]
    (alert,) = _run(ramp, [EXPRESSWAY_BAN], drove_on)
    assert alert.evidence.restriction_id == "expressway-night-ban"
    assert alert.started_at == local(2025, 10, 9, 19, 0, 30)
    assert alert.evidence.fact.en.startswith("Inside when the ban began and did not leave at")
    assert "未在下一出口驶离" in alert.evidence.fact.zh


def test_still_before_the_exit_stays_in_grace(ramp) -> None:
    creeping = [*ON_RAMP_START, (19, 0, 30, 114.009, LAT, 0, ()), (19, 1, 0, 114.0095, LAT, 0, ())]
    assert not _run(ramp, [EXPRESSWAY_BAN], creeping)


def test_driving_past_the_exit_between_two_fixes_alerts(ramp) -> None:
    # The fix lands on the last piece: the path crossed the exit at node 1.
    far = [*ON_RAMP_START, (19, 1, 0, 114.025, LAT, 2, (1, 2))]
    assert len(_run(ramp, [EXPRESSWAY_BAN], far)) == 1


def test_unmatched_fix_in_grace_keeps_it(ramp) -> None:
    lost = [*ON_RAMP_START, (19, 0, 20, 114.009, LAT, -1, ()), (19, 0, 40, 114.01, 22.553, 3, (3,))]
    assert not _run(ramp, [EXPRESSWAY_BAN], lost)
    lost_then_on = [*lost[:3], (19, 0, 40, 114.013, LAT, 1, (1,))]
    assert len(_run(ramp, [EXPRESSWAY_BAN], lost_then_on)) == 1


def test_entering_after_the_ban_began_alerts_as_before(ramp) -> None:
    from_ramp = [(18, 59, 30, 114.01, 22.555, 4, (4,)), (19, 0, 30, 114.013, LAT, 1, (1,))]
    (alert,) = _run(ramp, [EXPRESSWAY_BAN], from_ramp)
    assert alert.evidence.fact.en.startswith("Entered while banned")


def test_leaving_in_grace_and_coming_back_alerts(ramp) -> None:
    back = [
        *ON_RAMP_START,
        (19, 0, 30, 114.01, 22.553, 3, (3,)),
        (19, 1, 30, 114.01, 22.555, 4, (4,)),
        (19, 2, 0, 114.013, LAT, 1, (1,)),
    ]
    (alert,) = _run(ramp, [EXPRESSWAY_BAN], back)
    assert alert.started_at == local(2025, 10, 9, 19, 2, 0)
    assert alert.evidence.fact.en.startswith("Entered while banned")


def test_exits_are_junctions_off_the_ban_not_u_turns(ramp, toy) -> None:
    from transport.rules import forbidden

    expressway = monitor(ramp, EXPRESSWAY_BAN).road
    assert forbidden._exits(expressway, 0).exit_edges == frozenset({0})  # node 1, the ramp
    # Eastbound only on ways 102-103 of a two-way road: turning back is no exit.
    eastbound = feature(
        "east", "forbidden_segment", None, osm_way_ids=[102, 103], direction="forward"
    )
    street = monitor(toy, eastbound).road
    assert forbidden._exits(street, 0).exit_edges == frozenset({2})  # node 3, way 104 goes on


ZONE_BAN = feature("centre", "zone", box(114.01, 22.54, 114.03, 22.56), schedule="07:00-09:00")


def _in_zone(minutes: int, *, leave_at_min: int | None = None, moving: bool = False) -> list:
    """Fixes every 30 s from 06:59 in the zone (edge 1-2), leaving it at `leave_at_min`."""
    steps = []
    for k in range(2 * minutes + 3):
        mm, ss = divmod(59 * 60 + 30 * k, 60)
        hh, mm = 6 + mm // 60, mm % 60
        inside = leave_at_min is None or k < 2 * leave_at_min + 2
        lon = (114.012 + 0.00012 * k if moving else 114.015) if inside else 114.035
        steps.append((hh, mm, ss, lon, LAT, 1 if inside else 3, ()))
    return steps


def test_in_zone_when_ban_begins_and_left_within_grace_raises_nothing(toy) -> None:
    assert not _run(toy, [ZONE_BAN], _in_zone(20, leave_at_min=14))


def test_in_zone_when_ban_begins_and_stayed_beyond_grace_alerts(toy) -> None:
    (alert,) = _run(toy, [ZONE_BAN], _in_zone(20))
    assert alert.started_at == local(2025, 10, 9, 7, 15, 30)  # first fix past 15 min
    assert "15 min" in alert.evidence.fact.en
    assert alert.evidence.limit == 900.0


def test_zone_grace_by_distance_driven(toy) -> None:
    # 0.00012° of longitude is about 12 m per 30 s fix: 600 m after 25 min.
    params = RuleParams(exit_grace=ExitGraceParams(zone_grace_s=3600, zone_grace_m=300))
    (alert,) = _run(toy, [ZONE_BAN], _in_zone(30, moving=True), params=params)
    assert local(2025, 10, 9, 7, 10) < alert.started_at < local(2025, 10, 9, 7, 15)
    assert "300 m" in alert.evidence.fact.en


def test_grace_state_survives_a_checkpoint_and_batches(toy) -> None:
    fixes = [
        fix_at(toy, local(2025, 10, 9, hh, mm, ss), lon, lat=lat, edge_id=e, path=path)
        for hh, mm, ss, lon, lat, e, path in _in_zone(20)
    ]
    whole = monitor(toy, ZONE_BAN)
    per_fix = [list(whole.process(fix)) for fix in fixes]
    expected = as_one_batch([c for changes in per_fix[:10] for c in changes])
    expected += [c for changes in per_fix[10:] for c in changes]
    first = monitor(toy, ZONE_BAN)
    changes = first.process_all(fixes[:10])
    (grace,) = first.state.rule_states[0].graces
    assert grace.phase == "grace"
    restored = pickle.loads(pickle.dumps(first.state))
    second = monitor(toy, ZONE_BAN, state=restored)
    for fix in fixes[10:]:
        changes += second.process(fix)
    assert changes == expected
