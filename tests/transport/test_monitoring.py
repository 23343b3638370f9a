"""The per-vehicle monitor: resuming from checkpoints written with another set of rules."""

from __future__ import annotations

import logging

import pytest

from tests.transport.rules.conftest import local, monitor, timeline, toy  # noqa: F401
from transport.monitoring import Monitor, MonitorState
from transport.rules import RULES


def test_checkpoint_from_fewer_rules_restarts_the_clocks_and_keeps_alerts(
    toy,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    first = monitor(toy, rules=RULES[:-1])
    first.process_many(timeline(toy, local(2026, 3, 2, 12, 0), 600, speed_kmh=0))
    with caplog.at_level(logging.WARNING, logger="transport.monitoring"):
        resumed = Monitor(first.vehicle, first.road, state=first.state)
    assert "holds 9 rule states for 10 rules" in caplog.text
    assert resumed.state == MonitorState(
        tuple(rule.initial_state() for rule in RULES), first.state.alerts, first.state.last_fix
    )
