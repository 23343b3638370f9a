"""Driver reminders (Order 5): when an alert opens, tell the driver through the JT/T 808 terminal.

The worker's alert sink `ReminderSink` picks the opened speed, driving-time, route and
restricted-area alerts of vehicles signed in at a gateway and queues a `Reminder` on that
gateway's command stream; the gateway (`transport.gateway.reminder_desk`) sends it as a 0x8300
text with the TTS flag and logs ``sent`` and, on the terminal's 0x0001, ``acknowledged``.

Redis keys, all under the deployment prefix:

- ``{prefix}:terminals`` — hash, vehicle id → id of the gateway holding its connection;
- ``{prefix}:gateway:{gateway_id}:alive`` — set by each gateway with a time-to-live
  (`ALIVE_TTL_S`) and refreshed well within it: a gateway that crashed stops refreshing, so the
  sink treats its vehicles as not connected (logged ``undeliverable``, reason
  ``gateway_not_alive``) and removes their stale presence fields; a gateway starting removes
  the stale fields naming its own id (Redis 7.0 has no time-to-live per hash field);
- ``{prefix}:gateway:{gateway_id}:reminders`` — stream of reminders for one gateway;
- ``{prefix}:reminded:{alert_id}`` — marks a reminder queued (a batch processed twice after a
  worker failure queues it once);
- ``{prefix}:reminder_log`` — stream, the record: one entry per step of each reminder, fields
  ``alert_id``, ``vehicle_id``, ``rule_id``, ``status`` (`ReminderStatus`), ``at`` (ISO 8601
  UTC) and ``gateway_id``; from the gateway ``phone``, ``serial``, ``result``; for an
  undeliverable reminder a ``reason``. Workers copy it into the alerts' history
  (`transport.reminder_recorder`): Redis is live state, the database is the record.
"""

from __future__ import annotations

import enum
import json
import logging
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import redis

from transport import fixes
from transport.alerts.lifecycle import AlertChange
from transport.gateway import _jt808_fields as jt808_fields
from transport.redis_client import retrying_client
from transport.rules import (
    driving_time,
    forbidden,
    route_deviation,
    speed,
    tunnel_category,
    water_source,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from datetime import datetime

    from transport.alerts.lifecycle import Alert, AlertEvent

__all__ = [
    "ALIVE_REFRESH_S",
    "ALIVE_TTL_S",
    "FORGET_PRESENCE",
    "REMINDED_RULES",
    "Liveness",
    "Reminder",
    "ReminderKeys",
    "ReminderSink",
    "ReminderStatus",
    "log_entry",
    "read_reminder_log",
    "reminder_of",
    "reminder_text",
]

logger = logging.getLogger(__name__)

#: Speed, driving time, route and restricted areas (forbidden zone, tunnel category, water zone).
REMINDED_RULES = frozenset(
    {
        speed.RULE_ID,
        driving_time.RULE_ID,
        route_deviation.RULE_ID,
        forbidden.RULE_ID,
        tunnel_category.RULE_ID,
        water_source.RULE_ID,
    }
)
MAX_TEXT_BYTES = 400  # GBK; a short text keeps the TTS read-out short
REMINDED_TTL_S = 7 * 24 * 3600
COMMAND_MAXLEN = 10_000
LOG_MAXLEN = 1_000_000
ALIVE_TTL_S = 30.0  # a gateway silent this long counts as gone
ALIVE_REFRESH_S = 10.0
GATEWAY_NOT_ALIVE = "gateway_not_alive"  # reason of an undeliverable reminder
NOT_CONNECTED_HERE = "not_connected_at_gateway"  # reason of an undeliverable reminder

#: Delete a presence field only while it still names the given gateway (compare and delete).
FORGET_PRESENCE = """
if redis.call('hget', KEYS[1], ARGV[1]) == ARGV[2] then
  return redis.call('hdel', KEYS[1], ARGV[1])
end
return 0
"""


class ReminderStatus(enum.StrEnum):
    """A step in the life of one reminder, as logged."""

    QUEUED = "queued"
    SENT = "sent"
    ACKNOWLEDGED = "acknowledged"
    UNDELIVERABLE = "undeliverable"  # the vehicle signed out before the gateway could send


@dataclass(frozen=True)
class ReminderKeys:
    """The Redis keys of one deployment."""

    prefix: str = "hazmat"

    @property
    def terminals(self) -> str:
        """Hash: vehicle id → gateway id."""
        return f"{self.prefix}:terminals"

    @property
    def log(self) -> str:
        """Stream: the reminder record."""
        return f"{self.prefix}:reminder_log"

    def commands(self, gateway_id: str) -> str:
        """Stream: the reminders one gateway has to send."""
        return f"{self.prefix}:gateway:{gateway_id}:reminders"

    def alive(self, gateway_id: str) -> str:
        """Key with a time-to-live: this gateway is running."""
        return f"{self.prefix}:gateway:{gateway_id}:alive"

    def reminded(self, alert_id: str) -> str:
        """Marker: this alert's reminder is queued."""
        return f"{self.prefix}:reminded:{alert_id}"


@dataclass(frozen=True)
class Liveness:
    """How long a gateway's alive key lives and how often the gateway refreshes it."""

    ttl_s: float = ALIVE_TTL_S
    refresh_s: float = ALIVE_REFRESH_S

    def __post_init__(self) -> None:
        """Refuse a refresh that is not positive or not shorter than the time-to-live."""
        if not 0 < self.refresh_s < self.ttl_s:
            msg = (f"`refresh_s` must be positive and shorter than `ttl_s`, got "
                   f"{self.refresh_s} and {self.ttl_s}")  # fmt: skip
            raise ValueError(msg)


@dataclass(frozen=True)
class Reminder:
    """One reminder for one vehicle's opened alert."""

    alert_id: str
    vehicle_id: str
    rule_id: str
    text: str

    def to_json(self) -> str:
        """The reminder as a command-stream field."""
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> Reminder:
        """Read `to_json`'s text; raise `ValueError` (incl. JSON errors) when malformed."""
        record = json.loads(text)
        try:
            return cls(**{k: str(record[k]) for k in ("alert_id", "vehicle_id", "rule_id", "text")})
        except (KeyError, TypeError) as err:
            msg = f"not a reminder: {err!r}"
            raise ValueError(msg) from err


def reminder_text(alert: Alert) -> str:
    """The Chinese text read out to the driver: rule, finding, what to do (≤ 400 GBK bytes)."""
    ev = alert.evidence
    text = f"【危险货物运输提醒】{ev.rule_title.zh}：{ev.fact.zh}。请立即按规定纠正，安全驾驶。"
    while len(text.encode(jt808_fields.TEXT_ENCODING, errors="replace")) > MAX_TEXT_BYTES:
        text = text[:-2] + "…"
    return text


def reminder_of(event: AlertEvent) -> Reminder | None:
    """The reminder an alert change calls for: opened alerts of `REMINDED_RULES` only."""
    alert = event.alert
    if event.change is not AlertChange.OPENED or alert.rule_id not in REMINDED_RULES:
        return None
    return Reminder(alert.alert_id, alert.vehicle_id, alert.rule_id, reminder_text(alert))


def log_entry(
    reminder: Reminder, status: ReminderStatus, at: datetime, **more: str | int
) -> dict[str, str]:
    """One reminder-log entry."""
    entry = {
        "alert_id": reminder.alert_id,
        "vehicle_id": reminder.vehicle_id,
        "rule_id": reminder.rule_id,
        "status": status.value,
        "at": at.isoformat(),
    }
    return entry | {key: str(value) for key, value in more.items()}


class ReminderSink:
    """An alert sink of the worker: queue reminders for vehicles signed in at a gateway.

    Blocking (it runs in the worker's processing thread). `stats` counts ``queued``,
    ``not_connected`` (no JT/T 808 connection: nothing to send), ``gateway_not_alive`` (the
    gateway listed for the vehicle stopped refreshing its alive key: logged undeliverable, the
    stale presence removed) and ``repeated`` (queued or logged before).
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "hazmat",
        clock: Callable[[], datetime] = fixes.utc_now,
    ) -> None:
        self.keys = ReminderKeys(prefix)
        self.clock = clock
        self.redis = retrying_client(url, socket_timeout_s=5.0, backoff_cap_s=1.0, retries=5)
        self.stats: dict[str, int] = {
            "queued": 0, "not_connected": 0, "gateway_not_alive": 0, "repeated": 0,
        }  # fmt: skip

    def __call__(self, events: Sequence[AlertEvent]) -> None:
        """Queue the reminders of a batch's alert changes."""
        reminders = [r for r in (reminder_of(event) for event in events) if r is not None]
        if not reminders:
            return
        try:
            self._queue(reminders)
        except (redis.ConnectionError, redis.TimeoutError) as err:
            msg = f"reminders not queued: {err}"
            raise OSError(msg) from err

    def _queue(self, reminders: list[Reminder]) -> None:
        """Look up the gateways and their liveness, mark each reminder once, queue or log it."""
        vehicle_ids = [r.vehicle_id for r in reminders]
        gateways: list[bytes | None] = self.redis.hmget(self.keys.terminals, vehicle_ids)  # type: ignore[assignment]
        listed = [(r, g.decode()) for r, g in zip(reminders, gateways, strict=True) if g]
        self.stats["not_connected"] += len(reminders) - len(listed)
        if not listed:
            return
        alive = self._alive_gateways({gateway_id for _, gateway_id in listed})
        with self.redis.pipeline(transaction=False) as pipe:
            for reminder, _ in listed:
                pipe.set(self.keys.reminded(reminder.alert_id), 1, nx=True, ex=REMINDED_TTL_S)
            is_new = pipe.execute()
        at = self.clock()
        with self.redis.pipeline(transaction=False) as pipe:
            for (reminder, gateway_id), new in zip(listed, is_new, strict=True):
                if not new:
                    self.stats["repeated"] += 1
                elif gateway_id in alive:
                    self._add_queued(pipe, reminder, gateway_id, at)
                else:
                    self._add_gateway_gone(pipe, reminder, gateway_id, at)
            pipe.execute()

    def _alive_gateways(self, gateway_ids: set[str]) -> set[str]:
        """Return the gateways among `gateway_ids` whose alive key has not expired."""
        ordered = sorted(gateway_ids)
        found: list[bytes | None] = self.redis.mget([self.keys.alive(g) for g in ordered])  # type: ignore[assignment]
        return {gateway_id for gateway_id, key in zip(ordered, found, strict=True) if key}

    def _add_queued(
        self, pipe: redis.client.Pipeline, reminder: Reminder, gateway_id: str, at: datetime
    ) -> None:
        """Queue a reminder on its gateway's stream and log it queued."""
        command = {"reminder": reminder.to_json()}
        pipe.xadd(self.keys.commands(gateway_id), command,  # type: ignore[arg-type]
                  maxlen=COMMAND_MAXLEN, approximate=True)  # fmt: skip
        entry = log_entry(reminder, ReminderStatus.QUEUED, at, gateway_id=gateway_id)
        pipe.xadd(self.keys.log, entry, maxlen=LOG_MAXLEN, approximate=True)  # type: ignore[arg-type]
        self.stats["queued"] += 1

    def _add_gateway_gone(
        self, pipe: redis.client.Pipeline, reminder: Reminder, gateway_id: str, at: datetime
    ) -> None:
        """Log a reminder undeliverable (its gateway is gone) and forget the stale presence."""
        logger.warning("reminder of %s undeliverable: gateway %s is not alive",
                       reminder.vehicle_id, gateway_id)  # fmt: skip
        entry = log_entry(reminder, ReminderStatus.UNDELIVERABLE, at, gateway_id=gateway_id,
                          reason=GATEWAY_NOT_ALIVE)  # fmt: skip
        pipe.xadd(self.keys.log, entry, maxlen=LOG_MAXLEN, approximate=True)  # type: ignore[arg-type]
        pipe.eval(FORGET_PRESENCE, 1, self.keys.terminals, reminder.vehicle_id, gateway_id)
        self.stats["gateway_not_alive"] += 1

    def close(self) -> None:
        """Close the connection pool."""
        self.redis.close()


def read_reminder_log(client: redis.Redis, *, prefix: str = "hazmat") -> list[Mapping[str, str]]:
    """Return every entry of the reminder log, oldest first (for tests, audits and the API)."""
    entries: list[tuple[bytes, dict[bytes, bytes]]] = client.xrange(ReminderKeys(prefix).log)  # type: ignore[assignment]
    return [{k.decode(): v.decode() for k, v in fields.items()} for _, fields in entries]
