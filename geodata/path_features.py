"""Describe a driven edge sequence as WGS-84 features: one LineString per traversed edge."""

from __future__ import annotations

from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np

if TYPE_CHECKING:
    from geodata.network import RoadNetwork

__all__ = ["edge_features"]

FEATURE_COLUMNS = (
    "edge_id", "osm_way_id", "name", "ref", "highway", "u_osm", "v_osm", "length_m",
    "is_bridge", "is_tunnel", "tunnel_category",
)  # fmt: skip


def edge_features(network: RoadNetwork, edge_ids: np.ndarray) -> gpd.GeoDataFrame:
    """Return one WGS-84 feature per edge id, in the order given (repeats kept).

    Columns: `seq` (travel order), the edge id, its OSM way id, name, ref, road class, the OSM
    node ids at both ends (`u_osm`, `v_osm`), `length_m`, bridge/tunnel flags and category.
    """
    edge_ids = np.asarray(edge_ids, dtype=np.int64)
    table = network.edges.iloc[edge_ids].reset_index()
    features = gpd.GeoDataFrame(
        table[list(FEATURE_COLUMNS)].assign(seq=np.arange(len(edge_ids))),
        geometry=table.geometry.to_numpy(),
        crs=network.crs,
    ).to_crs(4326)
    return features[["seq", *FEATURE_COLUMNS, "geometry"]]
