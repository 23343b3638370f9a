"""Read the drivable ways of an OSM source (PBF, XML, Overpass JSON) into plain arrays."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import osmium

from geodata import tags
from geodata._errors import NetworkSourceError

__all__ = ["OsmExtract", "OsmWay", "is_drivable", "read_osm_file", "read_overpass_json"]

logger = logging.getLogger(__name__)

OSM_FILE_SUFFIXES = (".osm.pbf", ".pbf", ".osm", ".osm.gz", ".osm.bz2", ".xml")
OVERPASS_SUFFIXES = (".json", ".overpass.json")

# The osmnx "drive_service" idea: roads a motor vehicle may use, service roads included because
# tankers load and unload at depots reached by them; parking aisles and driveways left out.
DRIVABLE_HIGHWAYS = frozenset(
    {
        "motorway", "motorway_link", "trunk", "trunk_link", "primary", "primary_link",
        "secondary", "secondary_link", "tertiary", "tertiary_link", "unclassified",
        "residential", "living_street", "service", "road",
    }
)  # fmt: skip
EXCLUDED_SERVICE = frozenset(
    {"parking", "parking_aisle", "driveway", "private", "emergency_access"}
)
NO_MOTOR_VALUES = frozenset({"no", "private"})


@dataclass(frozen=True)
class OsmWay:
    """One OSM way: its id, node ids in order and the tags kept for the rules."""

    way_id: int
    node_ids: tuple[int, ...]
    tags: dict[str, str]


@dataclass(frozen=True)
class OsmExtract:
    """Drivable ways of a source and the WGS-84 coordinates of the nodes they use."""

    ways: list[OsmWay]
    node_ids: np.ndarray
    lon: np.ndarray
    lat: np.ndarray


def is_drivable(way_tags: dict[str, str]) -> bool:
    """Say whether a way with these tags belongs to the drivable road network.

    Examples
    --------
    >>> is_drivable({"highway": "primary"}), is_drivable({"highway": "footway"})
    (True, False)
    >>> is_drivable({"highway": "service", "service": "parking_aisle"})
    False
    """
    if way_tags.get("highway") not in DRIVABLE_HIGHWAYS or way_tags.get("area") == "yes":
        return False
    if way_tags.get("service") in EXCLUDED_SERVICE:
        return False
    return not any(way_tags.get(key) in NO_MOTOR_VALUES for key in ("motor_vehicle", "motorcar"))


def read_osm_file(path: Path) -> OsmExtract:
    """Read drivable ways from an OSM PBF or XML file (plain, gzip or bzip2)."""
    ways: list[OsmWay] = []
    coords: dict[int, tuple[float, float]] = {}
    processor = (
        osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
        .with_locations()
        .with_filter(osmium.filter.KeyFilter("highway"))
    )
    try:
        for way in processor:
            if not isinstance(way, osmium.osm.Way):
                continue
            way_tags = dict(way.tags)
            if not is_drivable(way_tags):
                continue
            refs = []
            for node in way.nodes:
                if node.location.valid():
                    refs.append(node.ref)
                    coords[node.ref] = (node.location.lon, node.location.lat)
            ways.append(OsmWay(way.id, tuple(refs), tags.kept_tags(way_tags)))
    except RuntimeError as err:
        msg = f"cannot read OSM file {path}: {err}"
        raise NetworkSourceError(msg) from err
    return _extract(ways, coords, source=path)


def read_overpass_json(path: Path) -> OsmExtract:
    """Read drivable ways from an Overpass API JSON response (as osmnx caches it)."""
    try:
        document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        elements = document["elements"]
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        msg = f"{path} is not Overpass JSON with an `elements` list: {err}"
        raise NetworkSourceError(msg) from err
    coords = {
        int(e["id"]): (float(e["lon"]), float(e["lat"]))
        for e in elements
        if e.get("type") == "node" and "lon" in e
    }
    ways = [
        OsmWay(
            int(e["id"]),
            tuple(int(n) for n in e.get("nodes", ()) if int(n) in coords),
            tags.kept_tags(e.get("tags", {})),
        )
        for e in elements
        if e.get("type") == "way" and is_drivable(e.get("tags", {}))
    ]
    return _extract(ways, coords, source=path)


def _extract(
    ways: list[OsmWay], coords: dict[int, tuple[float, float]], *, source: Path
) -> OsmExtract:
    """Pack ways and node coordinates, dropping ways left with fewer than two nodes."""
    usable = [w for w in ways if len(w.node_ids) >= 2]
    if not usable:
        msg = f"{source} holds no drivable OSM ways (highway=*) with node locations"
        raise NetworkSourceError(msg)
    if len(usable) < len(ways):
        logger.info("%s: dropped %d ways with < 2 located nodes", source, len(ways) - len(usable))
    node_ids = np.fromiter(coords.keys(), dtype=np.int64, count=len(coords))
    lonlat = np.array(list(coords.values()), dtype=np.float64).reshape(-1, 2)
    return OsmExtract(usable, node_ids, lonlat[:, 0], lonlat[:, 1])
