"""Where the vehicles' current stops are shared: in memory (embedded) or in Redis (workers).

Vehicles are sharded across workers, so a worker knows only its own vehicles' stops; the
fleet-level parking rules need everybody's. After the rules ran on a batch, the worker
publishes the stop of each vehicle of the batch (or withdraws it when the vehicle moved); before
the next batch it reads the whole table as a `FleetView`. Redis keeps one hash,
``{prefix}:fleet_stops``, field = vehicle id, value = the stop as JSON. A stop whose vehicle was
last heard more than `max_age_s` before the newest fix is deleted when the table is read, and
the hash expires when nobody publishes for that long, so a worker that died leaves nothing
behind for long. Live state, not the record.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from transport.redis_client import retrying_client
from transport.rules.fleet_view import FleetStop, FleetView, stops_of
from transport.rules.parking import ParkingState

if TYPE_CHECKING:
    from transport.monitoring import Monitor
    from transport.rules.base import RoadContext
    from transport.rules.params import RuleParams

__all__ = [
    "DEFAULT_MAX_AGE_S",
    "MemoryStopStore",
    "RedisStopStore",
    "StopStore",
    "current_stops",
]

DEFAULT_MAX_AGE_S = 15 * 60.0
# Delete a field only if it still holds the value read: another worker may have just written.
_DELETE_IF_UNCHANGED = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  return redis.call('HDEL', KEYS[1], ARGV[1])
end
return 0
"""


class StopStore(Protocol):
    """Publish vehicles' stops and read everybody's."""

    def publish(self, stops: Mapping[str, FleetStop | None]) -> None:
        """Set each vehicle's stop; ``None`` withdraws it (the vehicle moves)."""
        ...

    def view(self, *, at: dt.datetime) -> FleetView:
        """Return the stops heard from within the maximum age before `at`."""
        ...


class MemoryStopStore:
    """Stops in a dict of this process (the embedded default and the offline fleet check)."""

    def __init__(self, *, max_age_s: float = DEFAULT_MAX_AGE_S) -> None:
        self.max_age = dt.timedelta(seconds=max_age_s)
        self._stops: dict[str, FleetStop] = {}

    def publish(self, stops: Mapping[str, FleetStop | None]) -> None:
        """Set or withdraw stops."""
        for vehicle_id, stop in stops.items():
            if stop is None:
                self._stops.pop(vehicle_id, None)
            else:
                self._stops[vehicle_id] = stop

    def view(self, *, at: dt.datetime) -> FleetView:
        """Return the fresh stops; forget the stale ones."""
        stale = [v for v, s in self._stops.items() if s.seen_at < at - self.max_age]
        for vehicle_id in stale:
            del self._stops[vehicle_id]
        return FleetView(self._stops.values())


class RedisStopStore:
    """Stops in a Redis hash shared by the workers; connection errors retried with back-off."""

    def __init__(
        self, url: str, *, prefix: str = "hazmat", max_age_s: float = DEFAULT_MAX_AGE_S
    ) -> None:
        self.key = f"{prefix}:fleet_stops"
        self.max_age = dt.timedelta(seconds=max_age_s)
        self.redis = retrying_client(url)
        self._delete_if_unchanged = self.redis.register_script(_DELETE_IF_UNCHANGED)

    def publish(self, stops: Mapping[str, FleetStop | None]) -> None:
        """Set and withdraw in one transaction; push the hash's expiry on."""
        mapping: dict[Any, Any] = {v: s.to_json() for v, s in stops.items() if s is not None}
        gone = [v for v, s in stops.items() if s is None]
        if not mapping and not gone:
            return
        pipe = self.redis.pipeline(transaction=True)
        if mapping:
            pipe.hset(self.key, mapping=mapping)
        if gone:
            pipe.hdel(self.key, *gone)
        pipe.expire(self.key, max(int(self.max_age.total_seconds()), 1))
        pipe.execute()

    def view(self, *, at: dt.datetime) -> FleetView:
        """Read the table (one HGETALL); delete the stale stops unless replaced meanwhile."""
        raw: dict[bytes, bytes] = self.redis.hgetall(self.key)  # type: ignore[assignment]
        fresh = []
        for vehicle_id, text in raw.items():
            stop = FleetStop.from_json(text)
            if stop.seen_at >= at - self.max_age:
                fresh.append(stop)
            else:
                self._delete_if_unchanged(keys=[self.key], args=[vehicle_id, text])
        return FleetView(fresh)

    def clear(self) -> None:
        """Forget every stop."""
        self.redis.delete(self.key)

    def close(self) -> None:
        """Close the connection pool."""
        self.redis.close()


def current_stops(
    monitors: Mapping[str, Monitor],
    vehicle_ids: Sequence[str],
    road: RoadContext,
    params: RuleParams,
) -> dict[str, FleetStop | None]:
    """Return the stop to publish for each vehicle after its monitor ran (``None``: moving).

    The stop is the one the monitor's stop-following rules keep (their `ParkingState`); a
    vehicle whose monitor has no fix yet or follows no stop has none.
    """
    vehicles = []
    for vehicle_id in vehicle_ids:
        monitor = monitors.get(vehicle_id)
        if monitor is None or monitor.state.last_fix is None:
            continue
        state = next((s for s in monitor.state.rule_states if isinstance(s, ParkingState)), None)
        if state is not None:
            vehicles.append((monitor.vehicle, state, monitor.state.last_fix))
    out: dict[str, FleetStop | None] = dict.fromkeys(vehicle_ids)
    out.update(stops_of(vehicles, road, params))
    return out
