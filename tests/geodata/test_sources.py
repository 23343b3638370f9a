"""Loading networks by source name, the on-disk cache and the embedded default."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from geodata import sources
from geodata._errors import NetworkSourceError
from tests.conftest import shared_data_path


@pytest.fixture
def cache_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private network cache for one test."""
    monkeypatch.setenv("HAZMAT_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "networks"


def test_default_network_is_the_embedded_helsinki_extract(cache_in: Path) -> None:
    network = sources.load_network()
    assert network.name == "Helsinki.osm.pbf"
    assert network.crs.to_epsg() == 32635
    assert network.edges["is_tunnel"].sum() > 0


def test_second_load_reads_the_cache_and_gives_the_same_network(cache_in: Path) -> None:
    source = shared_data_path("osm-china/shenzhen/shenzhen_futian_nanshan_drive_2024-10.osm.pbf")
    built = sources.load_network(source)
    folder = cache_in / built.source_hash
    assert (folder / "edges.parquet").exists() and (folder / "meta.json").exists()
    cached = sources.load_network(source)
    assert cached.edges.equals(built.edges) and cached.nodes.equals(built.nodes)
    assert cached.crs == built.crs


def test_cache_key_follows_the_source_bytes(tmp_path: Path) -> None:
    source = shared_data_path("osm-china/chengdu/chengdu_center_2018.osm")
    copy = tmp_path / "copy.osm"
    shutil.copy(source, copy)
    assert sources.source_hash(copy) == sources.source_hash(source)
    copy.write_bytes(copy.read_bytes().replace(b"</osm>", b"<!-- changed --></osm>"))
    assert sources.source_hash(copy) != sources.source_hash(source)


def test_unreadable_cache_is_rebuilt(cache_in: Path) -> None:
    built = sources.load_network()
    (cache_in / built.source_hash / "edges.parquet").write_bytes(b"not parquet")
    rebuilt = sources.load_network()
    assert len(rebuilt.edges) == len(built.edges)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        pytest.param("no/such/file.osm.pbf", "network source not found", id="missing"),
        pytest.param("pyproject.toml", "unsupported network file pyproject.toml", id="wrong-type"),
        pytest.param("bbox:114.0,22.5,114.1", "needs WEST,SOUTH,EAST,NORTH", id="bbox-3-numbers"),
        pytest.param("bbox:a,b,c,d", "bad network query 'bbox:a,b,c,d'", id="bbox-not-numbers"),
    ],
)
def test_bad_sources_are_named(cache_in: Path, source: str, message: str) -> None:
    with pytest.raises(NetworkSourceError, match=message):
        sources.load_network(Path(__file__).parents[2] / source if ".toml" in source else source)
