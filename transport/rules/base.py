"""What every rule is made of: its spec, the observation it reads and the events it emits.

A rule is a pure state machine ``step(state, observation, params) -> (state, events)``. An event
says "this condition is violated at this fix"; the alert lifecycle turns the presence and absence
of events over time into opened, updated and closed alerts.
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import numpy as np
import shapely

from geodata import restriction_index
from geodata.restriction_index import CargoKey, CompiledRestrictions
from geodata.restrictions import RestrictionKind

if TYPE_CHECKING:
    from geodata.network import RoadNetwork
    from transport.cargo import CargoProfile
    from transport.matched import MatchedFix
    from transport.rules.params import RuleParams

__all__ = [
    "Observation",
    "RoadContext",
    "RuleEvent",
    "RuleSpec",
    "Text",
    "VehicleContext",
    "cargo_key",
    "local_time",
    "restriction_event",
]

S = TypeVar("S")


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


@dataclass(frozen=True)
class RuleSpec(Generic[S]):
    """One rule: stable id, zh/en title, legal basis, initial state and step function."""

    rule_id: str
    title: Text
    legal_basis: Text
    initial_state: Callable[[], S]
    step: Callable[[S, Observation, RuleParams], tuple[S, tuple[RuleEvent, ...]]]


def cargo_key(cargo: CargoProfile | None) -> CargoKey:
    """Return the plain values of a load that the restriction index needs."""
    if cargo is None:
        return CargoKey()
    flags = {
        name
        for name, held in (
            ("highly_toxic", cargo.is_highly_toxic),
            ("explosive", cargo.is_explosive),
            ("explosive_precursor", cargo.is_explosive_precursor),
        )
        if held
    }
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
    structure_tree: shapely.STRtree
    fuel_tree: shapely.STRtree
    kind_codes: np.ndarray = field(repr=False)

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

    def of_kinds(self, indices: np.ndarray, kinds: frozenset[RestrictionKind]) -> np.ndarray:
        """Keep the restriction indices whose kind is one of `kinds`."""
        codes = [tuple(RestrictionKind).index(k) for k in kinds]
        return indices[np.isin(self.kind_codes[indices], codes)]


@dataclass(frozen=True, eq=False)
class Observation:
    """One matched fix with everything located for it, as the rules read it.

    `hit_idx` are restrictions in force that apply to the load and do not exempt it, on the
    edges driven since the previous fix or covering the fix; `zone_idx` every zone covering the
    fix whatever its schedule or cargo (parking lots are read from it).
    """

    fix: MatchedFix
    previous: MatchedFix | None
    vehicle: VehicleContext
    road: RoadContext
    hit_idx: np.ndarray
    zone_idx: np.ndarray

    @property
    def edge_id(self) -> int:
        """The matched edge, -1 when unmatched."""
        return self.fix.edge_id


def local_time(at: dt.datetime, params: RuleParams) -> dt.datetime:
    """Return `at` on the local wall clock the rules are read in."""
    return at.astimezone(zoneinfo.ZoneInfo(params.time_zone))


def restriction_event(
    rule_id: str, obs: Observation, idx: int, *, fact: Text, **extra: Any
) -> RuleEvent:
    """An event for a located restriction, carrying its id, schedule and legal basis."""
    restriction = obs.road.compiled.restrictions[idx]
    p = restriction.properties
    return RuleEvent(
        rule_id=rule_id,
        key=p.id,
        at=obs.fix.fix_at,
        severity=p.severity.value,
        fact=fact,
        legal_basis=Text(p.legal_basis.zh, p.legal_basis.en),
        restriction_id=p.id,
        schedule=str(restriction.schedule),
        edge_ids=obs.fix.driven_edge_ids,
        **extra,
    )


def locate(
    fix: MatchedFix, previous: MatchedFix | None, vehicle: VehicleContext, road: RoadContext
) -> Observation:
    """Locate a fix: restrictions hit on its path and zones around it (one bulk query each)."""
    compiled = road.compiled
    at = fix.fix_at
    if vehicle.is_loaded:
        on_path = restriction_index.restrictions_hit(
            compiled, np.asarray(fix.driven_edge_ids, dtype=np.int64), at, vehicle.cargo_key
        )
    else:
        on_path = np.zeros(0, dtype=np.int64)
    zones = restriction_index.zones_at(compiled, fix.x, fix.y)
    in_zones = (
        restriction_index.restrictions_in_force(compiled, zones, at, vehicle.cargo_key)
        if vehicle.is_loaded
        else np.zeros(0, dtype=np.int64)
    )
    return Observation(
        fix=fix,
        previous=previous,
        vehicle=vehicle,
        road=road,
        hit_idx=np.union1d(on_path, in_zones),
        zone_idx=zones,
    )
