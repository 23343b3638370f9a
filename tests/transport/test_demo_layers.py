"""The demo layer compiles onto the default network and the simulated fleet raises alerts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from geodata import sources
from geodata.network import RoadNetwork
from transport import demo_layers, simulation, track_check
from transport.cargo import CargoProfile
from transport.rules.base import VehicleContext

DEMO_START_AT = datetime(2026, 11, 26, 0, 30, tzinfo=UTC)  # as `hazmat demo`: 08:30 Shanghai


@pytest.fixture(scope="module")
def default_network() -> RoadNetwork:
    return sources.load_network(sources.DEFAULT_SOURCE)


def test_demo_layer_compiles_every_feature_onto_the_default_network(
    default_network: RoadNetwork,
) -> None:
    layer = demo_layers.default_demo_layer(default_network)
    road = track_check.road_context(default_network, [layer], with_osm=False)
    assert {r.properties.kind.value for r in layer.features} == {
        "forbidden_segment", "water_source_level2", "tunnel",
    }  # fmt: skip
    assert road.compiled.problems == ()
    assert all(r.properties.source.kind.value == "example" for r in layer.features)


def test_simulated_demo_fleet_raises_restriction_alerts(default_network: RoadNetwork) -> None:
    road = track_check.road_context(
        default_network, [demo_layers.default_demo_layer(default_network)]
    )
    petrol = CargoProfile.from_lines(
        [{"un_number": "1203", "quantity": 20, "unit": "t", "carriage": "tank"}]
    )
    trips = simulation.simulate_fleet(default_network, 6, seed=808, start_at=DEMO_START_AT)
    restriction_ids = {
        alert.evidence.restriction_id
        for trip in trips
        for alert in track_check.check_track(
            default_network, road, VehicleContext(trip.vehicle_id, cargo=petrol), trip.fixes
        ).alerts
    }
    assert {"demo-mannerheimintie-daytime-ban", "demo-water-source-level2"} <= restriction_ids
