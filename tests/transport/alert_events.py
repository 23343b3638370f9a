"""Lifecycle alert events for store and API tests, without running the rules."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from transport.alerts import evidence, lifecycle
from transport.alerts.lifecycle import AlertChange, AlertEvent, AlertStatus
from transport.rules.base import Text

T0 = datetime(2025, 6, 10, 1, 0, tzinfo=UTC)
_serial = itertools.count(1)


def alert(
    vehicle_key: str, *, started_at: datetime = T0, fixes: int = 3, **changes: Any
) -> lifecycle.Alert:
    """An open forbidden-road alert of a vehicle with `fixes` violating fixes 10 s apart."""
    fix_evidence = tuple(
        evidence.FixEvidence(
            started_at + timedelta(seconds=10 * i), 113.9 + 0.001 * i, 22.53, 42.0, 7 + i
        )
        for i in range(fixes)
    )
    ev = evidence.Evidence(
        rule_id="forbidden_road",
        rule_title=Text("禁行路段", "Forbidden road"),
        legal_basis=Text("《危险货物道路运输安全管理办法》第四十条", "Art. 40 of the Measures"),
        fact=Text("在禁行路段行驶", "driving on a forbidden road"),
        restriction_id="sz-night-ban",
        schedule="Mo-Su 07:00-09:00",
        fixes=fix_evidence,
        edge_ids=tuple(7 + i for i in range(fixes)),
        fix_count=fixes,
        peak_value=None,
        limit=None,
    )
    fields: dict[str, Any] = {
        "alert_id": f"alert{next(_serial):011d}",
        "vehicle_id": vehicle_key,
        "rule_id": "forbidden_road",
        "key": "sz-night-ban",
        "status": AlertStatus.OPEN,
        "severity": "violation",
        "started_at": started_at,
        "last_at": fix_evidence[-1].fix_at,
        "ended_at": None,
        "evidence": ev,
    }
    return lifecycle.Alert(**(fields | changes))


def opened(vehicle_key: str, **changes: Any) -> AlertEvent:
    """An OPENED event of a new alert."""
    return AlertEvent(AlertChange.OPENED, alert(vehicle_key, **changes))


def closed(event: AlertEvent) -> AlertEvent:
    """The CLOSED event of an alert."""
    done = replace(event.alert, status=AlertStatus.CLOSED, ended_at=event.alert.last_at)
    return AlertEvent(AlertChange.CLOSED, done)


def as_one_batch(per_fix: list[AlertEvent]) -> list[AlertEvent]:
    """The changes `lifecycle.step` gives fix by fix, as one batch of those fixes gives them.

    Openings and closings in order, then the latest update of each alert still open, in the
    order the alerts were first updated.
    """
    latest: dict[str, AlertEvent] = {}
    for change in per_fix:
        if change.change is AlertChange.UPDATED:
            latest[change.alert.alert_id] = change
        elif change.change is AlertChange.CLOSED:
            latest.pop(change.alert.alert_id, None)
    return [c for c in per_fix if c.change is not AlertChange.UPDATED] + list(latest.values())
