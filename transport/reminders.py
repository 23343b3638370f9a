"""Driver reminders (Order 5): when an alert opens, tell the driver through the JT/T 808 terminal.

The worker's alert sink `ReminderSink` picks the opened speed, driving-time, route and
restricted-area alerts of vehicles signed in at a gateway and queues a `Reminder` on that
gateway's command stream; the gateway (`transport.gateway.reminder_desk`) sends it as a 0x8300
text with the TTS flag and logs ``sent`` and, on the terminal's 0x0001, ``acknowledged``.

Redis keys, all under the deployment prefix:

- ``{prefix}:terminals`` — hash, vehicle id → id of the gateway holding its connection;
- ``{prefix}:gateway:{gateway_id}:reminders`` — stream of reminders for one gateway;
- ``{prefix}:reminded:{alert_id}`` — marks a reminder queued (a batch processed twice after a
  worker failure queues it once);
- ``{prefix}:reminder_log`` — stream, the record: one entry per step of each reminder, fields
  ``alert_id``, ``vehicle_id``, ``rule_id``, ``status`` (`ReminderStatus`), ``at`` (ISO 8601
  UTC) and, from the gateway, ``gateway_id``, ``phone``, ``serial``, ``result``.
"""

from __future__ import annotations

import enum
import json
import logging
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from transport import fixes
from transport.alerts.lifecycle import AlertChange
from transport.gateway import _jt808_fields as jt808_fields
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
    "REMINDED_RULES",
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

    def reminded(self, alert_id: str) -> str:
        """Marker: this alert's reminder is queued."""
        return f"{self.prefix}:reminded:{alert_id}"


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
    ``not_connected`` (no JT/T 808 connection: nothing to send) and ``repeated`` (queued before).
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
        self.redis = redis.Redis.from_url(
            url,
            socket_timeout=5.0,
            socket_connect_timeout=2.0,
            retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), 5),
            retry_on_error=[redis.ConnectionError, redis.TimeoutError],
        )
        self.stats: dict[str, int] = {"queued": 0, "not_connected": 0, "repeated": 0}

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
        """Look up the gateways, mark each reminder once, queue the new ones."""
        vehicle_ids = [r.vehicle_id for r in reminders]
        gateways: list[bytes | None] = self.redis.hmget(self.keys.terminals, vehicle_ids)  # type: ignore[assignment]
        connected = [(r, g.decode()) for r, g in zip(reminders, gateways, strict=True) if g]
        self.stats["not_connected"] += len(reminders) - len(connected)
        if not connected:
            return
        with self.redis.pipeline(transaction=False) as pipe:
            for reminder, _ in connected:
                pipe.set(self.keys.reminded(reminder.alert_id), 1, nx=True, ex=REMINDED_TTL_S)
            is_new = pipe.execute()
        at = self.clock()
        with self.redis.pipeline(transaction=False) as pipe:
            for (reminder, gateway_id), new in zip(connected, is_new, strict=True):
                if not new:
                    self.stats["repeated"] += 1
                    continue
                command = {"reminder": reminder.to_json()}
                pipe.xadd(self.keys.commands(gateway_id), command,  # type: ignore[arg-type]
                          maxlen=COMMAND_MAXLEN, approximate=True)  # fmt: skip
                entry = log_entry(reminder, ReminderStatus.QUEUED, at, gateway_id=gateway_id)
                pipe.xadd(self.keys.log, entry, maxlen=LOG_MAXLEN, approximate=True)  # type: ignore[arg-type]
                self.stats["queued"] += 1
            pipe.execute()

    def close(self) -> None:
        """Close the connection pool."""
        self.redis.close()


def read_reminder_log(client: redis.Redis, *, prefix: str = "hazmat") -> list[Mapping[str, str]]:
    """Return every entry of the reminder log, oldest first (for tests, audits and the API)."""
    entries: list[tuple[bytes, dict[bytes, bytes]]] = client.xrange(ReminderKeys(prefix).log)  # type: ignore[assignment]
    return [{k.decode(): v.decode() for k, v in fields.items()} for _, fields in entries]
