"""The alert lifecycle as a pure state machine: open, update, close with hysteresis, acknowledge.

Input per fix: the rule events of that fix. A condition (rule, key) opens an alert once it has
been present for `open_after_s`; the alert is updated while the condition lasts and closes only
when the condition has been absent for `close_after_s` and at least `close_after_fixes` fixes, so
GPS drift across a zone border does not make alerts flap. The caller keeps the state.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, TypeVar

from transport.alerts import evidence

if TYPE_CHECKING:
    from transport.matched import MatchedFix
    from transport.rules.base import RuleEvent, Text

_V = TypeVar("_V")

__all__ = [
    "Alert",
    "AlertChange",
    "AlertEvent",
    "AlertStatus",
    "LifecycleParams",
    "LifecycleState",
    "acknowledge",
    "close_all",
    "step",
]


class AlertStatus(enum.StrEnum):
    """Where an alert is in its life."""

    OPEN = "open"
    CLOSED = "closed"


class AlertChange(enum.StrEnum):
    """What a lifecycle step did to an alert."""

    OPENED = "opened"
    UPDATED = "updated"
    CLOSED = "closed"


@dataclass(frozen=True)
class LifecycleParams:
    """Hysteresis; `open_after_s` per rule id overrides the default."""

    open_after_s: float = 0.0
    close_after_s: float = 60.0
    close_after_fixes: int = 2
    open_after_s_by_rule: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Alert:
    """One alert of one vehicle: a rule's condition from its start to its end, with evidence."""

    alert_id: str
    vehicle_id: str
    rule_id: str
    key: str
    status: AlertStatus
    severity: str
    started_at: dt.datetime
    last_at: dt.datetime
    ended_at: dt.datetime | None
    evidence: evidence.Evidence
    waybill_id: str | None = None
    acknowledged_by: str | None = None
    acknowledged_at: dt.datetime | None = None


@dataclass(frozen=True)
class AlertEvent:
    """A change to an alert, to store and publish."""

    change: AlertChange
    alert: Alert


@dataclass(frozen=True)
class _Track:
    """One condition being followed: pending (no alert yet) or with its open alert."""

    first_at: dt.datetime
    last_at: dt.datetime
    clear_fixes: int = 0
    alert: Alert | None = None


@dataclass(frozen=True)
class LifecycleState:
    """The conditions followed for one vehicle, by (rule id, key)."""

    tracks: Mapping[tuple[str, str], _Track] = field(default_factory=dict)

    @property
    def open_alerts(self) -> tuple[Alert, ...]:
        """The alerts open now."""
        return tuple(t.alert for t in self.tracks.values() if t.alert is not None)


def _evolve(value: _V, **changes: Any) -> _V:
    """`dataclasses.replace` for the frozen values here (no `__post_init__`), without its cost."""
    new = object.__new__(type(value))
    new.__dict__.update(value.__dict__, **changes)
    return new


def _alert_id(vehicle_id: str, rule_id: str, key: str, started_at: dt.datetime) -> str:
    """A stable id: the same condition from the same start gets the same id (idempotent)."""
    text = f"{vehicle_id}|{rule_id}|{key}|{started_at.isoformat()}"
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:16]


def _present(
    track: _Track | None,
    event: RuleEvent,
    fix: MatchedFix,
    *,
    titles: Mapping[str, Text],
    waybill_id: str | None,
    params: LifecycleParams,
) -> tuple[_Track, AlertEvent | None]:
    """Follow a condition present at this fix: open the alert when due, else update it."""
    at = fix.fix_at
    if track is None:
        track = _Track(first_at=at, last_at=at)
    elif track.alert is not None:
        alert = _evolve(
            track.alert, last_at=at, evidence=evidence.add_fix(track.alert.evidence, event, fix)
        )
        return _Track(track.first_at, at, 0, alert), AlertEvent(AlertChange.UPDATED, alert)
    else:
        track = _Track(track.first_at, at)
    wait_s = params.open_after_s_by_rule.get(event.rule_id, params.open_after_s)
    if (at - track.first_at).total_seconds() < wait_s:
        return track, None
    alert = Alert(
        alert_id=_alert_id(fix.vehicle_id, event.rule_id, event.key, track.first_at),
        vehicle_id=fix.vehicle_id,
        rule_id=event.rule_id,
        key=event.key,
        status=AlertStatus.OPEN,
        severity=event.severity,
        started_at=track.first_at,
        last_at=at,
        ended_at=None,
        evidence=evidence.start_evidence(
            event, fix, rule_title=titles.get(event.rule_id, event.fact)
        ),
        waybill_id=waybill_id,
    )
    return _Track(track.first_at, at, 0, alert), AlertEvent(AlertChange.OPENED, alert)


def _absent(
    track: _Track, at: dt.datetime, params: LifecycleParams
) -> tuple[_Track | None, AlertEvent | None]:
    """Follow a condition absent at this fix: forget it if pending, close it when settled."""
    open_alert = track.alert
    if open_alert is None:
        return None, None
    track = _Track(track.first_at, track.last_at, track.clear_fixes + 1, open_alert)
    settled = (at - track.last_at).total_seconds() >= params.close_after_s
    if settled and track.clear_fixes >= params.close_after_fixes:
        alert = _evolve(open_alert, status=AlertStatus.CLOSED, ended_at=track.last_at)
        return None, AlertEvent(AlertChange.CLOSED, alert)
    return track, None


def step(
    state: LifecycleState,
    fix: MatchedFix,
    events: tuple[RuleEvent, ...],
    params: LifecycleParams,
    *,
    titles: Mapping[str, Text] | None = None,
    waybill_id: str | None = None,
) -> tuple[LifecycleState, tuple[AlertEvent, ...]]:
    """Advance the lifecycle by one fix and the rule events found at it.

    Parameters
    ----------
    state
        The vehicle's lifecycle state.
    fix
        The fix the events belong to (its time is the lifecycle's clock).
    events
        Conditions violated at this fix; several events of one (rule, key) count once (the last).
    params
        Hysteresis.
    titles
        Rule titles by rule id, for the evidence.

    Returns
    -------
    state, changes
        The new state and the alerts opened, updated or closed, in that order per condition.
    """
    titles = titles or {}
    by_key = {(e.rule_id, e.key): e for e in events}
    tracks: dict[tuple[str, str], _Track] = {}
    changes: list[AlertEvent] = []
    for key, event in by_key.items():
        track, change = _present(
            state.tracks.get(key), event, fix, titles=titles, waybill_id=waybill_id, params=params
        )
        tracks[key] = track
        changes += [change] if change else []
    for key, old in state.tracks.items():
        if key not in by_key:
            kept, change = _absent(old, fix.fix_at, params)
            if kept is not None:
                tracks[key] = kept
            changes += [change] if change else []
    return LifecycleState(tracks), tuple(changes)


def close_all(state: LifecycleState) -> tuple[LifecycleState, tuple[AlertEvent, ...]]:
    """Close every open alert at its last violating fix (end of a track or of a trip)."""
    closed = tuple(
        AlertEvent(AlertChange.CLOSED, replace(a, status=AlertStatus.CLOSED, ended_at=a.last_at))
        for a in state.open_alerts
    )
    return LifecycleState(), closed


def acknowledge(alert: Alert, *, by: str, at: dt.datetime) -> Alert:
    """Return the alert acknowledged by a person; the first acknowledgement stands.

    Raises
    ------
    ValueError
        `by` is empty or `at` is naive.
    """
    if not by.strip():
        msg = "`by` must name the person acknowledging"
        raise ValueError(msg)
    if at.tzinfo is None or at.utcoffset() is None:
        msg = "`at` must be timezone-aware"
        raise ValueError(msg)
    if alert.acknowledged_by is not None:
        return alert
    return replace(alert, acknowledged_by=by, acknowledged_at=at)
