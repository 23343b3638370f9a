"""Compile restriction layers onto a road network so that checking a matched fix is a lookup.

The compiled index holds, for every edge, the restrictions on it (CSR arrays): features on OSM
way ids with their direction, line features found by geometry (a buffered STRtree query keeping
edges that run along the line), and tunnel or bridge points extended to their whole structure.
Polygon features (zones, water-source zones, no-parking zones, lots and service areas, buffered
dense areas) go into an STRtree for point checks; the hazmat bays of service areas are kept by
restriction. Schedules are evaluated at query time and the answer is kept until the schedule's
next change, so a stream of fixes costs one evaluation per change.
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, overload

import numpy as np
import pandas as pd
import shapely
import shapely.geometry
from scipy import sparse
from scipy.sparse import csgraph

from geodata import schedules
from geodata.arrays import concatenated_ranges, unique_ints
from geodata.polygon_grid import PolygonGrid
from geodata.restrictions import Restriction, RestrictionKind, RestrictionLayer

if TYPE_CHECKING:
    from geodata.network import RoadNetwork

__all__ = [
    "TUNNEL_CATEGORY_CODES",
    "CargoKey",
    "CompileParams",
    "CompiledRestrictions",
    "applies_mask",
    "compile_layers",
    "edge_is_forward",
    "in_force_at",
    "in_force_mask",
    "path_restrictions",
    "restrictions_hit",
    "restrictions_in_force",
    "structure_chains",
    "zones_at",
    "zones_hit",
]

logger = logging.getLogger(__name__)

#: Tunnel category per edge as a small int: 0 none, 1..5 = A..E.
TUNNEL_CATEGORY_CODES = {"A": 1, "B": 2, "C": 3, "D": 4, "E": 5}
_EDGE_KINDS = frozenset(
    {
        RestrictionKind.FORBIDDEN_SEGMENT,
        RestrictionKind.TUNNEL,
        RestrictionKind.BRIDGE,
    }
)
_WATER_PERMIT_KINDS = frozenset(
    {RestrictionKind.WATER_SOURCE_LEVEL2, RestrictionKind.WATER_SOURCE_BELT}
)
_FAR_FUTURE = dt.datetime.max.replace(tzinfo=dt.UTC)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_US = dt.timedelta(microseconds=1)


@dataclass(frozen=True)
class CargoKey:
    """A load as the index needs it: plain, hashable values (geodata knows no waybills)."""

    classes: frozenset[str] = frozenset()
    un_numbers: frozenset[str] = frozenset()
    tunnel_code: str | None = None
    flags: frozenset[str] = frozenset()
    permits: frozenset[str] = frozenset()


@dataclass(frozen=True)
class CompileParams:
    """How features find their edges and zones."""

    line_tolerance_m: float = 20.0  # buffer around a line feature
    min_overlap: float = 0.5  # share of an edge's length inside the buffer, along the line
    point_snap_m: float = 30.0  # tunnel / bridge point to its structure
    lot_point_radius_m: float = 50.0  # parking lot given as a point
    water_permits: frozenset[str] = frozenset({"water_source_permit"})  # level 2 and belt


@dataclass(eq=False)
class CompiledRestrictions:
    """Restrictions compiled onto one network; integer positions index every array.

    Attributes
    ----------
    restrictions
        The restrictions; position ``i`` is restriction index ``i``.
    edge_indptr, edge_restriction_idx
        CSR: restriction indices on edge ``e`` are ``edge_restriction_idx[indptr[e]:indptr[e+1]]``.
    zone_geometries, zone_restriction_idx, zone_grid
        Metric polygons for point checks, the restriction of each, and their grid index.
    corridors
        Approved corridors by restriction id: metric polygons (the line buffered by width / 2).
    hazmat_bays
        Hazmat bays of service areas that give them, by restriction index: metric polygons.
    edge_tunnel_category
        0 none, 1..5 for ADR categories A..E, per edge.
    problems
        What did not compile (unknown way ids, lines far from any road), for the CLI.
    """

    restrictions: tuple[Restriction, ...]
    restriction_ids: np.ndarray
    kinds: tuple[RestrictionKind, ...]
    edge_indptr: np.ndarray
    edge_restriction_idx: np.ndarray
    zone_geometries: np.ndarray
    zone_restriction_idx: np.ndarray
    zone_grid: PolygonGrid
    corridors: dict[str, shapely.Geometry]
    edge_tunnel_category: np.ndarray
    problems: tuple[str, ...] = ()
    exempt_by: tuple[frozenset[str], ...] = ()
    hazmat_bays: dict[int, shapely.Geometry] = field(default_factory=dict)
    _activity: dict[int, tuple[bool, dt.datetime, dt.datetime]] = field(default_factory=dict)
    _masks: dict[CargoKey, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    # In force, from, until (epoch µs) per slot and restriction: two cached intervals each.
    _active: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.restrictions)

    def edges_of(self, restriction_id: str) -> np.ndarray:
        """Return the edge ids a restriction is compiled onto (sorted)."""
        (idx,) = np.flatnonzero(self.restriction_ids == restriction_id)
        rows = np.repeat(np.arange(len(self.edge_indptr) - 1), np.diff(self.edge_indptr))
        return np.unique(rows[self.edge_restriction_idx == idx])

    @property
    def nbytes(self) -> int:
        """Approximate memory of the arrays and geometries in bytes."""
        arrays = (self.edge_indptr, self.edge_restriction_idx, self.zone_restriction_idx)
        coords = sum(shapely.get_num_coordinates(g) for g in self.zone_geometries)
        return int(
            sum(a.nbytes for a in arrays)
            + self.edge_tunnel_category.nbytes
            + self.zone_grid.nbytes
            + 16 * coords
        )


def edge_is_forward(network: RoadNetwork) -> np.ndarray:
    """Tell for each edge whether it runs in its OSM way's drawing order."""
    return network.edges["is_forward"].to_numpy(bool)


def compile_layers(
    network: RoadNetwork,
    layers: Iterable[RestrictionLayer | Restriction],
    *,
    params: CompileParams | None = None,
) -> CompiledRestrictions:
    """Compile restriction layers onto a network.

    Parameters
    ----------
    network
        Projected road network.
    layers
        Layers (or single restrictions); ids must be unique across them.
    params
        Tolerances; ``None`` for the defaults.

    Returns
    -------
    compiled
        The index; features that hit nothing are listed in ``problems``, never dropped silently.

    Raises
    ------
    ValueError
        Two restrictions share an id.
    """
    params = params or CompileParams()
    restrictions = tuple(_flatten(layers))
    ids = [r.properties.id for r in restrictions]
    if len(set(ids)) != len(ids):
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        msg = f"restriction ids repeat across layers: {', '.join(dupes)}"
        raise ValueError(msg)
    builder = _Builder(network, params)
    for idx, restriction in enumerate(restrictions):
        builder.add(idx, restriction)
    return builder.finish(restrictions)


def _flatten(layers: Iterable[RestrictionLayer | Restriction]) -> Iterable[Restriction]:
    """Yield every restriction of layers and loose restrictions."""
    for item in layers:
        yield from (item.features if isinstance(item, RestrictionLayer) else [item])


class _Builder:
    """Collects (edge, restriction) pairs and zone polygons while compiling."""

    def __init__(self, network: RoadNetwork, params: CompileParams) -> None:
        self.network = network
        self.params = params
        self.pairs: list[tuple[np.ndarray, int]] = []
        self.zones: list[tuple[shapely.Geometry, int]] = []
        self.corridors: dict[str, shapely.Geometry] = {}
        self.bays: dict[int, shapely.Geometry] = {}
        self.problems: list[str] = []
        self.forward = edge_is_forward(network)
        self.way = network.edges["osm_way_id"].to_numpy(np.int64)

    def add(self, idx: int, restriction: Restriction) -> None:
        """Compile one restriction."""
        p = restriction.properties
        shape = self._metric(restriction.shape)
        if p.kind is RestrictionKind.APPROVED_CORRIDOR:
            line = shape if shape is not None else self._way_lines(p.osm_way_ids or [], p)
            self.corridors[p.id] = shapely.buffer(line, (p.width_m or 0.0) / 2.0)
            return
        if p.osm_way_ids is not None:
            edges = self._way_edges(p.osm_way_ids, p.direction or "both", p.id)
        elif shape is None:
            return
        elif p.kind in _EDGE_KINDS and shape.geom_type == "LineString":
            edges = self._line_edges(shape, p.id)
        elif p.kind in {RestrictionKind.TUNNEL, RestrictionKind.BRIDGE}:
            edges = self._structure_edges(shape, p.kind, p.id)
        else:
            self.zones.append((self._zone_shape(shape, p), idx))
            if p.hazmat_bays is not None:
                self.bays[idx] = self._metric(shapely.geometry.shape(p.hazmat_bays.model_dump()))
            return
        self.pairs.append((edges, idx))

    def _metric(self, shape: shapely.Geometry | None) -> shapely.Geometry | None:
        """Project a WGS-84 geometry to the network CRS."""
        if shape is None:
            return None
        transform = self.network.from_lonlat
        return shapely.transform(shape, lambda xy: np.column_stack(transform.transform(*xy.T)))

    def _zone_shape(self, shape: shapely.Geometry, p: Any) -> shapely.Geometry:
        """The polygon used for point checks: buffered for dense areas and point lots."""
        if p.kind is RestrictionKind.DENSE_AREA:
            return shapely.buffer(shape, p.buffer_m or 0.0) if p.buffer_m else shape
        if shape.geom_type == "Point":
            return shapely.buffer(shape, self.params.lot_point_radius_m)
        return shape

    def _way_edges(self, way_ids: Sequence[int], direction: str, rid: str) -> np.ndarray:
        """Edges of OSM ways in one direction (forward = drawing order) or both."""
        on_way = np.isin(self.way, np.asarray(way_ids, dtype=np.int64))
        missing = sorted(set(way_ids) - set(self.way[on_way].tolist()))
        if missing:
            self.problems.append(f"{rid}: OSM ways not in the network: {missing}")
        if direction == "forward":
            on_way &= self.forward
        elif direction == "backward":
            on_way &= ~self.forward
        return np.flatnonzero(on_way)

    def _way_lines(self, way_ids: Sequence[int], p: Any) -> shapely.Geometry:
        """The union of a corridor's way geometries."""
        edges = self._way_edges(way_ids, "both", p.id)
        return shapely.union_all(self.network.geometries[edges])

    def _line_edges(self, line: shapely.Geometry, rid: str) -> np.ndarray:
        """Edges that run along a line: inside its buffer for most of their length, lengthwise."""
        zone = shapely.buffer(line, self.params.line_tolerance_m)
        candidates = self.network.tree.query(zone, predicate="intersects")
        geoms = self.network.geometries[candidates]
        inside_m = shapely.length(shapely.intersection(geoms, zone))
        lengths_m = np.maximum(shapely.length(geoms), 1e-9)
        starts, ends = shapely.get_point(geoms, 0), shapely.get_point(geoms, -1)
        along_m = np.abs(line.project(ends) - line.project(starts))
        keep = (inside_m / lengths_m >= self.params.min_overlap) & (along_m >= 0.7 * inside_m)
        if not keep.any():
            self.problems.append(f"{rid}: the line runs along no road of the network")
        return np.sort(candidates[keep])

    def _structure_edges(
        self, point: shapely.Geometry, kind: RestrictionKind, rid: str
    ) -> np.ndarray:
        """Edges of the tunnel or bridge chain nearest a point."""
        column = "is_tunnel" if kind is RestrictionKind.TUNNEL else "is_bridge"
        flagged = self.network.edges[column].to_numpy(bool)
        near = self.network.tree.query(
            point, predicate="dwithin", distance=self.params.point_snap_m
        )
        near = near[flagged[near]]
        if near.size == 0:
            self.problems.append(f"{rid}: no {kind.value} within {self.params.point_snap_m} m")
            return np.zeros(0, dtype=np.int64)
        labels, _ = structure_chains(self.network.edges, column)
        return np.flatnonzero(np.isin(labels, labels[near]))

    def finish(self, restrictions: tuple[Restriction, ...]) -> CompiledRestrictions:
        """Assemble the CSR arrays and the zone tree."""
        n_edges = len(self.network.edges)
        edge_ids = np.concatenate([e for e, _ in self.pairs] or [np.zeros(0, np.int64)])
        owners = np.concatenate(
            [np.full(len(e), i, np.int32) for e, i in self.pairs] or [np.zeros(0, np.int32)]
        )
        order = np.lexsort((owners, edge_ids))
        edge_ids, owners = edge_ids[order], owners[order]
        indptr = np.zeros(n_edges + 1, dtype=np.int64)
        indptr[1:] = np.cumsum(np.bincount(edge_ids, minlength=n_edges))
        zone_geoms = np.array([g for g, _ in self.zones], dtype=object)
        zone_owners = np.array([i for _, i in self.zones], dtype=np.int32)
        categories = (
            self.network.edges["tunnel_category"]
            .astype(object)
            .map(lambda c: TUNNEL_CATEGORY_CODES.get(c, 0) if isinstance(c, str) else 0)
        )
        return CompiledRestrictions(
            restrictions=restrictions,
            restriction_ids=np.array([r.properties.id for r in restrictions], dtype=object),
            kinds=tuple(r.properties.kind for r in restrictions),
            edge_indptr=indptr,
            edge_restriction_idx=owners,
            zone_geometries=zone_geoms,
            zone_restriction_idx=zone_owners,
            zone_grid=PolygonGrid.build(zone_geoms, order=zone_owners),
            corridors=self.corridors,
            edge_tunnel_category=categories.to_numpy(np.uint8),
            problems=tuple(self.problems),
            exempt_by=tuple(self._exemptions(r) for r in restrictions),
            hazmat_bays=self.bays,
        )

    def _exemptions(self, restriction: Restriction) -> frozenset[str]:
        """Permits that exempt from a restriction; none for level-1 water zones."""
        p = restriction.properties
        if p.kind is RestrictionKind.WATER_SOURCE_LEVEL1:
            return frozenset()
        if p.kind in _WATER_PERMIT_KINDS:
            return frozenset(p.exemptions) | self.params.water_permits
        return frozenset(p.exemptions)


def structure_chains(edges: pd.DataFrame, column: str) -> tuple[np.ndarray, np.ndarray]:
    """Label contiguous chains of flagged edges (shared node and same way id or name).

    Returns
    -------
    labels, lengths_m
        Chain label per edge (-1 for unflagged edges) and the length of each chain, counting each
        road piece once however many travel directions it has.
    """
    flagged = np.flatnonzero(edges[column].to_numpy(bool))
    labels = np.full(len(edges), -1, dtype=np.int64)
    if len(flagged) == 0:
        return labels, np.zeros(0)
    sub = edges.iloc[flagged]
    key = sub["name"].fillna("").astype(str).to_numpy(object)
    key = np.where(key == "", sub["osm_way_id"].astype(str).to_numpy(object), key)
    _, key_codes = np.unique(key, return_inverse=True)
    u, v = sub["u"].to_numpy(np.int64), sub["v"].to_numpy(np.int64)
    # Nodes are (road node, chain key) pairs so that chains of other names never join.
    ends = pd.DataFrame({"n": np.concatenate([u, v]), "k": np.tile(key_codes, 2)})
    node_codes = ends.groupby(["n", "k"]).ngroup().to_numpy()
    m = len(flagged)
    graph = sparse.coo_matrix(
        (np.ones(m), (node_codes[:m], node_codes[m:])), shape=(node_codes.max() + 1,) * 2
    )
    _, node_labels = csgraph.connected_components(graph, directed=False)
    chain = node_labels[node_codes[:m]]
    labels[flagged] = chain
    pieces = pd.DataFrame(
        {"chain": chain, "a": np.minimum(u, v), "b": np.maximum(u, v), "w": sub["osm_way_id"]}
    ).assign(length_m=sub["length_m"].to_numpy())
    unique_pieces = pieces.drop_duplicates(["a", "b", "w"])
    lengths_m = np.bincount(
        unique_pieces["chain"], weights=unique_pieces["length_m"], minlength=chain.max() + 1
    )
    return labels, lengths_m


def in_force_mask(
    compiled: CompiledRestrictions, indices: np.ndarray, at: dt.datetime
) -> np.ndarray:
    """Return whether each restriction index is in force at `at` (validity dates and schedule).

    The answer for a restriction is cached until its schedule's next change after `at`.
    """
    if at.tzinfo is None or at.utcoffset() is None:
        msg = "`at` must be timezone-aware"
        raise ValueError(msg)
    out = np.zeros(len(indices), dtype=bool)
    for k, idx in enumerate(indices.tolist()):
        cached = compiled._activity.get(idx)
        if cached is None or not (cached[1] <= at < cached[2]):
            cached = _activity_interval(compiled.restrictions[idx], at)
            compiled._activity[idx] = cached
        out[k] = cached[0]
    return out


def in_force_at(compiled: CompiledRestrictions, idx: np.ndarray, at_us: np.ndarray) -> np.ndarray:
    """Return whether restriction ``idx[i]`` is in force at epoch microseconds ``at_us[i]``.

    The vectorised form of `in_force_mask` for many (restriction, moment) pairs. Each
    restriction keeps two answers as intervals (until the schedule's next change) in arrays, so
    a batch costs a few array operations and vehicles on either side of a change do not evict
    each other; a miss evaluates the schedule once per restriction and change, not per row.
    """
    idx = np.asarray(idx, dtype=np.int64)
    at_us = np.asarray(at_us, dtype=np.int64)
    if compiled._active is None:
        n = len(compiled.restrictions)
        compiled._active = (
            np.zeros((2, n), bool),
            np.zeros((2, n), np.int64),
            np.zeros((2, n), np.int64),
        )
    active, since_us, until_us = compiled._active
    out = np.zeros(len(idx), dtype=bool)
    missing = np.arange(len(idx))
    while True:
        r, t = idx[missing], at_us[missing]
        for slot in (0, 1):
            is_covered = (t >= since_us[slot, r]) & (t < until_us[slot, r])
            out[missing[is_covered]] = active[slot, r[is_covered]]
            missing, r, t = missing[~is_covered], r[~is_covered], t[~is_covered]
        if not missing.size:
            return out
        # Refresh each missed restriction from its earliest missed moment, then look again.
        order = np.lexsort((t, r))
        first = order[np.r_[True, np.diff(r[order]) != 0]]
        for r1, t1 in zip(r[first].tolist(), t[first].tolist(), strict=True):
            _refresh(compiled, r1, t1)


def _refresh(compiled: CompiledRestrictions, r: int, t_us: int) -> None:
    """Cache the answer of restriction `r` from `t_us` until its next change."""
    assert compiled._active is not None
    active, since_us, until_us = compiled._active
    restriction, at = compiled.restrictions[r], _EPOCH + t_us * _US
    until_at_us = (_next_change(restriction, at) - _EPOCH) // _US
    for slot in (0, 1):
        if since_us[slot, r] < until_us[slot, r] and t_us < since_us[slot, r] < until_at_us:
            since_us[slot, r] = t_us  # no change before the cached interval: it starts earlier
            return
    slot = int(since_us[0, r] > since_us[1, r])  # replace the earlier interval
    active[slot, r] = restriction.is_in_force(at)
    since_us[slot, r], until_us[slot, r] = t_us, until_at_us


def _activity_interval(
    restriction: Restriction, at: dt.datetime
) -> tuple[bool, dt.datetime, dt.datetime]:
    """Return (in force, at, the next moment the answer may change)."""
    return restriction.is_in_force(at), at, _next_change(restriction, at)


def _next_change(restriction: Restriction, at: dt.datetime) -> dt.datetime:
    """The next moment after `at` the schedule or the validity dates may change the answer."""
    p = restriction.properties
    zone = zoneinfo.ZoneInfo(p.time_zone)
    changes = [schedules.next_change(restriction.schedule, at)]
    for day in (p.valid_from, (p.valid_to + dt.timedelta(days=1)) if p.valid_to else None):
        if day is not None:
            boundary = dt.datetime.combine(day, dt.time(), tzinfo=zone)
            changes.append(boundary if boundary > at else None)
    return min((c for c in changes if c is not None), default=_FAR_FUTURE)


def applies_mask(compiled: CompiledRestrictions, cargo: CargoKey) -> tuple[np.ndarray, np.ndarray]:
    """Return (applies, exempt) bool arrays over all restrictions for one load, cached."""
    masks = compiled._masks.get(cargo)
    if masks is None:
        applies = np.array(
            [
                r.properties.cargo.applies_to_values(
                    cargo.classes,
                    un_numbers=cargo.un_numbers,
                    tunnel_code=cargo.tunnel_code,
                    flags=cargo.flags,
                )
                for r in compiled.restrictions
            ],
            dtype=bool,
        )
        exempt = np.array([not cargo.permits.isdisjoint(e) for e in compiled.exempt_by], dtype=bool)
        masks = compiled._masks[cargo] = (applies, exempt)
    return masks


def restrictions_in_force(
    compiled: CompiledRestrictions, candidates: np.ndarray, at: dt.datetime, cargo: CargoKey | None
) -> np.ndarray:
    """Keep the candidate restriction indices in force at `at` that apply to `cargo`.

    A restriction whose exemptions the load's permits meet is dropped; ``cargo=None`` keeps all.
    """
    candidates = unique_ints(candidates)
    if cargo is not None and candidates.size:
        applies, exempt = applies_mask(compiled, cargo)
        candidates = candidates[applies[candidates] & ~exempt[candidates]]
    if candidates.size:
        candidates = candidates[in_force_mask(compiled, candidates, at)]
    return candidates


def restrictions_hit(
    compiled: CompiledRestrictions,
    edge_ids: np.ndarray | Sequence[int],
    at: dt.datetime,
    cargo: CargoKey | None = None,
) -> np.ndarray:
    """Return the restriction indices on a driven path that are in force and apply to a load.

    Parameters
    ----------
    compiled
        Compiled restrictions.
    edge_ids
        Edges driven since the previous fix, in order; ids outside the network (e.g. -1 for an
        unmatched fix) are ignored.
    at
        Timezone-aware moment of the fix; schedules are read in each restriction's own zone.
    cargo
        The load; ``None`` keeps every restriction whatever cargo it selects or exempts.

    Returns
    -------
    restriction_idx
        Sorted int64 indices into ``compiled.restrictions``; empty when nothing applies.
    """
    _, on_path = path_restrictions(compiled, edge_ids)
    return restrictions_in_force(compiled, on_path, at, cargo)


def path_restrictions(
    compiled: CompiledRestrictions, edge_ids: np.ndarray | Sequence[int]
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(edge_positions, restriction_idx)`` pairs: every restriction on every edge.

    Whatever the time or cargo; ids outside the network (e.g. -1 for an unmatched fix) give no
    pair. One CSR gather for any number of edges.
    """
    edges = np.asarray(edge_ids, dtype=np.int64).ravel()
    valid = (edges >= 0) & (edges < len(compiled.edge_indptr) - 1)
    kept = np.flatnonzero(valid)
    starts, ends = compiled.edge_indptr[edges[kept]], compiled.edge_indptr[edges[kept] + 1]
    counts = ends - starts
    positions = concatenated_ranges(starts, counts)
    return np.repeat(kept, counts), compiled.edge_restriction_idx[positions].astype(np.int64)


@overload
def zones_at(compiled: CompiledRestrictions, x: float, y: float) -> np.ndarray: ...
@overload
def zones_at(
    compiled: CompiledRestrictions, x: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray]: ...
def zones_at(compiled: CompiledRestrictions, x: Any, y: Any) -> Any:
    """Return the restriction indices of the zones covering metric points, whatever the time.

    For one point, a sorted index array; for arrays, ``(point_positions, restriction_idx)`` pairs
    sorted by position, then index, each once. A point on a zone's border is inside.
    """
    point_pos, zone_pos = compiled.zone_grid.query(x, y)
    idx = compiled.zone_restriction_idx[zone_pos].astype(np.int64)
    if np.ndim(x) == 0:
        return unique_ints(idx)
    # Sorted already; a restriction drawn as several polygons may cover a point twice.
    repeat = (point_pos[1:] == point_pos[:-1]) & (idx[1:] == idx[:-1])
    if repeat.any():
        keep = np.append(True, ~repeat)
        point_pos, idx = point_pos[keep], idx[keep]
    return point_pos, idx


def zones_hit(
    compiled: CompiledRestrictions,
    x: float,
    y: float,
    at: dt.datetime,
    cargo: CargoKey | None = None,
) -> np.ndarray:
    """Return the indices of zones covering a metric point, in force and applying to a load."""
    return restrictions_in_force(compiled, zones_at(compiled, x, y), at, cargo)
