"""Driver reminders end to end on a real Redis: worker sink → gateway → 0x8300 → 0x0001 → log.

And gateway liveness: a gateway killed with SIGKILL lets its alive key expire, and its
vehicles get no queued reminder; a gateway starting clears the stale presence naming it.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import subprocess
import sys
from collections.abc import AsyncIterator

import pytest
import redis

from tests.conftest import REPO_ROOT
from tests.transport import alert_events
from tests.transport.pipeline.test_worker_failover import RUN_CLI
from tests.transport.redis_process import RedisProcess
from transport.alerts.lifecycle import AlertChange, AlertEvent
from transport.bus.memory import MemoryBus
from transport.gateway import jt808_messages as messages
from transport.gateway import jt808_terminal, terminal_registry
from transport.gateway.jt808_server import Jt808Server, ServerOptions
from transport.gateway.reminder_desk import ReminderDesk
from transport.reminders import (
    Liveness,
    ReminderKeys,
    ReminderSink,
    read_reminder_log,
    reminder_of,
)
from transport.rules import parking, speed

PLATE = "粤B12345"
PHONE = "13800138000"
REGISTER = messages.Register(44, 300, "SKOEM", "SK9151", "000001", 1, PLATE)


@contextlib.asynccontextmanager
async def gateway_with_desk(url: str) -> AsyncIterator[tuple[Jt808Server, ReminderDesk]]:
    server = Jt808Server(
        MemoryBus(n_shards=1),
        registry=terminal_registry.MemoryTerminalRegistry(),
        options=ServerOptions(shutdown_timeout_s=2.0),
    )
    desk = ReminderDesk(server, url, gateway_id="gw-1")
    await desk.start()
    await server.start("127.0.0.1", 0)
    try:
        yield server, desk
    finally:
        await server.shutdown()
        await desk.close()


async def wait_for(predicate, timeout_s: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            msg = "condition not reached in time"
            raise TimeoutError(msg)
        await asyncio.sleep(0.02)


def overspeed_opened(vehicle: str) -> AlertEvent:
    return alert_events.opened(vehicle, rule_id=speed.RULE_ID)


@pytest.mark.parametrize(
    ("event", "is_reminded"),
    [
        pytest.param(overspeed_opened(PLATE), True, id="overspeed-opened"),
        pytest.param(alert_events.opened(PLATE), False, id="rule-not-reminded"),
        pytest.param(
            AlertEvent(AlertChange.UPDATED, overspeed_opened(PLATE).alert), False, id="updated"
        ),
        pytest.param(
            alert_events.opened(PLATE, rule_id=parking.RULE_ID), False, id="parking-not-reminded"
        ),
    ],
)
def test_only_opened_reminded_rules_call_for_a_reminder(
    event: AlertEvent, is_reminded: bool
) -> None:
    reminder = reminder_of(event)
    assert (reminder is not None) is is_reminded
    if reminder is not None:
        assert reminder.text.startswith("【危险货物运输提醒】")
        assert reminder.vehicle_id == PLATE


def test_reminder_reaches_the_terminal_as_tts_text_and_its_ack_is_logged(
    redis_server: RedisProcess,
) -> None:
    client = redis.Redis.from_url(redis_server.url)
    keys = ReminderKeys()

    event = overspeed_opened(PLATE)

    async def scenario() -> tuple[list[messages.Message], dict[str, int]]:
        sink = ReminderSink(redis_server.url)
        async with gateway_with_desk(redis_server.url) as (server, desk):
            terminal = jt808_terminal.TerminalClient(PHONE)
            await terminal.connect("127.0.0.1", server.port)
            await terminal.sign_in(REGISTER)
            await wait_for(lambda: client.hget(keys.terminals, PLATE) == b"gw-1")
            await asyncio.to_thread(sink, [event, alert_events.opened("粤B00000")])
            await asyncio.to_thread(sink, [event])  # the batch again (worker failover)
            await wait_for(lambda: desk.stats["acknowledged"] == 1)
            await terminal.close()
            await wait_for(lambda: client.hget(keys.terminals, PLATE) is None)
        sink.close()
        return terminal.received, sink.stats

    received, stats = asyncio.run(scenario())
    [text] = received
    assert isinstance(text, messages.TextMessage)
    assert text.flags & messages.TextMessage.TTS and text.flags & messages.TextMessage.DISPLAY
    assert text.text.startswith("【危险货物运输提醒】")
    assert stats == {"queued": 1, "not_connected": 0, "gateway_not_alive": 0, "repeated": 1}
    log = read_reminder_log(client)
    assert [entry["status"] for entry in log] == ["queued", "sent", "acknowledged"]
    sent, acknowledged = log[1], log[2]
    assert sent["serial"] == acknowledged["serial"] and acknowledged["result"] == "ok"
    assert {e["alert_id"] for e in log} == {event.alert.alert_id}
    assert acknowledged["phone"].endswith(PHONE)


def test_vehicle_without_a_terminal_connection_gets_no_reminder(
    redis_server: RedisProcess,
) -> None:
    sink = ReminderSink(redis_server.url)
    sink([overspeed_opened("粤B54321")])
    sink.close()
    assert sink.stats == {"queued": 0, "not_connected": 1, "gateway_not_alive": 0, "repeated": 0}
    assert read_reminder_log(redis.Redis.from_url(redis_server.url)) == []


def test_reminder_for_a_vehicle_that_signed_out_is_logged_undeliverable(
    redis_server: RedisProcess,
) -> None:
    client = redis.Redis.from_url(redis_server.url)

    async def scenario() -> None:
        async with gateway_with_desk(redis_server.url) as (_server, desk):
            # Presence says gw-1, but the terminal is not (or no longer) connected here.
            client.hset(ReminderKeys().terminals, PLATE, "gw-1")
            await asyncio.to_thread(ReminderSink(redis_server.url), [overspeed_opened(PLATE)])
            await wait_for(lambda: desk.stats["undeliverable"] == 1)

    asyncio.run(scenario())
    log = read_reminder_log(client)
    assert [e["status"] for e in log] == ["queued", "undeliverable"]
    assert log[1]["reason"] == "not_connected_at_gateway"


# --- gateway liveness -------------------------------------------------------------------------

OTHER_PLATE = "粤B67890"
OTHER_REGISTER = messages.Register(44, 300, "SKOEM", "SK9151", "000002", 1, OTHER_PLATE)


def start_gateway_process(url: str, gateway_id: str) -> tuple[subprocess.Popen[bytes], int]:
    """A `hazmat gateway --redis` process with a 1 s alive time-to-live; return it and its port."""
    command = [
        sys.executable, "-c", RUN_CLI, "gateway", "--redis", url, "--port", "0",
        "--gateway-id", gateway_id, "--alive-ttl-s", "1", "--alive-refresh-s", "0.2",
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL)  # fmt: skip
    assert process.stdout is not None
    line = process.stdout.readline().decode()  # "JT/T 808 gateway on 127.0.0.1:PORT (redis)"
    match = re.search(r":(\d+) ", line)
    assert match is not None, line
    return process, int(match.group(1))


def test_killed_gateways_vehicles_get_no_reminder_and_a_live_ones_do(
    redis_server: RedisProcess,
) -> None:
    client = redis.Redis.from_url(redis_server.url)
    keys = ReminderKeys()
    dead, port = start_gateway_process(redis_server.url, "gw-dead")
    events = [overspeed_opened(PLATE), overspeed_opened(OTHER_PLATE)]

    async def scenario() -> dict[str, int]:
        try:
            stranded = jt808_terminal.TerminalClient(PHONE)
            await stranded.connect("127.0.0.1", port)
            await stranded.sign_in(REGISTER)
            await wait_for(lambda: client.hget(keys.terminals, PLATE) == b"gw-dead")
        finally:
            dead.kill()  # SIGKILL: no sign-out, no clean-up
            dead.communicate(timeout=10)  # reaps it and closes its stdout pipe
        async with gateway_with_desk(redis_server.url) as (server, desk):
            terminal = jt808_terminal.TerminalClient("13800138001")
            await terminal.connect("127.0.0.1", server.port)
            await terminal.sign_in(OTHER_REGISTER)
            await wait_for(lambda: client.hget(keys.terminals, OTHER_PLATE) == b"gw-1")
            await wait_for(lambda: not client.exists(keys.alive("gw-dead")))
            sink = ReminderSink(redis_server.url)
            await asyncio.to_thread(sink, events)
            sink.close()
            await wait_for(lambda: desk.stats["acknowledged"] == 1)
            await terminal.close()
        with contextlib.suppress(OSError):  # its gateway is gone
            await stranded.close()
        return sink.stats

    stats = asyncio.run(scenario())
    assert stats == {"queued": 1, "not_connected": 0, "gateway_not_alive": 1, "repeated": 0}
    by_alert: dict[str, list[dict[str, str]]] = {}
    for entry in read_reminder_log(client):
        by_alert.setdefault(entry["alert_id"], []).append(dict(entry))
    stranded_log, live_log = (by_alert[e.alert.alert_id] for e in events)
    assert [(e["status"], e["gateway_id"], e.get("reason")) for e in stranded_log] == [
        ("undeliverable", "gw-dead", "gateway_not_alive")
    ]
    assert [e["status"] for e in live_log] == ["queued", "sent", "acknowledged"]
    assert client.hget(keys.terminals, PLATE) is None  # the stale presence is gone
    assert client.xlen(keys.commands("gw-dead")) == 0


def test_gateway_starting_clears_the_stale_presence_naming_it(redis_server: RedisProcess) -> None:
    client = redis.Redis.from_url(redis_server.url)
    keys = ReminderKeys()
    client.hset(keys.terminals, mapping={PLATE: "gw-1", OTHER_PLATE: "gw-2"})

    async def scenario() -> int:
        async with gateway_with_desk(redis_server.url) as (_server, desk):
            assert client.ttl(keys.alive("gw-1")) > 0
            return desk.stats["stale_presence"]

    assert asyncio.run(scenario()) == 1
    assert client.hgetall(keys.terminals) == {OTHER_PLATE.encode(): b"gw-2"}
    assert not client.exists(keys.alive("gw-1"))  # deleted on a clean close


def test_liveness_refresh_must_be_shorter_than_its_time_to_live() -> None:
    with pytest.raises(ValueError, match="`refresh_s` must be positive and shorter than `ttl_s`"):
        Liveness(ttl_s=10.0, refresh_s=10.0)
