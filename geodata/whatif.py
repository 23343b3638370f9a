"""What-if for a proposed restriction: past trips it would have hit, planned routes, detours.

A proposal is a `Restriction` (a GeoJSON geometry or OSM ways, a schedule and a cargo selector;
`propose` builds one). Against the track archive a fix breaks it when the fix's load matches
the selector and no permit exempts it, the fix lies on the restriction (inside a polygon,
border included; on one of its compiled edges for segments, tunnels and bridges), and the
restriction is in force at the fix time. A trip breaks it when one of its fixes does; counts go
per local hour of day of the trip's first breaking fix, and per carrier.

The archive scan runs per partition on dask-geopandas (the local scheduler by default; pass a
``distributed.Client``'s scheduler with ``scheduler=``) and is vectorised within a partition.
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely

from geodata import (
    restriction_index,
    route_check,
    route_graph,
    routing,
    schedules,
    track_archive,
)  # fmt: skip
from geodata.restrictions import Restriction, RestrictionKind

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from geodata.network import RoadNetwork
    from geodata.restriction_index import CargoKey, CompiledRestrictions

__all__ = [
    "ProposalFootprint",
    "WhatIfResult",
    "footprint",
    "partition_hits",
    "planned_routes_hit",
    "propose",
    "trip_detours",
    "trips_hit",
]

logger = logging.getLogger(__name__)

_SCAN_COLUMNS = ["trip_id", "vehicle_id", "carrier_id", "fix_at", "lon", "lat", "edge_id",
                 "classes", "un_numbers", "tunnel_code", "permits"]  # fmt: skip
_HIT_META = {
    "trip_id": "string", "vehicle_id": "string", "carrier_id": "string",
    "first_hit_at": "datetime64[us, UTC]", "hit_fixes": "int64",
    "start_at": "datetime64[us, UTC]", "start_lon": "float64", "start_lat": "float64",
    "end_at": "datetime64[us, UTC]", "end_lon": "float64", "end_lat": "float64",
    "classes": "string", "un_numbers": "string", "tunnel_code": "string", "permits": "string",
}  # fmt: skip


def propose(
    rid: str,
    *,
    kind: str = "zone",
    geometry: dict[str, Any] | None = None,
    osm_way_ids: Sequence[int] | None = None,
    schedule: str = "24/7",
    cargo: dict[str, Any] | None = None,
    name: tuple[str, str] = ("拟议限行", "Proposed restriction"),
    exemptions: Sequence[str] = (),
) -> Restriction:
    """Build a proposed restriction from a GeoJSON geometry or OSM ways.

    Examples
    --------
    >>> ban = propose("p1", geometry={"type": "Polygon", "coordinates": [[[114.0, 22.5],
    ...     [114.1, 22.5], [114.1, 22.6], [114.0, 22.5]]]}, schedule="Mo-Fr 07:00-09:00")
    >>> ban.properties.kind.value, ban.properties.cargo.all_dangerous_goods
    ('zone', True)
    """
    props: dict[str, Any] = {
        "id": rid, "kind": kind, "name": {"zh": name[0], "en": name[1]},
        "legal_basis": {"zh": "拟议（规划评估）", "en": "Proposed (planning study)"},
        "cargo": cargo or {"all_dangerous_goods": True}, "schedule": schedule,
        "exemptions": list(exemptions), "source": {"kind": "example", "ref": "what-if"},
    }  # fmt: skip
    if osm_way_ids is not None:
        props["osm_way_ids"] = list(osm_way_ids)
    feature = {"type": "Feature", "geometry": geometry, "properties": props}
    return Restriction.model_validate(feature)


@dataclass(frozen=True, eq=False)
class ProposalFootprint:
    """Where a proposal lies: a WGS-84 polygon for zones, else a mask of edges."""

    restriction: Restriction
    polygon: shapely.Geometry | None
    edge_mask: np.ndarray
    compiled: CompiledRestrictions


def footprint(network: RoadNetwork, restriction: Restriction) -> ProposalFootprint:
    """Compile a proposal onto a network and keep what the archive scan tests against."""
    compiled = restriction_index.compile_layers(network, [restriction])
    mask = np.zeros(len(network.edges) + 1, dtype=bool)  # last slot: unknown edge (-1)
    polygon = None
    if len(compiled.zone_geometries):
        polygon = restriction.shape
        if restriction.properties.kind is RestrictionKind.DENSE_AREA:
            to_lonlat = network.to_lonlat
            polygon = shapely.transform(
                compiled.zone_geometries[0],
                lambda xy: np.column_stack(to_lonlat.transform(*xy.T)),
            )
        shapely.prepare(polygon)
    else:
        mask[compiled.edges_of(restriction.properties.id)] = True
    return ProposalFootprint(restriction, polygon, mask, compiled)


def _load_applies(restriction: Restriction, part: pd.DataFrame) -> np.ndarray:
    """Whether each row's load matches the selector and holds no exempting permit."""
    columns = ["classes", "un_numbers", "tunnel_code", "permits"]
    keys = part[columns].astype(object).fillna("")
    codes = keys.groupby(columns, sort=False, dropna=False).ngroup().to_numpy()
    combos = keys.drop_duplicates().itertuples(index=False)
    p = restriction.properties
    exempting = set(p.exemptions)
    if p.kind in {RestrictionKind.WATER_SOURCE_LEVEL2, RestrictionKind.WATER_SOURCE_BELT}:
        exempting |= set(restriction_index.CompileParams().water_permits)
    if p.kind is RestrictionKind.WATER_SOURCE_LEVEL1:
        exempting = set()
    verdict = []
    for combo in combos:
        classes, un_numbers, tunnel, permits = (str(s).split(",") if s else [] for s in combo)
        applies = p.cargo.applies_to_values(
            classes, un_numbers=un_numbers, tunnel_code=tunnel[0] if tunnel else None
        )
        verdict.append(applies and exempting.isdisjoint(permits))
    return np.asarray(verdict, dtype=bool)[codes]


def _in_force(restriction: Restriction, fix_at: pd.Series) -> np.ndarray:
    """Whether the restriction is in force at each fix time (schedule and validity dates)."""
    if len(fix_at) == 0:
        return np.zeros(0, dtype=bool)
    p = restriction.properties
    active = schedules.is_active(restriction.schedule, fix_at)
    if p.valid_from or p.valid_to:
        local = fix_at.dt.tz_convert(zoneinfo.ZoneInfo(p.time_zone)).dt.date
        if p.valid_from:
            active &= (local >= p.valid_from).to_numpy()
        if p.valid_to:
            active &= (local <= p.valid_to).to_numpy()
    return np.asarray(active, dtype=bool)


def partition_hits(part: pd.DataFrame, fp: ProposalFootprint) -> pd.DataFrame:
    """Trips of one partition with fixes breaking the proposal: first hit and trip ends.

    Trip start and end are those seen in this partition; `trips_hit` combines partitions.
    """
    part = part.sort_values(["trip_id", "fix_at"], kind="stable")
    lon, lat = part["lon"].to_numpy(float), part["lat"].to_numpy(float)
    if fp.polygon is not None:
        on = shapely.intersects_xy(fp.polygon, lon, lat)
    else:
        on = fp.edge_mask[part["edge_id"].to_numpy(np.int64)]
    rows = np.flatnonzero(on)
    rows = rows[_load_applies(fp.restriction, part.iloc[rows])] if rows.size else rows
    rows = rows[_in_force(fp.restriction, part["fix_at"].iloc[rows])] if rows.size else rows
    hits = part.iloc[rows]
    if hits.empty:
        return _empty_hits()
    first = hits.groupby("trip_id", sort=False).agg(
        first_hit_at=("fix_at", "min"), hit_fixes=("fix_at", "size")
    )
    trips = part[part["trip_id"].isin(first.index)].groupby("trip_id", sort=False)
    ends = trips.agg(
        vehicle_id=("vehicle_id", "first"), carrier_id=("carrier_id", "first"),
        start_at=("fix_at", "first"), start_lon=("lon", "first"), start_lat=("lat", "first"),
        end_at=("fix_at", "last"), end_lon=("lon", "last"), end_lat=("lat", "last"),
        classes=("classes", "first"), un_numbers=("un_numbers", "first"),
        tunnel_code=("tunnel_code", "first"), permits=("permits", "first"),
    )  # fmt: skip
    out = ends.join(first).reset_index()
    return out[list(_HIT_META)].astype(_HIT_META)


def _empty_hits() -> pd.DataFrame:
    """An empty hits frame with the right dtypes."""
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in _HIT_META.items()})


@dataclass(frozen=True, eq=False)
class WhatIfResult:
    """Trips that would have broken a proposal, and their counts."""

    restriction: Restriction
    trips: pd.DataFrame
    per_hour: pd.Series = field(init=False)
    per_carrier: pd.Series = field(init=False)

    def __post_init__(self) -> None:
        zone = zoneinfo.ZoneInfo(self.restriction.properties.time_zone)
        hours = self.trips["first_hit_at"].dt.tz_convert(zone).dt.hour
        per_hour = hours.value_counts().reindex(range(24), fill_value=0).sort_index()
        per_hour.index.name = "hour"
        per_carrier = self.trips["carrier_id"].value_counts().sort_index()
        object.__setattr__(self, "per_hour", per_hour.astype(np.int64))
        object.__setattr__(self, "per_carrier", per_carrier.astype(np.int64))


def _combine(hits: pd.DataFrame) -> pd.DataFrame:
    """Merge per-partition rows of one trip (a trip may cross a day boundary)."""
    if hits.empty:
        return hits.reset_index(drop=True)
    hits = hits.sort_values(["trip_id", "start_at"])
    grouped = hits.groupby("trip_id", sort=True)
    merged = grouped.agg(
        vehicle_id=("vehicle_id", "first"), carrier_id=("carrier_id", "first"),
        first_hit_at=("first_hit_at", "min"), hit_fixes=("hit_fixes", "sum"),
        start_at=("start_at", "first"), start_lon=("start_lon", "first"),
        start_lat=("start_lat", "first"), end_at=("end_at", "last"), end_lon=("end_lon", "last"),
        end_lat=("end_lat", "last"), classes=("classes", "first"),
        un_numbers=("un_numbers", "first"), tunnel_code=("tunnel_code", "first"),
        permits=("permits", "first"),
    )  # fmt: skip
    return merged.reset_index()[list(_HIT_META)]


def trips_hit(
    archive_root: str | Path,
    network: RoadNetwork,
    restriction: Restriction,
    *,
    scheduler: Any = "threads",
) -> WhatIfResult:
    """Scan the track archive for trips that would have broken a proposed restriction.

    Parameters
    ----------
    archive_root
        Folder written by `track_archive.write_archive`.
    network
        The network whose edge ids the archive's ``edge_id`` refers to.
    restriction
        The proposal.
    scheduler
        Dask scheduler: ``"threads"`` (local, the default), ``"sync"``, or a distributed
        client's ``get``.

    Returns
    -------
    result
        One row per affected trip, and counts per local hour of the first hit and per carrier.
    """
    fp = footprint(network, restriction)
    frame = track_archive.read_archive(archive_root, columns=_SCAN_COLUMNS)
    meta = _empty_hits()
    hits = frame.map_partitions(partition_hits, fp, meta=meta).compute(scheduler=scheduler)
    return WhatIfResult(restriction, _combine(pd.DataFrame(hits)))


def _cargo_of(row: Any) -> CargoKey:
    """The load of an archived trip row."""

    def split(text: Any) -> frozenset[str]:
        return frozenset(str(text).split(",")) - {""} if isinstance(text, str) else frozenset()

    code = row.tunnel_code if isinstance(row.tunnel_code, str) and row.tunnel_code else None
    return restriction_index.CargoKey(
        classes=split(row.classes), un_numbers=split(row.un_numbers), tunnel_code=code,
        permits=split(row.permits),
    )  # fmt: skip


def trip_detours(
    today: route_graph.RoutingIndex,
    proposed: route_graph.RoutingIndex,
    trips: pd.DataFrame,
    *,
    limit: int | None = None,
) -> pd.DataFrame:
    """The detour each affected trip would need: compliant route today vs with the proposal.

    Parameters
    ----------
    today, proposed
        Routing indexes of the network with today's layers, and with the proposal added.
    trips
        Rows of `WhatIfResult.trips`.
    limit
        Route only the first `limit` trips.

    Returns
    -------
    detours
        Per trip: km and minutes today and with the proposal, extra km and minutes (NaN when
        one of the routes does not exist).
    """
    rows = []
    for row in trips.head(limit).itertuples(index=False):
        cargo = _cargo_of(row)
        depart = row.start_at.to_pydatetime()
        a, b = (row.start_lon, row.start_lat), (row.end_lon, row.end_lat)
        base = routing.fastest_route(today, a, b, depart, cargo)
        new = routing.fastest_route(proposed, a, b, depart, cargo)
        km = [np.nan if r is None else r.length_m / 1e3 for r in (base, new)]
        minutes = [np.nan if r is None else r.duration_s / 60.0 for r in (base, new)]
        rows.append({"trip_id": row.trip_id, "carrier_id": row.carrier_id,
                     "km_today": km[0], "km_proposed": km[1], "min_today": minutes[0],
                     "min_proposed": minutes[1], "extra_km": km[1] - km[0],
                     "extra_min": minutes[1] - minutes[0]})  # fmt: skip
    return pd.DataFrame(rows)


def planned_routes_hit(
    network: RoadNetwork,
    restriction: Restriction,
    lines: Sequence[shapely.LineString],
    depart_at: Sequence[dt.datetime],
    cargos: Sequence[CargoKey],
) -> list[list[route_check.Violation]]:
    """Which planned routes (WGS-84 LineStrings, e.g. waybill routes) a proposal would hit.

    Each line is snapped to the roads it follows and timed from its departure at routing
    speeds; the answer per line lists the proposal's violations (empty when it is not hit).
    """
    index = route_graph.build_routing_index(network, footprint(network, restriction).compiled)
    rid = restriction.properties.id
    return [
        [v for v in route_check.check_line(index, line, at, cargo)[1] if v.restriction_id == rid]
        for line, at, cargo in zip(lines, depart_at, cargos, strict=True)
    ]
