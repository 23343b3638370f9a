"""The live channel across processes: stored alerts and track points over Redis pub/sub."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
import redis

from tests.transport.redis_process import RedisProcess
from transport.alerts.handling import HandlingState
from transport.live_channel import LiveHub, MessageKind
from transport.live_relay import (
    MAX_ITEMS,
    LiveFormatError,
    RedisLivePublisher,
    RedisLiveSubscriber,
    decode_messages,
    encode_messages,
    live_channel_key,
)
from transport.store.alerts import StoredAlert
from transport.store.tracks import TrackPoint

AT = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
ALERT = StoredAlert(
    id=7, alert_key="a" * 16, vehicle_key="粤B12345", vehicle_id=3, carrier_id=2, waybill_id=5,
    rule_id="overspeed", condition_key="limit", severity="violation", is_active=True,
    started_at=AT, last_at=AT, ended_at=None, state=HandlingState.NEW, acknowledged_by=None,
    acknowledged_at=None, closed_by=None, closed_at=None, lon=114.05, lat=22.55,
    evidence={"fact": {"zh": "超速", "en": "overspeed"}}, matched_geojson=None,
)  # fmt: skip
POINT = TrackPoint("粤B12345", AT, 114.05, 22.55, 61.5, 90.0, 3, None)


@pytest.mark.parametrize(
    ("kind", "item"),
    [pytest.param(MessageKind.ALERT, ALERT, id="alert"),
     pytest.param(MessageKind.POSITION, POINT, id="position")],
)  # fmt: skip
def test_message_round_trips_with_kind_and_carrier(
    kind: MessageKind, item: StoredAlert | TrackPoint
) -> None:
    (text,) = encode_messages(kind, [item])
    (message,) = decode_messages(text)
    assert (message.kind, message.carrier_id, message.item) == (kind, item.carrier_id, item)


def test_a_batch_travels_in_messages_of_at_most_max_items_in_order() -> None:
    points = [
        TrackPoint("粤B12345", AT, 114.05, 22.55, float(i), 90.0, 3, i % 3 or None)
        for i in range(2 * MAX_ITEMS + 1)
    ]
    texts = encode_messages(MessageKind.POSITION, points)
    assert len(texts) == 3
    messages = [m for text in texts for m in decode_messages(text)]
    assert [m.item for m in messages] == points
    assert [m.carrier_id for m in messages] == [p.carrier_id for p in points]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        pytest.param("not json", "not a live message", id="not-json"),
        pytest.param('{"schema": 1}', "live schema 1, expected 2", id="schema"),
        pytest.param('{"schema": 2, "kind": "x", "items": []}', "not a live message", id="kind"),
        pytest.param('{"schema": 2, "kind": "alert"}', "not a live message", id="no-items"),
        pytest.param(
            '{"schema": 2, "kind": "position", "items": [{"fix_at": "x"}]}',
            "not a live message", id="field",
        ),
    ],
)  # fmt: skip
def test_unreadable_message_is_refused_with_reason(text: str, match: str) -> None:
    with pytest.raises(LiveFormatError, match=match):
        decode_messages(text)


def test_worker_publications_reach_the_api_hub_in_carrier_scope(
    redis_server: RedisProcess,
) -> None:
    async def scenario() -> tuple[list[object], list[object], dict[str, int]]:
        hub = LiveHub()
        police = hub.subscribe(all_carriers=True)
        carrier = hub.subscribe(carrier_id=2)
        subscriber = RedisLiveSubscriber(redis_server.url, hub)
        stop = asyncio.Event()
        task = asyncio.create_task(subscriber.run(stop=stop))
        await asyncio.wait_for(subscriber.subscribed.wait(), 10)
        publisher = RedisLivePublisher(redis_server.url)
        await asyncio.to_thread(publisher.publish_alerts, [ALERT])
        await asyncio.to_thread(publisher.publish_positions, [POINT])
        garbage_on = live_channel_key("hazmat", MessageKind.ALERT)
        redis.Redis.from_url(redis_server.url).publish(garbage_on, "garbage")
        seen_police = [await asyncio.wait_for(police.get(), 10) for _ in range(2)]
        seen_carrier = [await asyncio.wait_for(carrier.get(), 10)]
        while subscriber.stats["unreadable"] == 0:
            await asyncio.sleep(0.02)
        stop.set()
        await task
        publisher.close()
        return [m.item for m in seen_police], [m.item for m in seen_carrier], subscriber.stats

    police_items, carrier_items, stats = asyncio.run(scenario())
    assert police_items == [ALERT, POINT]
    assert carrier_items == [ALERT]  # the point belongs to no carrier: police only
    assert stats == {"relayed": 2, "unreadable": 1, "unwanted": 0, "reconnects": 0}


def test_a_hub_that_wants_alerts_only_is_relayed_alerts_and_skips_positions(
    redis_server: RedisProcess,
) -> None:
    async def scenario() -> tuple[list[object], dict[str, int]]:
        hub = LiveHub()
        alerts = hub.subscribe(all_carriers=True, kinds=[MessageKind.ALERT])
        subscriber = RedisLiveSubscriber(redis_server.url, hub)
        stop = asyncio.Event()
        task = asyncio.create_task(subscriber.run(stop=stop))
        await asyncio.wait_for(subscriber.subscribed.wait(), 10)
        publisher = RedisLivePublisher(redis_server.url)
        await asyncio.to_thread(publisher.publish_positions, [POINT, POINT])
        not_parsed = '{"schema": 2, "kind": "position", "items": [{"fix_at": "x"}]}'
        redis.Redis.from_url(redis_server.url).publish(
            live_channel_key("hazmat", MessageKind.POSITION), not_parsed
        )
        await asyncio.to_thread(publisher.publish_alerts, [ALERT])
        seen = [await asyncio.wait_for(alerts.get(), 10)]
        while subscriber.stats["unwanted"] < 2:  # pub/sub keeps no order across channels
            await asyncio.sleep(0.02)
        stop.set()
        await task
        publisher.close()
        return [m.item for m in seen], subscriber.stats

    seen, stats = asyncio.run(scenario())
    assert seen == [ALERT]
    assert stats == {"relayed": 1, "unreadable": 0, "unwanted": 2, "reconnects": 0}


def test_the_hub_wants_the_kinds_of_its_open_subscriptions() -> None:
    async def scenario() -> list[frozenset[MessageKind]]:
        hub = LiveHub()
        wanted = [hub.wanted_kinds()]
        alerts = hub.subscribe(all_carriers=True, kinds=[MessageKind.ALERT])
        wanted.append(hub.wanted_kinds())
        with hub.subscribe(carrier_id=2):
            wanted.append(hub.wanted_kinds())
        wanted.append(hub.wanted_kinds())
        alerts.close()
        wanted.append(hub.wanted_kinds())
        return wanted

    assert asyncio.run(scenario()) == [
        frozenset(),
        {MessageKind.ALERT},
        set(MessageKind),
        {MessageKind.ALERT},
        frozenset(),
    ]


def test_items_travel_with_iso_times_and_enum_values() -> None:
    """What websocket clients read: times as `datetime.isoformat` writes them, enums by value."""
    moment = datetime(2026, 11, 26, 10, 0, 0, 123456, tzinfo=timezone(timedelta(hours=8)))
    alert = dataclasses.replace(ALERT, ended_at=moment)
    (text,) = encode_messages(MessageKind.ALERT, [alert])
    (fields,) = json.loads(text)["items"]
    assert fields["ended_at"] == moment.isoformat() == "2026-11-26T10:00:00.123456+08:00"
    assert fields["started_at"] == AT.isoformat() and fields["state"] == HandlingState.NEW.value
    assert list(fields) == [f.name for f in dataclasses.fields(StoredAlert)]
