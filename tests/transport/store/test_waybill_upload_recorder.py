"""E-waybill uploads from the gateways' Redis stream into the database, on a real Redis and both
databases: linked to vehicle and waybill, recorded once, malformed entries set aside."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
import redis

from tests.transport.store.conftest import Fleet, dispatched_waybill, plate_of, record_due
from transport import goods
from transport.gateway.redis_terminal_registry import RedisTerminalRegistry, waybills_stream
from transport.gateway.terminal_registry import KeptWaybill
from transport.store import waybill_uploads
from transport.store.engine import make_engine, make_session_factory
from transport.store.waybill_uploads import StoredWaybillUpload
from transport.waybill_upload_recorder import GROUP, WaybillUploadRecorder, upload_of

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

    from tests.transport.redis_process import RedisProcess

T0 = datetime(2026, 11, 27, 1, 5, tzinfo=UTC)
PHONE = "013800138000"
CATALOGUE = goods.load_builtin_catalogue()


@pytest.fixture
def unregistered_key() -> str:
    """The vehicle key of a terminal registered with no plate, of no stored vehicle."""
    return f"jt808:09{uuid.uuid4().int % 10**10:010d}"


@pytest.fixture
def prefix() -> str:
    """A prefix of its own: the uploads' source keys stay unique in the shared database."""
    return f"t{uuid.uuid4().hex[:10]}"


def upload(url: str, prefix: str, vehicle_key: str, content: bytes, *, minutes: int = 0) -> None:
    """Upload a waybill as a gateway with ``--redis`` keeps it."""

    async def keep() -> None:
        registry = RedisTerminalRegistry(url, prefix=prefix)
        try:
            received_at = T0 + timedelta(minutes=minutes)
            await registry.keep_waybill(KeptWaybill(PHONE, vehicle_key, content, received_at))
        finally:
            await registry.close()

    asyncio.run(keep())


def kept(
    engine: Engine, vehicle_key: str, *, carrier_id: int | None = None, all_carriers: bool = False
) -> list[StoredWaybillUpload]:
    """The uploads recorded for a vehicle key, newest first, read in a session of their own."""
    with make_session_factory(engine)() as session:
        return waybill_uploads.list_waybill_uploads(
            session, vehicle_key=vehicle_key, carrier_id=carrier_id, all_carriers=all_carriers
        )


def new_recorder(url: str, engine: Engine, prefix: str, **options: float) -> WaybillUploadRecorder:
    return WaybillUploadRecorder(url, make_session_factory(engine), consumer="w1", prefix=prefix,
                                 retry_interval_s=0.0, **options)  # fmt: skip


def test_an_upload_naming_the_active_waybill_is_recorded_linked_to_it(
    redis_server: RedisProcess, engine: Engine, session: Session, stored_fleet: Fleet,
    prefix: str,
) -> None:  # fmt: skip
    waybill = dispatched_waybill(session, stored_fleet)
    plate = plate_of(session, stored_fleet)
    content = f"电子运单 {waybill.number} 汽油 UN1203".encode("gbk")
    upload(redis_server.url, prefix, plate, content)
    upload(redis_server.url, prefix, plate, b"\x01\x02 vendor bytes", minutes=1)
    recorder = new_recorder(redis_server.url, engine, prefix)

    record_due(recorder)

    later, first = kept(engine, plate, carrier_id=stored_fleet.carrier_id)
    assert (first.content, first.phone, first.received_at) == (content, PHONE, T0)
    assert (first.vehicle_id, first.carrier_id) == (stored_fleet.vehicle_id,
                                                    stored_fleet.carrier_id)  # fmt: skip
    assert first.waybill_id == waybill.id
    assert later.waybill_id is None  # its content names no waybill
    assert recorder.stats["recorded"] == 2
    client = redis.Redis.from_url(redis_server.url)
    assert client.xpending(waybills_stream(prefix), GROUP)["pending"] == 0


def test_an_upload_of_an_unregistered_vehicle_is_kept_for_police_only(
    redis_server: RedisProcess, engine: Engine, stored_fleet: Fleet, prefix: str,
    unregistered_key: str,
) -> None:  # fmt: skip
    upload(redis_server.url, prefix, unregistered_key, b"WB-1")

    record_due(new_recorder(redis_server.url, engine, prefix))

    [only] = kept(engine, unregistered_key, all_carriers=True)
    assert (only.vehicle_id, only.carrier_id, only.waybill_id) == (None, None, None)
    assert kept(engine, unregistered_key, carrier_id=stored_fleet.carrier_id) == []


def test_uploads_delivered_twice_are_recorded_once(
    redis_server: RedisProcess, engine: Engine, prefix: str, unregistered_key: str
) -> None:
    client = redis.Redis.from_url(redis_server.url)
    stream = waybills_stream(prefix)
    vehicle_key = unregistered_key
    for minutes in range(3):
        upload(redis_server.url, prefix, vehicle_key, b"WB", minutes=minutes)
    client.xgroup_create(stream, GROUP, id="0")
    client.xreadgroup(GROUP, "dead", {stream: ">"}, count=10)  # read, then the reader died
    first = new_recorder(redis_server.url, engine, prefix, claim_idle_ms=0)
    record_due(first)  # claims the dead recorder's entries
    client.xgroup_setid(stream, GROUP, id="0")  # every entry is delivered once more
    second = new_recorder(redis_server.url, engine, prefix)
    record_due(second)

    assert (first.stats["recorded"], second.stats["repeated"]) == (3, 3)
    assert len(kept(engine, vehicle_key, all_carriers=True)) == 3
    assert client.xpending(stream, GROUP)["pending"] == 0


def test_a_malformed_entry_is_logged_acknowledged_and_the_rest_recorded(
    redis_server: RedisProcess, engine: Engine, prefix: str, unregistered_key: str,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    client = redis.Redis.from_url(redis_server.url)
    stream = waybills_stream(prefix)
    naive_time = {"phone": PHONE, "vehicle_id": "粤B1", "content": b"x",
                  "received_at": "2026-11-27T01:05:00"}  # fmt: skip
    bad_id = client.xadd(stream, naive_time).decode()  # type: ignore[arg-type, union-attr]
    upload(redis_server.url, prefix, unregistered_key, b"WB-2")
    recorder = new_recorder(redis_server.url, engine, prefix)

    record_due(recorder)

    assert (recorder.stats["malformed"], recorder.stats["recorded"]) == (1, 1)
    assert f"e-waybill upload {bad_id} not recorded: `received_at` must be timezone-aware" in (
        caplog.text
    )
    assert client.xpending(stream, GROUP)["pending"] == 0


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"phone": b"1", "vehicle_id": b"V"}, "`content` missing; `received_at` missing"),
        ({"phone": b"1", "vehicle_id": b"V", "content": b"", "received_at": b"later"},
         "unreadable `received_at`"),
        ({"phone": b"", "vehicle_id": b"V", "content": b"", "received_at": T0.isoformat().encode()},
         "`phone` and `vehicle_id` must not be empty"),
    ],
    ids=["missing", "bad-time", "empty-phone"],
)  # fmt: skip
def test_an_entry_that_is_not_an_upload_is_refused_naming_why(
    fields: dict[str, bytes], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        upload_of(fields)


def test_uploads_a_database_refused_stay_pending_and_are_recorded_at_the_retry(
    redis_server: RedisProcess, engine: Engine, prefix: str, unregistered_key: str,
    tmp_path: Path,
) -> None:  # fmt: skip
    client = redis.Redis.from_url(redis_server.url)
    upload(redis_server.url, prefix, unregistered_key, b"WB-3")
    unmigrated = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")  # no tables
    factory = make_session_factory(unmigrated)
    refused = WaybillUploadRecorder(redis_server.url, factory, consumer="w1", prefix=prefix)

    record_due(refused)
    unmigrated.dispose()

    assert (refused.stats["database_errors"], refused.stats["recorded"]) == (1, 0)
    assert client.xpending(waybills_stream(prefix), GROUP)["pending"] == 1
    retrying = new_recorder(redis_server.url, engine, prefix)  # the same consumer, w1
    record_due(retrying)
    assert retrying.stats["recorded"] == 1
    assert len(kept(engine, unregistered_key, all_carriers=True)) == 1
    assert client.xpending(waybills_stream(prefix), GROUP)["pending"] == 0
