"""The OSM tag parser: typed values from synthetic tags and from the real hazmat samples."""

from __future__ import annotations

import json
import math

import pytest

from geodata import tags
from geodata.network import RoadNetwork

TUNNEL_CASES = [
    pytest.param({"tunnel": "yes", "hazmat:adr_tunnel_cat": "E"}, "E", id="adr-cat"),
    pytest.param({"tunnel": "yes", "hazmat:adr_tunnel_cat": "d"}, "D", id="adr-cat-lowercase"),
    pytest.param({"tunnel": "yes", "hazmat:tunnel_cat": "B"}, "B", id="tunnel-cat"),
    pytest.param({"hazmat:adr_tunnel_cat": "C", "hazmat:tunnel_cat": "E"}, "C", id="adr-cat-wins"),
    pytest.param({"tunnel": "yes", "hazmat:C": "no"}, "C", id="letter-no"),
    pytest.param({"tunnel": "yes", "hazmat:B": "no", "hazmat:E": "no"}, "E", id="most-restrictive"),
    pytest.param({"tunnel": "yes", "hazmat:D": "destination"}, None, id="destination-is-not-no"),
    pytest.param({"tunnel": "building_passage", "hazmat:C": "no"}, None, id="building-passage"),
    pytest.param({"highway": "primary", "hazmat:C": "no"}, None, id="letter-outside-tunnel"),
    pytest.param({"tunnel": "yes", "hazmat:adr_tunnel_cat": "F"}, None, id="invalid-category"),
    pytest.param({"tunnel": "yes"}, None, id="uncategorised-tunnel"),
]


@pytest.mark.parametrize(("way_tags", "expected"), TUNNEL_CASES)
def test_tunnel_category(way_tags: dict[str, str], expected: str | None) -> None:
    assert tags.tunnel_category(way_tags) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("80", 80.0, id="plain"),
        pytest.param("50 mph", 80.4672, id="mph"),
        pytest.param("60 km/h", 60.0, id="kmh-unit"),
        pytest.param("60;40", 60.0, id="first-of-list"),
        pytest.param("CN:urban", math.nan, id="implicit"),
        pytest.param("none", math.nan, id="none"),
        pytest.param(None, math.nan, id="absent"),
    ],
)
def test_parse_maxspeed_kmh(value: str | None, expected: float) -> None:
    result = tags.parse_maxspeed_kmh(value)
    assert (math.isnan(result) and math.isnan(expected)) or result == pytest.approx(expected)


@pytest.mark.parametrize(
    ("way_tags", "expected"),
    [
        pytest.param({"highway": "residential"}, (True, True), id="two-way"),
        pytest.param({"oneway": "yes"}, (True, False), id="oneway"),
        pytest.param({"oneway": "-1"}, (False, True), id="reverse"),
        pytest.param({"highway": "motorway"}, (True, False), id="motorway-implied"),
        pytest.param({"highway": "motorway", "oneway": "no"}, (True, True), id="motorway-two-way"),
        pytest.param({"junction": "roundabout"}, (True, False), id="roundabout"),
        pytest.param({"oneway": "reversible"}, (True, True), id="reversible"),
    ],
)
def test_travel_directions(way_tags: dict[str, str], expected: tuple[bool, bool]) -> None:
    assert tags.travel_directions(way_tags) == expected


def test_kept_tags_keep_hazmat_hgv_and_conditionals_only() -> None:
    way = {
        "highway": "primary", "surface": "asphalt", "hazmat:water": "permissive",
        "hgv:conditional": "no @ (22:00-06:00)", "maxweight:hgv": "20", "lit": "yes",
        "hazmat:conditional": "no @ (Mo-Fr 07:00-19:00)",
    }  # fmt: skip
    assert set(tags.kept_tags(way)) == {
        "highway", "hazmat:water", "hgv:conditional", "maxweight:hgv", "hazmat:conditional",
    }  # fmt: skip


def test_directional_variants_resolve_per_direction() -> None:
    way = {"hazmat": "yes", "hazmat:forward": "no", "maxspeed:backward": "30"}
    table = tags.edge_tag_columns([way, way], forward=[True, False])
    assert table["hazmat"].tolist() == ["no", "yes"]
    assert table["maxspeed_kmh"].isna().tolist() == [True, False]


def test_baltimore_harbour_tunnels_are_hazmat_no(baltimore: RoadNetwork) -> None:
    tunnels = baltimore.edges[baltimore.edges["is_tunnel"] & (baltimore.edges["hazmat"] == "no")]
    names = set(tunnels["name"].dropna())
    assert any("Fort McHenry Tunnel" in name for name in names)
    assert (baltimore.edges["hazmat"] == "no").sum() >= 29


def test_helsinki_directional_hazmat_tag_is_kept(helsinki: RoadNetwork) -> None:
    kept = helsinki.edges["tags"].map(json.loads)
    directional = kept[kept.map(lambda t: "hazmat:A:forward" in t)]
    assert len(directional) > 0
    assert {t["hazmat:A:forward"] for t in directional} == {"no", "destination"}
    assert helsinki.edges["is_tunnel"].sum() > 0
