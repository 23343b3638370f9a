"""What-if of a proposed restriction over a small synthetic archive, against a brute-force scan."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import Counter
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from geodata import restriction_index, route_graph, routing, track_archive, whatif
from geodata.network import RoadNetwork
from geodata.restrictions import Restriction, RestrictionKind
from transport import archive

SZ = zoneinfo.ZoneInfo("Asia/Shanghai")
FUTIAN = {
    "type": "Polygon",
    "coordinates": [[[114.03, 22.53], [114.06, 22.53], [114.06, 22.552], [114.03, 22.552],
                     [114.03, 22.53]]],
}  # fmt: skip
EXPRESSWAY = {
    "type": "LineString",
    "coordinates": [[113.982, 22.5205], [114.005, 22.5215], [114.03, 22.5225], [114.058, 22.526]],
}
PROPOSALS = {
    "zone-daytime": dict(geometry=FUTIAN, schedule="07:00-20:00"),
    "zone-gases-fuel-exempt": dict(
        geometry=FUTIAN, cargo={"classes": ["2", "3"]}, exemptions=["fuel_supply"]
    ),
    "water-belt": dict(kind="water_source_belt", geometry=FUTIAN, schedule="Mo-Fr 06:00-22:00"),
    "segment-night": dict(kind="forbidden_segment", geometry=EXPRESSWAY, schedule="19:00-06:00"),
}


@pytest.fixture(scope="module")
def small_archive(shenzhen: RoadNetwork, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two days of 80 simulated trips a day (starts spread over the day, one crosses midnight)."""
    root = tmp_path_factory.mktemp("archive")
    archive.write_synthetic_archive(
        shenzhen, root, first_day=dt.date(2025, 10, 14), days=2, vehicles_per_day=80,
        interval_s=20.0,
    )  # fmt: skip
    return root


def brute_force(
    root: Path, network: RoadNetwork, restriction: Restriction
) -> tuple[Counter[int], Counter[str], set[str]]:
    """Row by row: hits per local hour of a trip's first hit, per carrier, and the trip ids."""
    rows = pd.concat(gpd.read_parquet(p) for p in sorted(root.rglob("*.parquet")))
    p = restriction.properties
    polygon = restriction.shape if p.kind is not RestrictionKind.FORBIDDEN_SEGMENT else None
    compiled = restriction_index.compile_layers(network, [restriction])
    edges = set(compiled.edges_of(p.id).tolist()) if polygon is None else set()
    exempting = set(p.exemptions) | (
        {"water_source_permit"} if p.kind is RestrictionKind.WATER_SOURCE_BELT else set()
    )
    first: dict[str, tuple[pd.Timestamp, str]] = {}
    for row in rows.itertuples(index=False):
        on = (
            polygon.intersects(shapely.Point(row.lon, row.lat))
            if polygon is not None
            else row.edge_id in edges
        )
        if not on:
            continue
        applies = p.cargo.applies_to_values(
            row.classes.split(","), un_numbers=row.un_numbers.split(","),
            tunnel_code=row.tunnel_code or None,
        ) and exempting.isdisjoint(row.permits.split(","))  # fmt: skip
        is_first = row.trip_id not in first or row.fix_at < first[row.trip_id][0]
        if applies and is_first and restriction.is_in_force(row.fix_at.to_pydatetime()):
            first[row.trip_id] = (row.fix_at, row.carrier_id)
    hours = Counter(t.tz_convert(SZ).hour for t, _ in first.values())
    carriers = Counter(c for _, c in first.values())
    return hours, carriers, set(first)


@pytest.mark.parametrize("name", list(PROPOSALS))
def test_what_if_counts_equal_brute_force(
    shenzhen: RoadNetwork, small_archive: Path, name: str
) -> None:
    proposal = whatif.propose(name, **PROPOSALS[name])
    result = whatif.trips_hit(small_archive, shenzhen, proposal)
    hours, carriers, trip_ids = brute_force(small_archive, shenzhen, proposal)
    assert trip_ids, "the scenario must hit some trips"
    assert set(result.trips["trip_id"]) == trip_ids
    assert {h: n for h, n in result.per_hour.items() if n} == dict(hours)
    assert result.per_carrier.to_dict() == dict(carriers)
    assert int(result.per_hour.sum()) == len(trip_ids)


def test_archive_is_partitioned_by_day_and_read_with_dask(small_archive: Path) -> None:
    days = sorted(p.name for p in small_archive.iterdir())
    assert days[:2] == ["day=2025-10-13", "day=2025-10-14"]  # local midnight is 16:00 UTC
    frame = track_archive.read_archive(small_archive)
    assert frame.npartitions == len(list(small_archive.rglob("*.parquet")))
    head = frame.head()
    assert str(head["fix_at"].dtype) == "datetime64[us, UTC]" and head.crs.to_epsg() == 4326


def test_write_archive_refuses_naive_times(tmp_path: Path) -> None:
    fixes = pd.DataFrame(
        {c: ["x"] for c in ("trip_id", "vehicle_id", "carrier_id", "classes", "un_numbers")}
        | {"fix_at": [pd.Timestamp("2025-10-15 08:00")], "lon": [114.0], "lat": [22.5]}
    )
    with pytest.raises(ValueError, match="`fix_at` must be timezone-aware"):
        track_archive.write_archive(fixes, tmp_path)


def test_detours_of_affected_trips_cost_extra(shenzhen: RoadNetwork, small_archive: Path) -> None:
    proposal = whatif.propose("zone-24h", geometry=FUTIAN)
    result = whatif.trips_hit(small_archive, shenzhen, proposal)
    empty = restriction_index.compile_layers(shenzhen, [])
    today = route_graph.build_routing_index(shenzhen, empty)
    proposed = route_graph.build_routing_index(
        shenzhen, restriction_index.compile_layers(shenzhen, [proposal])
    )
    detours = whatif.trip_detours(today, proposed, result.trips, limit=5)
    assert len(detours) == min(5, len(result.trips))
    routed = detours.dropna()
    assert (routed["extra_min"] >= -1e-6).all()


def test_planned_routes_hit_by_a_proposed_segment_ban(shenzhen: RoadNetwork) -> None:
    free = route_graph.build_routing_index(shenzhen)
    noon = dt.datetime(2025, 10, 15, 12, tzinfo=SZ)
    planned = routing.fastest_route(free, (113.975, 22.52), (114.065, 22.545), noon, None)
    other = routing.fastest_route(free, (113.978, 22.587), (114.017, 22.5606), noon, None)
    assert planned is not None and other is not None
    third = len(planned.edge_ids) // 3
    middle = routing.Route(planned.edge_ids[third : 2 * third], planned.entered_s, noon, 0, 0)
    drawn = routing.route_line(free, middle)
    proposal = whatif.propose(
        "seg", kind="forbidden_segment", geometry=drawn.__geo_interface__, schedule="19:00-06:00"
    )
    lines = [routing.route_line(free, planned)] * 2 + [routing.route_line(free, other)]
    cargo = restriction_index.CargoKey(classes=frozenset({"3"}))
    night = dt.datetime(2025, 10, 15, 22, tzinfo=SZ)
    hits = whatif.planned_routes_hit(shenzhen, proposal, lines, [night, noon, night], [cargo] * 3)
    assert [len(h) > 0 for h in hits] == [True, False, False]
    assert {v.restriction_id for v in hits[0]} == {"seg"}
