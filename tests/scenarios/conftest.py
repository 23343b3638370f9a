"""Networks for the scenarios, loaded once per session (from the on-disk network cache)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from geodata import sources
from geodata.network import RoadNetwork
from tests.conftest import shared_data_path

SHENZHEN_PBF = "osm-china/shenzhen/shenzhen_futian_nanshan_drive_2024-10.osm.pbf"


@pytest.fixture(scope="session")
def scenario_network() -> Callable[[str], RoadNetwork]:
    """Return a loader of the scenario networks by name, each loaded once."""
    loaded: dict[str, RoadNetwork] = {}

    def load(name: str) -> RoadNetwork:
        if name not in loaded:
            source = shared_data_path(SHENZHEN_PBF) if name == "shenzhen" else "default"
            loaded[name] = sources.load_network(source)
        return loaded[name]

    return load
