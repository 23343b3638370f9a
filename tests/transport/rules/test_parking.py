"""Parking: dwell, tunnels and bridges, fuel stations, no-parking zones, lots, clusters."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np

from tests.transport.rules.conftest import (
    alone_and_together,
    box,
    cargo,
    feature,
    local,
    monitor,
    opened,
    timeline,
)
from transport.monitoring import Monitor
from transport.rules import waiting_clusters
from transport.rules.base import VehicleContext

NOON = local(2025, 10, 9, 12, 0)


def test_stop_in_tunnel_alerts_after_dwell_only(toy) -> None:
    short = monitor(toy).process_all(timeline(toy, NOON, 150, lon=114.025, speed_kmh=0.0))
    long = monitor(toy).process_all(timeline(toy, NOON, 240, lon=114.025, speed_kmh=0.0))
    assert not opened(short, "parking")
    assert [a.key for a in opened(long, "parking")] == ["near_structure"]


def test_stop_49_m_from_tunnel_alerts_and_80_m_does_not(toy) -> None:
    # The tunnel (edge 2) starts at lon 114.02; 0.001° of longitude is about 103 m here.
    near = timeline(toy, NOON, 240, lon=114.02 - 0.00047, speed_kmh=0.0, edge_id=1)
    far = timeline(toy, NOON, 240, lon=114.02 - 0.00078, speed_kmh=0.0, edge_id=1)
    assert opened(monitor(toy).process_all(near), "parking")
    assert not opened(monitor(toy).process_all(far), "parking")


def test_stop_near_fuel_station(toy) -> None:
    m = monitor(toy, fuel=((114.0352, 22.5501),))
    changes = m.process_all(timeline(toy, NOON, 240, lon=114.035, speed_kmh=0.0))
    assert [a.key for a in opened(changes)] == ["near_fuel_station"]


def test_vehicles_stopped_together_get_the_parking_alerts_each_gets_alone(toy) -> None:
    # In the tunnel, near the fuel station, in a lot that does not admit the load, and in the
    # open: one fleet batch per round, as a live worker steps them (`process_fleet`).
    lot = feature(
        "lot", "parking_lot", box(114.03, 22.54, 114.04, 22.56),
        cargo={"classes": ["8"]}, max_dwell_min=360,
    )  # fmt: skip
    template = monitor(toy, lot, fuel=((114.0452, 22.5501),))
    places = {"tunnel": 114.025, "fuel": 114.045, "lot": 114.035, "open": 114.055}
    tracks = {
        vehicle_id: [
            dataclasses.replace(fix, vehicle_id=vehicle_id)
            for fix in timeline(toy, NOON, 31 * 60, lon=lon, speed_kmh=0.0)
        ]
        for vehicle_id, lon in places.items()
    }

    def fresh(vehicle_id: str) -> Monitor:
        vehicle = dataclasses.replace(template.vehicle, vehicle_id=vehicle_id)
        return Monitor(vehicle, template.road)

    alone, together = alone_and_together(fresh, tracks)
    assert together == alone
    keys = {vehicle: sorted({a.key for a in opened(found)}) for vehicle, found in alone.items()}
    assert keys == {
        "tunnel": ["near_structure", "outside_lot"],
        "fuel": ["near_fuel_station", "outside_lot"],
        "lot": ["lot_admits:lot"],
        "open": ["outside_lot"],
    }


def test_gps_drift_keeps_one_stop(toy) -> None:
    fixes = timeline(toy, NOON, 600, lon=114.035, speed_kmh=0.0, noise_m=8.0, seed=3)
    zone = feature("np", "no_parking_zone", box(114.03, 22.54, 114.04, 22.56))
    alerts = opened(monitor(toy, zone).process_all(fixes), "parking")
    assert [a.key for a in alerts] == ["np"]


def test_long_stop_outside_any_lot(toy) -> None:
    changes = monitor(toy).process_all(timeline(toy, NOON, 31 * 60, lon=114.035, speed_kmh=0.0))
    (alert,) = opened(changes, "parking")
    assert alert.key == "outside_lot"
    assert alert.started_at == NOON + np.timedelta64(30 * 60 + 30, "s").item()


def test_lot_that_does_not_admit_class_2_3(toy) -> None:
    lot = feature(
        "lot", "parking_lot", box(114.03, 22.54, 114.04, 22.56),
        cargo={"classes": ["3", "8"]}, max_dwell_min=360,
    )  # fmt: skip
    gas = monitor(toy, lot, load=cargo("1017")).process_all(
        timeline(toy, NOON, 240, lon=114.035, speed_kmh=0.0)
    )
    fuel = monitor(toy, lot, load=cargo("1203")).process_all(
        timeline(toy, NOON, 240, lon=114.035, speed_kmh=0.0)
    )
    assert [a.key for a in opened(gas)] == ["lot_admits:lot"]
    assert not opened(fuel)


def test_lot_stay_beyond_maximum(toy) -> None:
    lot = feature("sa", "parking_lot", box(114.03, 22.54, 114.04, 22.56), max_dwell_min=45)
    changes = monitor(toy, lot).process_all(timeline(toy, NOON, 50 * 60, lon=114.035, speed_kmh=0))
    assert [a.key for a in opened(changes)] == ["lot_stay:sa"]


def test_waiting_cluster_needs_k_vehicles_within_r() -> None:
    x = np.array([0.0, 50.0, 100.0, 150.0, 190.0, 5000.0])
    y = np.zeros(6)
    ids = np.array([f"V{i}" for i in range(6)])
    (cluster,) = waiting_clusters.find_waiting_clusters(
        ids, x, y, at=NOON, radius_m=60.0, min_vehicles=5
    )
    assert cluster.vehicle_ids == ("V0", "V1", "V2", "V3", "V4")
    assert not waiting_clusters.find_waiting_clusters(
        ids, x, y, at=NOON, radius_m=45.0, min_vehicles=5
    )


SERVICE_AREA = feature(
    "sa",
    "service_area",
    box(114.03, 22.54, 114.04, 22.56),
    hazmat_bays=box(114.034, 22.549, 114.036, 22.551),
)


def _stand(network, lon: float, minutes: float, *features) -> list:
    """Parking alerts of a tanker standing at `lon` for `minutes` from noon, with GPS drift."""
    fixes = timeline(network, NOON, minutes * 60, lon=lon, speed_kmh=0.0, noise_m=6.0)
    return opened(monitor(network, *features).process_all(fixes), "parking")


def test_service_area_bay_30_min_raises_nothing(toy) -> None:
    # Also a designated place: 30 min there is no long stop outside any lot.
    assert not _stand(toy, 114.035, 31, SERVICE_AREA)


def test_service_area_outside_the_bays_alerts(toy) -> None:
    (alert,) = _stand(toy, 114.038, 10, SERVICE_AREA)
    assert alert.key == "lot_bay:sa"
    assert alert.evidence.fact.en == "test sa: outside the hazmat bays"
    assert "危险货物专用车位" in alert.evidence.fact.zh


def test_empty_vehicle_may_stand_outside_the_bays(toy) -> None:
    fixes = timeline(toy, NOON, 600, lon=114.038, speed_kmh=0.0)
    m = monitor(toy, SERVICE_AREA)
    m.vehicle = VehicleContext("V1", cargo=None)
    assert not opened(m.process_all(fixes), "parking")


def test_service_area_bay_50_min_is_over_the_45_min_default(toy) -> None:
    (alert,) = _stand(toy, 114.035, 50, SERVICE_AREA)
    assert alert.key == "lot_stay:sa"
    assert alert.started_at > NOON + dt.timedelta(minutes=45)
    assert "45 min" in alert.evidence.fact.en


def test_service_area_without_bays_takes_any_place_and_its_own_stay(toy) -> None:
    open_area = feature("sa2", "service_area", box(114.03, 22.54, 114.04, 22.56), max_dwell_min=60)
    assert not _stand(toy, 114.038, 50, open_area)
