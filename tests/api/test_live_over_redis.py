"""Alerts a worker publishes on the Redis live channel reach the API's websocket clients."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from tests.api import apps
from tests.api.test_live_api import _connect, _receive_within
from tests.transport.redis_process import RedisProcess
from tests.transport.store import databases
from tests.transport.test_live_relay import ALERT
from transport.accounts import Role
from transport.live_relay import RedisLivePublisher
from transport.settings import Settings


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[TestClient, str]]:
    """An app on SQLite relaying a real Redis server's live channel."""
    server = RedisProcess(tmp_path)
    server.start()
    try:
        with databases.database("sqlite", tmp_path, migrated=False) as url:
            settings = Settings(database_url=url, auth_secret_key=apps.SECRET_KEY)
            app = create_app(settings, live_redis_url=server.url)
            with TestClient(app) as client:
                yield client, server.url
            app.state.engine.dispose()
    finally:
        server.stop()


def test_worker_alert_reaches_police_websocket_within_a_second(
    served: tuple[TestClient, str],
) -> None:
    client, url = served
    police = apps.add_account(client, Role.POLICE)
    subscriber = client.app.state.live_subscriber  # type: ignore[attr-defined]
    for _ in range(100):
        if subscriber.subscribed.is_set():
            break
        time.sleep(0.05)
    with _connect(client, police) as ws:
        assert ws.receive_json()["type"] == "ready"
        RedisLivePublisher(url).publish_alerts([replace(ALERT, id=41)])
        message = _receive_within(ws, 1.0)
    assert message["type"] == "alert" and message["data"]["id"] == 41
