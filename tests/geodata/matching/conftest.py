"""Fixtures for the matcher tests: the Shenzhen network and synthetic drives along routes."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pytest
import shapely
from scipy import sparse
from scipy.sparse import csgraph

from geodata import osm_read
from geodata.network import RoadNetwork
from tests.conftest import shared_data_path

SHENZHEN_PBF = "osm-china/shenzhen/shenzhen_futian_nanshan_drive_2024-10.osm.pbf"


@dataclass(frozen=True)
class Drive:
    """A synthetic drive: noisy fixes sampled along a known route."""

    x: np.ndarray
    y: np.ndarray
    t: np.ndarray
    route_edge_ids: np.ndarray


@pytest.fixture(scope="session")
def shenzhen() -> RoadNetwork:
    """Futian and Nanshan drivable network, loaded once."""
    extract = osm_read.read_osm_file(shared_data_path(SHENZHEN_PBF))
    return RoadNetwork.from_extract(extract, name="shenzhen", source_hash="")


def shortest_route(network: RoadNetwork, origin: int, destination: int) -> np.ndarray:
    """Edge ids of the shortest path by length (empty when unreachable)."""
    u, v, length = network.edge_u, network.edge_v, network.edge_length_m
    order = np.lexsort((length, v, u))
    first = np.ones(len(order), dtype=bool)
    first[1:] = (u[order][1:] != u[order][:-1]) | (v[order][1:] != v[order][:-1])
    best = order[first]
    n = len(network.nodes)
    matrix = sparse.csr_matrix((length[best], (u[best], v[best])), shape=(n, n))
    _, pred = csgraph.dijkstra(matrix, indices=origin, return_predecessors=True)
    if pred[destination] < 0:
        return np.empty(0, np.int64)
    nodes = [destination]
    while nodes[-1] != origin:
        nodes.append(int(pred[nodes[-1]]))
    nodes.reverse()
    lookup = dict(zip(zip(u[best].tolist(), v[best].tolist(), strict=True), best, strict=True))
    return np.array([lookup[p] for p in itertools.pairwise(nodes)], np.int64)


def route_line(network: RoadNetwork, edge_ids: np.ndarray) -> shapely.LineString:
    """The route's geometry as one line."""
    coords = shapely.get_coordinates(network.geometries[edge_ids])
    keep = np.ones(len(coords), dtype=bool)
    keep[1:] = np.any(coords[1:] != coords[:-1], axis=1)
    return shapely.LineString(coords[keep])


def drive_along(
    network: RoadNetwork,
    edge_ids: np.ndarray,
    *,
    dt_s: float,
    noise_m: float,
    seed: int,
    speed_ms: float = 12.0,
) -> Drive:
    """Sample a route every `dt_s` at about `speed_ms`, with Gaussian noise of `noise_m`."""
    rng = np.random.default_rng(seed)
    line = route_line(network, edge_ids)
    speeds = np.clip(rng.normal(speed_ms, 2.0, int(line.length / speed_ms / dt_s) + 2), 3, 25)
    s = np.concatenate([[0.0], np.cumsum(speeds * dt_s)])
    s = np.append(s[s < line.length], line.length)
    xy = shapely.get_coordinates(shapely.line_interpolate_point(line, s))
    xy += rng.normal(0.0, noise_m, xy.shape)
    return Drive(xy[:, 0], xy[:, 1], np.arange(len(s)) * dt_s, edge_ids)


def random_route(network: RoadNetwork, seed: int, *, min_m: float = 2000.0) -> np.ndarray:
    """A shortest route between random nodes, at least `min_m` long (fixed seed)."""
    rng = np.random.default_rng(seed)
    while True:
        origin, destination = rng.integers(0, len(network.nodes), 2)
        route = shortest_route(network, int(origin), int(destination))
        if network.edge_length_m[route].sum() >= min_m:
            return route


def overlap_fraction(network: RoadNetwork, matched: np.ndarray, truth: np.ndarray) -> float:
    """Length of the true route covered by the matched edges (as multisets) / true length."""
    lengths = network.edge_length_m
    m_ids, m_counts = np.unique(matched, return_counts=True)
    t_ids, t_counts = np.unique(truth, return_counts=True)
    common, mi, ti = np.intersect1d(m_ids, t_ids, return_indices=True)
    overlap = (np.minimum(m_counts[mi], t_counts[ti]) * lengths[common]).sum()
    return float(overlap / (t_counts * lengths[t_ids]).sum())
