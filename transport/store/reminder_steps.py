"""Store the steps of driver reminders in their alerts' history, once each.

A step (queued, sent, acknowledged by the terminal, undeliverable) comes from the reminder log
in Redis (`transport.reminder_recorder` reads it); here it becomes one ``alert_actions`` row of
the alert it reminds of. Idempotent by `ReminderStep.source_key`: a step delivered twice is
recorded once. A step whose alert is not stored yet is left for the caller to retry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from transport.alerts.handling import REMINDER_ACTIONS
from transport.store import models
from transport.store.scope import check_scope

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from sqlalchemy.orm import Session

    from transport.alerts.handling import AlertAction

__all__ = ["ReminderStep", "StepOutcome", "record_reminder_steps"]


@dataclass(frozen=True)
class ReminderStep:
    """One step of a reminder, as it goes into the history of the alert it reminds of."""

    source_key: str
    alert_key: str
    action: AlertAction
    actor: str
    note: str | None
    acted_at: datetime


@dataclass(frozen=True)
class StepOutcome:
    """Source keys of the steps recorded now, recorded before, and waiting for their alert."""

    recorded: frozenset[str]
    repeated: frozenset[str]
    waiting: frozenset[str]


def _stored_keys(session: Session, steps: Sequence[ReminderStep]) -> set[str]:
    """Return the source keys among `steps` already in the history."""
    table = models.AlertActionRow
    keys = [step.source_key for step in steps]
    return set(session.scalars(select(table.source_key).where(table.source_key.in_(keys))))


def _row(step: ReminderStep, alert_id: int) -> models.AlertActionRow:
    """Return the history row of a step."""
    return models.AlertActionRow(
        alert_id=alert_id, action=step.action.value, actor=step.actor[:100], note=step.note,
        acted_at=step.acted_at, source_key=step.source_key,
    )  # fmt: skip


def _add_one_by_one(session: Session, rows: Sequence[models.AlertActionRow]) -> set[str]:
    """Add rows each in its own savepoint; return the source keys another writer had stored."""
    taken: set[str] = set()
    for row in rows:
        try:
            with session.begin_nested():
                session.add(row)
                session.flush()
        except IntegrityError:
            taken.add(str(row.source_key))
    return taken


def record_reminder_steps(
    session: Session, steps: Sequence[ReminderStep], *, all_carriers: bool
) -> StepOutcome:
    """Add reminder steps to their alerts' history, each once.

    Parameters
    ----------
    session
        Open session; the caller commits, then acknowledges the recorded and repeated steps.
    steps
        Steps with reminder actions (`transport.alerts.handling.REMINDER_ACTIONS`).
    all_carriers
        Must be True: the recorder writes for every carrier.

    Returns
    -------
    outcome
        Which steps were recorded now, which were recorded before (or twice in `steps`: the
        first counts), and which wait for their alert to be stored.
    """
    check_scope(None, all_carriers)
    wrong = sorted({s.action.value for s in steps if s.action not in REMINDER_ACTIONS})
    if wrong:
        msg = f"`steps` must hold reminder actions only, got {wrong}"
        raise ValueError(msg)
    if not steps:
        return StepOutcome(frozenset(), frozenset(), frozenset())
    alerts = models.AlertRow
    found = session.execute(
        select(alerts.alert_key, alerts.id).where(
            alerts.alert_key.in_({step.alert_key for step in steps})
        )
    )
    alert_ids: dict[str, int] = {key: alert_id for key, alert_id in found}
    seen = _stored_keys(session, steps)
    repeated, waiting, due = set(), set(), []
    for step in steps:
        if step.source_key in seen:
            repeated.add(step.source_key)
        elif step.alert_key not in alert_ids:
            waiting.add(step.source_key)
        else:
            seen.add(step.source_key)
            due.append(step)
    try:
        with session.begin_nested():
            session.add_all(_row(step, alert_ids[step.alert_key]) for step in due)
            session.flush()
    except IntegrityError:  # another recorder stored some of them meanwhile: one by one
        repeated |= _add_one_by_one(session, [_row(s, alert_ids[s.alert_key]) for s in due])
    recorded = {step.source_key for step in due} - repeated
    return StepOutcome(frozenset(recorded), frozenset(repeated), frozenset(waiting))
