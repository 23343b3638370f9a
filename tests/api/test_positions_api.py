"""Tests for `POST /v1/positions` on both buses: whole batches in, per-item reasons out."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.routes import positions
from api.schemas.positions import MAX_POSITIONS_PER_BATCH
from geodata import datum
from tests.transport.redis_process import RedisProcess
from transport.bus import base
from transport.bus.memory import MemoryBus
from transport.bus.redis_streams import RedisStreamsBus
from transport.fixes import Fix, FixSource

RECENT = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)


@pytest.fixture(params=["memory", "redis"])
def client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestClient]:
    """A client of an app holding only the positions router, on the memory or the Redis bus."""
    server = None
    if request.param == "redis":
        server = RedisProcess(tmp_path)
        server.start()
        bus: base.Bus = RedisStreamsBus(server.url, n_shards=2, publish_timeout_s=0.5)
    else:
        bus = MemoryBus(n_shards=2)
    app = FastAPI()
    app.include_router(positions.router)
    app.state.bus = bus
    try:
        with TestClient(app) as test_client:
            yield test_client
            test_client.portal.call(bus.close)  # type: ignore[union-attr]
    finally:
        if server is not None:
            server.stop()


def published(client: TestClient, expected: int) -> list[Fix]:
    """Read what the bus holds, in the app's event loop."""
    bus = client.app.state.bus  # type: ignore[attr-defined]
    consumer = bus.consumer([0, 1], name="test")
    fixes: list[Fix] = []
    for _ in range(50):
        read = functools.partial(consumer.read, count=1000, block_ms=50)
        fixes += [d.fix for d in client.portal.call(read)]  # type: ignore[union-attr]
        if len(fixes) >= expected:
            break
    client.portal.call(consumer.close)  # type: ignore[union-attr]
    return fixes


def position(step: int = 0, **changes: Any) -> dict[str, Any]:
    item = {
        "vehicle_id": "粤B12345",
        "fix_at": (RECENT + timedelta(seconds=30 * step)).isoformat(),
        "lon": 114.3,
        "lat": 30.5,
        "speed_kmh": 50.0,
        "heading_deg": 180.0,
    }
    return {**item, **changes}


def test_valid_batch_is_accepted_whole_and_published(client: TestClient) -> None:
    body = {"source": "carrier-platform", "datum": "wgs84", "positions": [position(0), position(1)]}
    response = client.post("/v1/positions", json=body)
    assert response.status_code == 202 and response.json() == {"accepted": 2}
    fixes = published(client, 2)
    assert sorted(f.fix_at for f in fixes) == [RECENT, RECENT + timedelta(seconds=30)]
    assert {(f.source, f.lon, f.lat) for f in fixes} == {(FixSource.HTTP, 114.3, 30.5)}


def test_gcj02_batch_is_converted_to_wgs84(client: TestClient) -> None:
    body = {"source": "amap-app", "datum": "gcj02", "positions": [position()]}
    assert client.post("/v1/positions", json=body).status_code == 202
    (fix,) = published(client, 1)
    lon, lat = datum.gcj02_to_wgs84(np.array([114.3]), np.array([30.5]))
    assert (fix.lon, fix.lat) == (float(lon[0]), float(lat[0]))
    assert abs(fix.lon - 114.3) > 1e-3  # GCJ-02 shifts hundreds of metres in China


def test_batch_with_a_bad_item_is_refused_whole_with_every_reason(client: TestClient) -> None:
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    naive = RECENT.replace(tzinfo=None).isoformat()
    bad = [
        position(0),
        position(1, lat=114.3, lon=30.5 + 200, fix_at=future),
        position(2, fix_at=naive, speed_kmh=400.0),
    ]
    response = client.post(
        "/v1/positions", json={"source": "s", "datum": "wgs84", "positions": bad}
    )
    assert response.status_code == 422
    detail = [(d["loc"], d["type"]) for d in response.json()["detail"]]
    assert detail == [
        (["body", "positions", 1, "fix_at"], "future_time"),
        (["body", "positions", 1, "lat"], "out_of_range"),
        (["body", "positions", 1, "lon"], "out_of_range"),
        (["body", "positions", 2, "fix_at"], "naive_time"),
        (["body", "positions", 2, "speed_kmh"], "out_of_range"),
    ]
    assert response.json()["detail"][1]["msg_zh"] == "纬度超出 -90..90"
    assert published(client, 0) == []


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"source": "s", "positions": [position()]}, ["body", "datum"]),
        ({"source": "s", "datum": "bd09", "positions": [position()]}, ["body", "datum"]),
        ({"source": "s", "datum": "wgs84", "positions": []}, ["body", "positions"]),
        (
            {"source": "s", "datum": "wgs84",
             "positions": [position()] * (MAX_POSITIONS_PER_BATCH + 1)},
            ["body", "positions"],
        ),
        ({"source": "s", "datum": "wgs84", "positions": [position(colour="red")]},
         ["body", "positions", 0, "colour"]),
    ],
    ids=["datum-missing", "datum-unknown", "empty", "too-many-items", "unknown-field"],
)  # fmt: skip
def test_malformed_batch_is_refused_naming_the_field(
    client: TestClient, body: dict[str, Any], loc: list[Any]
) -> None:
    response = client.post("/v1/positions", json=body)
    assert response.status_code == 422
    assert [d["loc"] for d in response.json()["detail"]] == [loc]


def test_unreachable_bus_answers_503_and_accepts_nothing(tmp_path: Path) -> None:
    app = FastAPI()
    app.include_router(positions.router)
    app.state.bus = RedisStreamsBus("redis://127.0.0.1:9/0", n_shards=2, publish_timeout_s=0.2)
    with TestClient(app) as client:
        body = {"source": "s", "datum": "wgs84", "positions": [position()]}
        response = client.post("/v1/positions", json=body)
        client.portal.call(app.state.bus.close)  # type: ignore[union-attr]
    assert response.status_code == 503
    assert "retry later" in response.json()["detail"]
