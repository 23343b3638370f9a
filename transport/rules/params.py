"""Thresholds of the monitoring rules, with the national defaults of DOMAIN.md §5–6.

`RuleParams` is a plain model so that the application's `Settings` can nest it (environment
variables ``HAZMAT_RULES__SPEED__NIGHT_FACTOR`` and so on); city-specific limits live in
restriction layers, not here.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from geodata import schedules

__all__ = [
    "DeviationParams",
    "DrivingTimeParams",
    "ExitGraceParams",
    "NightWindow",
    "ParkingParams",
    "RuleParams",
    "SegregationParams",
    "SpeedParams",
    "default_params",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")
ClassCode = Annotated[str, Field(pattern=r"^[1-9](\.[1-6])?$")]


class NightWindow(BaseModel):
    """Local night hours, e.g. 22:00–06:00 (may wrap past midnight)."""

    model_config = _FROZEN
    start: dt.time = dt.time(22, 0)
    end: dt.time = dt.time(6, 0)

    def contains(self, local: dt.datetime) -> bool:
        """Tell whether a local wall-clock time falls in the window (start included)."""
        t = local.time()
        if self.start <= self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end


class SpeedParams(BaseModel):
    """Speed limits for hazmat vehicles [law, Order 29 Art 46]; night factor [practice]."""

    model_config = _FROZEN
    expressway_kmh: float = Field(default=80.0, gt=0)
    other_road_kmh: float = Field(default=60.0, gt=0)
    expressway_highways: frozenset[str] = frozenset({"motorway", "motorway_link"})
    night_factor: float = Field(
        default=0.8, gt=0, le=1, description="1 turns the night reduction off."
    )
    tolerance_kmh: float = Field(default=0.0, ge=0)
    min_duration_s: float = Field(
        default=30.0, ge=0, description="Over the limit this long to alert."
    )


class DrivingTimeParams(BaseModel):
    """Driving-time limits [law, RTSL-I Art 62; practice, Order 5]."""

    model_config = _FROZEN
    max_continuous_s: float = Field(default=4 * 3600.0, gt=0)
    min_rest_s: float = Field(default=20 * 60.0, gt=0)
    max_night_continuous_s: float = Field(default=2 * 3600.0, gt=0)
    max_daily_s: float = Field(default=8 * 3600.0, gt=0)
    daily_window_s: float = Field(default=24 * 3600.0, gt=0)
    max_gap_s: float = Field(default=600.0, gt=0, description="A longer gap between fixes is rest.")


class ParkingParams(BaseModel):
    """Stop detection and parking limits [law, RTSL-I Art 63; practice]."""

    model_config = _FROZEN
    stop_radius_m: float = Field(default=50.0, gt=0, description="GPS drift allowed while stopped.")
    min_stop_s: float = Field(default=180.0, ge=0, description="Dwell before a stop is a stop.")
    structure_distance_m: float = Field(default=50.0, ge=0, description="Tunnels and bridges.")
    fuel_station_distance_m: float = Field(default=30.0, ge=0)
    max_stop_outside_lot_s: float = Field(default=30 * 60.0, gt=0)
    cluster_radius_m: float = Field(
        default=200.0, gt=0, description="Waiting cluster: stops linked within this distance."
    )
    cluster_min_vehicles: int = Field(
        default=5, ge=2, description="Waiting cluster: this many loaded vehicles or more."
    )
    fleet_stop_max_age_s: float = Field(
        default=15 * 60.0,
        gt=0,
        description="Another vehicle's stop counts this long after its last fix (fleet rules).",
    )


# Pairs of classes (or divisions: "4" covers 4.1-4.3, "1" covers 1.1-1.6) kept apart in a lot.
# [practice] after the mixed-loading and segregation tables of ADR 7.5.2 / JT/T 617.6 and the
# storage segregation of GB 15603: explosives apart from every other class; oxidisers apart from
# fuels (flammable gases, liquids and solids) and from organic peroxides; organic peroxides apart
# from flammable liquids and solids; flammable gases apart from toxic gases; water-reactive
# substances apart from corrosives (aqueous acids and alkalis). Configuration, not law.
DEFAULT_INCOMPATIBLE: tuple[tuple[str, str], ...] = (
    *(("1", other) for other in ("2", "3", "4", "5", "6", "7", "8", "9")),
    ("5.1", "2.1"),
    ("5.1", "3"),
    ("5.1", "4"),
    ("5.1", "5.2"),
    ("5.2", "3"),
    ("5.2", "4"),
    ("2.1", "2.3"),
    ("4.3", "8"),
)


class SegregationParams(BaseModel):
    """Which loads may not stand together in a lot [practice, configurable; see above]."""

    model_config = _FROZEN
    incompatible: tuple[tuple[ClassCode, ClassCode], ...] = Field(
        default=DEFAULT_INCOMPATIBLE,
        description='Class pairs kept apart; a class covers its divisions ("4": 4.1-4.3).',
    )
    distance_m: float | None = Field(
        default=None,
        gt=0,
        description="Only pairs this close apart in the same lot; None: anywhere in the lot.",
    )

    def are_incompatible(self, classes: frozenset[str], others: frozenset[str]) -> bool:
        """Tell whether two loads' classes (primary and subsidiary) include a kept-apart pair."""
        return any(
            (_covers(a, mine) and _covers(b, theirs)) or (_covers(b, mine) and _covers(a, theirs))
            for a, b in self.incompatible
            for mine in classes
            for theirs in others
        )


def _covers(selected: str, load_class: str) -> bool:
    """Whether a class or division code covers a load's class ("4" covers "4.1")."""
    return load_class == selected or load_class.startswith(selected + ".")


class ExitGraceParams(BaseModel):
    """Leaving a restriction the vehicle was already in when it came into force (DOMAIN §5).

    On edges the grace ends at the next exit; a zone has no exit node, so it gets time and,
    optionally, distance driven: the first one passed ends the grace.
    """

    model_config = _FROZEN
    zone_grace_s: float = Field(default=15 * 60.0, gt=0, description="Time to leave a zone.")
    zone_grace_m: float | None = Field(
        default=None, gt=0, description="Distance driven to leave a zone; None: no limit."
    )


class DeviationParams(BaseModel):
    """Leaving the approved route's corridor."""

    model_config = _FROZEN
    corridor_width_m: float = Field(
        default=200.0, gt=0, description="Used when the route has none."
    )
    min_duration_s: float = Field(default=60.0, ge=0)


class RuleParams(BaseModel):
    """All rule thresholds; evaluated in `time_zone` (Asia/Shanghai by default)."""

    model_config = _FROZEN
    time_zone: str = schedules.DEFAULT_TIME_ZONE
    night: NightWindow = NightWindow()
    stop_speed_kmh: float = Field(
        default=3.0, ge=0, description="At or below this a vehicle stands."
    )
    speed: SpeedParams = SpeedParams()
    driving_time: DrivingTimeParams = DrivingTimeParams()
    parking: ParkingParams = ParkingParams()
    segregation: SegregationParams = SegregationParams()
    deviation: DeviationParams = DeviationParams()
    exit_grace: ExitGraceParams = ExitGraceParams()

    @model_validator(mode="after")
    def _known_zone(self) -> RuleParams:
        schedules.Schedule("24/7", time_zone=self.time_zone)
        return self


@functools.cache
def default_params() -> RuleParams:
    """The national defaults, built once (validating them costs milliseconds, and a worker
    builds a monitor for every vehicle it meets)."""
    return RuleParams()
