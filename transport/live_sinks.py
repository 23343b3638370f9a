"""Sinks of the worker's `publish` step: store alerts and positions, then tell the live hub.

Each call stores in its own transaction and publishes only after commit, so a websocket never
shows what the record does not hold. Both are safe to call from the worker's thread; a worker
gives both one `vehicle_keys.VehicleKeyCache`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from transport.store import alert_recording, tracks
from transport.store.vehicle_keys import resolve_vehicle_keys

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.orm import Session, sessionmaker

    from transport.alerts.lifecycle import AlertEvent
    from transport.live_channel import LiveHub
    from transport.matched import MatchedFix
    from transport.store.vehicle_keys import VehicleResolver

__all__ = ["AlertRecorder", "PositionRecorder"]

logger = logging.getLogger(__name__)


class AlertRecorder:
    """An alert sink: `record_alert_events` in one transaction, then publish the alerts."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        hub: LiveHub | None,
        *,
        road_geometry: alert_recording.RoadGeometry | None = None,
        resolve: VehicleResolver = resolve_vehicle_keys,
    ) -> None:
        self.session_factory = session_factory
        self.hub = hub
        self.road_geometry = road_geometry
        self.resolve = resolve

    def __call__(self, events: Sequence[AlertEvent]) -> None:
        """Store and publish one batch's alert changes."""
        with self.session_factory() as session, session.begin():
            stored = alert_recording.record_alert_events(
                session,
                events,
                all_carriers=True,
                road_geometry=self.road_geometry,
                resolve=self.resolve,
            )
        if self.hub is not None:
            self.hub.publish_alerts(stored)


class PositionRecorder:
    """A position sink: `record_positions` in one transaction, then publish the live ones."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        hub: LiveHub | None,
        *,
        resolve: VehicleResolver = resolve_vehicle_keys,
    ) -> None:
        self.session_factory = session_factory
        self.hub = hub
        self.resolve = resolve

    def __call__(self, matched: Sequence[MatchedFix]) -> None:
        """Store one batch's fixes as track points; publish those that are not back-fill."""
        with self.session_factory() as session, session.begin():
            points = tracks.record_positions(
                session, matched, all_carriers=True, resolve=self.resolve
            )
        live = {(f.vehicle_id, f.fix_at) for f in matched if not f.is_backfill}
        if self.hub is not None:
            self.hub.publish_positions(p for p in points if (p.vehicle_key, p.fix_at) in live)
