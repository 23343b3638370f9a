"""Assemble a production worker's monitoring: network, layers, waybill store, alert sinks.

`open_monitoring` turns the worker's options into a `chain.MonitoringSetup`: the road network
and its compiled restriction layers, vehicle contexts from the waybill store (`StoreDirectory`),
the vehicles' current stops shared in Redis for the fleet-level parking rules
(`fleet_stops.RedisStopStore`), and the sinks — alerts recorded in the database in one
transaction per batch and relayed on the Redis live channel, reminders queued for the drivers'
JT/T 808 terminals, and (unless switched off) matched positions stored as track points and
relayed live. What is switched off is a sink left out, not a flag inside one.

The database sinks run after the fixes are stored, so a failure there must not reach the
runner (its retry would find the fixes stored and drop them as duplicates, and the alerts with
them): a transient database error (a lock held by another worker on SQLite, a lost connection)
is retried with back-off, and what still fails is raised as `OSError`, which the publish step
logs and counts.

An open alert changes at every violating fix; writing each change costs a database round trip
per fix and vehicle. `ThrottledUpdates` passes every opening and closing but an update only
once `update_interval_s` of fix time has passed since the last one written for that alert, so
the record and the live channel follow an open alert at that pace (the closing writes its final
state and evidence).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Generic, TypeVar, cast

from sqlalchemy import exc as sa_errors

from transport import live_relay, live_sinks, reminders, track_check
from transport.alerts.lifecycle import AlertChange
from transport.bus import redis_streams
from transport.pipeline import chain, fleet_stops, store_directory
from transport.rules.params import default_params
from transport.store import vehicle_keys
from transport.store.engine import make_engine, make_session_factory

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from geodata.matching.matcher import MatchParams
    from geodata.network import RoadNetwork
    from geodata.restrictions import RestrictionLayer
    from transport.alerts.lifecycle import AlertEvent
    from transport.live_channel import LiveHub
    from transport.pipeline.steps.publish import AlertSink, PositionSink
    from transport.rules.params import RuleParams

__all__ = [
    "DEFAULT_FLEET_VIEW_MAX_AGE_S",
    "DatabaseSink",
    "LiveMonitoring",
    "ThrottledUpdates",
    "open_monitoring",
]

logger = logging.getLogger(__name__)

DB_ATTEMPTS = 8  # back-off doubling from 50 ms, capped at 2 s: about 7 s in all
DEFAULT_UPDATE_INTERVAL_S = 60.0
DEFAULT_FLEET_VIEW_MAX_AGE_S = 1.0  # the fleet rules wait minutes; a second's delay is nothing
_T = TypeVar("_T")


class DatabaseSink(Generic[_T]):
    """Wrap a database sink: retry transient errors; raise what still fails as `OSError`."""

    def __init__(
        self, sink: Callable[[Sequence[_T]], None], *, attempts: int = DB_ATTEMPTS
    ) -> None:
        self.sink = sink
        self.attempts = attempts
        self.retries = 0
        self.__qualname__ = f"DatabaseSink({type(sink).__name__})"

    def __call__(self, items: Sequence[_T]) -> None:
        """Call the sink until it succeeds or the attempts are spent."""
        for attempt, delay in enumerate(redis_streams.backoff_delays(), start=1):
            try:
                self.sink(items)
                return
            except sa_errors.OperationalError as err:
                if attempt >= self.attempts:
                    msg = f"database unavailable after {attempt} attempts: {err.orig}"
                    raise OSError(msg) from err
                self.retries += 1
                time.sleep(delay)
            except sa_errors.SQLAlchemyError as err:
                msg = f"database refused the batch: {err}"
                raise OSError(msg) from err


class ThrottledUpdates:
    """Wrap an alert sink: openings and closings always, an open alert's updates at a pace."""

    def __init__(
        self, sink: Callable[[Sequence[AlertEvent]], None], *, update_interval_s: float
    ) -> None:
        self.sink = sink
        self.update_interval = timedelta(seconds=update_interval_s)
        self.written_at: dict[str, datetime] = {}
        self.held = 0
        self.__qualname__ = f"ThrottledUpdates({getattr(sink, '__qualname__', sink)})"

    def __call__(self, events: Sequence[AlertEvent]) -> None:
        """Pass on the events that are due; hold back updates written too recently."""
        due = []
        for event in events:
            alert = event.alert
            last = self.written_at.get(alert.alert_id)
            if event.change is AlertChange.CLOSED:
                self.written_at.pop(alert.alert_id, None)
            elif (
                event.change is AlertChange.UPDATED
                and last is not None
                and alert.last_at - last < self.update_interval
            ):
                self.held += 1
                continue
            else:
                self.written_at[alert.alert_id] = alert.last_at
            due.append(event)
        if due:
            self.sink(due)


@dataclass
class LiveMonitoring:
    """A monitoring setup, its database sessions and what must be closed when the worker stops.

    The worker also records the reminder log in the alerts' history with `session_factory`.
    """

    setup: chain.MonitoringSetup
    closers: list[Callable[[], None]] = field(default_factory=list)
    session_factory: sessionmaker[Session] | None = None

    def close(self) -> None:
        """Release connections and engines, last opened first."""
        for close in reversed(self.closers):
            close()


def open_monitoring(
    network: RoadNetwork,
    layers: Sequence[RestrictionLayer],
    *,
    database_url: str,
    redis_url: str,
    match_params: MatchParams,
    prefix: str = "hazmat",
    with_osm: bool = True,
    store_track: bool = True,
    context_ttl_s: float = store_directory.DEFAULT_TTL_S,
    update_interval_s: float = DEFAULT_UPDATE_INTERVAL_S,
    rule_params: RuleParams | None = None,
    fleet_view_max_age_s: float = DEFAULT_FLEET_VIEW_MAX_AGE_S,
) -> LiveMonitoring:
    """Return the monitoring of a worker on Redis with a database.

    Parameters
    ----------
    network
        Projected road network the fixes are matched on.
    layers
        Restriction layers compiled onto the network (plus the OSM-derived one with `with_osm`).
    database_url
        Registry, waybill, alert and track database (migrated already).
    redis_url
        The bus's Redis: live channel and reminder streams.
    match_params
        Online matcher parameters (its lag delays each alert by that many fixes).
    store_track
        Store matched positions as track points and relay them live.
    context_ttl_s
        How long a vehicle's waybill context, and the registry vehicle and carrier its fixes
        and alerts are stored under, are used before the store is read again.
    update_interval_s
        Fix time between two writes of an open alert's updates (0: every update).
    rule_params
        Rule thresholds (`Settings.rules`); the national defaults when None.
    fleet_view_max_age_s
        Wall-clock seconds a snapshot of the fleet's stops serves further batches (0: each
        batch reads its own).
    """
    road = track_check.road_context(network, layers, with_osm=with_osm)
    engine = make_engine(database_url, lock_on_begin=True)  # several workers write at once
    session_factory = make_session_factory(engine)
    relay = live_relay.RedisLivePublisher(redis_url, prefix=prefix)
    reminder_sink = reminders.ReminderSink(redis_url, prefix=prefix)
    rules = rule_params or default_params()
    max_age_s = rules.parking.fleet_stop_max_age_s
    stop_store = fleet_stops.RedisStopStore(redis_url, prefix=prefix, max_age_s=max_age_s)
    hub = cast("LiveHub", relay)  # the recorders only call publish_alerts / publish_positions
    keys = vehicle_keys.VehicleKeyCache(ttl_s=context_ttl_s)  # as stale as the contexts
    alert_sinks: tuple[AlertSink, ...] = (
        ThrottledUpdates(
            DatabaseSink(live_sinks.AlertRecorder(session_factory, hub, resolve=keys)),
            update_interval_s=update_interval_s,
        ),
        reminder_sink,
    )
    position_sinks: tuple[PositionSink, ...] = ()
    if store_track:
        position_sinks = (
            DatabaseSink(live_sinks.PositionRecorder(session_factory, hub, resolve=keys)),
        )
    directory = store_directory.StoreDirectory(session_factory, network, ttl_s=context_ttl_s)
    setup = chain.MonitoringSetup(
        network, road, directory, match_params,
        alert_sinks=alert_sinks, position_sinks=position_sinks, rule_params=rules,
        stop_store=stop_store, fleet_view_max_age_s=fleet_view_max_age_s,
    )  # fmt: skip
    closers = [engine.dispose, relay.close, reminder_sink.close, stop_store.close]
    return LiveMonitoring(setup, closers, session_factory)
