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
from collections.abc import Iterable, Mapping, Sequence
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
    "step_many",
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


def _alert_of(
    first_at: dt.datetime,
    event: RuleEvent,
    fix: MatchedFix,
    *,
    titles: Mapping[str, Text],
    waybill_id: str | None,
) -> Alert:
    """Return the alert a condition opens at this fix."""
    return Alert(
        alert_id=_alert_id(fix.vehicle_id, event.rule_id, event.key, first_at),
        vehicle_id=fix.vehicle_id,
        rule_id=event.rule_id,
        key=event.key,
        status=AlertStatus.OPEN,
        severity=event.severity,
        started_at=first_at,
        last_at=fix.fix_at,
        ended_at=None,
        evidence=evidence.start_evidence(
            event, evidence.fix_evidence(fix), rule_title=titles.get(event.rule_id, event.fact)
        ),
        waybill_id=waybill_id,
    )


class _Run:
    """The lifecycle unpacked for a run of fixes.

    A track is ``[first_at, last_at, clear_fixes, alert, growth]``: `growth` gathers the fixes
    an open alert gained in this run, and `alert` takes them in once, at the end or on closing.
    """

    def __init__(
        self,
        state: LifecycleState,
        params: LifecycleParams,
        titles: Mapping[str, Text],
        waybill_id: str | None,
    ) -> None:
        self.tracks: dict[tuple[str, str], list[Any]] = {
            key: [t.first_at, t.last_at, t.clear_fixes, t.alert, None]
            for key, t in state.tracks.items()
        }
        self.params = params
        self.titles = titles
        self.waybill_id = waybill_id
        self.changes: list[AlertEvent] = []
        self.grown: dict[tuple[str, str], list[Any]] = {}  # in order of first growth

    def finish(self) -> LifecycleState:
        """Emit one update per alert that grew and is still open; the state reached."""
        for track in self.grown.values():
            self.changes.append(AlertEvent(AlertChange.UPDATED, self._take_in(track)))
        return LifecycleState({key: _Track(*t[:4]) for key, t in self.tracks.items()})

    def advance(self, fix: MatchedFix, events: Sequence[RuleEvent]) -> None:
        """One fix: conditions present first (in event order), then the absent ones."""
        tracks = self.tracks
        present = {(e.rule_id, e.key): e for e in events}
        for key, event in present.items():
            self._present(key, event, fix)
        if len(tracks) > len(present):
            at = fix.fix_at
            for key in [k for k in tracks if k not in present]:
                if not self._absent(key, tracks[key], at):
                    del tracks[key]

    def _present(self, key: tuple[str, str], event: RuleEvent, fix: MatchedFix) -> None:
        """Follow a condition present at this fix: open the alert when due, else let it grow."""
        at = fix.fix_at
        track = self.tracks.get(key)
        if track is None:
            track = self.tracks[key] = [at, at, 0, None, None]
        else:
            track[1], track[2] = at, 0
            if track[3] is not None:
                growth = track[4]
                if growth is None:
                    growth = track[4] = evidence.Growth(track[3].evidence)
                    self.grown[key] = track
                growth.add(event, fix)
                return
        params = self.params
        wait_s = params.open_after_s_by_rule.get(event.rule_id, params.open_after_s)
        if (at - track[0]).total_seconds() >= wait_s:
            alert = track[3] = _alert_of(
                track[0], event, fix, titles=self.titles, waybill_id=self.waybill_id
            )
            self.changes.append(AlertEvent(AlertChange.OPENED, alert))

    def _absent(self, key: tuple[str, str], track: list[Any], at: dt.datetime) -> bool:
        """Follow a condition absent at this fix; whether it is still followed."""
        if track[3] is None:
            return False  # pending: forgotten
        track[2] += 1
        params = self.params
        if (
            track[2] >= params.close_after_fixes
            and (at - track[1]).total_seconds() >= params.close_after_s
        ):
            self.grown.pop(key, None)
            closed = _evolve(self._take_in(track), status=AlertStatus.CLOSED, ended_at=track[1])
            self.changes.append(AlertEvent(AlertChange.CLOSED, closed))
            return False
        return True

    @staticmethod
    def _take_in(track: list[Any]) -> Alert:
        """The track's alert with the fixes it grew by in this run."""
        growth = track[4]
        if growth is not None:
            track[3] = _evolve(track[3], last_at=track[1], evidence=growth.evidence())
            track[4] = None
        alert: Alert = track[3]
        return alert


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
        The new state and the alerts opened, closed and updated (in that order).
    """
    return step_many(state, ((fix, events),), params, titles=titles, waybill_id=waybill_id)


def step_many(
    state: LifecycleState,
    steps: Iterable[tuple[MatchedFix, Sequence[RuleEvent]]],
    params: LifecycleParams,
    *,
    titles: Mapping[str, Text] | None = None,
    waybill_id: str | None = None,
) -> tuple[LifecycleState, tuple[AlertEvent, ...]]:
    """Advance the lifecycle by many fixes in time order, in one call.

    Openings and closings are those of `step` fix by fix, in the same order. An alert's
    updates are coalesced: each alert that gained fixes and is still open at the end gets one
    update, as at the last fix, after them (in the order the alerts first grew); a closing
    carries the evidence of every fix. So a batch pays for one new alert and evidence per
    alert, not per violating fix. A fix without events while nothing is followed changes
    nothing.

    Returns
    -------
    state, changes
        The state after the last fix and the changes.
    """
    run = _Run(state, params, titles or {}, waybill_id)
    for fix, events in steps:
        if events or run.tracks:
            run.advance(fix, events)
    return run.finish(), tuple(run.changes)


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
