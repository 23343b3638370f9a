"""Parking: stop detection with dwell, then where the vehicle stands and for how long.

A stop starts at the first fix at or below the stop speed and lasts while fixes stay within
`stop_radius_m` of the mean position of its fixes (GPS drift does not restart it). Once it
lasted `min_stop_s`: in or within 50 m of a tunnel or bridge,
within 30 m of a fuel station, in a no-parking zone, in a lot that does not admit the load, is
closed or is overstayed, or outside every lot longer than `max_stop_outside_lot_s`. A parking
lot's cargo selector names the loads it admits; its schedule its opening hours. An expressway
service area is a lot too (45 min stay unless its layer says otherwise); when it gives hazmat
bays, a loaded vehicle standing outside them (by the stop's mean position) is at fault.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import shapely

from geodata import restriction_index
from geodata.restrictions import RestrictionKind
from transport.frozen import evolve
from transport.rules.base import (
    EPOCH,
    US,
    RuleEvent,
    RuleSpec,
    Text,
    restriction_event,
    step_alone,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from geodata.restriction_index import CompiledRestrictions
    from transport.rules.base import FixBatch, Stepped
    from transport.rules.params import RuleParams

__all__ = ["RULE", "RULE_ID", "ParkingState", "follow_stops", "step_fleet"]

RULE_ID = "parking"
_LEGAL_BASIS = Text(
    "《道路交通安全法实施条例》第六十三条；《危险货物道路运输安全管理办法》",
    "RTSL-I Art 63; Order 29",
)
_LOTS = frozenset({RestrictionKind.PARKING_LOT, RestrictionKind.SERVICE_AREA})
_NO_PARKING = frozenset({RestrictionKind.NO_PARKING_ZONE})


@dataclass(frozen=True)
class ParkingState:
    """The current stop: its start and anchor (mean position of its fixes), ``None`` moving."""

    stop_since: dt.datetime | None = None
    anchor_x: float = math.nan
    anchor_y: float = math.nan
    fix_count: int = 0


def follow_stops(
    state: ParkingState, batch: FixBatch, params: RuleParams
) -> tuple[ParkingState, list[tuple[int, float, float, float]]]:
    """Start, keep or end the stop fix by fix; return the state and (pos, dwell, anchor) stops.

    The fleet rules follow the same stops from the same state: the first call's result is kept
    on the batch for the others.
    """
    key = ("stops", state, id(params))
    kept = batch.memo.get(key)
    if kept is None:
        kept = batch.memo[key] = _follow_stops(state, batch, params)
    return kept


def _follow_stops(
    state: ParkingState, batch: FixBatch, params: RuleParams
) -> tuple[ParkingState, list[tuple[int, float, float, float]]]:
    """The stops of a batch, uncached (see `follow_stops`)."""
    stopped = (batch.speed_kmh <= params.stop_speed_kmh).tolist()
    xs, ys, ats = batch.x.tolist(), batch.y.tolist(), batch.at_us.tolist()
    since = None if state.stop_since is None else (state.stop_since - EPOCH) // US
    ax, ay, n = state.anchor_x, state.anchor_y, state.fix_count
    radius_m, min_stop_s = params.parking.stop_radius_m, params.parking.min_stop_s
    stops = []
    for pos, is_stopped in enumerate(stopped):
        x, y, at = xs[pos], ys[pos], ats[pos]
        if not is_stopped:
            since, ax, ay, n = None, math.nan, math.nan, 0
            continue
        if since is not None and math.hypot(x - ax, y - ay) <= radius_m:
            n += 1
            ax, ay = ax + (x - ax) / n, ay + (y - ay) / n
        else:
            since, ax, ay, n = at, x, y, 1
        dwell_s = (at - since) / 1e6
        if dwell_s >= min_stop_s:
            stops.append((pos, dwell_s, ax, ay))
    state = ParkingState(None if since is None else EPOCH + since * US, ax, ay, n)
    return state, stops


def _event(
    batch: FixBatch, pos: int, key: str, dwell_s: float, where: Text, severity: str
) -> RuleEvent:
    """A parking event with the dwell in minutes."""
    minutes = dwell_s / 60.0
    fix = batch.fixes[pos]
    return RuleEvent(
        rule_id=RULE_ID,
        key=key,
        at=fix.fix_at,
        severity=severity,
        fact=Text(f"停车 {minutes:.0f} 分钟：{where.zh}", f"Stopped {minutes:.0f} min: {where.en}"),
        legal_basis=_LEGAL_BASIS,
        edge_ids=(fix.edge_id,) if fix.is_matched else (),
        value=dwell_s,
    )


def _place_events(
    batch: FixBatch,
    stops: list[tuple[int, float, float, float]],
    near_structure: list[bool],
    near_fuel: list[bool],
    params: RuleParams,
) -> dict[int, list[RuleEvent]]:
    """Events for where each stop is: near structures or fuel (told for each stop), in
    no-parking zones."""
    p, road = params.parking, batch.road
    structure = Text(
        f"隧道或桥梁内或 {p.structure_distance_m:g} 米内",
        f"in or within {p.structure_distance_m:g} m of a tunnel or bridge",
    )
    fuel = Text(
        f"加油站 {p.fuel_station_distance_m:g} 米内",
        f"within {p.fuel_station_distance_m:g} m of a fuel station",
    )
    zones_of = _pairs_by_pos(*batch.hits_of_kinds(_NO_PARKING))
    out: dict[int, list[RuleEvent]] = {}
    for k, (pos, dwell_s, _, _) in enumerate(stops):
        events = out[pos] = []
        if near_structure[k]:
            events.append(_event(batch, pos, "near_structure", dwell_s, structure, "violation"))
        if near_fuel[k]:
            events.append(_event(batch, pos, "near_fuel_station", dwell_s, fuel, "violation"))
        for idx in zones_of.get(pos, ()):
            name = road.compiled.restrictions[idx].properties.name
            fact = Text(f"在禁停区停车：{name.zh}", f"Stopped in a no-parking zone: {name.en}")
            events.append(restriction_event(RULE_ID, batch, pos, idx, fact=fact, value=dwell_s))
    return out


def _pairs_by_pos(pos: np.ndarray, idx: np.ndarray) -> dict[int, list[int]]:
    """Group (position, index) pairs by position, indices in their order."""
    grouped: dict[int, list[int]] = {}
    for p, i in zip(pos.tolist(), idx.tolist(), strict=True):
        grouped.setdefault(p, []).append(i)
    return grouped


def _lot_events(
    batch: FixBatch, stops: list[tuple[int, float, float, float]], params: RuleParams
) -> dict[int, list[RuleEvent]]:
    """Events for the lots each stop is in, or for a long stop outside any lot."""
    compiled = batch.road.compiled
    keep = batch.road.is_kind(_LOTS)[batch.zone_idx]
    lot_pos, lot_idx = batch.zone_pos[keep], batch.zone_idx[keep]
    is_open = restriction_index.in_force_at(compiled, lot_idx, batch.at_us[lot_pos]).tolist()
    lots_of = _pairs_by_pos(lot_pos, np.arange(len(lot_idx)))
    admits, _ = restriction_index.applies_mask(compiled, batch.vehicle.cargo_key)
    out: dict[int, list[RuleEvent]] = {}
    for pos, dwell_s, ax, ay in stops:
        events = out[pos] = []
        pairs = lots_of.get(pos)
        if not pairs:
            if dwell_s > params.parking.max_stop_outside_lot_s:
                events.append(_event(batch, pos, "outside_lot", dwell_s, _OUTSIDE_LOTS, "warning"))
            continue
        for k in pairs:
            idx = int(lot_idx[k])
            p = compiled.restrictions[idx].properties
            faults = (
                ("admits", not admits[idx] and batch.vehicle.is_loaded),
                ("closed", not is_open[k]),
                ("bay", batch.vehicle.is_loaded and _is_outside_bays(compiled, idx, ax, ay)),
                ("stay", p.max_dwell_min is not None and dwell_s > p.max_dwell_min * 60.0),
            )
            for what, is_fault in faults:
                if is_fault:
                    text = _LOT_FAULTS.get(what) or _stay_text(p.max_dwell_min)
                    fact = Text(f"{p.name.zh}：{text.zh}", f"{p.name.en}: {text.en}")
                    event = restriction_event(RULE_ID, batch, pos, idx, fact=fact, value=dwell_s)
                    events.append(_rekey(event, f"lot_{what}:{p.id}"))
    return out


_OUTSIDE_LOTS = Text("未在指定停车场", "outside any designated lot")
_LOT_FAULTS = {
    "admits": Text("停车场不接收该货物", "lot does not admit this load"),
    "closed": Text("停车场未开放", "lot is closed"),
    "bay": Text("未停在危险货物专用车位", "outside the hazmat bays"),
}


def _stay_text(max_dwell_min: float | None) -> Text:
    """The fault of staying in a lot longer than it allows."""
    return Text(f"超过最长停放 {max_dwell_min:g} 分钟", f"over the {max_dwell_min:g} min stay")


def _is_outside_bays(compiled: CompiledRestrictions, idx: int, x: float, y: float) -> bool:
    """Whether a metric point lies outside the hazmat bays of a service area that gives them."""
    bays = compiled.hazmat_bays.get(idx)
    return bays is not None and not bays.covers(shapely.Point(x, y))


def _rekey(event: RuleEvent, key: str) -> RuleEvent:
    """The same event under another key."""
    return evolve(event, key=key)


def step_fleet(
    states: Sequence[ParkingState], batches: Sequence[FixBatch], params: RuleParams
) -> list[Stepped[ParkingState]]:
    """Follow each vehicle's stop; at each fix once it lasted `min_stop_s`, an event per
    parking fault. Structures and fuel stations near the stops of all the vehicles (one road)
    are looked up in one query each."""
    followed = [follow_stops(s, b, params) for s, b in zip(states, batches, strict=True)]
    stopped = [k for k, (_, stops) in enumerate(followed) if stops]
    if not stopped:
        return [(state, []) for state, _ in followed]
    p, road = params.parking, batches[stopped[0]].road
    x = np.array([s[2] for k in stopped for s in followed[k][1]], dtype=float)
    y = np.array([s[3] for k in stopped for s in followed[k][1]], dtype=float)
    near_structure = road.near_structure(x, y, p.structure_distance_m).tolist()
    near_fuel = road.near_fuel_station(x, y, p.fuel_station_distance_m).tolist()
    out: list[Stepped[ParkingState]] = [(state, []) for state, _ in followed]
    begin = 0
    for k in stopped:
        batch, (state, stops) = batches[k], followed[k]
        end = begin + len(stops)
        places = _place_events(
            batch, stops, near_structure[begin:end], near_fuel[begin:end], params
        )
        lots = _lot_events(batch, stops, params)
        out[k] = (state, [(pos, e) for pos, *_ in stops for e in (*places[pos], *lots[pos])])
        begin = end
    return out


RULE: RuleSpec[ParkingState] = RuleSpec(
    rule_id=RULE_ID,
    title=Text("违规停车", "Parking violation"),
    legal_basis=_LEGAL_BASIS,
    initial_state=ParkingState,
    step=step_alone(step_fleet),
    step_fleet=step_fleet,
)
