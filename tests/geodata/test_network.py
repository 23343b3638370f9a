"""Building RoadNetworks from every supported source, and the invariants every network keeps."""

from __future__ import annotations

import bz2
import gzip
import shutil
from pathlib import Path

import networkx as nx
import numpy as np
import osmnx as ox
import pandas as pd
import pytest
import shapely

from geodata import osm_read
from geodata._errors import NetworkSourceError
from geodata.network import RoadNetwork
from tests.conftest import shared_data_path

CHENGDU_XML = "osm-china/chengdu/chengdu_center_2018.osm"


def assert_network_invariants(network: RoadNetwork) -> None:
    """Edge ids contiguous, geometries from u to v, positive lengths, metric CRS."""
    edges, nodes = network.edges, network.nodes
    assert edges.index.tolist() == list(range(len(edges)))
    assert network.crs.is_projected and network.crs.axis_info[0].unit_name == "metre"
    assert (edges["length_m"] > 0).all()
    start = shapely.get_point(network.geometries, 0)
    end = shapely.get_point(network.geometries, -1)
    assert np.allclose(shapely.get_x(start), nodes["x"].to_numpy()[network.edge_u], atol=1e-6)
    assert np.allclose(shapely.get_y(end), nodes["y"].to_numpy()[network.edge_v], atol=1e-6)
    indptr, out_ids = network.out_edges
    assert indptr[-1] == len(edges)
    assert (network.edge_u[out_ids] == np.repeat(np.arange(len(nodes)), np.diff(indptr))).all()


def test_shenzhen_pbf_builds_a_connected_metric_network(shenzhen: RoadNetwork) -> None:
    assert_network_invariants(shenzhen)
    assert shenzhen.crs.to_epsg() == 32650
    assert len(shenzhen.edges) > 10_000
    assert shenzhen.edges["is_bridge"].sum() > 100 and shenzhen.edges["is_tunnel"].sum() > 20
    assert nx.is_weakly_connected(shenzhen.graph)


def test_every_edge_stays_within_one_osm_way(shenzhen: RoadNetwork) -> None:
    assert (shenzhen.edges["osm_way_id"] > 0).all()
    assert shenzhen.edges["u_osm"].ne(shenzhen.edges["v_osm"]).mean() > 0.99


def test_oneway_ways_get_edges_in_one_direction_only(shenzhen: RoadNetwork) -> None:
    edges = shenzhen.edges
    oneway = edges[edges["tags"].str.contains('"oneway": "yes"', regex=False)]
    pairs = set(zip(edges["u"], edges["v"], strict=True))
    reverse = [(v, u) in pairs for u, v in zip(oneway["u"], oneway["v"], strict=True)]
    twins_same_way = pd.Series(reverse).mean()
    assert len(oneway) > 1000 and twins_same_way < 0.05


def test_overpass_json_and_pbf_of_the_same_area_agree() -> None:
    path = shared_data_path("osm-china/shenzhen/overpass_shenzhen_2024-10-06.json")
    network = RoadNetwork.from_extract(
        osm_read.read_overpass_json(path), name="ovp", source_hash=""
    )
    assert_network_invariants(network)
    assert network.crs.to_epsg() == 32650
    assert 9_000 < len(network.edges) < 11_000


@pytest.mark.parametrize("compression", ["plain", "gz", "bz2"])
def test_osm_xml_in_every_compression(tmp_path: Path, compression: str) -> None:
    source = shared_data_path(CHENGDU_XML)
    target = tmp_path / f"chengdu.osm{'' if compression == 'plain' else '.' + compression}"
    opener = {"plain": open, "gz": gzip.open, "bz2": bz2.open}[compression]
    with source.open("rb") as src, opener(target, "wb") as dst:
        shutil.copyfileobj(src, dst)
    network = RoadNetwork.from_extract(osm_read.read_osm_file(target), name="cd", source_hash="")
    assert_network_invariants(network)
    assert network.crs.to_epsg() == 32648
    assert len(network.edges) > 5_000 and network.edges["is_bridge"].sum() > 100


def test_osmnx_graphml_keeps_way_ids_and_tags() -> None:
    graph = ox.load_graphml(
        shared_data_path("osm-china/shenzhen/shenzhen_nanshan_futian_osmnx.graphml")
    )
    network = RoadNetwork.from_graph(graph, name="graphml")
    assert_network_invariants(network)
    assert len(network.edges) == graph.number_of_edges()
    assert (network.edges["osm_way_id"] > 0).all()
    assert network.edges["is_bridge"].sum() > 50


def test_node_and_arc_tables_keep_arc_order() -> None:
    nodes = pd.DataFrame(
        {"lon": [114.0, 114.001, 114.002, 114.5], "lat": [22.5, 22.5, 22.501, 22.9]}
    )
    arcs = pd.DataFrame({"u": [0, 1, 1, 2], "v": [1, 0, 2, 1], "highway": ["primary"] * 4})
    network = RoadNetwork.from_tables(nodes, arcs)
    assert_network_invariants(network)
    assert network.edge_u.tolist() == [0, 1, 1, 2] and network.edge_v.tolist() == [1, 0, 2, 1]
    assert network.edges["highway"].tolist() == ["primary"] * 4
    assert network.edge_length_m[0] == pytest.approx(103.2, abs=0.5)


def test_arcs_pointing_outside_the_node_table_are_refused() -> None:
    nodes = pd.DataFrame({"lon": [114.0, 114.001], "lat": [22.5, 22.5]})
    with pytest.raises(NetworkSourceError, match=r"outside 0\.\.1"):
        RoadNetwork.from_tables(nodes, pd.DataFrame({"u": [0], "v": [2]}))


def test_file_without_roads_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.osm"
    empty.write_text("<?xml version='1.0'?><osm version='0.6'></osm>", encoding="utf-8")
    with pytest.raises(NetworkSourceError, match="no drivable OSM ways"):
        osm_read.read_osm_file(empty)


def test_spatial_index_finds_the_edges_near_a_point(shenzhen: RoadNetwork) -> None:
    edge_id = 1234
    midpoint = shapely.line_interpolate_point(shenzhen.geometries[edge_id], 0.5, normalized=True)
    near = shenzhen.tree.query(midpoint, predicate="dwithin", distance=1.0)
    assert edge_id in near.tolist()


def test_graph_view_is_osmnx_compatible(helsinki: RoadNetwork) -> None:
    graph = helsinki.graph
    first = helsinki.edges.iloc[0]
    route = ox.routing.shortest_path(graph, first["u_osm"], first["v_osm"], weight="length")
    assert graph.number_of_edges() == len(helsinki.edges)
    assert route[0] == first["u_osm"] and route[-1] == first["v_osm"]
    edge_table = ox.graph_to_gdfs(graph, nodes=False)
    assert edge_table["length"].sum() == pytest.approx(helsinki.edges["length_m"].sum())
