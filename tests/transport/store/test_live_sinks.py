"""The pipeline sinks on both databases: store alerts and positions, then publish them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from tests.transport import alert_events
from tests.transport.store.conftest import Fleet
from transport import registry
from transport.live_channel import LiveHub, LiveMessage, MessageKind
from transport.live_sinks import AlertRecorder, PositionRecorder
from transport.matched import MatchedFix
from transport.store import alerts, registries, tracks
from transport.store.engine import make_session_factory

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session


def test_sinks_store_then_publish(engine: Engine, session: Session, stored_fleet: Fleet) -> None:
    vehicle = registries.get_record(
        session, registry.Vehicle, record_id=stored_fleet.vehicle_id, all_carriers=True
    )
    assert vehicle is not None
    session.commit()  # the sinks write in their own transactions (SQLite: one writer)
    hub = LiveHub()
    factory = make_session_factory(engine)
    at = datetime.now(UTC)
    matched = [
        MatchedFix(
            vehicle.plate, at - timedelta(seconds=30), 0, 0, 114.0, 22.5, 40.0, heading_deg=275.0
        ),
        MatchedFix(
            vehicle.plate, at - timedelta(hours=1), 0, 0, 114.1, 22.5, 40.0, is_backfill=True
        ),
    ]

    async def scenario() -> list[LiveMessage]:
        subscription = hub.subscribe(carrier_id=stored_fleet.carrier_id)
        PositionRecorder(factory, hub)(matched)
        AlertRecorder(factory, hub)([alert_events.opened(vehicle.plate)])
        return [await subscription.get() for _ in range(subscription.queue.qsize())]

    messages = asyncio.run(scenario())
    assert [m.kind for m in messages] == [MessageKind.POSITION, MessageKind.ALERT]  # no back-fill
    track = tracks.read_track(
        session, vehicle_id=vehicle.id or 0, since=at - timedelta(days=1), until=at,
        all_carriers=True,
    )  # fmt: skip
    assert track is not None and len(track) == 2
    assert [p.heading_deg for p in track] == [0.0, 275.0]  # the terminal's heading is kept
    page = alerts.list_alerts(session, carrier_id=stored_fleet.carrier_id)
    assert [a.id for a in page.items] == [messages[1].item.id]  # type: ignore[union-attr]
