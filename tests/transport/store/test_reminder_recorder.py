"""Reminder steps from the Redis log into the alert history, on a real Redis and both databases."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
import redis

from tests.transport import alert_events
from tests.transport.store.conftest import record_due
from transport.alerts.handling import AlertAction
from transport.reminder_recorder import GROUP, ReminderRecorder, step_of
from transport.reminders import ReminderKeys, ReminderStatus, log_entry, reminder_of
from transport.rules import speed
from transport.store import alert_recording, alerts
from transport.store.engine import make_session_factory

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from tests.transport.redis_process import RedisProcess
    from transport.alerts.lifecycle import AlertEvent

PLATE = "粤B12345"
T0 = datetime(2025, 6, 10, 1, 5, tzinfo=UTC)


def reminder_steps(event: AlertEvent) -> list[dict[str, str]]:
    """The log entries of a reminder queued, sent and acknowledged."""
    reminder = reminder_of(event)
    assert reminder is not None
    gateway = {"gateway_id": "gw-1"}
    terminal = gateway | {"phone": "013800138000", "serial": 7}
    return [
        log_entry(reminder, ReminderStatus.QUEUED, T0, **gateway),
        log_entry(reminder, ReminderStatus.SENT, T0 + timedelta(seconds=1), **terminal),
        log_entry(reminder, ReminderStatus.ACKNOWLEDGED, T0 + timedelta(seconds=2),
                  **terminal, result="ok"),
    ]  # fmt: skip


def log_steps(client: redis.Redis, prefix: str, event: AlertEvent) -> list[str]:
    """Log a reminder queued, sent and acknowledged, as the worker and the gateway do."""
    stream = ReminderKeys(prefix).log
    return [client.xadd(stream, entry).decode() for entry in reminder_steps(event)]  # type: ignore[arg-type, union-attr]


def store_alert(engine: Engine, event: AlertEvent) -> int:
    with make_session_factory(engine)() as session, session.begin():
        [stored] = alert_recording.record_alert_events(session, [event], all_carriers=True)
    return stored.id


def history(engine: Engine, alert_id: int) -> list[alerts.AlertHistoryEntry]:
    with make_session_factory(engine)() as session:
        entries = alerts.list_alert_history(session, alert_id=alert_id, all_carriers=True)
    assert entries is not None
    return entries


def new_recorder(url: str, engine: Engine, prefix: str, **options: float) -> ReminderRecorder:
    return ReminderRecorder(url, make_session_factory(engine), consumer="w1", prefix=prefix,
                            retry_interval_s=0.0, **options)  # type: ignore[arg-type]  # fmt: skip


@pytest.fixture
def prefix() -> str:
    """A prefix of its own: the history's source keys stay unique in the shared database."""
    return f"t{uuid.uuid4().hex[:10]}"


def test_queued_sent_acknowledged_become_three_history_rows_in_order(
    redis_server: RedisProcess, engine: Engine, prefix: str
) -> None:
    client = redis.Redis.from_url(redis_server.url)
    event = alert_events.opened(PLATE, rule_id=speed.RULE_ID)
    alert_id = store_alert(engine, event)
    log_steps(client, prefix, event)
    recorder = new_recorder(redis_server.url, engine, prefix)
    record_due(recorder)
    steps = history(engine, alert_id)
    assert [h.action for h in steps] == [
        AlertAction.OPENED, AlertAction.REMINDER_QUEUED, AlertAction.REMINDER_SENT,
        AlertAction.REMINDER_ACKNOWLEDGED,
    ]  # fmt: skip
    assert [h.actor for h in steps[1:]] == ["system", "gw-1", "gw-1"]
    assert steps[1].note == "gateway=gw-1"
    assert steps[3].note == "gateway=gw-1 phone=013800138000 serial=7 result=ok"
    assert steps[3].acted_at == T0 + timedelta(seconds=2)
    assert recorder.stats["recorded"] == 3
    assert client.xpending(ReminderKeys(prefix).log, GROUP)["pending"] == 0


def test_entries_delivered_twice_are_recorded_once(
    redis_server: RedisProcess, engine: Engine, prefix: str
) -> None:
    client = redis.Redis.from_url(redis_server.url)
    stream = ReminderKeys(prefix).log
    event = alert_events.opened(PLATE, rule_id=speed.RULE_ID)
    alert_id = store_alert(engine, event)
    log_steps(client, prefix, event)
    client.xgroup_create(stream, GROUP, id="0")
    # A recorder that read the entries and died before acknowledging them:
    client.xreadgroup(GROUP, "dead", {stream: ">"}, count=10)
    first = new_recorder(redis_server.url, engine, prefix, claim_idle_ms=0)
    record_due(first)  # claims the dead recorder's entries
    client.xgroup_setid(stream, GROUP, id="0")  # every entry is delivered once more
    second = new_recorder(redis_server.url, engine, prefix)
    record_due(second)
    assert (first.stats["recorded"], second.stats["repeated"]) == (3, 3)
    assert [h.action for h in history(engine, alert_id)].count(AlertAction.REMINDER_SENT) == 1
    assert len(history(engine, alert_id)) == 4
    assert client.xpending(stream, GROUP)["pending"] == 0


def test_running_recorder_lingers_so_steps_logged_in_quick_succession_share_transactions(
    redis_server: RedisProcess, engine: Engine, prefix: str
) -> None:
    client = redis.Redis.from_url(redis_server.url)
    events = [
        alert_events.opened(PLATE, rule_id=speed.RULE_ID, started_at=T0 + timedelta(minutes=k))
        for k in range(3)
    ]
    for event in events:
        store_alert(engine, event)
    recorder = new_recorder(redis_server.url, engine, prefix, linger_s=0.5)

    async def scenario() -> None:
        stop = asyncio.Event()
        running = asyncio.create_task(recorder.run(stop=stop, block_ms=100))
        for entry in [entry for event in events for entry in reminder_steps(event)]:
            client.xadd(ReminderKeys(prefix).log, entry)  # type: ignore[arg-type]
            await asyncio.sleep(0.05)  # nine steps, 50 ms apart
        async with asyncio.timeout(10):
            while recorder.stats["recorded"] < 9:
                await asyncio.sleep(0.05)
        stop.set()
        await running

    asyncio.run(scenario())
    assert recorder.stats["recorded"] == 9
    assert recorder.stats["transactions"] <= 3  # one per step without lingering
    assert client.xpending(ReminderKeys(prefix).log, GROUP)["pending"] == 0


def test_entry_before_its_alert_is_recorded_once_the_alert_is_stored(
    redis_server: RedisProcess, engine: Engine, prefix: str
) -> None:
    client = redis.Redis.from_url(redis_server.url)
    stream = ReminderKeys(prefix).log
    event = alert_events.opened(PLATE, rule_id=speed.RULE_ID)
    log_steps(client, prefix, event)
    recorder = new_recorder(redis_server.url, engine, prefix)

    async def scenario() -> tuple[int, int]:
        try:
            await recorder.record_once()
            waiting = client.xpending(stream, GROUP)["pending"]
            alert_id = await asyncio.to_thread(store_alert, engine, event)
            await recorder.record_once()
            return waiting, alert_id
        finally:
            await recorder.close()

    waiting, alert_id = asyncio.run(scenario())
    assert waiting == 3 and recorder.stats["waiting"] == 3
    assert [h.action for h in history(engine, alert_id)][1:] == [
        AlertAction.REMINDER_QUEUED, AlertAction.REMINDER_SENT, AlertAction.REMINDER_ACKNOWLEDGED,
    ]  # fmt: skip
    assert client.xpending(stream, GROUP)["pending"] == 0


def test_entry_waiting_too_long_is_given_up_and_a_malformed_one_is_dropped_counted(
    redis_server: RedisProcess, engine: Engine, prefix: str
) -> None:
    client = redis.Redis.from_url(redis_server.url)
    stream = ReminderKeys(prefix).log
    log_steps(client, prefix, alert_events.opened(PLATE, rule_id=speed.RULE_ID))
    client.xadd(stream, {"alert_id": "a-1", "status": "lost", "at": "yesterday"})
    recorder = new_recorder(redis_server.url, engine, prefix, give_up_after_s=-1.0)
    record_due(recorder)
    assert (recorder.stats["abandoned"], recorder.stats["malformed"]) == (3, 1)
    assert client.xpending(stream, GROUP)["pending"] == 0


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        pytest.param({"status": "sent", "at": T0.isoformat()}, "`alert_id` missing", id="no-alert"),
        pytest.param(
            {"alert_id": "a", "status": "gone", "at": T0.isoformat()},
            "unreadable `status`",
            id="bad-status",
        ),
        pytest.param(
            {"alert_id": "a", "status": "sent", "at": "2025-06-10T01:00:00"},
            "`at` must be timezone-aware",
            id="naive-time",
        ),
    ],
)
def test_malformed_log_entry_is_refused_with_the_reason(
    fields: dict[str, str], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        step_of("hazmat:reminder_log", "1-0", fields)
