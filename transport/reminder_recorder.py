"""Copy the reminder log from Redis into the alerts' history in the database.

Redis holds live state, not the record: each step of a driver reminder (queued by a worker,
sent, acknowledged or found undeliverable by a gateway) is logged on the stream
``{prefix}:reminder_log`` and recorded from there by a `ReminderRecorder`, which every
monitoring worker runs beside its pipeline; it reads as every `stream_recorder.StreamRecorder`
does. The recorders share the consumer group ``reminder-recorders``: at-least-once delivery,
idempotent by the entry id (the history row's ``source_key``), an entry acknowledged only after
its row is committed. An entry whose alert is not stored yet stays pending and is read again
every `retry_interval_s`; one still waiting after `give_up_after_s` is acknowledged with an
error logged (it stays in the log). Pending entries of a recorder that died are claimed by
another after `claim_idle_ms`.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from transport.alerts.handling import AlertAction
from transport.reminders import ReminderKeys, ReminderStatus
from transport.store import reminder_steps
from transport.store.alerts import SYSTEM_ACTOR
from transport.stream_recorder import StreamRecorder

if TYPE_CHECKING:
    from collections.abc import Mapping

    from sqlalchemy.orm import Session, sessionmaker

__all__ = ["GROUP", "ReminderRecorder", "step_of"]

logger = logging.getLogger(__name__)

GROUP = "reminder-recorders"
ACTIONS = {
    ReminderStatus.QUEUED: AlertAction.REMINDER_QUEUED,
    ReminderStatus.SENT: AlertAction.REMINDER_SENT,
    ReminderStatus.ACKNOWLEDGED: AlertAction.REMINDER_ACKNOWLEDGED,
    ReminderStatus.UNDELIVERABLE: AlertAction.REMINDER_UNDELIVERABLE,
}
#: Log fields kept in the history note, in this order, as ``name=value``.
NOTE_FIELDS = (("gateway_id", "gateway"), ("phone", "phone"), ("serial", "serial"),
               ("result", "result"), ("reason", "reason"))  # fmt: skip
_NOTHING = reminder_steps.StepOutcome(frozenset(), frozenset(), frozenset())


def step_of(stream: str, entry_id: str, fields: Mapping[str, str]) -> reminder_steps.ReminderStep:
    """Return the history step of one reminder-log entry; `ValueError` names what is wrong."""
    faults = [f"`{name}` missing" for name in ("alert_id", "status", "at") if not fields.get(name)]
    if faults:
        raise ValueError("; ".join(faults))
    try:
        action = ACTIONS[ReminderStatus(fields["status"])]
        acted_at = datetime.fromisoformat(fields["at"])
    except ValueError as err:
        msg = f"unreadable `status` or `at`: {err}"
        raise ValueError(msg) from err
    if acted_at.tzinfo is None:
        msg = f"`at` must be timezone-aware, got {fields['at']!r}"
        raise ValueError(msg)
    note = " ".join(f"{label}={fields[name]}" for name, label in NOTE_FIELDS if fields.get(name))
    is_gateway_step = action is not AlertAction.REMINDER_QUEUED
    actor = fields.get("gateway_id") if is_gateway_step else None
    return reminder_steps.ReminderStep(
        source_key=f"{stream}#{entry_id}", alert_key=fields["alert_id"], action=action,
        actor=actor or SYSTEM_ACTOR, note=note or None, acted_at=acted_at.astimezone(UTC),
    )  # fmt: skip


def _age_s(entry_id: str, now: datetime) -> float:
    """Seconds since a stream entry was added (its id starts with the Unix time in ms)."""
    return now.timestamp() - int(entry_id.split("-", 1)[0]) / 1000


class ReminderRecorder(StreamRecorder[reminder_steps.ReminderStep, reminder_steps.StepOutcome]):
    """Record the reminder log's entries in the alerts' history (one consumer of the group;
    `reading` takes `StreamRecorder`'s options).

    `stats` counts ``recorded``, ``repeated`` (recorded before), ``waiting`` (alert not stored
    yet, each time seen), ``malformed``, ``abandoned``, ``trimmed``, ``transactions``,
    ``redis_errors`` and ``database_errors``.
    """

    group = GROUP
    entry_name = "reminder log entry"

    def __init__(
        self,
        url: str,
        session_factory: sessionmaker[Session],
        *,
        consumer: str,
        prefix: str = "hazmat",
        give_up_after_s: float = 24 * 3600.0,
        **reading: Any,
    ) -> None:
        super().__init__(url, session_factory, consumer=consumer, prefix=prefix, **reading)
        self.give_up_after_s = give_up_after_s

    @staticmethod
    def stream_of(prefix: str) -> str:
        """The reminder log."""
        return ReminderKeys(prefix).log

    def parse(self, entry_id: str, fields: dict[str, bytes]) -> reminder_steps.ReminderStep:
        """The history step of one log entry."""
        text = {name: value.decode(errors="replace") for name, value in fields.items()}
        return step_of(self.stream, entry_id, text)

    def store(
        self, session: Session, items: list[reminder_steps.ReminderStep]
    ) -> reminder_steps.StepOutcome:
        """Record the steps whose alerts are stored."""
        return reminder_steps.record_reminder_steps(session, items, all_carriers=True)

    def settle(
        self, items: list[reminder_steps.ReminderStep], outcome: reminder_steps.StepOutcome
    ) -> list[str]:
        """Count the outcome; done are the steps recorded now or before, and those given up."""
        self.stats["recorded"] += len(outcome.recorded)
        self.stats["repeated"] += len(outcome.repeated)
        self.stats["waiting"] += len(outcome.waiting)
        done = [key.rsplit("#", 1)[1] for key in outcome.recorded | outcome.repeated]
        return done + self._abandoned(outcome.waiting)

    def _abandoned(self, waiting: frozenset[str]) -> list[str]:
        """Return the ids of waiting entries too old to wait any longer (logged)."""
        now = datetime.now(UTC)
        ids = [key.rsplit("#", 1)[1] for key in waiting]
        old = [entry_id for entry_id in ids if _age_s(entry_id, now) > self.give_up_after_s]
        if old:
            self.stats["abandoned"] += len(old)
            logger.error("reminder steps %s: their alerts were never stored; given up", old)
        return old
