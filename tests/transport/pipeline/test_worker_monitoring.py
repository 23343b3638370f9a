"""`hazmat worker --network --layers --database` as a real process on a real Redis.

A tanker with a dispatched waybill drives through a no-entry zone: the worker reads its load
and planned route from the waybill store, matches, runs the rules, records the alert in the
database (with the waybill) and relays it on the live channel to an API-side hub.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely

from geodata import sources
from tests.conftest import REPO_ROOT
from tests.transport.pipeline.test_worker_failover import RUN_CLI, publish, stored_count, wait_for
from tests.transport.redis_process import RedisProcess
from tests.transport.store import databases
from tests.transport.store.conftest import dispatched_waybill, plate_of, store_fleet
from transport.gateway.redis_terminal_registry import RedisTerminalRegistry
from transport.gateway.terminal_registry import KeptWaybill
from transport.live_channel import LiveHub, MessageKind
from transport.live_relay import RedisLiveSubscriber
from transport.rules import forbidden
from transport.simulation import simulate_fleet, trip_fixes
from transport.store import alerts, waybill_uploads
from transport.store.engine import make_engine, make_session_factory

N_SHARDS = 2


async def _upload_waybill(url: str, plate: str, content: bytes, at: datetime) -> None:
    """Keep an uploaded e-waybill as a gateway with ``--redis`` does."""
    registry = RedisTerminalRegistry(url)
    try:
        await registry.keep_waybill(KeptWaybill("013800138000", plate, content, at))
    finally:
        await registry.close()


def zone_layer(network: Any, edge_ids: np.ndarray) -> dict[str, Any]:
    """A 24/7 no-entry zone for all dangerous goods around some edges, as layer GeoJSON."""
    zone_m = shapely.union_all(network.geometries[edge_ids]).buffer(30.0)
    zone = shapely.transform(zone_m, lambda xy: np.column_stack(network.to_lonlat.transform(*xy.T)))
    return {
        "type": "FeatureCollection", "hazmat_layer_version": 1, "name": "test",
        "authority": {"zh": "测试", "en": "test"},
        "features": [{
            "type": "Feature", "geometry": shapely.geometry.mapping(zone),
            "properties": {
                "id": "no-entry", "kind": "zone", "name": {"zh": "禁行区", "en": "No-entry"},
                "legal_basis": {"zh": "测试", "en": "test"}, "cargo": {"all_dangerous_goods": True},
                "severity": "violation", "source": {"kind": "notice", "ref": "T-1"},
            },
        }],
    }  # fmt: skip


@pytest.mark.slow
def test_worker_records_alert_with_waybill_and_relays_it_live(
    redis_server: RedisProcess, tmp_path: Path
) -> None:
    network = sources.load_network()
    start_at = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    trip = simulate_fleet(network, 1, seed=11, start_at=start_at, interval_s=10.0)[0]
    middle = trip.true_edge_ids[len(trip.true_edge_ids) // 3 : 2 * len(trip.true_edge_ids) // 3]
    layer_path = tmp_path / "zone.geojson"
    layer_path.write_text(json.dumps(zone_layer(network, middle)), encoding="utf-8")
    with databases.sqlite_database(tmp_path) as url:
        engine = make_engine(url)
        factory = make_session_factory(engine)
        with factory() as session:
            stored = store_fleet(session)
            plate = plate_of(session, stored)
            waybill = dispatched_waybill(session, stored)
        fixes = [dataclasses.replace(f, vehicle_id=plate) for f in trip_fixes(trip)]
        content = f"运单号 {waybill.number}".encode("gbk")  # as a terminal uploads it (0x0701)
        asyncio.run(_upload_waybill(redis_server.url, plate, content, start_at))
        command = [
            sys.executable, "-c", RUN_CLI, "worker", "--redis", redis_server.url,
            "--db", str(tmp_path / "fixes.sqlite"), "--n-shards", str(N_SHARDS),
            "--network", "default", "--layers", str(layer_path), "--database", url,
            "--batch-size", "50", "--name", "w1",
        ]  # fmt: skip
        worker = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE)  # fmt: skip
        try:
            relayed = asyncio.run(_publish_and_listen(redis_server.url, fixes, factory))
            wait_for(lambda: stored_count(tmp_path / "fixes.sqlite") == len(fixes),
                     timeout_s=20, what="every fix stored")  # fmt: skip
        finally:
            worker.send_signal(signal.SIGTERM)
            _, stderr = worker.communicate(timeout=30)
        with factory() as session:
            page = alerts.list_alerts(session, all_carriers=True)
            uploads = waybill_uploads.list_waybill_uploads(session, all_carriers=True)
        engine.dispose()
    assert worker.returncode == 0, stderr.decode()[-2000:]
    assert "reminder-recorders w1:" in stderr.decode()  # recorded the reminder log beside
    assert [(u.content, u.waybill_id) for u in uploads] == [(content, waybill.id)]
    [alert] = [a for a in page.items if a.condition_key == "no-entry"]
    assert (alert.rule_id, alert.vehicle_key) == (forbidden.RULE_ID, plate)
    # The waybill's planned route is in Shenzhen: its corridor reached the rules too.
    assert "route_deviation" in {a.rule_id for a in page.items}
    assert (alert.carrier_id, alert.waybill_id) == (stored.carrier_id, waybill.id)
    assert alert.alert_key in {item.alert_key for item in relayed}


async def _publish_and_listen(url: str, fixes: list[Any], factory: Any) -> list[Any]:
    """Publish the fixes and return the alerts the live channel relays until it is quiet."""
    hub = LiveHub()
    watching = hub.subscribe(all_carriers=True, kinds=[MessageKind.ALERT])
    subscriber = RedisLiveSubscriber(url, hub)
    stop = asyncio.Event()
    task = asyncio.create_task(subscriber.run(stop=stop))
    await asyncio.wait_for(subscriber.subscribed.wait(), 10)
    await asyncio.to_thread(publish, url, fixes)
    relayed = []
    timeout_s = 25.0  # the first alert waits for the worker to load the network
    try:
        while True:
            message = await asyncio.wait_for(watching.get(), timeout_s)
            relayed.append(message.item)
            timeout_s = 3.0
    except TimeoutError:
        return relayed
    finally:
        stop.set()
        await task
