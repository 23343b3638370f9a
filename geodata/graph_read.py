"""Turn an osmnx MultiDiGraph (from a `.graphml` file or an Overpass query) into edge tables."""

from __future__ import annotations

import json
from typing import Any

import networkx as nx
import numpy as np
import osmnx as ox
import pandas as pd
import pyproj

from geodata import tags
from geodata._errors import NetworkSourceError

__all__ = ["QUERY_WAY_TAGS", "tables_from_graph"]

_DIRECTIONAL = ("", ":forward", ":backward")
_HAZMAT_KEYS = (
    "hazmat", "hazmat:water", "hazmat:adr_tunnel_cat", "hazmat:tunnel_cat", "hazmat:conditional",
    "hazmat:A", "hazmat:B", "hazmat:C", "hazmat:D", "hazmat:E",
)  # fmt: skip
_OTHER_KEYS = (
    "hgv", "hgv:conditional", "maxweight", "maxweight:hgv", "maxweight:conditional",
    "maxspeed:hgv", "maxspeed:conditional", "access:conditional", "motor_vehicle:conditional",
)  # fmt: skip
# osmnx keeps only an explicit list of way tags (no wildcards): the keys the rules read.
QUERY_WAY_TAGS: tuple[str, ...] = tuple(
    sorted(
        {*tags.KEPT_KEYS}
        | {key + suffix for key in _HAZMAT_KEYS + _OTHER_KEYS for suffix in _DIRECTIONAL}
    )
)


def _first(value: Any) -> Any:
    """The first element of a list attribute left by osmnx simplification, else the value."""
    return value[0] if isinstance(value, list) and value else value


def _merged(value: Any, *, key: str) -> str | None:
    """One tag value from a possibly merged attribute; bridges and tunnels win over `no`."""
    if isinstance(value, list):
        if key in {"bridge", "tunnel"}:
            value = next((v for v in value if v not in {"no", None}), value[0])
        else:
            value = value[0]
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return str(value)


def _edge_tag_dicts(edges: pd.DataFrame) -> list[dict[str, str]]:
    """Kept OSM tags of each graph edge, from whichever tag columns the graph has."""
    columns = [c for c in edges.columns if tags.kept_tags({c: ""})]
    records = edges[columns].to_dict("records")
    return [
        {k: v for k, raw in row.items() if (v := _merged(raw, key=k)) is not None}
        for row in records
    ]


def tables_from_graph(G: nx.MultiDiGraph) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Return node table, edge table and WGS-84 edge geometries of an osmnx graph.

    The node table has `osm_node_id`, `lon`, `lat`; the edge table has `u`, `v` (node row
    positions), `osm_way_id`, `is_forward`, the typed tag columns and `tags` (JSON).
    """
    if len(G.edges) == 0:
        msg = "the graph has no edges"
        raise NetworkSourceError(msg)
    node_gdf, edge_gdf = ox.graph_to_gdfs(G, fill_edge_geometry=True)
    crs = pyproj.CRS(node_gdf.crs)
    if not crs.is_geographic:
        node_gdf, edge_gdf = node_gdf.to_crs(4326), edge_gdf.to_crs(4326)
        node_gdf["x"], node_gdf["y"] = node_gdf.geometry.x, node_gdf.geometry.y
    node_ids = node_gdf.index.to_numpy(np.int64)
    nodes = pd.DataFrame({"osm_node_id": node_ids, "lon": node_gdf["x"], "lat": node_gdf["y"]})
    position = pd.Series(np.arange(len(node_ids)), index=node_ids)
    u_osm = edge_gdf.index.get_level_values("u").to_numpy(np.int64)
    v_osm = edge_gdf.index.get_level_values("v").to_numpy(np.int64)
    tag_dicts = _edge_tag_dicts(edge_gdf)
    reversed_flags = edge_gdf.get("reversed", pd.Series(False, index=edge_gdf.index))
    forward = [not bool(_first(flag)) for flag in reversed_flags]
    edges = tags.edge_tag_columns(tag_dicts, forward=forward)
    edges["tags"] = [json.dumps(t, ensure_ascii=False, sort_keys=True) for t in tag_dicts]
    edges["u"] = position.loc[u_osm].to_numpy()
    edges["v"] = position.loc[v_osm].to_numpy()
    osmid = edge_gdf["osmid"] if "osmid" in edge_gdf else pd.Series(-1, index=edge_gdf.index)
    edges["osm_way_id"] = [int(_first(w)) for w in osmid]
    edges["is_forward"] = forward
    return nodes.reset_index(drop=True), edges, edge_gdf.geometry.to_numpy()
