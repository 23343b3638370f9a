"""The live channel: an in-process publish/subscribe hub of alerts and positions, by tenant.

The pipeline publishes what it stored (after commit); each websocket client holds a
subscription that only receives what its caller may see: police everything, a carrier the
messages of its own carrier. Publishing never blocks and is safe from any thread; a subscriber
that falls behind loses its oldest messages, counted, never the publisher's time.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from transport.store.scope import check_scope

if TYPE_CHECKING:
    from transport.store.alerts import StoredAlert
    from transport.store.tracks import TrackPoint

__all__ = ["LiveHub", "LiveMessage", "MessageKind", "Subscription"]

logger = logging.getLogger(__name__)

DEFAULT_MAX_QUEUED = 1_000


class MessageKind(enum.StrEnum):
    """What a live message carries."""

    ALERT = "alert"
    POSITION = "position"


@dataclass(frozen=True)
class LiveMessage:
    """One message: its kind, the carrier it belongs to (None: police only) and the item."""

    kind: MessageKind
    carrier_id: int | None
    item: StoredAlert | TrackPoint


class Subscription:
    """One subscriber's queue, read in the event loop it was created in."""

    def __init__(
        self,
        hub: LiveHub,
        *,
        carrier_id: int | None,
        all_carriers: bool,
        kinds: frozenset[MessageKind],
        max_queued: int,
    ) -> None:
        check_scope(carrier_id, all_carriers)
        self.hub = hub
        self.carrier_id = carrier_id
        self.all_carriers = all_carriers
        self.kinds = kinds
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[LiveMessage] = asyncio.Queue(maxsize=max_queued)
        self.dropped = 0

    def accepts(self, message: LiveMessage) -> bool:
        """Whether the subscriber may see and wants this message."""
        in_scope = self.all_carriers or (
            message.carrier_id is not None and message.carrier_id == self.carrier_id
        )
        return in_scope and message.kind in self.kinds

    def deliver(self, message: LiveMessage) -> None:
        """Queue a message (in the subscriber's loop), dropping the oldest when full."""
        if self.queue.full():
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()
                self.dropped += 1
        self.queue.put_nowait(message)

    async def get(self) -> LiveMessage:
        """Wait for the next message."""
        return await self.queue.get()

    def close(self) -> None:
        """Stop receiving."""
        self.hub.unsubscribe(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


class LiveHub:
    """Fan live messages out to the subscriptions allowed to see them."""

    def __init__(self, *, max_queued: int = DEFAULT_MAX_QUEUED) -> None:
        self.max_queued = max_queued
        self._subscriptions: set[Subscription] = set()
        self._lock = threading.Lock()
        self.published = 0

    def subscribe(
        self,
        *,
        carrier_id: int | None = None,
        all_carriers: bool = False,
        kinds: Iterable[MessageKind] = tuple(MessageKind),
    ) -> Subscription:
        """Return a new subscription; call it in the event loop that will read it.

        Raises
        ------
        ScopeError
            Neither a carrier nor ``all_carriers=True`` (or both).
        """
        subscription = Subscription(
            self,
            carrier_id=carrier_id,
            all_carriers=all_carriers,
            kinds=frozenset(kinds),
            max_queued=self.max_queued,
        )
        with self._lock:
            self._subscriptions.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """Forget a subscription (twice is harmless)."""
        with self._lock:
            self._subscriptions.discard(subscription)

    def wanted_kinds(self) -> frozenset[MessageKind]:
        """The kinds some subscription takes: a relay need not read the others."""
        with self._lock:
            return frozenset().union(*(s.kinds for s in self._subscriptions))

    @property
    def subscriber_count(self) -> int:
        """How many subscriptions are open."""
        with self._lock:
            return len(self._subscriptions)

    def publish(self, message: LiveMessage) -> int:
        """Send a message to every subscription that may see it; return how many. Never blocks."""
        with self._lock:
            targets = [s for s in self._subscriptions if s.accepts(message)]
        self.published += 1
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        delivered = 0
        for subscription in targets:
            if subscription.loop is running:
                subscription.deliver(message)
            else:
                try:
                    subscription.loop.call_soon_threadsafe(subscription.deliver, message)
                except RuntimeError:  # its loop is closed: the subscriber is gone
                    self.unsubscribe(subscription)
                    continue
            delivered += 1
        return delivered

    def publish_alerts(self, alerts: Iterable[StoredAlert]) -> int:
        """Publish stored alerts (as `record_alert_events` returns them); return deliveries."""
        return sum(self.publish(LiveMessage(MessageKind.ALERT, a.carrier_id, a)) for a in alerts)

    def publish_positions(self, points: Iterable[TrackPoint]) -> int:
        """Publish stored track points (as `record_positions` returns them); return deliveries."""
        return sum(self.publish(LiveMessage(MessageKind.POSITION, p.carrier_id, p)) for p in points)
