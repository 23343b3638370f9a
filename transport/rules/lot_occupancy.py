"""Parking lots shared by the fleet: capacity and segregation of incompatible goods.

Two per-vehicle rules that read the other vehicles' stops (`FixBatch.fleet`, see `fleet_view`)
at each fix of the vehicle's own stop, once it lasted `min_stop_s`:

- `lot_capacity`: the lot (with a ``capacity`` in its layer) already holds `capacity` stopped
  vehicles, loaded or empty, that arrived before this one: this vehicle is over capacity.
- `lot_segregation`: a loaded vehicle stands in the same lot (within
  `SegregationParams.distance_m` of this one when set) whose goods may not stand beside this
  load (`SegregationParams.incompatible`, a configurable table after ADR/JT/T 617 and GB 15603
  practice); the later arrival is alerted.

Without a fleet view both rules only follow the stop. Arrival is the start of the stop; two
stops begun at the same moment go by vehicle id.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from transport.rules import fleet_view
from transport.rules.base import RuleEvent, RuleSpec, Text, restriction_event, step_alone
from transport.rules.parking import ParkingState

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from transport.rules.base import FixBatch, FleetStep, Stepped
    from transport.rules.fleet_view import FleetView, OwnStop
    from transport.rules.params import RuleParams

    _EventsInLots = Callable[
        [FixBatch, list[OwnStop], list[list[int]], RuleParams], list[tuple[int, RuleEvent]]
    ]

__all__ = [
    "CAPACITY_RULE",
    "CAPACITY_RULE_ID",
    "SEGREGATION_RULE",
    "SEGREGATION_RULE_ID",
]

CAPACITY_RULE_ID = "lot_capacity"
SEGREGATION_RULE_ID = "lot_segregation"
_CAPACITY_BASIS = Text(
    "《危险货物道路运输安全管理办法》；停车场核定停车位（实践做法）",
    "Order 29; the lot's approved number of bays (practice)",
)
_SEGREGATION_BASIS = Text(
    "GB 6944 分类；JT/T 617 混装禁忌及 GB 15603 隔离做法（实践，可配置）",
    "GB 6944 classes; JT/T 617 mixed-loading and GB 15603 segregation (practice, configurable)",
)


def _in_lots(
    fleet: FleetView | None,
    batch: FixBatch,
    stops: list[OwnStop],
    lots: list[list[int]],
    params: RuleParams,
) -> list[tuple[OwnStop, list[int], np.ndarray]]:
    """Each stop fix in a lot, with the lots around its anchor (`lots`, by stop) and which fleet
    stops came first.

    A fleet stop comes first when it counts at the fix (begun by then, its vehicle heard from
    within `fleet_stop_max_age_s`, another vehicle) and began before this vehicle's stop.
    """
    if fleet is None or not stops or not len(fleet):
        return []
    vehicle_id, max_age_s = batch.vehicle.vehicle_id, params.parking.fleet_stop_max_age_s
    return [
        (
            stop,
            lot_idx,
            fleet.current(stop.at_us, max_age_s=max_age_s, other_than=vehicle_id)
            & fleet.arrived_before(stop.since_us, vehicle_id),
        )
        for stop, lot_idx in zip(stops, lots, strict=True)
        if lot_idx
    ]


def _with(event: RuleEvent, key: str, legal_basis: Text) -> RuleEvent:
    """The same event under another key and legal basis."""
    return RuleEvent(**{**event.__dict__, "key": key, "legal_basis": legal_basis})


def _stepped_in_lots(events_of: _EventsInLots) -> FleetStep[ParkingState]:
    """A lot rule's fleet form: follow each vehicle's stop, find the lots of all the vehicles'
    stop fixes in one lookup (`fleet_view.follow_stops_in_lots`), then `events_of` each."""

    def step_fleet(
        states: Sequence[ParkingState], batches: Sequence[FixBatch], params: RuleParams
    ) -> list[Stepped[ParkingState]]:
        followed = fleet_view.follow_stops_in_lots(states, batches, params)
        return [
            (state, events_of(batch, stops, lots, params))
            for batch, (state, stops, lots) in zip(batches, followed, strict=True)
        ]

    return step_fleet


def _capacity_events(
    batch: FixBatch, stops: list[OwnStop], lots: list[list[int]], params: RuleParams
) -> list[tuple[int, RuleEvent]]:
    """The events of a vehicle's stop fixes in full lots."""
    fleet, compiled = batch.fleet, batch.road.compiled
    events = []
    for stop, lot_idx, first in _in_lots(fleet, batch, stops, lots, params):
        for idx in lot_idx:
            lot = compiled.restrictions[idx].properties
            if lot.capacity is None or fleet is None:
                continue
            held = int(first[fleet.in_lot(lot.id)].sum())
            if held < lot.capacity:
                continue
            fact = Text(
                f"{lot.name.zh}：已有 {held} 辆车先到，核定 {lot.capacity} 辆，超出容量",
                f"{lot.name.en}: {held} vehicles arrived before, capacity {lot.capacity}: full",
            )
            event = restriction_event(
                CAPACITY_RULE_ID, batch, stop.pos, idx, fact=fact,
                value=float(held + 1), limit=float(lot.capacity),
            )  # fmt: skip
            # The lot's own legal basis: the notice that designates it and sets its capacity.
            events.append((stop.pos, _with(event, f"capacity:{lot.id}", event.legal_basis)))
    return events


def _clashes(fleet: FleetView | None, classes: frozenset[str], params: RuleParams) -> np.ndarray:
    """Tell for each fleet stop whether it is loaded with goods to be kept apart from `classes`."""
    if fleet is None:
        return np.zeros(0, dtype=bool)
    table = params.segregation
    verdicts = {c: table.are_incompatible(classes, frozenset(c)) for c in set(fleet.classes)}
    return fleet.is_loaded & np.array([verdicts[c] for c in fleet.classes], dtype=bool)


def _segregation_events(
    batch: FixBatch, stops: list[OwnStop], lots: list[list[int]], params: RuleParams
) -> list[tuple[int, RuleEvent]]:
    """The events of a vehicle's stop fixes in lots beside incompatible goods there first."""
    cargo, fleet, distance_m = batch.vehicle.cargo, batch.fleet, params.segregation.distance_m
    if cargo is None or fleet is None:
        return []
    in_lots = _in_lots(fleet, batch, stops, lots, params)
    if not in_lots:
        return []
    mine = frozenset((*cargo.hazard_classes, *cargo.subsidiary_hazards))
    clashes, events = _clashes(fleet, mine, params), []  # over the whole fleet: only when needed
    for stop, lot_idx, first in in_lots:
        near = first & clashes
        if distance_m is not None:
            close = np.zeros(len(fleet), dtype=bool)
            close[fleet.within(np.array([stop.x]), np.array([stop.y]), distance_m)] = True
            near &= close
        for idx in lot_idx:
            lot = batch.road.compiled.restrictions[idx].properties
            members = fleet.in_lot(lot.id)
            others = members[near[members]]
            if not len(others):
                continue
            other = fleet.stops[int(others[0])]
            theirs, own = "/".join(other.classes), "/".join(sorted(mine))
            fact = Text(
                f"{lot.name.zh}：{own} 类货物与先到的 {other.vehicle_id}（{theirs} 类）禁忌，"
                f"须隔离停放（共 {len(others)} 辆）",
                f"{lot.name.en}: class {own} beside {other.vehicle_id} (class {theirs}, there "
                f"first), to be kept apart ({len(others)} vehicles)",
            )
            event = restriction_event(
                SEGREGATION_RULE_ID, batch, stop.pos, idx, fact=fact, value=float(len(others))
            )
            events.append((stop.pos, _with(event, f"segregation:{lot.id}", _SEGREGATION_BASIS)))
    return events


_capacity_step_fleet = _stepped_in_lots(_capacity_events)
_segregation_step_fleet = _stepped_in_lots(_segregation_events)

CAPACITY_RULE: RuleSpec[ParkingState] = RuleSpec(
    rule_id=CAPACITY_RULE_ID,
    title=Text("危险货物停车场超容量", "Hazmat parking lot over capacity"),
    legal_basis=_CAPACITY_BASIS,
    initial_state=ParkingState,
    step=step_alone(_capacity_step_fleet),
    step_fleet=_capacity_step_fleet,
)

SEGREGATION_RULE: RuleSpec[ParkingState] = RuleSpec(
    rule_id=SEGREGATION_RULE_ID,
    title=Text("禁忌货物车辆未隔离停放", "Incompatible goods parked together"),
    legal_basis=_SEGREGATION_BASIS,
    initial_state=ParkingState,
    step=step_alone(_segregation_step_fleet),
    step_fleet=_segregation_step_fleet,
)
