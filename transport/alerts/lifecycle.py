"""The alert lifecycle as a pure state machine: open, update, close with hysteresis, acknowledge.

Input per fix: the rule events of that fix. A condition (rule, key) opens an alert once it has
been present for `open_after_s`; the alert is updated while the condition lasts and closes only
when the condition has been absent for `close_after_s` and at least `close_after_fixes` fixes, so
GPS drift across a zone border does not make alerts flap. The caller keeps the state.
"""

from __future__ import annotations

import bisect
import datetime as dt
import enum
import hashlib
import operator
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from transport.alerts import evidence
from transport.frozen import build, evolve

if TYPE_CHECKING:
    from transport.matched import MatchedFix
    from transport.rules.base import RuleEvent, Text

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
    "step_located",
    "step_many",
]

_PLACE = operator.itemgetter(0)  # the sort key of a (place, value) pair


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
    return build(
        Alert,
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
    """The lifecycle of one batch, condition by condition.

    Conditions do not interact, so each (rule, key) is followed alone over the fixes where it
    is present, and the absent fixes between are counted in one step (a bisection on the fix
    times finds where a close is due). Changes carry the position fix-by-fix processing gives
    them: at a fix, openings in the order of its events, then closings in the order the
    conditions began to be followed. A track is ``[first_at, last_at, clear_fixes, alert,
    growth]``: `growth` gathers the fixes an open alert gained in this run, and `alert` takes
    them in once, at the end or on closing.
    """

    def __init__(
        self,
        fixes: Sequence[MatchedFix],
        params: LifecycleParams,
        titles: Mapping[str, Text],
        waybill_id: str | None,
    ) -> None:
        self.fixes = fixes
        self.times = [fix.fix_at for fix in fixes]
        self.params = params
        self.close_after = dt.timedelta(seconds=params.close_after_s)
        self.titles = titles
        self.waybill_id = waybill_id
        self.changes: list[tuple[tuple[Any, ...], AlertEvent]] = []  # (place, change)
        self.updates: list[tuple[tuple[int, int], AlertEvent]] = []  # (first growth, update)
        self.kept: list[tuple[tuple[int, int], tuple[str, str], list[Any]]] = []

    def follow(
        self,
        key: tuple[str, str],
        carried: _Track | None,
        presences: Sequence[list[Any]],
    ) -> None:
        """Follow one condition through the run: `presences` are its ``[position, rank in the
        fix's events, event]`` in order; `carried` its track from the state."""
        track: list[Any] | None = None
        began = (-1, -1)  # where the track began to be followed (carried: before the run)
        grew = (-1, -1)  # where the open alert first grew in this run
        if carried is not None:
            track = [carried.first_at, carried.last_at, carried.clear_fixes, carried.alert, None]
        last = -1
        for pos, rank, event in presences:
            if track is not None and pos > last + 1:
                track = self._absent(track, last + 1, pos, began)
            last = pos
            at = self.times[pos]
            if track is None:
                track = [at, at, 0, None, None]
                began = (pos, rank)
            else:
                track[1], track[2] = at, 0
                if track[3] is not None:
                    if track[4] is None:
                        track[4] = evidence.Growth(track[3].evidence)
                        grew = (pos, rank)
                    track[4].add(event, self.fixes[pos])
                    continue
            wait_s = self.params.open_after_s_by_rule.get(event.rule_id, self.params.open_after_s)
            if (at - track[0]).total_seconds() >= wait_s:
                track[3] = _alert_of(
                    track[0], event, self.fixes[pos], titles=self.titles, waybill_id=self.waybill_id
                )
                self.changes.append(((pos, 0, rank), AlertEvent(AlertChange.OPENED, track[3])))
        if track is not None and last + 1 < len(self.fixes):
            track = self._absent(track, last + 1, len(self.fixes), began)
        if track is None:
            return
        if track[4] is not None:
            self.updates.append((grew, AlertEvent(AlertChange.UPDATED, self._take_in(track))))
        self.kept.append((began, key, track))

    def _absent(
        self, track: list[Any], start: int, stop: int, began: tuple[int, int]
    ) -> list[Any] | None:
        """The condition is absent at fixes ``start:stop``: forget a pending track, close an
        alert where both hysteresis counts are met, or count the fixes; the track that goes on."""
        if track[3] is None:
            return None
        params = self.params
        due = max(
            start + params.close_after_fixes - track[2] - 1,
            bisect.bisect_left(self.times, track[1] + self.close_after, start, stop),
        )
        if due < stop:
            closed = evolve(self._take_in(track), status=AlertStatus.CLOSED, ended_at=track[1])
            self.changes.append(((due, 1, began), AlertEvent(AlertChange.CLOSED, closed)))
            return None
        track[2] += stop - start
        return track

    def finish(self) -> tuple[LifecycleState, tuple[AlertEvent, ...]]:
        """The state reached and the changes in fix-by-fix order, then one update per alert
        that grew and is still open (in the order they first grew)."""
        changes = [change for _, change in sorted(self.changes, key=_PLACE)]
        changes += [update for _, update in sorted(self.updates, key=_PLACE)]
        kept = sorted(self.kept, key=_PLACE)
        return LifecycleState({key: _Track(*t[:4]) for _, key, t in kept}), tuple(changes)

    @staticmethod
    def _take_in(track: list[Any]) -> Alert:
        """The track's alert with the fixes it grew by in this run."""
        growth = track[4]
        if growth is not None:
            track[3] = evolve(track[3], last_at=track[1], evidence=growth.evidence())
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
    alert, not per violating fix.

    Returns
    -------
    state, changes
        The state after the last fix and the changes.
    """
    fixes: list[MatchedFix] = []
    located: list[tuple[int, RuleEvent]] = []
    for pos, (fix, events) in enumerate(steps):
        fixes.append(fix)
        located += [(pos, event) for event in events]
    return step_located(state, fixes, located, params, titles=titles, waybill_id=waybill_id)


def step_located(
    state: LifecycleState,
    fixes: Sequence[MatchedFix],
    events: Iterable[tuple[int, RuleEvent]],
    params: LifecycleParams,
    *,
    titles: Mapping[str, Text] | None = None,
    waybill_id: str | None = None,
) -> tuple[LifecycleState, tuple[AlertEvent, ...]]:
    """`step_many` with the events as ``(fix position, event)`` pairs in position order (the
    order within a position is the fix's event order), as the monitor gathers them."""
    presences: dict[tuple[str, str], list[list[Any]]] = {}
    at_pos, rank = -1, 0
    for pos, event in events:
        if pos != at_pos:
            at_pos, rank = pos, 0
        key = (event.rule_id, event.key)
        seen = presences.get(key)
        if seen is None:
            presences[key] = [[pos, rank, event]]
        elif seen[-1][0] == pos:
            seen[-1][2] = event  # the last event of a condition at a fix counts
            continue
        else:
            seen.append([pos, rank, event])
        rank += 1
    run = _Run(fixes, params, titles or {}, waybill_id)
    # Carried conditions first, in the state's order: the sorts are stable, so they stay
    # before the conditions this run begins to follow and in their order among themselves.
    for key, track in state.tracks.items():
        run.follow(key, track, presences.pop(key, ()))
    for key, found in presences.items():
        run.follow(key, None, found)
    return run.finish()


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
