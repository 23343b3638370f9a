"""Route deviation: leaving the approved corridor for longer than the minimum duration."""

from __future__ import annotations

import dataclasses

import shapely

from tests.transport.rules.conftest import (
    LAT,
    alone_and_together,
    local,
    monitor,
    opened,
    timeline,
)
from transport.monitoring import Monitor
from transport.rules import route_deviation
from transport.rules.base import VehicleContext

NOON = local(2025, 10, 9, 12, 0)


def _corridor(toy):
    x0, y0 = toy.from_lonlat.transform(114.0, LAT)
    x1, y1 = toy.from_lonlat.transform(114.04, LAT)
    return route_deviation.corridor_of(shapely.LineString([(x0, y0), (x1, y1)]), width_m=200)


def test_inside_corridor_is_quiet(toy) -> None:
    fixes = timeline(toy, NOON, 300, lon=114.015, noise_m=10.0)
    assert not opened(monitor(toy, corridor=_corridor(toy)).process_all(fixes))


def test_outside_for_90_s_alerts_and_30_s_does_not(toy) -> None:
    off = LAT + 0.003  # about 330 m north
    brief = timeline(toy, NOON, 30, lon=114.015, edge_id=-1)
    brief = [type(f)(**{**f.__dict__, "lat": off, "y": f.y + 330}) for f in brief]
    long = timeline(toy, NOON, 90, lon=114.015, edge_id=-1)
    long = [type(f)(**{**f.__dict__, "lat": off, "y": f.y + 330}) for f in long]
    assert not opened(monitor(toy, corridor=_corridor(toy)).process_all(brief))
    (alert,) = opened(monitor(toy, corridor=_corridor(toy)).process_all(long), "route_deviation")
    assert alert.evidence.peak_value > 200


def test_vehicles_with_their_own_corridors_get_the_alerts_each_gets_alone(toy) -> None:
    # On its corridor, 330 m off it, off another corridor it is on, and without one.
    here = _corridor(toy)
    x0, y0 = toy.from_lonlat.transform(114.0, LAT + 0.003)
    x1, y1 = toy.from_lonlat.transform(114.04, LAT + 0.003)
    north = route_deviation.corridor_of(shapely.LineString([(x0, y0), (x1, y1)]), width_m=200)
    corridors = {"on": here, "off": here, "north": north, "none": None}
    template = monitor(toy)
    track = timeline(toy, NOON, 180, lon=114.015, edge_id=-1)
    north_track = [dataclasses.replace(f, lat=LAT + 0.003, y=f.y + 330) for f in track]
    tracks = {
        vehicle_id: [
            dataclasses.replace(fix, vehicle_id=vehicle_id)
            for fix in (north_track if vehicle_id == "off" else track)
        ]
        for vehicle_id in corridors
    }

    def fresh(vehicle_id: str) -> Monitor:
        vehicle = VehicleContext(
            vehicle_id, cargo=template.vehicle.cargo, corridor=corridors[vehicle_id]
        )
        return Monitor(vehicle, template.road)

    alone, together = alone_and_together(fresh, tracks)
    assert together == alone
    deviating = {v for v, found in alone.items() if opened(found, "route_deviation")}
    assert deviating == {"off", "north"}
