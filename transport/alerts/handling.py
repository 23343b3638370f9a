"""How people handle an alert: acknowledge, note, close; a pure state machine over its state.

The condition of an alert (open while the rule is violated, ended afterwards) belongs to the
lifecycle; handling is separate: police acknowledge an alert and close the case, anyone who may
see it may add a note. Every action is kept as history, and so is each step of the driver's
reminder (queued, sent, acknowledged by the terminal, undeliverable), which changes no state.
"""

from __future__ import annotations

import enum

from transport._errors import TransitionError
from transport.reasons import Reason

__all__ = ["ACTION_LABELS", "REMINDER_ACTIONS", "AlertAction", "HandlingState", "next_state"]


class HandlingState(enum.StrEnum):
    """Where the handling of an alert is."""

    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    CLOSED = "closed"


class AlertAction(enum.StrEnum):
    """An entry of an alert's history."""

    OPENED = "opened"
    ENDED = "ended"
    ACKNOWLEDGED = "acknowledged"
    NOTE = "note"
    CLOSED = "closed"
    REMINDER_QUEUED = "reminder_queued"
    REMINDER_SENT = "reminder_sent"
    REMINDER_ACKNOWLEDGED = "reminder_acknowledged"
    REMINDER_UNDELIVERABLE = "reminder_undeliverable"


#: The reminder steps, recorded from the reminder log by `transport.reminder_recorder`.
REMINDER_ACTIONS = frozenset(
    {
        AlertAction.REMINDER_QUEUED,
        AlertAction.REMINDER_SENT,
        AlertAction.REMINDER_ACKNOWLEDGED,
        AlertAction.REMINDER_UNDELIVERABLE,
    }
)

#: What each history entry is called where people read it: (Chinese, English).
ACTION_LABELS: dict[AlertAction, tuple[str, str]] = {
    AlertAction.OPENED: ("告警产生", "opened"),
    AlertAction.ENDED: ("告警结束", "ended"),
    AlertAction.ACKNOWLEDGED: ("已确认", "acknowledged"),
    AlertAction.NOTE: ("备注", "note"),
    AlertAction.CLOSED: ("已办结", "closed"),
    AlertAction.REMINDER_QUEUED: ("提醒已排队", "driver reminder queued"),
    AlertAction.REMINDER_SENT: ("提醒已下发", "driver reminder sent to the terminal"),
    AlertAction.REMINDER_ACKNOWLEDGED: ("终端已应答提醒", "terminal acknowledged the reminder"),
    AlertAction.REMINDER_UNDELIVERABLE: ("提醒无法送达", "driver reminder undeliverable"),
}


_ALLOWED: dict[AlertAction, frozenset[HandlingState]] = {
    AlertAction.ACKNOWLEDGED: frozenset({HandlingState.NEW}),
    AlertAction.NOTE: frozenset(HandlingState),
    AlertAction.CLOSED: frozenset({HandlingState.NEW, HandlingState.ACKNOWLEDGED}),
}
_RESULT: dict[AlertAction, HandlingState | None] = {
    AlertAction.ACKNOWLEDGED: HandlingState.ACKNOWLEDGED,
    AlertAction.NOTE: None,
    AlertAction.CLOSED: HandlingState.CLOSED,
}


def next_state(state: HandlingState, action: AlertAction) -> HandlingState:
    """Return the handling state after a person's action.

    Raises
    ------
    TransitionError
        The action is not allowed in this state (acknowledging twice, closing a closed alert),
        with a zh/en reason.
    """
    if action not in _ALLOWED:
        msg = f"`action` {action.value!r} is not a handling action"
        raise ValueError(msg)
    if state not in _ALLOWED[action]:
        raise TransitionError(
            [
                Reason(
                    "state",
                    f"cannot_{action.value}",
                    f"an alert in state {state.value} cannot be {action.value}",
                    f"处于 {state.value} 状态的告警不能执行 {action.value}",
                )
            ]
        )
    return _RESULT[action] or state
