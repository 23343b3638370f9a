"""Record the pipeline's alert changes: open, update and close stored alerts, idempotently.

A worker calls `record_alert_events` once per batch. The alerts the events touch are read in one
query, the events folded onto them in memory, and the outcome written in a handful of Core
statements run as executemany (new alerts, changed alerts, evidence, history) instead of a unit
of work that loads and diffs every row and its evidence. A new alert that another writer created
meanwhile is skipped by the insert (``ON CONFLICT DO NOTHING``) and updated instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import bindparam, insert, select, update

from transport.alerts import evidence as evidence_mod
from transport.alerts.handling import AlertAction, HandlingState
from transport.alerts.lifecycle import AlertChange
from transport.store import models
from transport.store.alerts import SYSTEM_ACTOR, StoredAlert
from transport.store.engine import dialect_insert
from transport.store.scope import check_scope
from transport.store.vehicle_keys import VehicleRef, resolve_vehicle_keys
from transport.waybills import ACTIVE_STATES

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from datetime import datetime

    from sqlalchemy import Table
    from sqlalchemy.orm import Session

    from transport.alerts.lifecycle import Alert, AlertEvent
    from transport.store.vehicle_keys import VehicleResolver

__all__ = ["RoadGeometry", "record_alert_events"]

#: Turns matched edge ids into a GeoJSON geometry in WGS-84 (the pipeline holds the network).
RoadGeometry = Callable[[Sequence[int]], dict[str, Any] | None]

_ALERTS = cast("Table", models.AlertRow.__table__)
_EVIDENCE = cast("Table", models.AlertEvidenceRow.__table__)
_ACTIONS = cast("Table", models.AlertActionRow.__table__)
_CHANGING = ("last_at", "severity", "lon", "lat", "is_active", "ended_at")


@dataclass
class _Outcome:
    """One alert's row as the batch's events leave it, and what to write for it."""

    row: dict[str, Any]
    is_new: bool
    had_evidence: bool
    roads: dict[str, Any] | None = None  # matched roads (GeoJSON), stored or new
    evidence: evidence_mod.Evidence | None = None  # the newest applied: to be written
    content: dict[str, Any] | None = None  # `evidence` as written
    history: list[tuple[AlertAction, datetime]] = field(default_factory=list)

    def fold(self, event: AlertEvent) -> None:
        """Apply one event: newer evidence replaces older, a closing ends the alert once."""
        alert, row = event.alert, self.row
        if alert.last_at >= row["last_at"] or not (self.had_evidence or self.evidence):
            row["last_at"] = max(row["last_at"], alert.last_at)
            row["severity"] = alert.severity
            if alert.evidence.fixes:
                row["lon"], row["lat"] = alert.evidence.fixes[-1].lon, alert.evidence.fixes[-1].lat
            self.evidence = alert.evidence
        if event.change is AlertChange.CLOSED and row["is_active"]:
            row["is_active"] = False
            row["ended_at"] = alert.ended_at or alert.last_at
            self.history.append((AlertAction.ENDED, row["ended_at"]))

    def stored_alert(self, content: dict[str, Any]) -> StoredAlert:
        """The alert as stored once written, with its evidence `content`."""
        state = HandlingState(self.row["state"])
        return StoredAlert(**{**self.row, "state": state}, evidence=content,
                           matched_geojson=self.roads)  # fmt: skip


def _new_outcome(alert: Alert, ref: VehicleRef, waybill_id: int | None) -> _Outcome:
    """The outcome of an alert not stored yet: its row as opened, with its opening entry."""
    row = {
        "id": None, "alert_key": alert.alert_id, "vehicle_key": alert.vehicle_id,
        "vehicle_id": ref.vehicle_id, "carrier_id": ref.carrier_id, "waybill_id": waybill_id,
        "rule_id": alert.rule_id, "condition_key": alert.key[:200], "severity": alert.severity,
        "is_active": True, "started_at": alert.started_at, "last_at": alert.started_at,
        "ended_at": None, "state": HandlingState.NEW.value, "acknowledged_by": None,
        "acknowledged_at": None, "closed_by": None, "closed_at": None, "lon": None, "lat": None,
    }  # fmt: skip
    return _Outcome(row, is_new=True, had_evidence=False,
                    history=[(AlertAction.OPENED, alert.started_at)])  # fmt: skip


def _stored_outcomes(session: Session, keys: Iterable[str]) -> dict[str, _Outcome]:
    """The stored alerts among `keys`, by key, with whether they have evidence and its roads
    (the evidence content itself is not read: it is replaced or kept as it is)."""
    query = (
        select(_ALERTS, _EVIDENCE.c.alert_id.label("evidence_of"), _EVIDENCE.c.matched_geojson)
        .outerjoin(_EVIDENCE, _EVIDENCE.c.alert_id == _ALERTS.c.id)
        .where(_ALERTS.c.alert_key.in_(list(keys)))
    )
    found = {}
    for mapping in session.execute(query).mappings():
        row = dict(mapping)
        had_evidence = row.pop("evidence_of") is not None
        roads = row.pop("matched_geojson")
        found[row["alert_key"]] = _Outcome(row, is_new=False, had_evidence=had_evidence,
                                           roads=roads)  # fmt: skip
    return found


def _waybills_of(
    session: Session, alerts: Sequence[tuple[Alert, VehicleRef]]
) -> dict[str, int | None]:
    """Return the registry waybill of each alert by alert id: the one it names (of its
    carrier), else the vehicle's active one; none for an unregistered vehicle.

    Two queries for a whole batch, reading ids alone (one active waybill per vehicle).
    """
    table = models.WaybillRow
    known = [(a, r) for a, r in alerts if r.carrier_id is not None and r.vehicle_id is not None]
    named_ids = {_named_waybill(a) for a, _ in known} - {None}
    named: dict[int | None, int] = {}
    if named_ids:
        query = select(table.id, table.carrier_id).where(table.id.in_(named_ids))
        named = {waybill_id: carrier_id for waybill_id, carrier_id in session.execute(query)}
    active: dict[tuple[int | None, int | None], int] = {}
    vehicles = {r.vehicle_id for _, r in known}
    if vehicles:
        running = (
            select(table.id, table.vehicle_id, table.carrier_id)
            .where(
                table.vehicle_id.in_(vehicles),
                table.state.in_([state.value for state in ACTIVE_STATES]),
            )
            .order_by(table.id)
        )
        for waybill_id, vehicle_id, carrier_id in session.execute(running):
            active.setdefault((vehicle_id, carrier_id), waybill_id)
    found: dict[str, int | None] = {alert.alert_id: None for alert, _ in alerts}
    for alert, ref in known:
        name = _named_waybill(alert)
        if name is not None and named.get(name) == ref.carrier_id:
            found[alert.alert_id] = name
        else:
            found[alert.alert_id] = active.get((ref.vehicle_id, ref.carrier_id))
    return found


def _named_waybill(alert: Alert) -> int | None:
    """The registry id of the waybill an alert names, if it names one."""
    text = alert.waybill_id
    return int(text) if text is not None and text.isdigit() else None


def _fold_all(outcomes: Mapping[str, _Outcome], events: Sequence[AlertEvent]) -> None:
    """Fold every event, in order, onto the outcome of its alert."""
    for event in events:
        outcomes[event.alert.alert_id].fold(event)


def _insert_new(session: Session, outcomes: Sequence[_Outcome]) -> set[str]:
    """Insert new alerts with their folded values and note their ids; return the keys another
    writer had inserted meanwhile (skipped)."""
    if not outcomes:
        return set()
    statement = (
        dialect_insert(session)(_ALERTS)
        .on_conflict_do_nothing(index_elements=[_ALERTS.c.alert_key])
        .returning(_ALERTS.c.id, _ALERTS.c.alert_key)
    )
    rows = [{k: v for k, v in o.row.items() if k != "id"} for o in outcomes]
    ids = {key: row_id for row_id, key in session.execute(statement, rows)}
    for outcome in outcomes:
        outcome.row["id"] = ids.get(outcome.row["alert_key"])
    return {o.row["alert_key"] for o in outcomes} - ids.keys()


def _write(session: Session, outcomes: Sequence[_Outcome]) -> None:
    """Write the changed alerts, their new evidence and their history entries."""
    changed = [
        {"row_id": o.row["id"], **{name: o.row[name] for name in _CHANGING}}
        for o in outcomes
        if not o.is_new and (o.evidence is not None or o.history)
    ]
    if changed:
        session.execute(update(_ALERTS).where(_ALERTS.c.id == bindparam("row_id")), changed)
    written = [o for o in outcomes if o.content is not None]
    renewed = [_evidence_row(o) for o in written if o.had_evidence]
    if renewed:
        where = _EVIDENCE.c.alert_id == bindparam("row_id")
        session.execute(update(_EVIDENCE).where(where), renewed)
    fresh = [_evidence_row(o) for o in written if not o.had_evidence]
    if fresh:
        session.execute(insert(_EVIDENCE).values(alert_id=bindparam("row_id")), fresh)
    entries = [
        {"alert_id": o.row["id"], "action": action.value, "actor": SYSTEM_ACTOR, "acted_at": at}
        for o in outcomes
        for action, at in o.history
    ]
    if entries:
        session.execute(insert(_ACTIONS), entries)


def _evidence_row(outcome: _Outcome) -> dict[str, Any]:
    """The evidence values an outcome writes, its alert's row id as ``row_id``."""
    return {
        "row_id": outcome.row["id"],
        "content": outcome.content,
        "matched_geojson": outcome.roads,
    }


def _prepare_evidence(outcomes: Iterable[_Outcome], road_geometry: RoadGeometry | None) -> None:
    """Turn each outcome's newest evidence into its content and roads (new roads or the
    stored ones)."""
    for outcome in outcomes:
        if outcome.evidence is None:
            continue
        outcome.content = evidence_mod.evidence_to_dict(outcome.evidence)
        if road_geometry is not None:
            outcome.roads = road_geometry(outcome.evidence.edge_ids) or outcome.roads


def _kept_contents(session: Session, outcomes: Iterable[_Outcome]) -> dict[int, dict[str, Any]]:
    """The stored evidence of the outcomes whose evidence this batch did not replace."""
    ids = [o.row["id"] for o in outcomes if o.content is None]
    if not ids:
        return {}
    query = select(_EVIDENCE.c.alert_id, _EVIDENCE.c.content).where(_EVIDENCE.c.alert_id.in_(ids))
    return {row_id: content for row_id, content in session.execute(query)}


def record_alert_events(
    session: Session,
    events: Sequence[AlertEvent],
    *,
    all_carriers: bool,
    road_geometry: RoadGeometry | None = None,
    resolve: VehicleResolver = resolve_vehicle_keys,
) -> list[StoredAlert]:
    """Open, update and close stored alerts from the lifecycle's events, in order.

    Idempotent by the lifecycle's alert id: an opened event for a stored alert updates it, an
    updated or closed event for an unknown alert creates it; older evidence never replaces newer.
    The vehicle id of the fix is resolved to the registry vehicle and carrier (tenant); an
    unregistered vehicle's alerts are visible to police only. The waybill is the one the alert
    names, else the vehicle's active waybill.

    Parameters
    ----------
    session
        Open session; the caller commits.
    events
        `transport.alerts.lifecycle.AlertEvent` values as `lifecycle.step` returns them.
    all_carriers
        Must be True: the pipeline writes for every carrier.
    road_geometry
        Optional function from matched edge ids to a WGS-84 GeoJSON geometry, kept as the
        evidence's matched roads (the stored roads stay when it gives none).
    resolve
        Finds the alerts' registry vehicles (a worker passes its `VehicleKeyCache`).

    Returns
    -------
    alerts
        The stored state of each alert touched, one per alert, in first-touched order; publish
        them to the live channel after commit.
    """
    check_scope(None, all_carriers)
    if not events:
        return []
    refs = resolve(session, {e.alert.vehicle_id for e in events})
    keys = list(dict.fromkeys(e.alert.alert_id for e in events))
    outcomes = _stored_outcomes(session, keys)
    firsts = {e.alert.alert_id: e.alert for e in reversed(events)}  # of each alert
    new = [firsts[key] for key in keys if key not in outcomes]
    waybills = _waybills_of(session, [(a, refs[a.vehicle_id]) for a in new])
    for alert in new:
        outcomes[alert.alert_id] = _new_outcome(
            alert, refs[alert.vehicle_id], waybills[alert.alert_id]
        )
    _fold_all(outcomes, events)
    taken = _insert_new(session, [outcomes[a.alert_id] for a in new])
    if taken:  # created by another writer meanwhile: update theirs
        outcomes |= _stored_outcomes(session, taken)
        _fold_all(outcomes, [e for e in events if e.alert.alert_id in taken])
    touched = [outcomes[key] for key in keys]
    _prepare_evidence(touched, road_geometry)
    _write(session, touched)
    kept = _kept_contents(session, touched)
    return [o.stored_alert(o.content or kept.get(o.row["id"], {})) for o in touched]
