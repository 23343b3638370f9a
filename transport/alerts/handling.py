"""How people handle an alert: acknowledge, note, close; a pure state machine over its state.

The condition of an alert (open while the rule is violated, ended afterwards) belongs to the
lifecycle; handling is separate: police acknowledge an alert and close the case, anyone who may
see it may add a note. Every action is kept as history.
"""

from __future__ import annotations

import enum

from transport._errors import TransitionError
from transport.reasons import Reason

__all__ = ["AlertAction", "HandlingState", "next_state"]


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
