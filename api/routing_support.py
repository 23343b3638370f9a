"""Routing for the API: the routing index of the stored layers, compiled once per layer version.

The index of a network with the layers in force (not retired, current versions) and, when asked,
the OSM-derived restrictions is built on the first request that needs it and kept, keyed by
the network and the ``(layer id, version)`` pairs: a new layer version, a new layer or a retired
one changes the key, so the next request compiles again. A few recent indexes are kept.

Points and drawn lines are checked against the network's area first, so a request far from the
network is a 422 naming the field rather than a search that cannot succeed.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from fastapi import HTTPException

from maps import stored
from transport import route_planning
from transport.store import restriction_layers

if TYPE_CHECKING:
    from fastapi import Request
    from sqlalchemy.orm import Session

    from geodata.network import RoadNetwork
    from geodata.route_graph import RoutingIndex

__all__ = [
    "LayerKey",
    "RoutingIndexCache",
    "check_in_area",
    "in_area",
    "line_length_m",
    "network_area",
    "stored_index",
]

logger = logging.getLogger(__name__)

#: Indexes kept per application (one per network, OSM choice and set of layer versions).
CACHE_SIZE = 4
#: How far outside the network's nodes a point may lie (degrees, about 5 km).
AREA_MARGIN_DEG = 0.05
_state_lock = threading.Lock()

LayerKey = tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class StoredIndex:
    """A routing index and the layer versions it was compiled from."""

    index: RoutingIndex
    layers: LayerKey


class RoutingIndexCache:
    """Recent routing indexes by (network, OSM choice, layer versions); thread-safe."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self._size = size
        self._items: OrderedDict[tuple[Any, ...], RoutingIndex] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...], build: Any) -> RoutingIndex:
        """Return the index of `key`, building it with ``build()`` when it is not kept."""
        with self._lock:
            index = self._items.get(key)
            if index is not None:
                self._items.move_to_end(key)
                return index
            index = build()
            self._items[key] = index
            while len(self._items) > self._size:
                self._items.popitem(last=False)
            return index


def _cache(request: Request) -> RoutingIndexCache:
    """The application's cache (made on first use)."""
    state = request.app.state
    cache: RoutingIndexCache | None = getattr(state, "routing_indexes", None)
    if cache is None:
        with _state_lock:
            cache = getattr(state, "routing_indexes", None)
            if cache is None:
                cache = state.routing_indexes = RoutingIndexCache()
    return cache


def stored_index(
    request: Request, session: Session, network: RoadNetwork, *, with_osm: bool = True
) -> StoredIndex:
    """The routing index of the stored layers in force, compiled once per layer version."""
    layers = restriction_layers.list_layers(session)
    key: LayerKey = tuple((layer.id, layer.current_version) for layer in layers)

    def build() -> RoutingIndex:
        contents = []
        for layer_id, version in key:
            read = restriction_layers.get_layer_version(session, layer_id=layer_id, version=version)
            if read is not None and read[1].content is not None:
                contents.append(read[1].content)
        logger.info(
            "compiling %d stored layers onto %s (osm: %s)", len(key), network.name, with_osm
        )
        return route_planning.routing_index(
            network, stored.restrictions_of(contents), with_osm=with_osm
        )

    index = _cache(request).get((id(network), with_osm, key), build)
    return StoredIndex(index, key)


def network_area(network: RoadNetwork) -> tuple[float, float, float, float]:
    """WGS-84 bounds (west, south, east, north) of the network's nodes, widened by the margin."""
    lon = network.nodes["lon"].to_numpy(float)
    lat = network.nodes["lat"].to_numpy(float)
    m = AREA_MARGIN_DEG
    return float(lon.min()) - m, float(lat.min()) - m, float(lon.max()) + m, float(lat.max()) + m


def in_area(network: RoadNetwork, lonlat: np.ndarray | tuple[float, float]) -> bool:
    """Whether a WGS-84 point (or every row of points) lies within the network's area."""
    west, south, east, north = network_area(network)
    points = np.atleast_2d(np.asarray(lonlat, float))
    inside = (
        (points[:, 0] >= west) & (points[:, 0] <= east)
        & (points[:, 1] >= south) & (points[:, 1] <= north)
    )  # fmt: skip
    return bool(inside.all())


def check_in_area(
    network: RoadNetwork, lonlat: np.ndarray | tuple[float, float], loc: list[str | int]
) -> None:
    """Answer 422 naming `loc` when a WGS-84 point (or any row of points) lies off the map."""
    if not in_area(network, lonlat):
        west, south, east, north = network_area(network)
        msg = (
            f"lies outside the road network's area ({west:.3f}, {south:.3f}, {east:.3f}, "
            f"{north:.3f}) / 位于路网范围之外"
        )
        raise HTTPException(422, detail=[{"loc": loc, "type": "off_network", "msg": msg}])


def line_length_m(network: RoadNetwork, line: shapely.LineString) -> float:
    """Length of a WGS-84 line in metres, in the network's CRS."""
    coords = shapely.get_coordinates(line)
    x, y = network.from_lonlat.transform(coords[:, 0], coords[:, 1])
    return float(shapely.length(shapely.LineString(np.column_stack([x, y]))))
