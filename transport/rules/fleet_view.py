"""The stops of every vehicle at one moment: what the fleet-level parking rules read.

A `FleetStop` is one vehicle's current stop as published after its last batch: where (its
anchor, the mean position of the stop's fixes, network CRS metres), since when, the parking lots
it stands in (restriction ids, so that workers with the same layers agree), and what it carries.
A stop is published once it lasted `ParkingParams.min_stop_s` and withdrawn when the vehicle
moves on. A `FleetView` is a snapshot of those stops, built once per batch with one STRtree; the
per-vehicle rules (`lot_occupancy`, `waiting_clusters`) read it as `FixBatch.fleet`, so each
vehicle's own alert lifecycle gives hysteresis and evidence. At a fix at time ``t`` another
vehicle's stop counts when it began at or before ``t`` and its vehicle reported within
`ParkingParams.fleet_stop_max_age_s` before ``t``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import orjson
import shapely
from scipy import sparse
from scipy.sparse import csgraph

from geodata import restriction_index
from geodata.arrays import concatenated_ranges, unique_ints
from geodata.restrictions import RestrictionKind
from transport.rules import parking
from transport.rules.base import EPOCH, US

if TYPE_CHECKING:
    from transport.matched import MatchedFix
    from transport.rules.base import FixBatch, RoadContext, VehicleContext
    from transport.rules.params import RuleParams
    from transport.rules.parking import ParkingState

__all__ = [
    "FleetStop",
    "FleetView",
    "OwnStop",
    "follow_own_stops",
    "follow_stops_in_lots",
    "lots_at",
    "stops_of",
]

_LOTS = frozenset({RestrictionKind.PARKING_LOT})


@dataclass(frozen=True)
class FleetStop:
    """One vehicle's current stop: anchor (metres), start, last fix, lots, load classes.

    `classes` are the primary and subsidiary classes of the load, empty for an empty vehicle.
    """

    vehicle_id: str
    x: float
    y: float
    since_at: dt.datetime
    seen_at: dt.datetime
    lot_ids: tuple[str, ...] = ()
    classes: tuple[str, ...] = ()
    is_loaded: bool = False

    def to_json(self) -> bytes:
        """Return the stop as JSON (times as ISO text, as `datetime.isoformat` writes them)."""
        return orjson.dumps(self)  # a dataclass: orjson writes its fields (50x `asdict`)

    @classmethod
    def from_json(cls, text: str | bytes) -> FleetStop:
        """Read a stop written by `to_json`."""
        record = orjson.loads(text)
        return cls(
            vehicle_id=str(record["vehicle_id"]),
            x=float(record["x"]),
            y=float(record["y"]),
            since_at=dt.datetime.fromisoformat(record["since_at"]),
            seen_at=dt.datetime.fromisoformat(record["seen_at"]),
            lot_ids=tuple(record["lot_ids"]),
            classes=tuple(record["classes"]),
            is_loaded=bool(record["is_loaded"]),
        )


class FleetView:
    """A snapshot of the fleet's stops as parallel arrays, with an STRtree over the anchors."""

    def __init__(self, stops: Iterable[FleetStop] = ()) -> None:
        self.stops = tuple(stops)
        n = len(self.stops)
        self.vehicle_ids = np.array([s.vehicle_id for s in self.stops], dtype=object)
        self.x = np.fromiter((s.x for s in self.stops), float, n)
        self.y = np.fromiter((s.y for s in self.stops), float, n)
        self.since_us = np.fromiter(((s.since_at - EPOCH) // US for s in self.stops), np.int64, n)
        self.seen_us = np.fromiter(((s.seen_at - EPOCH) // US for s in self.stops), np.int64, n)
        self.is_loaded = np.fromiter((s.is_loaded for s in self.stops), bool, n)
        self.is_in_lot = np.fromiter((bool(s.lot_ids) for s in self.stops), bool, n)
        self.classes = [s.classes for s in self.stops]
        self.tree = shapely.STRtree(shapely.points(self.x, self.y))
        by_lot: dict[str, list[int]] = {}
        for k, stop in enumerate(self.stops):
            for lot_id in stop.lot_ids:
                by_lot.setdefault(lot_id, []).append(k)
        self._by_lot = {lot: np.array(ks, dtype=np.int64) for lot, ks in by_lot.items()}
        self._groups: dict[float, np.ndarray] = {}
        self._group_sizes: dict[float, np.ndarray] = {}
        self._members: dict[float, tuple[np.ndarray, np.ndarray]] = {}

    def __len__(self) -> int:
        return len(self.stops)

    def current(
        self,
        at_us: int,
        *,
        max_age_s: float,
        other_than: str,
        positions: np.ndarray | None = None,
    ) -> np.ndarray:
        """Tell for each stop (or each of `positions`) whether it counts at `at_us` for another
        vehicle than `other_than`."""
        take = slice(None) if positions is None else positions
        return (
            (self.since_us[take] <= at_us)
            & (self.seen_us[take] >= at_us - int(max_age_s * 1e6))
            & (self.vehicle_ids[take] != other_than)
        )

    def arrived_before(self, since_us: int, vehicle_id: str) -> np.ndarray:
        """Tell for each stop whether it began before a stop begun at `since_us`.

        Stops begun at the same microsecond go by vehicle id, so that one of them is first.
        """
        same = (self.since_us == since_us) & (self.vehicle_ids < vehicle_id)
        return (self.since_us < since_us) | same

    def waiting_groups(self, radius_m: float) -> np.ndarray:
        """Group label of each loaded stop outside lots, linked within `radius_m` (single
        linkage), -1 for the other stops; computed once per snapshot and radius."""
        labels = self._groups.get(radius_m)
        if labels is None:
            labels = np.full(len(self), -1, dtype=np.int64)
            waiting = np.flatnonzero(self.is_loaded & ~self.is_in_lot)
            if waiting.size:
                points = shapely.points(self.x[waiting], self.y[waiting])
                a, b = shapely.STRtree(points).query(points, "dwithin", radius_m)
                n = waiting.size
                links = sparse.coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n))
                labels[waiting] = csgraph.connected_components(links, directed=False)[1]
            self._groups[radius_m] = labels
        return labels

    def waiting_group_sizes(self, radius_m: float) -> np.ndarray:
        """How many stops each group of `waiting_groups` holds, by label."""
        sizes = self._group_sizes.get(radius_m)
        if sizes is None:
            labels = self.waiting_groups(radius_m)
            sizes = self._group_sizes[radius_m] = np.bincount(labels[labels >= 0])
        return sizes

    def group_members(self, radius_m: float, groups: np.ndarray) -> np.ndarray:
        """Positions of the stops in the `waiting_groups` of these labels (a CSR by label,
        built once per snapshot and radius)."""
        csr = self._members.get(radius_m)
        if csr is None:
            labels, sizes = self.waiting_groups(radius_m), self.waiting_group_sizes(radius_m)
            order = np.argsort(labels, kind="stable")[len(labels) - int(sizes.sum()) :]
            csr = self._members[radius_m] = (order, np.concatenate([[0], np.cumsum(sizes)]))
        order, ptr = csr
        groups = np.asarray(groups, dtype=np.int64)
        return order[concatenated_ranges(ptr[groups], ptr[groups + 1] - ptr[groups])]

    def in_lot(self, lot_id: str) -> np.ndarray:
        """Positions of the stops standing in a lot."""
        return self._by_lot.get(lot_id, np.zeros(0, dtype=np.int64))

    def within_each(self, x: np.ndarray, y: np.ndarray, distance_m: float) -> list[np.ndarray]:
        """Positions of the stops within `distance_m` of each metric point, ascending (one
        query for all the points)."""
        points = shapely.points(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
        if not len(self) or not len(points):
            return [np.zeros(0, dtype=np.int64) for _ in range(len(points))]
        point, stop = self.tree.query(points, "dwithin", distance_m)
        order = np.lexsort((stop, point))
        ends = np.cumsum(np.bincount(point, minlength=len(points)))
        return np.split(stop[order].astype(np.int64), ends[:-1])

    def within(self, x: np.ndarray, y: np.ndarray, distance_m: float) -> np.ndarray:
        """Positions of the stops within `distance_m` of any of the metric points (one query)."""
        points = shapely.points(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
        if not len(self) or not len(points):
            return np.zeros(0, dtype=np.int64)
        return unique_ints(self.tree.query(points, "dwithin", distance_m)[1])


class OwnStop(NamedTuple):
    """The vehicle's own stop at one fix of a batch (it lasted `min_stop_s`)."""

    pos: int
    at_us: int
    since_us: int
    dwell_s: float
    x: float
    y: float


def follow_own_stops(
    state: ParkingState, batch: FixBatch, params: RuleParams
) -> tuple[ParkingState, list[OwnStop]]:
    """Follow the vehicle's stop as the parking rule does (`parking.follow_stops`); return the
    state and the stop fixes, computed once per batch for all the fleet rules."""
    key = ("own_stops", state, id(params))
    kept = batch.memo.get(key)
    if kept is None:
        state, stops = parking.follow_stops(state, batch, params)
        at_us = batch.at_us.tolist()
        kept = batch.memo[key] = (
            state,
            [
                OwnStop(pos, at_us[pos], at_us[pos] - round(dwell_s * 1e6), dwell_s, x, y)
                for pos, dwell_s, x, y in stops
            ],
        )
    return kept


def follow_stops_in_lots(
    states: Sequence[ParkingState], batches: Sequence[FixBatch], params: RuleParams
) -> list[tuple[ParkingState, list[OwnStop], list[list[int]]]]:
    """Follow each vehicle's stop (`follow_own_stops`) and find the lots around each of its stop
    fixes: for all the vehicles (one road) in one lookup, kept in each batch for the other
    fleet rules."""
    followed = [follow_own_stops(s, b, params) for s, b in zip(states, batches, strict=True)]
    keys = [("stop_lots", state, id(params)) for state in states]
    missing = [k for k, (batch, key) in enumerate(zip(batches, keys, strict=True))
               if key not in batch.memo]  # fmt: skip
    stops = [stop for k in missing for stop in followed[k][1]]
    lots = (
        lots_at(batches[missing[0]].road, np.array([s.x for s in stops]),
                np.array([s.y for s in stops]))
        if stops else []
    )  # fmt: skip
    begin = 0
    for k in missing:
        end = begin + len(followed[k][1])
        batches[k].memo[keys[k]] = lots[begin:end]
        begin = end
    return [
        (state, own, batch.memo[key])
        for (state, own), batch, key in zip(followed, batches, keys, strict=True)
    ]


def lots_at(road: RoadContext, x: np.ndarray, y: np.ndarray) -> list[list[int]]:
    """The parking lots (restriction indices) around each metric point, whatever the time."""
    pos, idx = restriction_index.zones_at(road.compiled, np.asarray(x), np.asarray(y))
    keep = road.is_kind(_LOTS)[idx]
    out: list[list[int]] = [[] for _ in range(len(np.asarray(x)))]
    for p, i in zip(pos[keep].tolist(), idx[keep].tolist(), strict=True):
        if i not in out[p]:
            out[p].append(i)
    return out


def stops_of(
    vehicles: Sequence[tuple[VehicleContext, ParkingState, MatchedFix]],
    road: RoadContext,
    params: RuleParams,
) -> dict[str, FleetStop | None]:
    """Return each vehicle's stop to publish after its last fix, ``None`` when it has none.

    Each vehicle comes with its stop state (`ParkingState` of a stop-following rule) and last
    fix; a stop shorter than `min_stop_s` at the last fix is no stop yet. One lot query for all.
    """
    min_stop = dt.timedelta(seconds=params.parking.min_stop_s)
    stopped = [
        (vehicle, state, fix)
        for vehicle, state, fix in vehicles
        if state.stop_since is not None
        and not math.isnan(state.anchor_x)
        and fix.fix_at - state.stop_since >= min_stop
    ]
    out: dict[str, FleetStop | None] = {vehicle.vehicle_id: None for vehicle, _, _ in vehicles}
    x = np.array([s.anchor_x for _, s, _ in stopped], dtype=float)
    y = np.array([s.anchor_y for _, s, _ in stopped], dtype=float)
    names = [r.properties.id for r in road.compiled.restrictions]
    for (vehicle, state, fix), lots in zip(stopped, lots_at(road, x, y), strict=True):
        cargo, since_at = vehicle.cargo, state.stop_since or fix.fix_at  # set: filtered above
        classes = () if cargo is None else (*cargo.hazard_classes, *cargo.subsidiary_hazards)
        out[vehicle.vehicle_id] = FleetStop(
            vehicle_id=vehicle.vehicle_id,
            x=state.anchor_x,
            y=state.anchor_y,
            since_at=since_at,
            seen_at=fix.fix_at,
            lot_ids=tuple(names[i] for i in lots),
            classes=tuple(dict.fromkeys(classes)),
            is_loaded=vehicle.is_loaded,
        )
    return out
