"""Fleet-level parking: lot capacity, segregation of incompatible goods, waiting clusters."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from geodata.network import RoadNetwork
from tests.transport.rules.conftest import (
    box,
    cargo,
    feature,
    local,
    monitor,
    opened,
    timeline,
)
from transport.cargo import CargoProfile
from transport.pipeline import fleet_stops
from transport.rules.fleet_view import FleetStop, FleetView
from transport.rules.params import ParkingParams, RuleParams, SegregationParams

NOON = local(2026, 3, 2, 12, 0)
LOT_LON, LAT = 114.035, 22.55
LOT = box(114.03, 22.54, 114.04, 22.56)


def lot(capacity: int | None = None) -> dict[str, object]:
    """A hazmat lot around 114.035 admitting every load, with a capacity when given."""
    extra = {} if capacity is None else {"capacity": capacity}
    return feature("lot", "parking_lot", LOT, max_dwell_min=600, **extra)


def stop(
    network: RoadNetwork,
    vehicle_id: str,
    *,
    lon: float = LOT_LON,
    since_min: float = -30.0,
    load: CargoProfile | None = None,
    lots: tuple[str, ...] = ("lot",),
) -> FleetStop:
    """Another vehicle's stop, begun `since_min` minutes from noon, heard from at noon."""
    x, y = network.from_lonlat.transform(lon, LAT)
    classes = () if load is None else (*load.hazard_classes, *load.subsidiary_hazards)
    return FleetStop(
        vehicle_id, float(x), float(y), NOON + dt.timedelta(minutes=since_min),
        NOON + dt.timedelta(minutes=5), lots, classes, load is not None,
    )  # fmt: skip


def keys_opened(toy: RoadNetwork, view: FleetView | None, *features: object, **kw: object) -> list:
    """Stop V1 (petrol) for 10 minutes from noon at the lot; return the keys of fleet alerts."""
    m = monitor(toy, *features, **kw)  # type: ignore[arg-type]
    fixes = timeline(toy, NOON, 10 * 60, lon=LOT_LON, speed_kmh=0, noise_m=5)
    changes = m.process_many(fixes, fleet=view)
    return sorted(a.key for a in opened(changes) if a.rule_id != "parking")


@pytest.mark.parametrize(
    ("earlier", "expected"),
    [
        pytest.param(1, [], id="fills-the-lot-to-capacity"),
        pytest.param(2, ["capacity:lot"], id="over-capacity-by-one"),
    ],
)
def test_lot_capacity_counts_vehicles_there_before(toy, earlier: int, expected: list) -> None:
    others = [stop(toy, f"A{i}") for i in range(earlier - 1)]
    others.append(stop(toy, "E", load=None))  # an empty vehicle still takes a bay
    assert keys_opened(toy, FleetView(others), lot(capacity=2)) == expected


def test_lot_capacity_ignores_later_arrivals_moving_and_stale_stops(toy) -> None:
    later = [stop(toy, f"L{i}", since_min=3) for i in range(3)]  # came after V1
    stale = FleetStop(**{**stop(toy, "S").__dict__, "seen_at": NOON - dt.timedelta(hours=1)})
    assert keys_opened(toy, FleetView([*later, stale]), lot(capacity=1)) == []


def test_without_fleet_view_or_capacity_nothing_is_raised(toy) -> None:
    crowd = FleetView([stop(toy, f"A{i}") for i in range(5)])
    assert keys_opened(toy, None, lot(capacity=1)) == []
    assert keys_opened(toy, crowd, lot()) == []


def test_capacity_alert_gives_count_limit_and_zh_en_fact(toy) -> None:
    m = monitor(toy, lot(capacity=1))
    fixes = timeline(toy, NOON, 10 * 60, lon=LOT_LON, speed_kmh=0)
    changes = m.process_many(fixes, fleet=FleetView([stop(toy, "A0")]))
    (alert,) = opened(changes, "lot_capacity")
    assert alert.evidence.restriction_id == "lot"
    assert "超出容量" in alert.evidence.fact.zh and "capacity 1" in alert.evidence.fact.en


@pytest.mark.parametrize(
    ("other", "expected"),
    [
        pytest.param(cargo("2014"), ["segregation:lot"], id="oxidiser-beside-petrol"),
        pytest.param(cargo("1090"), [], id="acetone-beside-petrol"),
        pytest.param(cargo("1830"), [], id="acid-beside-petrol"),
        pytest.param(None, [], id="empty-vehicle"),
    ],
)
def test_segregation_of_incompatible_goods_in_a_lot(toy, other, expected: list) -> None:
    view = FleetView([stop(toy, "A", load=other)])
    assert keys_opened(toy, view, lot()) == expected


def test_segregation_alerts_the_later_arrival_only(toy) -> None:
    view = FleetView([stop(toy, "A", load=cargo("2014"), since_min=3)])
    assert keys_opened(toy, view, lot()) == []


def test_segregation_distance_keeps_far_pairs_apart(toy) -> None:
    view = FleetView([stop(toy, "A", load=cargo("2014"), lon=LOT_LON + 0.003)])  # ~300 m east
    near = RuleParams(segregation=SegregationParams(distance_m=100.0))
    assert keys_opened(toy, view, lot(), params=near) == []
    assert keys_opened(toy, view, lot()) == ["segregation:lot"]


@pytest.mark.parametrize(
    ("pair", "is_incompatible"),
    [
        pytest.param(({"1.1"}, {"9"}), True, id="explosive-vs-any"),
        pytest.param(({"2.1"}, {"2.3", "5.1", "8"}), True, id="lpg-vs-chlorine"),
        pytest.param(({"4.1"}, {"5.1"}), True, id="division-covered-by-class"),
        pytest.param(({"3"}, {"8"}), False, id="petrol-vs-acid"),
        pytest.param(({"2.2"}, {"2.3"}), False, id="inert-vs-toxic-gas"),
    ],
)
def test_segregation_table(pair, is_incompatible: bool) -> None:
    mine, theirs = (frozenset(p) for p in pair)
    assert SegregationParams().are_incompatible(mine, theirs) is is_incompatible


CLUSTER = RuleParams(parking=ParkingParams(cluster_min_vehicles=3, cluster_radius_m=200.0))
ROAD_LON = 114.015  # outside any lot


@pytest.mark.parametrize(
    ("others", "expected"),
    [
        pytest.param([114.0155, 114.0165], ["cluster"], id="K-linked-within-R"),
        pytest.param([114.0155], [], id="K-minus-1"),
        pytest.param([114.0155, 114.0250], [], id="one-too-far"),
    ],
)
def test_waiting_cluster_needs_k_loaded_vehicles(toy, others: list, expected: list) -> None:
    view = FleetView(
        [stop(toy, f"A{i}", lon=lon, lots=(), load=cargo("1203")) for i, lon in enumerate(others)]
    )
    m = monitor(toy, params=CLUSTER)
    fixes = timeline(toy, NOON, 10 * 60, lon=ROAD_LON, speed_kmh=0, noise_m=5)
    changes = m.process_many(fixes, fleet=view)
    assert sorted(a.key for a in opened(changes, "waiting_cluster")) == expected


def test_waiting_cluster_does_not_count_empty_vehicles_or_moving_self(toy) -> None:
    empty = FleetView([stop(toy, f"A{i}", lon=114.0155 + i * 0.001, lots=()) for i in range(4)])
    m = monitor(toy, params=CLUSTER)
    still = timeline(toy, NOON, 10 * 60, lon=ROAD_LON, speed_kmh=0)
    assert not opened(m.process_many(still, fleet=empty), "waiting_cluster")
    loaded = FleetView(
        [
            stop(toy, f"A{i}", lon=114.0155 + i * 0.001, lots=(), load=cargo("1203"))
            for i in range(4)
        ]
    )
    moving = monitor(toy, params=CLUSTER)
    drive = timeline(toy, NOON, 10 * 60, lon=ROAD_LON, speed_kmh=40)
    assert not opened(moving.process_many(drive, fleet=loaded), "waiting_cluster")


def test_current_stops_publish_only_stops_that_lasted(toy) -> None:
    m = monitor(toy, lot())
    m.process_many(timeline(toy, NOON, 60, lon=LOT_LON, speed_kmh=0))
    assert fleet_stops.current_stops({"V1": m}, ["V1"], m.road, RuleParams()) == {"V1": None}
    m.process_many(timeline(toy, NOON + dt.timedelta(minutes=2), 5 * 60, lon=LOT_LON, speed_kmh=0))
    record = fleet_stops.current_stops({"V1": m}, ["V1", "V9"], m.road, RuleParams())["V1"]
    assert record is not None
    assert (record.since_at, record.lot_ids, record.classes, record.is_loaded) == (
        NOON, ("lot",), ("3",), True,
    )  # fmt: skip
    assert FleetStop.from_json(record.to_json()) == record
    m.process_many(timeline(toy, NOON + dt.timedelta(minutes=8), 60, lon=LOT_LON, speed_kmh=30))
    assert fleet_stops.current_stops({"V1": m}, ["V1"], m.road, RuleParams()) == {"V1": None}


_ids = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
_times = st.integers(0, 4_000_000_000_000_000).map(
    lambda us: dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=us)
)


@given(
    st.builds(
        FleetStop,
        vehicle_id=_ids,
        x=st.floats(-1e7, 1e7),
        y=st.floats(-1e7, 1e7),
        since_at=_times,
        seen_at=_times,
        lot_ids=st.lists(_ids, max_size=3).map(tuple),
        classes=st.lists(st.sampled_from(["2.1", "3", "6.1", "8"]), max_size=3).map(tuple),
        is_loaded=st.booleans(),
    )
)
def test_a_fleet_stop_reads_back_as_written(stop: FleetStop) -> None:
    assert FleetStop.from_json(stop.to_json()) == stop
