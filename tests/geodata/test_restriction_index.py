"""The compiled restriction index on the real Shenzhen network with the example layer."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from pathlib import Path

import numpy as np
import pytest
import shapely

from geodata import osm_restrictions, restriction_index, restrictions

EXAMPLE = Path(restrictions.__file__).parent / "examples" / "shenzhen_demo_layer.geojson"
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
ALL = restriction_index.CargoKey(classes=frozenset({"3"}), tunnel_code="D")


def _local(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)


@pytest.fixture(scope="module")
def two_way(shenzhen):
    """A two-way secondary or tertiary way of the network and its edges."""
    e = shenzhen.edges
    fwd = restriction_index.edge_is_forward(shenzhen)
    counts = e[e["highway"].isin(["secondary", "tertiary"])].groupby("osm_way_id").size()
    for way_id in counts[counts >= 4].index:
        on_way = np.flatnonzero(e["osm_way_id"].to_numpy() == way_id)
        if fwd[on_way].any() and (~fwd[on_way]).any():
            return int(way_id), on_way, fwd
    pytest.skip("no two-way way")


def _feature(rid, **props):
    return {
        "type": "Feature",
        "geometry": props.pop("geometry", None),
        "properties": {
            "id": rid, "kind": props.pop("kind", "forbidden_segment"),
            "name": {"zh": rid, "en": rid}, "legal_basis": {"zh": "依据", "en": "basis"},
            "cargo": {"all_dangerous_goods": True}, "source": {"kind": "example"}, **props,
        },
    }  # fmt: skip


def _layer(*features):
    return restrictions.load_layer(
        {"type": "FeatureCollection", "hazmat_layer_version": 1, "name": "t",
         "authority": {"zh": "测", "en": "t"}, "features": list(features)}
    )  # fmt: skip


def test_example_layer_compiles_with_zones_and_edges(shenzhen) -> None:
    compiled = restriction_index.compile_layers(shenzhen, [restrictions.load_layer(EXAMPLE)])
    assert len(compiled) == 5
    assert compiled.edge_indptr.shape == (len(shenzhen.edges) + 1,)
    assert len(compiled.zone_geometries) == 4
    assert compiled.edges_of("demo-expressway-night-ban").size > 0
    assert compiled.nbytes > 0


def test_way_direction_selects_one_travel_direction(shenzhen, two_way) -> None:
    way_id, on_way, fwd = two_way
    layer = _layer(
        _feature("fwd", osm_way_ids=[way_id], direction="forward"),
        _feature("both", osm_way_ids=[way_id]),
    )
    compiled = restriction_index.compile_layers(shenzhen, [layer])
    assert set(compiled.edges_of("fwd")) == set(on_way[fwd[on_way]])
    assert set(compiled.edges_of("both")) == set(on_way)
    at = _local(2025, 10, 9, 12)
    backward_edge = on_way[~fwd[on_way]][0]
    hit = restriction_index.restrictions_hit(compiled, [backward_edge, -1], at, ALL)
    assert compiled.restriction_ids[hit].tolist() == ["both"]


def test_line_feature_finds_the_road_it_follows(shenzhen, two_way) -> None:
    way_id, on_way, _ = two_way
    lines = shenzhen.geometries[on_way]
    merged = shapely.line_merge(shapely.union_all(lines))
    line = merged if merged.geom_type == "LineString" else lines[0]
    lonlat = shapely.transform(
        line, lambda xy: np.column_stack(shenzhen.to_lonlat.transform(*xy.T))
    )
    layer = _layer(_feature("line", geometry=shapely.geometry.mapping(lonlat)))
    compiled = restriction_index.compile_layers(shenzhen, [layer])
    found = compiled.edges_of("line")
    assert set(found) & set(on_way)
    assert (shenzhen.edges.loc[found, "osm_way_id"] == way_id).mean() > 0.5


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        pytest.param((2025, 10, 9, 18, 59, 59), False, id="18:59:59"),
        pytest.param((2025, 10, 9, 19, 0), True, id="19:00"),
        pytest.param((2025, 10, 10, 5, 59), True, id="05:59"),
        pytest.param((2025, 10, 10, 6, 0), False, id="06:00"),
    ],
)
def test_schedule_borders_at_query_time(shenzhen, when, expected) -> None:
    compiled = restriction_index.compile_layers(shenzhen, [restrictions.load_layer(EXAMPLE)])
    edges = compiled.edges_of("demo-expressway-night-ban")
    # Walk the clock forwards and back so the cached answer must be re-evaluated.
    restriction_index.restrictions_hit(compiled, edges, _local(2025, 10, 9, 12), ALL)
    hit = restriction_index.restrictions_hit(compiled, edges, _local(*when), ALL)
    assert ("demo-expressway-night-ban" in compiled.restriction_ids[hit]) is expected


def test_zone_point_checks_and_holiday_date_range(shenzhen) -> None:
    compiled = restriction_index.compile_layers(shenzhen, [restrictions.load_layer(EXAMPLE)])
    x, y = shenzhen.from_lonlat.transform(114.035, 22.565)
    ids = lambda idx: set(compiled.restriction_ids[idx])  # noqa: E731
    assert ids(restriction_index.zones_at(compiled, x, y)) == {
        "demo-water-source-level1", "demo-national-day-2026-ban"
    }  # fmt: skip
    before = restriction_index.zones_hit(compiled, x, y, _local(2026, 9, 30, 23, 59), ALL)
    during = restriction_index.zones_hit(compiled, x, y, _local(2026, 10, 1, 0, 0), ALL)
    assert ids(before) == {"demo-water-source-level1"}
    assert "demo-national-day-2026-ban" in ids(during)
    fuel = restriction_index.CargoKey(classes=frozenset({"3"}), permits=frozenset({"fuel_supply"}))
    exempt = restriction_index.zones_hit(compiled, x, y, _local(2026, 10, 1, 0, 0), fuel)
    assert ids(exempt) == {"demo-water-source-level1"}


def test_vectorised_zone_query_pairs_points_and_zones(shenzhen) -> None:
    compiled = restriction_index.compile_layers(shenzhen, [restrictions.load_layer(EXAMPLE)])
    x, y = shenzhen.from_lonlat.transform(np.array([114.035, 113.5]), np.array([22.565, 22.0]))
    points, zones = restriction_index.zones_at(compiled, x, y)
    assert set(points.tolist()) == {0}
    assert len(zones) == 2


def test_naive_time_is_refused(shenzhen) -> None:
    compiled = restriction_index.compile_layers(shenzhen, [restrictions.load_layer(EXAMPLE)])
    edges = compiled.edges_of("demo-expressway-night-ban")
    with pytest.raises(ValueError, match="`at` must be timezone-aware"):
        restriction_index.restrictions_hit(compiled, edges, dt.datetime(2025, 1, 1))  # noqa: DTZ001


def test_duplicate_ids_across_layers_are_refused(shenzhen) -> None:
    layer = restrictions.load_layer(EXAMPLE)
    with pytest.raises(ValueError, match="ids repeat across layers: demo-"):
        restriction_index.compile_layers(shenzhen, [layer, layer])


def test_derived_long_tunnels_by_configurable_length(shenzhen) -> None:
    default = osm_restrictions.derive_layer(shenzhen)
    lowered = osm_restrictions.derive_layer(
        shenzhen, osm_restrictions.DerivationParams(long_tunnel_m=1500, large_bridge_m=None)
    )
    kinds = [f.properties.kind for f in lowered.features]
    assert "tunnel" not in [f.properties.kind for f in default.features]
    assert "tunnel" in kinds and "bridge" not in kinds
    compiled = restriction_index.compile_layers(shenzhen, [lowered])
    tunnel = next(f.properties.id for f in lowered.features if f.properties.kind == "tunnel")
    assert shenzhen.edges.loc[compiled.edges_of(tunnel), "is_tunnel"].all()


def test_hazmat_conditional_parts() -> None:
    assert osm_restrictions.parse_conditional(
        "no @ (Mo-Fr 07:00-19:00); no @ (Sa 08:00-12:00); destination @ (Su)"
    ) == ["Mo-Fr 07:00-19:00", "Sa 08:00-12:00"]
