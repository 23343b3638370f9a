"""Parking: stop detection with dwell, then where the vehicle stands and for how long.

A stop starts at the first fix at or below the stop speed and lasts while fixes stay within
`stop_radius_m` of the mean position of its fixes (GPS drift does not restart it). Once it
lasted `min_stop_s`: in or within 50 m of a tunnel or bridge,
within 30 m of a fuel station, in a no-parking zone, in a lot that does not admit the load, is
closed or is overstayed, or outside every lot longer than `max_stop_outside_lot_s`. A parking
lot's cargo selector names the loads it admits; its schedule its opening hours.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from geodata.restrictions import RestrictionKind
from transport.rules.base import RuleEvent, RuleSpec, Text, restriction_event

if TYPE_CHECKING:
    from transport.rules.base import Observation
    from transport.rules.params import RuleParams

__all__ = ["RULE", "RULE_ID", "ParkingState", "step"]

RULE_ID = "parking"
_LEGAL_BASIS = Text(
    "《道路交通安全法实施条例》第六十三条；《危险货物道路运输安全管理办法》",
    "RTSL-I Art 63; Order 29",
)
_LOTS = frozenset({RestrictionKind.PARKING_LOT})
_NO_PARKING = frozenset({RestrictionKind.NO_PARKING_ZONE})


@dataclass(frozen=True)
class ParkingState:
    """The current stop: its start and anchor (mean position of its fixes), ``None`` moving."""

    stop_since: dt.datetime | None = None
    anchor_x: float = math.nan
    anchor_y: float = math.nan
    fix_count: int = 0


def _next_state(state: ParkingState, obs: Observation, params: RuleParams) -> ParkingState:
    """Start, keep or end the stop."""
    fix = obs.fix
    if fix.speed_kmh > params.stop_speed_kmh:
        return ParkingState()
    if state.stop_since is not None:
        drift_m = math.hypot(fix.x - state.anchor_x, fix.y - state.anchor_y)
        if drift_m <= params.parking.stop_radius_m:
            n = state.fix_count + 1
            x = state.anchor_x + (fix.x - state.anchor_x) / n
            y = state.anchor_y + (fix.y - state.anchor_y) / n
            return ParkingState(state.stop_since, x, y, n)
    return ParkingState(fix.fix_at, fix.x, fix.y, 1)


def _event(obs: Observation, key: str, dwell_s: float, where: Text, severity: str) -> RuleEvent:
    """A parking event with the dwell in minutes."""
    minutes = dwell_s / 60.0
    return RuleEvent(
        rule_id=RULE_ID,
        key=key,
        at=obs.fix.fix_at,
        severity=severity,
        fact=Text(f"停车 {minutes:.0f} 分钟：{where.zh}", f"Stopped {minutes:.0f} min: {where.en}"),
        legal_basis=_LEGAL_BASIS,
        edge_ids=(obs.fix.edge_id,) if obs.fix.is_matched else (),
        value=dwell_s,
    )


def _place_events(
    obs: Observation, state: ParkingState, dwell_s: float, params: RuleParams
) -> list[RuleEvent]:
    """Events for where the stop is: near structures or fuel, in no-parking zones."""
    p, road = params.parking, obs.road
    x, y = state.anchor_x, state.anchor_y
    events = []
    if road.is_near_structure(x, y, p.structure_distance_m):
        where = Text(
            f"隧道或桥梁内或 {p.structure_distance_m:g} 米内",
            f"in or within {p.structure_distance_m:g} m of a tunnel or bridge",
        )
        events.append(_event(obs, "near_structure", dwell_s, where, "violation"))
    if road.is_near_fuel_station(x, y, p.fuel_station_distance_m):
        where = Text(
            f"加油站 {p.fuel_station_distance_m:g} 米内",
            f"within {p.fuel_station_distance_m:g} m of a fuel station",
        )
        events.append(_event(obs, "near_fuel_station", dwell_s, where, "violation"))
    for idx in road.of_kinds(obs.hit_idx, _NO_PARKING).tolist():
        name = road.compiled.restrictions[idx].properties.name
        fact = Text(f"在禁停区停车：{name.zh}", f"Stopped in a no-parking zone: {name.en}")
        events.append(restriction_event(RULE_ID, obs, idx, fact=fact, value=dwell_s))
    return events


def _lot_events(obs: Observation, dwell_s: float, params: RuleParams) -> list[RuleEvent]:
    """Events for the lots the stop is in, or for a long stop outside any lot."""
    lots = obs.road.of_kinds(obs.zone_idx, _LOTS).tolist()
    if not lots:
        if dwell_s > params.parking.max_stop_outside_lot_s:
            where = Text("未在指定停车场", "outside any designated lot")
            return [_event(obs, "outside_lot", dwell_s, where, "warning")]
        return []
    cargo = obs.vehicle.cargo_key
    events = []
    for idx in lots:
        restriction = obs.road.compiled.restrictions[idx]
        p = restriction.properties
        admits = p.cargo.applies_to_values(
            cargo.classes,
            un_numbers=cargo.un_numbers,
            tunnel_code=cargo.tunnel_code,
            flags=cargo.flags,
        )
        faults = [
            (
                "admits",
                not admits and obs.vehicle.is_loaded,
                Text("停车场不接收该货物", "lot does not admit this load"),
            ),
            (
                "closed",
                not restriction.is_in_force(obs.fix.fix_at),
                Text("停车场未开放", "lot is closed"),
            ),
            (
                "stay",
                p.max_dwell_min is not None and dwell_s > p.max_dwell_min * 60.0,
                Text(
                    f"超过最长停放 {p.max_dwell_min:g} 分钟",
                    f"over the {p.max_dwell_min:g} min stay",
                ),
            ),
        ]
        for what, is_fault, text in faults:
            if is_fault:
                fact = Text(f"{p.name.zh}：{text.zh}", f"{p.name.en}: {text.en}")
                events.append(restriction_event(RULE_ID, obs, idx, fact=fact, value=dwell_s))
                events[-1] = _rekey(events[-1], f"lot_{what}:{p.id}")
    return events


def _rekey(event: RuleEvent, key: str) -> RuleEvent:
    """The same event under another key."""
    return RuleEvent(**{**event.__dict__, "key": key})


def step(
    state: ParkingState, obs: Observation, params: RuleParams
) -> tuple[ParkingState, tuple[RuleEvent, ...]]:
    """Follow the stop; once it lasted `min_stop_s`, emit an event per parking fault."""
    state = _next_state(state, obs, params)
    if state.stop_since is None:
        return state, ()
    dwell_s = (obs.fix.fix_at - state.stop_since).total_seconds()
    if dwell_s < params.parking.min_stop_s:
        return state, ()
    events = _place_events(obs, state, dwell_s, params) + _lot_events(obs, dwell_s, params)
    return state, tuple(events)


RULE: RuleSpec[ParkingState] = RuleSpec(
    rule_id=RULE_ID,
    title=Text("违规停车", "Parking violation"),
    legal_basis=_LEGAL_BASIS,
    initial_state=ParkingState,
    step=step,
)
