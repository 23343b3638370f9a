"""The worker's database alert sink policies: paced updates of open alerts, retried errors."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import exc as sa_errors

from tests.transport import alert_events
from transport.alerts.lifecycle import AlertChange, AlertEvent
from transport.pipeline.live_monitoring import DatabaseSink, ThrottledUpdates


def updated(event: AlertEvent, after_s: float) -> AlertEvent:
    alert = replace(event.alert, last_at=event.alert.last_at + timedelta(seconds=after_s))
    return AlertEvent(AlertChange.UPDATED, alert)


def test_open_alert_updates_are_written_at_the_interval_and_closing_always() -> None:
    written: list[AlertEvent] = []
    sink = ThrottledUpdates(written.extend, update_interval_s=60.0)
    opened = alert_events.opened("粤B12345")
    timeline = [opened, *(updated(opened, s) for s in (10, 20, 59, 60, 70, 125))]
    sink(timeline[:3])
    sink(timeline[3:])
    sink([alert_events.closed(updated(opened, 130))])
    assert [(e.change, e.alert.last_at - opened.alert.last_at) for e in written] == [
        (AlertChange.OPENED, timedelta(0)),
        (AlertChange.UPDATED, timedelta(seconds=60)),
        (AlertChange.UPDATED, timedelta(seconds=125)),
        (AlertChange.CLOSED, timedelta(seconds=130)),
    ]
    assert sink.held == 4 and sink.written_at == {}


def test_update_of_an_alert_unknown_to_this_worker_is_written() -> None:
    written: list[AlertEvent] = []
    sink = ThrottledUpdates(written.extend, update_interval_s=60.0)
    event = updated(alert_events.opened("粤B12345"), 10)  # taken over from another worker
    sink([event])
    assert written == [event]


class Flaky:
    """A sink that fails `failures` times with a database error, then succeeds."""

    def __init__(self, failures: int, error: Exception) -> None:
        self.failures, self.error, self.calls = failures, error, 0

    def __call__(self, items: Sequence[object]) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error


LOCKED = sa_errors.OperationalError("INSERT", {}, Exception("database is locked"))


def test_transient_database_error_is_retried() -> None:
    flaky = Flaky(2, LOCKED)
    sink = DatabaseSink(flaky, attempts=3)
    sink([1])
    assert (flaky.calls, sink.retries) == (3, 2)


def test_lasting_database_error_becomes_an_oserror_for_the_publish_step() -> None:
    sink = DatabaseSink(Flaky(5, LOCKED), attempts=2)
    with pytest.raises(OSError, match="database unavailable after 2 attempts: database is locked"):
        sink([1])


def test_refused_batch_is_not_retried() -> None:
    flaky = Flaky(1, sa_errors.InvalidRequestError("bad"))
    with pytest.raises(OSError, match="database refused the batch: bad"):
        DatabaseSink(flaky)([1])
    assert flaky.calls == 1
