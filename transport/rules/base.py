"""What every rule is made of: its spec, the located fixes it reads and the events it emits.

A rule is a pure state machine over a vehicle's fixes in time order,
``step(state, batch, params) -> (state, [(fix position, event), ...])``: one call per batch of
fixes (one fix or thousands), vectorised over the batch, so that feeding fixes one at a time or
all at once gives the same events. An event says "this condition is violated at this fix"; the
alert lifecycle turns the presence and absence of events over time into opened, updated and
closed alerts. A rule whose per-call cost rules when a batch holds one fix per vehicle (live
operation) also has ``step_fleet(states, batches, params)``: the same steps for many vehicles at
once, vectorised over all their fixes (`step_each`).
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import operator
import zoneinfo
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import numpy as np
import shapely

from geodata import restriction_index
from geodata.arrays import unique_ints
from geodata.restriction_index import CargoKey, CompiledRestrictions
from geodata.restrictions import RestrictionKind, cargo_flags
from transport.frozen import evolve

if TYPE_CHECKING:
    from geodata.network import RoadNetwork
    from transport.cargo import CargoProfile
    from transport.matched import MatchedFix
    from transport.rules.fleet_view import FleetView
    from transport.rules.params import RuleParams

__all__ = [
    "FixBatch",
    "RoadContext",
    "RuleEvent",
    "RuleSpec",
    "Text",
    "VehicleContext",
    "VehicleFixes",
    "cargo_key",
    "local_time",
    "locate",
    "locate_fleet",
    "restriction_event",
]

S = TypeVar("S")
T = TypeVar("T")
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
US = dt.timedelta(microseconds=1)
DAY_US = 86_400_000_000
_MISSING = object()
_X, _Y = operator.attrgetter("x"), operator.attrgetter("y")
_SPEED, _EDGE = operator.attrgetter("speed_kmh"), operator.attrgetter("edge_id")
_DRIVEN = operator.attrgetter("driven_edge_ids")


@dataclass(frozen=True)
class Text:
    """A user-facing text in Chinese and English."""

    zh: str
    en: str


@dataclass(frozen=True)
class RuleEvent:
    """A condition a rule finds violated at one fix.

    `key` tells apart conditions of one rule (a restriction id, ``continuous``, ...): one alert
    per (rule, key) is open at a time.
    """

    rule_id: str
    key: str
    at: dt.datetime
    severity: str
    fact: Text
    legal_basis: Text
    restriction_id: str | None = None
    schedule: str | None = None
    edge_ids: tuple[int, ...] = ()
    value: float | None = None
    limit: float | None = None


Stepped = tuple[S, list[tuple[int, RuleEvent]]]  # a rule's new state and its events
FleetStep = Callable[[Sequence[S], Sequence["FixBatch"], "RuleParams"], list[Stepped[S]]]


@dataclass(frozen=True)
class RuleSpec(Generic[S]):
    """One rule: stable id, zh/en title, legal basis, initial state and step function; the
    step over many vehicles at once where the rule has one."""

    rule_id: str
    title: Text
    legal_basis: Text
    initial_state: Callable[[], S]
    step: Callable[[S, FixBatch, RuleParams], Stepped[S]]
    step_fleet: FleetStep[S] | None = None


def step_alone(step_fleet: FleetStep[S]) -> Callable[[S, FixBatch, RuleParams], Stepped[S]]:
    """The per-vehicle step of a rule written in its fleet form only."""

    def step(state: S, batch: FixBatch, params: RuleParams) -> Stepped[S]:
        return step_fleet([state], [batch], params)[0]

    return step


def step_each(
    rule: RuleSpec[S], states: Sequence[S], batches: Sequence[FixBatch], params: RuleParams
) -> list[Stepped[S]]:
    """Step a rule for many vehicles (state and batch of each, one road): with its fleet form
    where it has one, else vehicle by vehicle."""
    if rule.step_fleet is not None:
        return rule.step_fleet(states, batches, params)
    return [rule.step(state, batch, params) for state, batch in zip(states, batches, strict=True)]


def cargo_key(cargo: CargoProfile | None) -> CargoKey:
    """Return the plain values of a load that the restriction index needs."""
    if cargo is None:
        return CargoKey()
    flags = cargo_flags(cargo)
    return CargoKey(
        classes=frozenset(cargo.hazard_classes),
        un_numbers=frozenset(cargo.un_numbers),
        tunnel_code=str(cargo.tunnel_code.value),
        flags=frozenset(flags),
        permits=frozenset(cargo.permits),
    )


@dataclass(frozen=True, eq=False)
class VehicleContext:
    """What the rules know of one vehicle on its current trip.

    `cargo` is ``None`` for an empty vehicle (no restriction applies then); `corridor` is the
    approved route buffered to its corridor, in the network CRS, or ``None`` when there is none.
    """

    vehicle_id: str
    cargo: CargoProfile | None = None
    waybill_id: str | None = None
    corridor: shapely.Geometry | None = None

    @functools.cached_property
    def cargo_key(self) -> CargoKey:
        """The load as the restriction index reads it."""
        return cargo_key(self.cargo)

    @property
    def is_loaded(self) -> bool:
        """Whether the vehicle carries dangerous goods."""
        return self.cargo is not None


@dataclass(frozen=True, eq=False)
class RoadContext:
    """Per-edge road facts and spatial indexes the rules read, built once per network."""

    compiled: CompiledRestrictions
    highway: np.ndarray
    speed_limit_kmh: np.ndarray  # lowest posted limit (maxspeed, maxspeed:hgv), NaN if none
    osm_way_id: np.ndarray
    edge_name: np.ndarray
    edge_u: np.ndarray  # node position each edge leaves from
    edge_v: np.ndarray  # node position each edge arrives at
    structure_tree: shapely.STRtree
    fuel_tree: shapely.STRtree
    kind_codes: np.ndarray = field(repr=False)
    _memo: dict[Any, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_network(
        cls,
        network: RoadNetwork,
        compiled: CompiledRestrictions,
        *,
        fuel_stations_lonlat: Iterable[tuple[float, float]] = (),
    ) -> RoadContext:
        """Build the context; fuel stations are WGS-84 points (POIs from OSM or a registry)."""
        edges = network.edges
        posted = np.fmin(
            edges["maxspeed_kmh"].to_numpy(float), edges["maxspeed_hgv_kmh"].to_numpy(float)
        )
        structures = network.geometries[(edges["is_tunnel"] | edges["is_bridge"]).to_numpy(bool)]
        stations = np.asarray(list(fuel_stations_lonlat), dtype=float).reshape(-1, 2)
        sx, sy = network.from_lonlat.transform(stations[:, 0], stations[:, 1])
        kinds = tuple(RestrictionKind)
        return cls(
            compiled=compiled,
            highway=edges["highway"].astype(object).to_numpy(),
            speed_limit_kmh=posted,
            osm_way_id=edges["osm_way_id"].to_numpy(np.int64),
            edge_name=edges["name"].astype(object).to_numpy(),
            edge_u=edges["u"].to_numpy(np.int64),
            edge_v=edges["v"].to_numpy(np.int64),
            structure_tree=shapely.STRtree(structures),
            fuel_tree=shapely.STRtree(shapely.points(np.asarray(sx), np.asarray(sy))),
            kind_codes=np.array([kinds.index(k) for k in compiled.kinds], dtype=np.int8),
        )

    def is_near_structure(self, x: float, y: float, distance_m: float) -> bool:
        """Whether a metric point lies within `distance_m` of a tunnel or bridge edge."""
        return bool(self.structure_tree.query(shapely.Point(x, y), "dwithin", distance_m).size)

    def is_near_fuel_station(self, x: float, y: float, distance_m: float) -> bool:
        """Whether a metric point lies within `distance_m` of a fuel station."""
        return bool(self.fuel_tree.query(shapely.Point(x, y), "dwithin", distance_m).size)

    def near_structure(self, x: np.ndarray, y: np.ndarray, distance_m: float) -> np.ndarray:
        """Tell for each metric point whether it lies within `distance_m` of a tunnel or bridge."""
        return _any_within(self.structure_tree, x, y, distance_m)

    def near_fuel_station(self, x: np.ndarray, y: np.ndarray, distance_m: float) -> np.ndarray:
        """Tell for each metric point whether it lies within `distance_m` of a fuel station."""
        return _any_within(self.fuel_tree, x, y, distance_m)

    def is_kind(self, kinds: frozenset[RestrictionKind]) -> np.ndarray:
        """Return a bool array over restriction indices: whether each is of one of `kinds`."""
        mask = self._memo.get(kinds)
        if mask is None:
            codes = [tuple(RestrictionKind).index(k) for k in kinds]
            mask = self._memo[kinds] = np.isin(self.kind_codes, codes)
        return mask

    def of_kinds(self, indices: np.ndarray, kinds: frozenset[RestrictionKind]) -> np.ndarray:
        """Keep the restriction indices whose kind is one of `kinds`."""
        return indices[self.is_kind(kinds)[indices]]

    def is_expressway(self, highways: frozenset[str]) -> np.ndarray:
        """Return a bool array over edges: whether each edge's highway is one of `highways`."""
        key = ("expressway", highways)
        mask = self._memo.get(key)
        if mask is None:
            mask = self._memo[key] = np.isin(self.highway, list(highways))
        return mask

    def restriction_texts(self, idx: int) -> tuple[str, Text, str]:
        """Return the severity, legal basis and schedule text of a restriction, built once."""
        key = ("texts", idx)
        texts = self._memo.get(key)
        if texts is None:
            restriction = self.compiled.restrictions[idx]
            p = restriction.properties
            basis = Text(p.legal_basis.zh, p.legal_basis.en)
            texts = self._memo[key] = (p.severity.value, basis, str(restriction.schedule))
        return texts

    def restriction_event_template(self, rule_id: str, idx: int) -> RuleEvent:
        """Return a rule's event for a restriction with its id, schedule and legal basis, built
        once; events copy it with their own time, fact and edges."""
        key = ("event", rule_id, idx)
        template = self._memo.get(key)
        if template is None:
            severity, legal_basis, schedule = self.restriction_texts(idx)
            rid = self.compiled.restrictions[idx].properties.id
            template = self._memo[key] = RuleEvent(
                rule_id=rule_id,
                key=rid,
                at=EPOCH,
                severity=severity,
                fact=legal_basis,
                legal_basis=legal_basis,
                restriction_id=rid,
                schedule=schedule,
            )
        return template

    def memoized(self, key: Hashable, build: Callable[..., T], *args: Any) -> T:
        """Return the value kept under `key`, built as ``build(*args)`` the first time."""
        value = self._memo.get(key, _MISSING)
        if value is _MISSING:
            value = self._memo[key] = build(*args)
        return value


def _any_within(
    tree: shapely.STRtree, x: np.ndarray, y: np.ndarray, distance_m: float
) -> np.ndarray:
    """Tell for each point whether any geometry of `tree` lies within `distance_m` (one query)."""
    points = shapely.points(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    out = np.zeros(len(points), dtype=bool)
    if len(points):
        out[tree.query(points, "dwithin", distance_m)[0]] = True
    return out


@dataclass(frozen=True, eq=False)
class FixBatch:
    """A vehicle's matched fixes in time order with everything located for them, as arrays.

    Position ``i`` indexes every per-fix array and `fixes`. `hit_pos`/`hit_idx` pair each fix
    with the restrictions in force that apply to the load and do not exempt it, on the edges
    driven since the previous fix or covering the fix (sorted by position, then index);
    `zone_pos`/`zone_idx` pair each fix with every zone covering it whatever its schedule or
    cargo (parking lots are read from them); `on_pos`/`on_idx` with the restrictions that apply
    to the load on the fix's own edge or covering it, whatever the time (sorted likewise).
    `step_m` is the distance from the vehicle's fix before (0 for its first fix ever).
    `driven_ptr`/`driven_edge` is the CSR of the edges driven since the previous fix, `driven`
    the same as each fix's `driven_edge_ids` (for events). Times are epoch microseconds;
    `local_us` is the local wall clock (rule time zone) in microseconds since the local epoch.
    `fleet` holds the other vehicles' current stops for the fleet-level parking rules, ``None``
    when nobody supplies them (a single track checked alone). `memo` lets rules share what
    they derive alike from the batch (the fleet rules' stop following).
    """

    fixes: tuple[MatchedFix, ...]
    previous: MatchedFix | None
    vehicle: VehicleContext
    road: RoadContext
    at_us: np.ndarray
    local_us: np.ndarray
    x: np.ndarray
    y: np.ndarray
    speed_kmh: np.ndarray
    edge_id: np.ndarray
    driven_ptr: np.ndarray
    driven_edge: np.ndarray
    driven: Sequence[tuple[int, ...]]
    step_m: np.ndarray
    hit_pos: np.ndarray
    hit_idx: np.ndarray
    on_pos: np.ndarray
    on_idx: np.ndarray
    zone_pos: np.ndarray
    zone_idx: np.ndarray
    fleet: FleetView | None = None
    memo: dict[Hashable, Any] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.fixes)

    def hits_of_kinds(self, kinds: frozenset[RestrictionKind]) -> tuple[np.ndarray, np.ndarray]:
        """Return the (position, restriction index) hit pairs of restrictions of `kinds`."""
        if not self.hit_idx.size:  # most vehicles at most fixes
            return self.hit_pos, self.hit_idx
        keep = self.road.is_kind(kinds)[self.hit_idx]
        return self.hit_pos[keep], self.hit_idx[keep]


def local_time(at: dt.datetime, params: RuleParams) -> dt.datetime:
    """Return `at` on the local wall clock the rules are read in."""
    return at.astimezone(zoneinfo.ZoneInfo(params.time_zone))


def local_us(at_us: np.ndarray, time_zone: str) -> np.ndarray:
    """Return epoch microseconds as local wall-clock microseconds in `time_zone`.

    One offset for the batch when it is the same at both ends of a span under a day (zones
    change offset at most twice a year); per moment otherwise.
    """
    at_us = np.asarray(at_us, dtype=np.int64)
    if at_us.size == 0:
        return at_us
    zone = zoneinfo.ZoneInfo(time_zone)
    lo, hi = int(at_us.min()), int(at_us.max())
    first, last = (_offset_us(t, zone) for t in (lo, hi))
    if first == last and hi - lo < DAY_US:
        return at_us + first
    return at_us + np.array([_offset_us(t, zone) for t in at_us.tolist()], dtype=np.int64)


def _offset_us(t_us: int, zone: zoneinfo.ZoneInfo) -> int:
    """The zone's UTC offset at an epoch microsecond, in microseconds."""
    offset = (EPOCH + t_us * US).astimezone(zone).utcoffset()
    return 0 if offset is None else offset // US


def in_window_us(local: np.ndarray, start: dt.time, end: dt.time) -> np.ndarray:
    """Tell whether local wall-clock microseconds fall in a daily window (may wrap midnight)."""
    tod = np.asarray(local) % DAY_US
    lo, hi = (
        ((t.hour * 60 + t.minute) * 60 + t.second) * 1_000_000 + t.microsecond for t in (start, end)
    )
    if lo <= hi:
        return (tod >= lo) & (tod < hi)
    return (tod >= lo) | (tod < hi)


def restriction_event(
    rule_id: str, batch: FixBatch, pos: int, idx: int, *, fact: Text, **extra: Any
) -> RuleEvent:
    """An event at fix `pos` for a located restriction, with its id, schedule and legal basis."""
    return evolve(
        batch.road.restriction_event_template(rule_id, idx),
        at=batch.fixes[pos].fix_at,
        fact=fact,
        edge_ids=batch.driven[pos],
        **extra,
    )


@dataclass(frozen=True)
class VehicleFixes:
    """One vehicle's share of a fleet batch to locate: its new fixes in time order, its fix
    before them and its context."""

    fixes: tuple[MatchedFix, ...]
    previous: MatchedFix | None
    vehicle: VehicleContext


def locate(
    fixes: tuple[MatchedFix, ...],
    previous: MatchedFix | None,
    vehicle: VehicleContext,
    road: RoadContext,
    *,
    time_zone: str,
    fleet: FleetView | None = None,
) -> FixBatch:
    """Locate one vehicle's fixes (`locate_fleet` for a fleet of one)."""
    (batch,) = locate_fleet(
        [VehicleFixes(fixes, previous, vehicle)], road, time_zone=time_zone, fleet=fleet
    )
    return batch


def locate_fleet(
    parts: Sequence[VehicleFixes],
    road: RoadContext,
    *,
    time_zone: str,
    fleet: FleetView | None = None,
) -> list[FixBatch]:
    """Locate the fixes of many vehicles: restrictions hit on their paths and zones around them;
    one `FixBatch` per vehicle.

    One CSR gather for every driven edge, one zone-grid query for every point and one
    vectorised in-force lookup for every (fix, restriction) pair of the whole fleet, whatever
    the number of vehicles and fixes: a live batch holds one or two fixes per vehicle, and
    these calls cost the same for one fix as for a hundred. `fleet` (the other vehicles' stops)
    is passed on to the rules as it is.
    """
    compiled = road.compiled
    fixes = [fix for part in parts for fix in part.fixes]
    n = len(fixes)
    sizes = np.fromiter((len(part.fixes) for part in parts), np.int64, len(parts))
    bounds = np.zeros(len(parts) + 1, dtype=np.int64)
    np.cumsum(sizes, out=bounds[1:])
    driven = list(map(_DRIVEN, fixes))
    counts = np.fromiter(map(len, driven), dtype=np.int64, count=n)
    driven_edge = np.fromiter(itertools.chain.from_iterable(driven), dtype=np.int64)
    driven_ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=driven_ptr[1:])
    at_us = np.fromiter(((f.fix_at - EPOCH) // US for f in fixes), np.int64, n)
    x = np.fromiter(map(_X, fixes), float, n)
    y = np.fromiter(map(_Y, fixes), float, n)
    zone_pos, zone_idx = restriction_index.zones_at(compiled, x, y)
    edge_id = np.fromiter(map(_EDGE, fixes), np.int64, n)
    hit_pos, hit_idx = np.zeros(0, np.int64), np.zeros(0, np.int64)
    on_pos, on_idx = hit_pos, hit_idx
    loaded = [part.vehicle.is_loaded for part in parts]
    if any(loaded) and len(compiled):
        row_of_part, rows = _applicable_rows(compiled, parts, loaded)
        row_of_fix = np.repeat(row_of_part, sizes)
        edge_pos, path_idx = restriction_index.path_restrictions(compiled, driven_edge)
        fix_of_edge = np.repeat(np.arange(n), counts)
        pos, idx = _applicable(
            rows,
            row_of_fix,
            np.concatenate([fix_of_edge[edge_pos], zone_pos]),
            np.concatenate([path_idx, zone_idx]),
        )
        keep = restriction_index.in_force_at(compiled, idx, at_us[pos])
        hit_pos, hit_idx = _sorted_pairs(pos[keep], idx[keep], len(compiled))
        own_pos, own_idx = restriction_index.path_restrictions(compiled, edge_id)
        on_pos, on_idx = _sorted_pairs(
            *_applicable(
                rows,
                row_of_fix,
                np.concatenate([own_pos, zone_pos]),
                np.concatenate([own_idx, zone_idx]),
            ),
            len(compiled),
        )
    local = local_us(at_us, time_zone)
    speed_kmh = np.fromiter(map(_SPEED, fixes), float, n)
    step_m = _step_m(parts, sizes, bounds, x, y)
    hit_bounds = np.searchsorted(hit_pos, bounds).tolist()
    on_bounds = np.searchsorted(on_pos, bounds).tolist()
    zone_bounds = np.searchsorted(zone_pos, bounds).tolist()
    edge_bounds = driven_ptr[bounds].tolist()
    batches = []
    for k, part in enumerate(parts):
        a, b = int(bounds[k]), int(bounds[k + 1])
        h0, h1, z0, z1 = hit_bounds[k], hit_bounds[k + 1], zone_bounds[k], zone_bounds[k + 1]
        batches.append(
            FixBatch(
                fixes=part.fixes,
                previous=part.previous,
                vehicle=part.vehicle,
                road=road,
                at_us=at_us[a:b],
                local_us=local[a:b],
                x=x[a:b],
                y=y[a:b],
                speed_kmh=speed_kmh[a:b],
                edge_id=edge_id[a:b],
                driven_ptr=driven_ptr[a : b + 1] - edge_bounds[k],
                driven_edge=driven_edge[edge_bounds[k] : edge_bounds[k + 1]],
                driven=driven[a:b],
                step_m=step_m[a:b],
                hit_pos=hit_pos[h0:h1] - a,
                hit_idx=hit_idx[h0:h1],
                on_pos=on_pos[on_bounds[k] : on_bounds[k + 1]] - a,
                on_idx=on_idx[on_bounds[k] : on_bounds[k + 1]],
                zone_pos=zone_pos[z0:z1] - a,
                zone_idx=zone_idx[z0:z1],
                fleet=fleet,
            )
        )
    return batches


def _applicable_rows(
    compiled: CompiledRestrictions, parts: Sequence[VehicleFixes], loaded: list[bool]
) -> tuple[np.ndarray, np.ndarray]:
    """For each part a row of `rows`: which restrictions apply to its load and do not exempt
    it (none for an empty vehicle); one row per distinct load."""
    row_by_load: dict[CargoKey | None, int] = {None: 0}
    masks = [np.zeros(len(compiled), dtype=bool)]
    row_of_part = np.empty(len(parts), dtype=np.int64)
    for k, (part, is_loaded) in enumerate(zip(parts, loaded, strict=True)):
        load = part.vehicle.cargo_key if is_loaded else None
        row = row_by_load.get(load)
        if row is None:
            applies, exempt = restriction_index.applies_mask(compiled, part.vehicle.cargo_key)
            row = row_by_load[load] = len(masks)
            masks.append(applies & ~exempt)
        row_of_part[k] = row
    return row_of_part, np.stack(masks)


def _applicable(
    rows: np.ndarray, row_of_fix: np.ndarray, pos: np.ndarray, idx: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Keep the (fix position, restriction index) pairs whose restriction applies to the load of
    the fix's vehicle (`_applicable_rows`)."""
    keep = np.flatnonzero(rows[row_of_fix[pos], idx])
    return pos[keep], idx[keep]


def _step_m(
    parts: Sequence[VehicleFixes],
    sizes: np.ndarray,
    bounds: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
) -> np.ndarray:
    """Metres from each fix to its vehicle's fix before it (0 for a vehicle's first fix ever)."""
    before_x, before_y = np.empty_like(x), np.empty_like(y)
    before_x[1:], before_y[1:] = x[:-1], y[:-1]
    firsts = [part.previous or part.fixes[0] for part in parts if part.fixes]
    starts = bounds[:-1][sizes > 0]
    before_x[starts] = [f.x for f in firsts]
    before_y[starts] = [f.y for f in firsts]
    return np.hypot(x - before_x, y - before_y)


def _sorted_pairs(pos: np.ndarray, idx: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Deduplicate (position, index) pairs, sorted by position then index."""
    keys = unique_ints(pos.astype(np.int64) * max(n, 1) + idx)
    return keys // max(n, 1), keys % max(n, 1)
