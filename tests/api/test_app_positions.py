"""`POST /v1/positions` mounted in the full application: only platforms of carriers and admins."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from tests.api import apps
from tests.transport.store import databases
from transport.accounts import Role
from transport.bus.memory import MemoryBus
from transport.settings import Settings

RECENT = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
BATCH = {
    "datum": "wgs84",
    "source": "carrier-platform",
    "positions": [
        {"vehicle_id": "粤B12345", "fix_at": RECENT.isoformat(), "lon": 114.05, "lat": 22.54,
         "speed_kmh": 40.0, "heading_deg": 90.0},
    ],
}  # fmt: skip


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with databases.database("sqlite", tmp_path, migrated=False) as url:
        settings = Settings(database_url=url, auth_secret_key=apps.SECRET_KEY)
        app = create_app(settings, bus=MemoryBus(n_shards=1))
        with TestClient(app) as test_client:
            yield test_client
        app.state.engine.dispose()


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        pytest.param(Role.ADMIN, 202, id="admin"),
        pytest.param(Role.POLICE, 403, id="police"),
        pytest.param(Role.PLANNER, 403, id="planner"),
    ],
)
def test_positions_need_a_platform_role(client: TestClient, role: Role, expected: int) -> None:
    headers = apps.add_account(client, role)
    assert client.post("/v1/positions", json=BATCH, headers=headers).status_code == expected


def test_positions_without_a_token_are_401(client: TestClient) -> None:
    assert client.post("/v1/positions", json=BATCH).status_code == 401


def test_app_without_a_bus_has_no_positions_route(tmp_path: Path) -> None:
    with databases.database("sqlite", tmp_path, migrated=False) as url:
        app = create_app(Settings(database_url=url, auth_secret_key=apps.SECRET_KEY))
        assert "/v1/positions" not in app.openapi()["paths"]
        app.state.engine.dispose()
