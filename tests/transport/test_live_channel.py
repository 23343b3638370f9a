"""The live hub: scope filtering, delivery from other threads, slow subscribers."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime

import pytest

from transport._errors import ScopeError
from transport.live_channel import LiveHub, LiveMessage, MessageKind
from transport.store import tracks


def _point(carrier_id: int | None, key: str = "粤B00001") -> tracks.TrackPoint:
    return tracks.TrackPoint(key, datetime.now(UTC), 114.0, 22.5, 30.0, 0.0, None, carrier_id)


def test_subscribers_get_only_what_their_scope_allows() -> None:
    async def scenario() -> list[list[int | None]]:
        hub = LiveHub()
        police = hub.subscribe(all_carriers=True)
        one = hub.subscribe(carrier_id=1)
        two = hub.subscribe(carrier_id=2, kinds=[MessageKind.ALERT])
        delivered = hub.publish_positions([_point(1), _point(2), _point(None)])
        assert delivered == 4  # police 3, carrier 1 one; carrier 2 takes no positions
        return [
            [(await s.get()).carrier_id for _ in range(s.queue.qsize())] for s in (police, one, two)
        ]

    assert asyncio.run(scenario()) == [[1, 2, None], [1], []]


def test_publish_from_another_thread_reaches_the_loop() -> None:
    async def scenario() -> LiveMessage:
        hub = LiveHub()
        with hub.subscribe(carrier_id=7) as subscription:
            threading.Thread(target=hub.publish_positions, args=([_point(7)],)).start()
            message = await asyncio.wait_for(subscription.get(), timeout=1.0)
        assert hub.subscriber_count == 0
        return message

    assert asyncio.run(scenario()).kind is MessageKind.POSITION


def test_slow_subscriber_loses_oldest_and_counts_them() -> None:
    async def scenario() -> tuple[int, list[str]]:
        hub = LiveHub(max_queued=2)
        subscription = hub.subscribe(all_carriers=True)
        hub.publish_positions([_point(1, key) for key in ("a", "b", "c")])
        kept = [(await subscription.get()).item.vehicle_key for _ in range(2)]
        return subscription.dropped, kept

    assert asyncio.run(scenario()) == (1, ["b", "c"])


def test_subscription_needs_a_scope() -> None:
    async def scenario() -> None:
        LiveHub().subscribe()

    with pytest.raises(ScopeError, match="carrier_id"):
        asyncio.run(scenario())
