"""RoadNetwork: a projected, directed road graph held as arrays, with its spatial index.

Every directed edge has an integer id that indexes the edge table and every per-edge array;
geometries run from `u` to `v` in a metric CRS (the UTM zone of the network). The networkx view
(`graph`) is built on demand and is osmnx-compatible, for planners' tools.
"""

from __future__ import annotations

import json
import logging
from functools import cached_property
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy import sparse
from scipy.sparse import csgraph

from geodata import graph_read, tags
from geodata._errors import NetworkSourceError

if TYPE_CHECKING:
    from geodata.matching.index import MatchIndex
    from geodata.osm_read import OsmExtract

__all__ = ["RoadNetwork", "utm_crs"]

logger = logging.getLogger(__name__)

WGS84 = pyproj.CRS.from_epsg(4326)
EDGE_CORE_COLUMNS = ("u", "v", "osm_way_id", "is_forward", "u_osm", "v_osm", "length_m")


def utm_crs(lon: float, lat: float) -> pyproj.CRS:
    """Return the WGS-84 UTM zone CRS that contains a point.

    Examples
    --------
    >>> utm_crs(114.05, 22.54).to_epsg(), utm_crs(24.94, 60.17).to_epsg()
    (32650, 32635)
    """
    zone = int((lon + 180.0) // 6.0) % 60 + 1
    return pyproj.CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


class RoadNetwork:
    """A directed road network in a metric CRS.

    Parameters
    ----------
    nodes
        Indexed 0..N-1; columns `osm_node_id`, `x`, `y` (metric), `lon`, `lat`.
    edges
        GeoDataFrame indexed by edge id 0..E-1; columns `u`, `v` (node positions), `osm_way_id`,
        `is_forward` (runs in the way's drawing order), `u_osm`, `v_osm`, `length_m`, the typed
        tag columns of `tags.EDGE_TAG_COLUMNS`, `tags` (JSON of the kept OSM tags) and
        `geometry` (LineString from u to v).
    name
        Human name of the source.
    source_hash
        Hash of the source it was built from (the cache key).
    """

    def __init__(
        self, nodes: pd.DataFrame, edges: gpd.GeoDataFrame, *, name: str, source_hash: str
    ) -> None:
        self.nodes = nodes
        self.edges = edges
        self.name = name
        self.source_hash = source_hash

    def __repr__(self) -> str:
        return (
            f"RoadNetwork({self.name!r}, {len(self.nodes):,} nodes, {len(self.edges):,} edges, "
            f"{self.crs.to_string()})"
        )

    @property
    def crs(self) -> pyproj.CRS:
        """The metric CRS of node coordinates and edge geometries."""
        return pyproj.CRS(self.edges.crs)

    @cached_property
    def edge_u(self) -> np.ndarray:
        """Start node position of each edge."""
        return self.edges["u"].to_numpy(np.int64)

    @cached_property
    def edge_v(self) -> np.ndarray:
        """End node position of each edge."""
        return self.edges["v"].to_numpy(np.int64)

    @cached_property
    def edge_length_m(self) -> np.ndarray:
        """Length of each edge in metres."""
        return self.edges["length_m"].to_numpy(np.float64)

    @cached_property
    def geometries(self) -> np.ndarray:
        """Edge geometries as a shapely array, indexed by edge id."""
        return self.edges.geometry.to_numpy()

    @cached_property
    def tree(self) -> shapely.STRtree:
        """STRtree over edge geometries; query results are edge ids."""
        return shapely.STRtree(self.geometries)

    @cached_property
    def out_edges(self) -> tuple[np.ndarray, np.ndarray]:
        """CSR adjacency: `(indptr, edge_ids)`, edges leaving node n at `indptr[n]:indptr[n+1]`."""
        order = np.argsort(self.edge_u, kind="stable")
        counts = np.bincount(self.edge_u, minlength=len(self.nodes))
        indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        return indptr, order.astype(np.int64)

    @cached_property
    def matching_index(self) -> MatchIndex:
        """Arrays, segment grid and route table the map matcher's kernels read, built on first
        use."""
        from geodata.matching import index  # numba compiles on import: only when matching

        return index.build_index(self)

    @cached_property
    def to_lonlat(self) -> pyproj.Transformer:
        """Transformer from the network CRS to WGS-84 lon/lat."""
        return pyproj.Transformer.from_crs(self.crs, WGS84, always_xy=True)

    @cached_property
    def from_lonlat(self) -> pyproj.Transformer:
        """Transformer from WGS-84 lon/lat to the network CRS."""
        return pyproj.Transformer.from_crs(WGS84, self.crs, always_xy=True)

    @cached_property
    def graph(self) -> nx.MultiDiGraph:
        """An osmnx-compatible MultiDiGraph view (node = OSM node id when known, else position)."""
        node_keys = self._node_keys()
        G = nx.MultiDiGraph(crs=self.crs.to_string(), name=self.name)
        G.add_nodes_from(
            (key, {"x": x, "y": y, "lon": lon, "lat": lat})
            for key, x, y, lon, lat in zip(
                node_keys, self.nodes["x"], self.nodes["y"], self.nodes["lon"], self.nodes["lat"],
                strict=True,
            )
        )  # fmt: skip
        attrs = self.edges.drop(columns=["u", "v", "tags"]).rename(columns={"length_m": "length"})
        records = attrs.assign(edge_id=attrs.index, osmid=attrs["osm_way_id"]).to_dict("records")
        G.add_edges_from(
            (node_keys[u], node_keys[v], edge_id, record)
            for u, v, edge_id, record in zip(
                self.edge_u, self.edge_v, self.edges.index, records, strict=True
            )
        )
        return G

    def _node_keys(self) -> np.ndarray:
        """Graph node keys: OSM node ids when all are known and unique, else positions."""
        osm_ids = self.nodes["osm_node_id"].to_numpy()
        if (osm_ids >= 0).all() and len(np.unique(osm_ids)) == len(osm_ids):
            return osm_ids
        return np.arange(len(self.nodes))

    def summary(self) -> dict[str, Any]:
        """Counts and lengths that describe the network (for `hazmat network info`)."""
        edges = self.edges
        kept = edges["tags"].map(json.loads)
        hazmat_keys = pd.Series(
            [k for t in kept for k in t if k.startswith("hazmat")], dtype="string"
        )
        return {
            "name": self.name,
            "crs": self.crs.to_string(),
            "nodes": len(self.nodes),
            "edges": len(edges),
            "length_km": round(float(edges["length_m"].sum()) / 1000.0, 3),
            "osm_ways": int(edges["osm_way_id"].nunique()),
            "bridge_edges": int(edges["is_bridge"].sum()),
            "bridge_km": round(float(edges.loc[edges["is_bridge"], "length_m"].sum()) / 1e3, 3),
            "tunnel_edges": int(edges["is_tunnel"].sum()),
            "tunnel_km": round(float(edges.loc[edges["is_tunnel"], "length_m"].sum()) / 1e3, 3),
            "tunnel_categories": edges["tunnel_category"].value_counts().sort_index().to_dict(),
            "hazmat_tags": hazmat_keys.value_counts().sort_index().to_dict(),
            "highway": edges["highway"].value_counts().to_dict(),
            "source_hash": self.source_hash,
        }

    @classmethod
    def from_extract(
        cls, extract: OsmExtract, *, name: str, source_hash: str, retain_all: bool = False
    ) -> RoadNetwork:
        """Build a network from OSM ways: split at shared nodes, one edge per travel direction.

        Each edge stays within one OSM way, so every edge keeps exactly one OSM way id and its
        tags; a way is split wherever another way meets it.
        """
        order = np.argsort(extract.node_ids)
        node_ids, lon, lat = extract.node_ids[order], extract.lon[order], extract.lat[order]
        way_refs, way_index = _way_node_arrays(extract)
        positions = np.searchsorted(node_ids, way_refs)
        seg_start, seg_end = _segment_bounds(way_refs, way_index)
        lines_lonlat = _segment_lines(lon[positions], lat[positions], seg_start, seg_end)
        seg_way = way_index[seg_start]
        directions = np.array([tags.travel_directions(w.tags) for w in extract.ways], dtype=bool)
        forward_segs = np.flatnonzero(directions[seg_way, 0])
        backward_segs = np.flatnonzero(directions[seg_way, 1])
        u = np.concatenate([positions[seg_start[forward_segs]], positions[seg_end[backward_segs]]])
        v = np.concatenate([positions[seg_end[forward_segs]], positions[seg_start[backward_segs]]])
        geometry = np.concatenate(
            [lines_lonlat[forward_segs], shapely.reverse(lines_lonlat[backward_segs])]
        )
        edge_way = np.concatenate([seg_way[forward_segs], seg_way[backward_segs]])
        is_forward = np.repeat([True, False], [len(forward_segs), len(backward_segs)])
        typed = _way_tag_table(extract, edge_way, is_forward)
        way_ids = np.array([w.way_id for w in extract.ways], dtype=np.int64)
        edges = typed.assign(u=u, v=v, osm_way_id=way_ids[edge_way], is_forward=is_forward)
        nodes = pd.DataFrame({"osm_node_id": node_ids, "lon": lon, "lat": lat})
        return cls._assemble(
            nodes, edges, geometry, name=name, source_hash=source_hash, retain_all=retain_all
        )

    @classmethod
    def from_graph(
        cls, G: nx.MultiDiGraph, *, name: str, source_hash: str = "", retain_all: bool = False
    ) -> RoadNetwork:
        """Build a network from an osmnx MultiDiGraph (loaded `.graphml` or a query result).

        Attributes merged by osmnx simplification (lists) keep their first value; a merged edge
        counts as a bridge or tunnel when any of its parts is one.
        """
        nodes, edges, geometry = graph_read.tables_from_graph(G)
        return cls._assemble(
            nodes, edges, geometry, name=name, source_hash=source_hash, retain_all=retain_all
        )

    @classmethod
    def from_tables(
        cls,
        nodes: pd.DataFrame,
        arcs: pd.DataFrame,
        *,
        name: str = "tables",
        source_hash: str = "",
        retain_all: bool = True,
    ) -> RoadNetwork:
        """Build a network from plain node and arc tables.

        Parameters
        ----------
        nodes
            Columns `lon`, `lat` (WGS-84); optional `osm_node_id`. Row position is the node id.
        arcs
            Directed arcs with columns `u`, `v` (node row positions); optional `geometry`
            (WGS-84 LineStrings; straight lines otherwise), `osm_way_id`, `is_forward` and any
            typed tag columns of `tags.EDGE_TAG_COLUMNS`.
        """
        nodes = nodes.reset_index(drop=True)
        if not {"lon", "lat"} <= set(nodes.columns) or not {"u", "v"} <= set(arcs.columns):
            msg = "`nodes` needs columns lon, lat and `arcs` needs columns u, v"
            raise NetworkSourceError(msg)
        u, v = arcs["u"].to_numpy(np.int64), arcs["v"].to_numpy(np.int64)
        if len(arcs) and (min(u.min(), v.min()) < 0 or max(u.max(), v.max()) >= len(nodes)):
            msg = f"`arcs` refer to nodes outside 0..{len(nodes) - 1}"
            raise NetworkSourceError(msg)
        if "geometry" in arcs.columns:
            geometry = np.asarray(arcs["geometry"], dtype=object)
        else:
            x, y = nodes["lon"].to_numpy(), nodes["lat"].to_numpy()
            geometry = shapely.linestrings(
                np.stack([x[u], x[v], y[u], y[v]], axis=1).reshape(-1, 2, 2).transpose(0, 2, 1)
            )
        edges = _default_tag_table(arcs).assign(
            u=u,
            v=v,
            osm_way_id=np.asarray(arcs.get("osm_way_id", -1)),
            is_forward=np.asarray(arcs.get("is_forward", True), dtype=bool),
        )
        node_table = nodes[["lon", "lat"]].assign(
            osm_node_id=nodes.get("osm_node_id", pd.Series(-1, index=nodes.index)).to_numpy()
        )
        return cls._assemble(
            node_table, edges, geometry, name=name, source_hash=source_hash, retain_all=retain_all
        )

    @classmethod
    def _assemble(
        cls,
        nodes: pd.DataFrame,
        edges: pd.DataFrame,
        geometry_lonlat: np.ndarray,
        *,
        name: str,
        source_hash: str,
        retain_all: bool,
    ) -> RoadNetwork:
        """Keep the main component, renumber, project and finish the edge table."""
        if len(edges) == 0:
            msg = f"{name}: no road edges"
            raise NetworkSourceError(msg)
        edges = edges.reset_index(drop=True)
        keep_nodes = _used_nodes(edges, len(nodes), largest_component=not retain_all)
        keep_edges = keep_nodes[edges["u"].to_numpy()] & keep_nodes[edges["v"].to_numpy()]
        renumber = np.cumsum(keep_nodes) - 1
        edges = edges.loc[keep_edges].reset_index(drop=True)
        nodes = nodes.loc[keep_nodes].reset_index(drop=True)
        edges["u"], edges["v"] = renumber[edges["u"]], renumber[edges["v"]]
        crs = utm_crs(float(nodes["lon"].median()), float(nodes["lat"].median()))
        project = pyproj.Transformer.from_crs(WGS84, crs, always_xy=True)
        nodes["x"], nodes["y"] = project.transform(nodes["lon"].to_numpy(), nodes["lat"].to_numpy())
        geometry = shapely.transform(
            geometry_lonlat[keep_edges], lambda xy: np.column_stack(project.transform(*xy.T))
        )
        osm_ids = nodes["osm_node_id"].to_numpy()
        edges = edges.assign(
            u_osm=osm_ids[edges["u"]],
            v_osm=osm_ids[edges["v"]],
            length_m=shapely.length(geometry),
        )
        columns = [*EDGE_CORE_COLUMNS, *tags.EDGE_TAG_COLUMNS, "tags"]
        table = gpd.GeoDataFrame(edges[columns], geometry=geometry, crs=crs)
        table.index.name = "edge_id"
        nodes = nodes[["osm_node_id", "x", "y", "lon", "lat"]]
        logger.info("%s: %d nodes, %d edges", name, len(nodes), len(table))
        return cls(nodes, table, name=name, source_hash=source_hash)


def _way_node_arrays(extract: OsmExtract) -> tuple[np.ndarray, np.ndarray]:
    """All ways' node refs end to end, with consecutive repeats removed, and each ref's way."""
    lengths = np.fromiter((len(w.node_ids) for w in extract.ways), dtype=np.int64)
    refs = np.fromiter(
        (n for w in extract.ways for n in w.node_ids), dtype=np.int64, count=int(lengths.sum())
    )
    way_index = np.repeat(np.arange(len(extract.ways)), lengths)
    keep = np.ones(len(refs), dtype=bool)
    keep[1:] = (refs[1:] != refs[:-1]) | (way_index[1:] != way_index[:-1])
    return refs[keep], way_index[keep]


def _segment_bounds(refs: np.ndarray, way_index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end positions of way pieces between intersections (nodes shared or way ends)."""
    _, inverse, counts = np.unique(refs, return_inverse=True, return_counts=True)
    first = np.ones(len(refs), dtype=bool)
    first[1:] = way_index[1:] != way_index[:-1]
    last = np.roll(first, -1)
    split = np.flatnonzero((counts[inverse] > 1) | first | last)
    same_way = way_index[split[:-1]] == way_index[split[1:]]
    return split[:-1][same_way], split[1:][same_way]


def _segment_lines(
    lon: np.ndarray, lat: np.ndarray, start: np.ndarray, end: np.ndarray
) -> np.ndarray:
    """LineStrings through positions start..end (inclusive) of the coordinate arrays."""
    counts = end - start + 1
    offsets = np.repeat(np.cumsum(counts) - counts, counts)
    positions = np.arange(int(counts.sum())) - offsets + np.repeat(start, counts)
    indices = np.repeat(np.arange(len(start)), counts)
    return shapely.linestrings(lon[positions], lat[positions], indices=indices)


def _way_tag_table(
    extract: OsmExtract, edge_way: np.ndarray, is_forward: np.ndarray
) -> pd.DataFrame:
    """Typed tag columns and kept-tag JSON for each edge, parsed once per way and direction."""
    n_ways = len(extract.ways)
    per_way = tags.edge_tag_columns(
        [w.tags for w in extract.ways] * 2, forward=[True] * n_ways + [False] * n_ways
    )
    per_way["tags"] = [
        json.dumps(w.tags, ensure_ascii=False, sort_keys=True) for w in extract.ways
    ] * 2
    rows = edge_way + np.where(is_forward, 0, n_ways)
    return per_way.iloc[rows].reset_index(drop=True)


def _default_tag_table(arcs: pd.DataFrame) -> pd.DataFrame:
    """Typed tag columns for arcs that may carry some of them; the rest get neutral values."""
    empty = tags.edge_tag_columns([{}], forward=[True]).iloc[0]
    table = pd.DataFrame(
        {col: arcs[col] if col in arcs else empty[col] for col in tags.EDGE_TAG_COLUMNS},
        index=arcs.index,
    ).astype(tags.EDGE_TAG_COLUMNS)
    table["tags"] = arcs.get("tags", "{}")
    return table.reset_index(drop=True)


def _used_nodes(edges: pd.DataFrame, n_nodes: int, *, largest_component: bool) -> np.ndarray:
    """Mask of nodes touched by an edge, restricted to the largest weak component if asked."""
    u, v = edges["u"].to_numpy(), edges["v"].to_numpy()
    used = np.zeros(n_nodes, dtype=bool)
    used[u] = used[v] = True
    if not largest_component:
        return used
    adjacency = sparse.coo_matrix((np.ones(len(u)), (u, v)), shape=(n_nodes, n_nodes))
    _, labels = csgraph.connected_components(adjacency, directed=True, connection="weak")
    sizes = np.bincount(labels[used])
    return used & (labels == int(np.argmax(sizes)))
