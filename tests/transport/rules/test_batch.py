"""The batch path: `Monitor.process_many` gives the alerts of `Monitor.process` fix by fix,
with each alert's updates coalesced per batch."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import pytest

from geodata import restriction_index, restrictions, sources
from geodata.matching.matcher import match_track
from geodata.network import RoadNetwork
from tests.conftest import shared_data_path
from tests.transport.alert_events import as_one_batch
from transport import simulation, track_check
from transport.cargo import CargoProfile
from transport.matched import MatchedFix
from transport.monitoring import Monitor, process_fleet
from transport.rules.base import RoadContext, VehicleContext, VehicleFixes, locate, locate_fleet
from transport.rules.params import DrivingTimeParams, NightWindow, RuleParams

# Low driving-time limits and a night starting mid-trip, so that every clock rule fires.
PARAMS = RuleParams(
    night=NightWindow(start=dt.time(19, 0), end=dt.time(6, 0)),
    driving_time=DrivingTimeParams(
        max_continuous_s=300.0, min_rest_s=120.0, max_night_continuous_s=200.0, max_daily_s=600.0
    ),
)

SHENZHEN_PBF = "osm-china/shenzhen/shenzhen_futian_nanshan_drive_2024-10.osm.pbf"
START_AT = dt.datetime(2026, 3, 2, 10, 45, tzinfo=dt.UTC)  # 18:45 Shanghai: windows change
SCHEDULES = ("19:00-06:00", "Mo-Su 18:50-19:05", "24/7", "Mo-Fr 07:00-09:00,17:00-19:00; PH off")
KINDS = (
    "forbidden_segment",
    "zone",
    "water_source_level1",
    "water_source_level2",
    "dense_area",
    "no_parking_zone",
    "parking_lot",
)


def _layer(network: RoadNetwork, n: int, *, seed: int) -> restrictions.RestrictionLayer:
    """`n` restrictions of mixed kinds and schedules around random nodes of the network."""
    rng = np.random.default_rng(seed)
    ways = network.edges["osm_way_id"].to_numpy(np.int64)
    features = []
    for i in range(n):
        kind = KINDS[i % len(KINDS)]
        node = network.nodes.iloc[int(rng.integers(len(network.nodes)))]
        lon, lat, half = float(node["lon"]), float(node["lat"]), float(rng.uniform(0.001, 0.004))
        ring = [[lon - half, lat - half], [lon + half, lat - half], [lon + half, lat + half]]
        props: dict[str, Any] = {"schedule": SCHEDULES[i % len(SCHEDULES)]}
        geometry: dict[str, Any] | None = {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}
        if kind == "forbidden_segment":
            geometry, props["osm_way_ids"] = None, sorted({int(w) for w in rng.choice(ways, 4)})
        elif kind == "dense_area":
            geometry, props["buffer_m"] = {"type": "Point", "coordinates": [lon, lat]}, 200.0
        elif kind == "parking_lot":
            props["max_dwell_min"] = 5.0
        if i % 5 == 0:
            props["cargo"] = {"classes": ["2.1", "8"]}
        features.append(
            {
                "type": "Feature",
                "geometry": geometry,
                "properties": {
                    "id": f"r{i:03d}",
                    "kind": kind,
                    "name": {"zh": f"测试{i}", "en": f"test {i}"},
                    "legal_basis": {"zh": "测试依据", "en": "test basis"},
                    "cargo": {"all_dangerous_goods": True},
                    "source": {"kind": "example"},
                    **props,
                },
            }
        )
    return restrictions.load_layer(
        restrictions.layer_document(features, name="batch", authority=("测试", "test"))
    )


@pytest.fixture(scope="module")
def fleet() -> tuple[RoadContext, list[list[MatchedFix]]]:
    """Shenzhen with 300 restrictions and a matched fleet of eight trips, some back-filled."""
    network = sources.load_network(shared_data_path(SHENZHEN_PBF))
    compiled = restriction_index.compile_layers(network, [_layer(network, 300, seed=5)])
    streams: list[list[MatchedFix]] = []
    for trip in simulation.simulate_fleet(network, 8, seed=21, start_at=START_AT):
        fixes = trip.fixes
        t = (fixes["fix_at"] - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy()
        result = match_track(network, fixes["x"].to_numpy(), fixes["y"].to_numpy(), t)
        speed = fixes["speed_kmh"].to_numpy() * (1.0 + len(streams) % 2)  # odd ones speed
        stream = track_check.matched_fixes(
            fixes, result, vehicle_id=trip.vehicle_id, speed_kmh=speed
        )
        # Some back-filled fixes, and a few repeated (out of order) ones.
        stream = [dataclasses.replace(f, is_backfill=i % 17 < 3) for i, f in enumerate(stream)]
        streams.append([f for i, f in enumerate(stream) for _ in range(1 + (i % 23 == 5))])
    return RoadContext.from_network(network, compiled), streams


def _monitor(road: RoadContext, vehicle_id: str) -> Monitor:
    """A monitor of a loaded tanker."""
    load = CargoProfile.from_lines(
        [{"un_number": "1203", "quantity": 20, "unit": "t", "carriage": "tank"}]
    )
    return Monitor(VehicleContext(vehicle_id, cargo=load), road, params=PARAMS)


def _chunks(stream: list[MatchedFix], seed: int) -> list[list[MatchedFix]]:
    """The stream cut at random places into batches of 1 to 40 fixes."""
    rng = np.random.default_rng(seed)
    cuts = np.cumsum(rng.integers(1, 40, size=len(stream)))
    cuts = cuts[cuts < len(stream)].tolist()
    return [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]


def test_batches_of_any_size_give_the_alerts_of_fix_by_fix(fleet: Any) -> None:
    road, streams = fleet
    rules_raised: set[str] = set()
    for k, stream in enumerate(streams):
        chunks = _chunks(stream, k)
        one_by_one, whole, chunked = (_monitor(road, stream[0].vehicle_id) for _ in range(3))
        per_chunk = [[c for fix in chunk for c in one_by_one.process(fix)] for chunk in chunks]
        finished = list(one_by_one.finish())
        got_whole = [*whole.process_many(stream), *whole.finish()]
        got_chunked = [c for chunk in chunks for c in chunked.process_many(chunk)]
        got_chunked += chunked.finish()
        assert got_whole == as_one_batch([c for changes in per_chunk for c in changes]) + finished
        assert got_chunked == [c for changes in per_chunk for c in as_one_batch(changes)] + finished
        assert whole.state.alerts == chunked.state.alerts
        assert whole.ignored == chunked.ignored == one_by_one.ignored
        assert whole.state.rule_states == one_by_one.state.rule_states
        rules_raised |= {c.alert.rule_id for changes in per_chunk for c in changes}
    assert rules_raised >= {
        "forbidden_entry", "water_source_zone", "overspeed", "driving_time", "parking"
    }  # fmt: skip


def test_process_fleet_runs_each_vehicle_in_order(fleet: Any) -> None:
    road, streams = fleet
    mixed = sorted((f for s in streams for f in s), key=lambda f: f.fix_at)
    monitors = {s[0].vehicle_id: _monitor(road, s[0].vehicle_id) for s in streams}
    changes = process_fleet(monitors, mixed)
    for stream in streams:
        alone = _monitor(road, stream[0].vehicle_id)
        assert changes.get(stream[0].vehicle_id, []) == alone.process_many(stream)


def test_fleet_batches_of_few_fixes_give_the_alerts_of_each_vehicle_alone(fleet: Any) -> None:
    road, streams = fleet
    mixed = sorted((f for s in streams for f in s), key=lambda f: f.fix_at)
    ids = [s[0].vehicle_id for s in streams]
    empty = VehicleContext("unloaded")  # located with the others, hit by no restriction

    def monitors() -> dict[str, Monitor]:
        fleet_monitors = {vehicle_id: _monitor(road, vehicle_id) for vehicle_id in ids}
        return fleet_monitors | {"unloaded": Monitor(empty, road, params=PARAMS)}

    together, alone = monitors(), monitors()
    got: dict[str, list[Any]] = {vehicle_id: [] for vehicle_id in together}
    expected: dict[str, list[Any]] = {vehicle_id: [] for vehicle_id in together}
    for start in range(0, len(mixed), 11):  # a live batch: one or two fixes per vehicle
        chunk = mixed[start : start + 11]
        chunk += [dataclasses.replace(f, vehicle_id="unloaded") for f in chunk[:1]]
        for vehicle_id, changes in process_fleet(together, chunk).items():
            got[vehicle_id] += changes
        for vehicle_id, monitor in alone.items():
            expected[vehicle_id] += monitor.process_many(
                [f for f in chunk if f.vehicle_id == vehicle_id]
            )
    assert got == expected
    assert {v: m.state for v, m in together.items()} == {v: m.state for v, m in alone.items()}
    assert sum(map(len, expected.values())) > 0
    assert not any(c.alert.evidence.restriction_id for c in got["unloaded"])


def test_fleet_of_monitors_with_other_rule_parameters_is_refused(fleet: Any) -> None:
    road, streams = fleet
    first, second = (s[0] for s in streams[:2])
    monitors = {
        first.vehicle_id: _monitor(road, first.vehicle_id),
        second.vehicle_id: Monitor(VehicleContext(second.vehicle_id), road),  # national defaults
    }
    with pytest.raises(ValueError, match="must share their rules and rule parameters"):
        process_fleet(monitors, [first, second])


def test_locate_fleet_gives_each_vehicle_its_own_located_batch(fleet: Any) -> None:
    road, streams = fleet
    empty = VehicleContext("unloaded")
    parts = [
        VehicleFixes(tuple(s[5:9]), s[4], _monitor(road, s[0].vehicle_id).vehicle) for s in streams
    ]
    parts.insert(3, VehicleFixes(tuple(streams[0][:3]), None, empty))
    parts.insert(5, VehicleFixes((), None, empty))
    located = locate_fleet(parts, road, time_zone="Asia/Shanghai")
    assert any(len(b.hit_pos) for b in located)  # the comparison covers restriction hits
    assert any(len(b.on_pos) for b in located)
    for part, got in zip(parts, located, strict=True):
        alone = locate(part.fixes, part.previous, part.vehicle, road, time_zone="Asia/Shanghai")
        for name in ("at_us", "local_us", "x", "y", "speed_kmh", "edge_id", "driven_ptr",
                     "driven_edge", "step_m", "hit_pos", "hit_idx", "zone_pos", "zone_idx",
                     "on_pos", "on_idx"):  # fmt: skip
            np.testing.assert_array_equal(getattr(got, name), getattr(alone, name), err_msg=name)
        assert (got.fixes, got.previous, got.vehicle) == (part.fixes, part.previous, part.vehicle)
        assert list(got.driven) == [f.driven_edge_ids for f in part.fixes]
        if part.fixes:
            first = part.previous or part.fixes[0]
            expected_m = np.hypot(np.diff(got.x, prepend=first.x), np.diff(got.y, prepend=first.y))
            np.testing.assert_allclose(got.step_m, expected_m)
        if not part.vehicle.is_loaded:
            assert not len(got.on_pos)
