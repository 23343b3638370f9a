"""The scenario file format (YAML): a network, layers, a vehicle, its drive and the alerts expected.

A scenario is one YAML file in ``tests/scenarios/files/``; this pydantic model is its schema
(``python -m tests.scenarios.model`` prints it as JSON Schema). Example::

    name: night-ban-1859-no-alert
    network: shenzhen                       # or helsinki (the embedded default)
    layers:                                 # files (under tests/scenarios/layers/ or the repo)
      - geodata/examples/shenzhen_demo_layer.geojson
      - id: ban                             # or inline features: kind + geometry/osm_way_ids;
        kind: forbidden_segment             # name, legal_basis, cargo, source get defaults
        osm_way_ids: [123]
        schedule: "19:00-06:00"
    vehicle: {cargo: [UN1203], permits: [], corridor: null}
    drive:                                  # or `fixes:` (a timed list)
      start_at: "2026-03-02T18:50:00+08:00"
      interval_s: 10                        # 10-30 s, as terminals report
      noise_m: 6                            # GPS noise (seeded)
      seed: 1
      waypoints:
        - {lon: 113.93, lat: 22.52}
        - {lon: 113.95, lat: 22.52, stop_s: 600, speed_kmh: 75}
    expect:                                 # every alert must be listed: [] means none at all
      - {rule_id: forbidden_entry, restriction_id: ban, start_after: "...", start_before: "..."}

Several vehicles (for the fleet-level parking rules) replace `vehicle` and `drive`/`fixes` with
`vehicles:`, each a vehicle with its own `drive` or `fixes`; expectations may name a
`vehicle_id`::

    vehicles:
      - {vehicle_id: A, cargo: [UN1203], drive: {...}}
      - {vehicle_id: B, cargo: [UN2014], drive: {...}}
    expect:
      - {rule_id: lot_segregation, vehicle_id: B}
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

_STRICT = ConfigDict(frozen=True, extra="forbid")


class Waypoint(BaseModel):
    """A point the route passes (the nearest node routes it); stop and speed change here."""

    model_config = _STRICT
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    speed_kmh: float | None = Field(default=None, gt=0, description="From here on.")
    stop_s: float = Field(default=0.0, ge=0, description="Stand here this long (GPS drift).")
    via: bool = Field(default=True, description="False: only marks a place on the route.")


class Drive(BaseModel):
    """A route driven through waypoints, sampled every `interval_s` with GPS noise."""

    model_config = _STRICT
    start_at: AwareDatetime
    waypoints: list[Waypoint] = Field(min_length=2)
    laps: int = Field(default=1, ge=1, description="Drive the waypoint list this many times.")
    interval_s: float = Field(default=10.0, ge=10, le=30)
    noise_m: float = Field(default=6.0, gt=0, le=30)
    speed_noise_kmh: float = Field(default=1.0, ge=0)
    seed: int = 0
    rests: list[tuple[float, float]] = Field(
        default_factory=list, description="(after_s of the drive, duration_s) stops in time."
    )


class Fix(BaseModel):
    """One fix of a timed list."""

    model_config = _STRICT
    at: AwareDatetime
    lon: float
    lat: float
    speed_kmh: float | None = None


class Vehicle(BaseModel):
    """The vehicle: load (``UN1203`` = 20 t in a tank, or full goods lines), permits, route."""

    model_config = _STRICT
    vehicle_id: str = "V1"
    cargo: list[str | dict[str, Any]] = Field(default_factory=lambda: ["UN1203"])
    empty: bool = False
    permits: list[str] = Field(default_factory=list)
    waybill_id: str | None = "WB-SCENARIO"
    corridor: str | None = Field(default=None, description="Id of an approved_corridor.")


class FleetMember(Vehicle):
    """One of several vehicles: the vehicle and its own movement (one of `drive`, `fixes`)."""

    drive: Drive | None = None
    fixes: list[Fix] | None = None

    @model_validator(mode="after")
    def _one_movement(self) -> FleetMember:
        if (self.drive is None) == (self.fixes is None):
            msg = f"vehicle {self.vehicle_id}: give exactly one of `drive` and `fixes`"
            raise ValueError(msg)
        return self


class Corridor(BaseModel):
    """An approved corridor built along the route through waypoints (added to the layers)."""

    model_config = _STRICT
    id: str
    waypoints: list[tuple[float, float]] = Field(min_length=2)
    width_m: float = Field(default=200.0, gt=0)


class TunnelCategory(BaseModel):
    """An ADR tunnel category stamped on OSM ways (as if tagged ``hazmat:adr_tunnel_cat``)."""

    model_config = _STRICT
    osm_way_ids: list[int] = Field(min_length=1)
    category: Literal["A", "B", "C", "D", "E"]


class Expected(BaseModel):
    """One expected alert: rule id, optionally key / restriction and a window for its start."""

    model_config = _STRICT
    rule_id: str
    vehicle_id: str | None = Field(default=None, description="Whose alert (several vehicles).")
    key: str | None = Field(default=None, description="Exact key, or a prefix ending in '*'.")
    restriction_id: str | None = None
    start_after: AwareDatetime | None = None
    start_before: AwareDatetime | None = None


class Scenario(BaseModel):
    """One scenario file."""

    model_config = _STRICT
    name: str
    description: str = ""
    network: Literal["shenzhen", "helsinki"]
    layers: list[str | dict[str, Any]] = Field(default_factory=list)
    with_osm: bool = Field(default=False, description="Add the OSM-derived layer.")
    corridors: list[Corridor] = Field(default_factory=list)
    tunnel_categories: list[TunnelCategory] = Field(default_factory=list)
    fuel_stations: list[tuple[float, float]] = Field(default_factory=list)
    vehicle: Vehicle = Vehicle()
    drive: Drive | None = None
    fixes: list[Fix] | None = None
    vehicles: list[FleetMember] | None = Field(
        default=None, min_length=2, description="Several vehicles, each with its movement."
    )
    rule_params: dict[str, Any] = Field(default_factory=dict)
    expect: list[Expected]
    ignore_rules: list[str] = Field(
        default_factory=list, description="Alerts of these rules are neither required nor refused."
    )

    @model_validator(mode="after")
    def _one_movement(self) -> Scenario:
        if self.vehicles is not None:
            if self.drive is not None or self.fixes is not None:
                msg = "with `vehicles`, give each vehicle's `drive` or `fixes`, not the scenario's"
                raise ValueError(msg)
            ids = [v.vehicle_id for v in self.vehicles]
            if len(set(ids)) != len(ids):
                msg = f"`vehicles` repeat a vehicle id: {sorted(ids)}"
                raise ValueError(msg)
        elif (self.drive is None) == (self.fixes is None):
            msg = "give exactly one of `drive` and `fixes`"
            raise ValueError(msg)
        return self


def scenario_json_schema() -> dict[str, Any]:
    """The JSON Schema of scenario files."""
    return Scenario.model_json_schema()


if __name__ == "__main__":
    print(json.dumps(scenario_json_schema(), indent=2))
