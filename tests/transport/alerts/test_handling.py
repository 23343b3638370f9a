"""Handling actions: every history action is labelled; reminder steps are not handling actions."""

from __future__ import annotations

import pytest

from transport.alerts.handling import (
    ACTION_LABELS,
    REMINDER_ACTIONS,
    AlertAction,
    HandlingState,
    next_state,
)


@pytest.mark.parametrize("action", list(AlertAction), ids=str)
def test_every_action_has_a_chinese_and_english_label(action: AlertAction) -> None:
    zh, en = ACTION_LABELS[action]
    assert zh and en and zh != en


@pytest.mark.parametrize("action", sorted(REMINDER_ACTIONS), ids=str)
def test_a_reminder_step_is_not_a_handling_action(action: AlertAction) -> None:
    with pytest.raises(ValueError, match="is not a handling action"):
        next_state(HandlingState.NEW, action)
