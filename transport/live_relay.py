"""Carry the live channel between processes: workers publish to Redis, the API relays to its hub.

Workers run apart from the API, so their stored alerts and track points cross over Redis
pub/sub, a channel per kind: ``{prefix}:live:alert`` and ``{prefix}:live:position``.
`RedisLivePublisher` has the live hub's `publish_alerts` / `publish_positions`, so the worker's
sinks (`transport.live_sinks`) use it as their hub; `RedisLiveSubscriber` runs in the API
process and hands the messages its hub's subscriptions take to the in-process `LiveHub`, which
applies each websocket's carrier scope.

A message is one UTF-8 JSON object carrying up to `MAX_ITEMS` items of one kind (a worker
publishes a batch in a few messages, not one per track point)::

    {"schema": 2, "kind": "alert" | "position", "items": [{...}, ...]}

Each item holds the fields of a `transport.store.alerts.StoredAlert` or a
`transport.store.tracks.TrackPoint` by name (its ``carrier_id`` among them), times as ISO 8601
with offset, the handling state as its value. Pub/sub keeps nothing: a subscriber that is away
misses messages (the database is the record; the map reloads from it).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson
import redis
import redis.asyncio as aioredis

from transport.alerts.handling import HandlingState
from transport.bus import redis_streams
from transport.live_channel import LiveMessage, MessageKind
from transport.redis_client import retrying_client
from transport.store.alerts import StoredAlert
from transport.store.tracks import TrackPoint

if TYPE_CHECKING:
    from collections.abc import Iterable

    from transport.live_channel import LiveHub

__all__ = [
    "SCHEMA_VERSION",
    "LiveFormatError",
    "RedisLivePublisher",
    "RedisLiveSubscriber",
    "decode_messages",
    "encode_messages",
    "live_channel_key",
]

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 2
MAX_ITEMS = 500
RETRIES = 5
_ALERT_TIMES = ("started_at", "last_at", "ended_at", "acknowledged_at", "closed_at")


class LiveFormatError(ValueError):
    """A live-channel message that cannot be read."""


def live_channel_key(prefix: str, kind: MessageKind) -> str:
    """Return the pub/sub channel of a deployment's messages of one kind."""
    return f"{prefix}:live:{kind.value}"


def encode_messages(kind: MessageKind, items: Iterable[StoredAlert | TrackPoint]) -> list[bytes]:
    """Return the JSON texts carrying items of one kind, `MAX_ITEMS` per text.

    orjson writes the items' fields as they are declared, times in ISO 8601 with their offset
    (as `datetime.isoformat`) and enums by value.
    """
    items = list(items)
    return [
        orjson.dumps(
            {"schema": SCHEMA_VERSION, "kind": kind.value, "items": items[i : i + MAX_ITEMS]}
        )
        for i in range(0, len(items), MAX_ITEMS)
    ]


def _item(kind: MessageKind, fields: dict[str, Any]) -> StoredAlert | TrackPoint:
    """The item one message entry holds."""
    fields = dict(fields)
    if kind is MessageKind.ALERT:
        for name in _ALERT_TIMES:
            fields[name] = None if fields[name] is None else datetime.fromisoformat(fields[name])
        fields["state"] = HandlingState(fields["state"])
        return StoredAlert(**fields)
    fields["fix_at"] = datetime.fromisoformat(fields["fix_at"])
    return TrackPoint(**fields)


def decode_messages(text: str | bytes) -> list[LiveMessage]:
    """Return the hub messages a live-channel text holds, one per item.

    Raises
    ------
    LiveFormatError
        Not JSON, another schema version, an unknown kind, or a missing or bad field.
    """
    try:
        record = orjson.loads(text)
        if record.get("schema") != SCHEMA_VERSION:
            msg = f"live schema {record.get('schema')!r}, expected {SCHEMA_VERSION}"
            raise LiveFormatError(msg)
        kind = MessageKind(record["kind"])
        items = [_item(kind, fields) for fields in record["items"]]
        return [LiveMessage(kind, item.carrier_id, item) for item in items]
    except LiveFormatError:
        raise
    except (KeyError, TypeError, AttributeError, ValueError) as err:
        msg = f"not a live message: {err!r}"
        raise LiveFormatError(msg) from err


class RedisLivePublisher:
    """The worker's side: publish stored alerts and track points on the live channel.

    Blocking (it runs in the worker's processing thread), one round trip per call; connection
    errors are retried with back-off, then raised as `OSError` for the publish step to count.
    """

    def __init__(self, url: str, *, prefix: str = "hazmat") -> None:
        self.prefix = prefix
        self.redis = retrying_client(url, socket_timeout_s=5.0, backoff_cap_s=1.0, retries=RETRIES)
        self.published = 0

    def publish_alerts(self, alerts: Iterable[StoredAlert]) -> int:
        """Publish stored alerts; return how many were sent."""
        return self._publish(MessageKind.ALERT, alerts)

    def publish_positions(self, points: Iterable[TrackPoint]) -> int:
        """Publish stored track points; return how many were sent."""
        return self._publish(MessageKind.POSITION, points)

    def _publish(self, kind: MessageKind, items: Iterable[StoredAlert | TrackPoint]) -> int:
        """Send items in as few messages as `MAX_ITEMS` allows, in one pipelined round trip."""
        items = list(items)
        if not items:
            return 0
        try:
            with self.redis.pipeline(transaction=False) as pipe:
                for text in encode_messages(kind, items):
                    pipe.publish(live_channel_key(self.prefix, kind), text)
                pipe.execute()
        except (redis.ConnectionError, redis.TimeoutError) as err:
            msg = f"live channel unreachable: {err}"
            raise OSError(msg) from err
        self.published += len(items)
        return len(items)

    def close(self) -> None:
        """Close the connection pool."""
        self.redis.close()


class RedisLiveSubscriber:
    """The API's side: relay the live-channel messages some hub subscription takes to the hub.

    `run` subscribes, and resubscribes after Redis goes away (messages sent meanwhile are
    missed). A message of a kind no subscription takes is not read: an API without a map open
    parses no track point. `stats` counts ``relayed`` items, ``unreadable`` messages,
    ``unwanted`` ones and ``reconnects``.
    """

    def __init__(self, url: str, hub: LiveHub, *, prefix: str = "hazmat") -> None:
        self.url = url
        self.hub = hub
        self.kinds = {live_channel_key(prefix, kind): kind for kind in MessageKind}
        self.stats = dict.fromkeys(("relayed", "unreadable", "unwanted", "reconnects"), 0)
        self.subscribed = asyncio.Event()

    async def run(self, *, stop: asyncio.Event) -> None:
        """Relay messages until `stop` is set."""
        delays = redis_streams.backoff_delays()
        while not stop.is_set():
            client = aioredis.Redis.from_url(self.url, socket_connect_timeout=2.0)
            try:
                await self._relay(client, stop)
                delays = redis_streams.backoff_delays()
            except (redis.ConnectionError, redis.TimeoutError, OSError) as err:
                self.subscribed.clear()
                self.stats["reconnects"] += 1
                logger.warning("live channel lost (%s); resubscribing", err)
                await asyncio.sleep(next(delays))
            finally:
                await client.aclose()

    async def _relay(self, client: aioredis.Redis, stop: asyncio.Event) -> None:
        """Subscribe and hand messages to the hub until `stop` is set."""
        async with client.pubsub(ignore_subscribe_messages=True) as pubsub:
            await pubsub.subscribe(*self.kinds)
            self.subscribed.set()
            while not stop.is_set():
                raw = await pubsub.get_message(timeout=0.2)
                if raw is None:
                    continue
                if self.kinds[raw["channel"].decode()] not in self.hub.wanted_kinds():
                    self.stats["unwanted"] += 1
                    continue
                try:
                    messages = decode_messages(raw["data"])
                except LiveFormatError as err:
                    self.stats["unreadable"] += 1
                    logger.warning("unreadable live message: %s", err)
                    continue
                for message in messages:
                    self.hub.publish(message)
                self.stats["relayed"] += len(messages)
