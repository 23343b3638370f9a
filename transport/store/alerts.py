"""Store alerts from the pipeline and their handling by people, always within a carrier scope.

The pipeline calls `record_alert_events` with the lifecycle's events (opened, updated, closed);
it is idempotent by the lifecycle's alert id, so a batch delivered twice changes nothing. People
acknowledge, add notes and close through the other functions; each action is kept as history.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from transport.alerts import evidence as evidence_mod
from transport.alerts.handling import AlertAction, HandlingState, next_state
from transport.alerts.lifecycle import AlertChange, AlertEvent
from transport.store import models
from transport.store.scope import check_scope, scoped
from transport.store.vehicle_keys import VehicleRef, resolve_vehicle_keys
from transport.waybills import ACTIVE_STATES

if TYPE_CHECKING:
    from collections.abc import Mapping

    from sqlalchemy.orm import Session

    from transport.alerts.lifecycle import Alert

__all__ = [
    "MAX_PAGE_SIZE",
    "SYSTEM_ACTOR",
    "AlertFilter",
    "AlertHistoryEntry",
    "AlertPage",
    "RoadGeometry",
    "StoredAlert",
    "acknowledge_alert",
    "add_alert_note",
    "close_alert",
    "get_alert",
    "list_alert_history",
    "list_alerts",
    "record_alert_events",
]

logger = logging.getLogger(__name__)

MAX_PAGE_SIZE = 500
SYSTEM_ACTOR = "system"

#: Turns matched edge ids into a GeoJSON geometry in WGS-84 (the pipeline holds the network).
RoadGeometry = Callable[[Sequence[int]], dict[str, Any] | None]


@dataclass(frozen=True)
class StoredAlert:
    """An alert as stored: condition, vehicle and carrier, handling state, evidence."""

    id: int
    alert_key: str
    vehicle_key: str
    vehicle_id: int | None
    carrier_id: int | None
    waybill_id: int | None
    rule_id: str
    condition_key: str
    severity: str
    is_active: bool
    started_at: datetime
    last_at: datetime
    ended_at: datetime | None
    state: HandlingState
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    closed_by: str | None
    closed_at: datetime | None
    lon: float | None
    lat: float | None
    evidence: dict[str, Any]
    matched_geojson: dict[str, Any] | None


@dataclass(frozen=True)
class AlertHistoryEntry:
    """One entry of an alert's history."""

    action: AlertAction
    actor: str
    note: str | None
    acted_at: datetime


@dataclass(frozen=True)
class AlertPage:
    """One page of alerts, newest first, and how many match in all."""

    items: tuple[StoredAlert, ...]
    total: int
    offset: int
    limit: int


@dataclass(frozen=True)
class AlertFilter:
    """Which alerts to list; every field left None matches all."""

    state: HandlingState | None = None
    is_active: bool | None = None
    rule_id: str | None = None
    severity: str | None = None
    vehicle_id: int | None = None
    vehicle_key: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    exclude_closed: bool = False


def _to_alert(row: models.AlertRow) -> StoredAlert:
    """Return the stored alert of a row and its evidence."""
    evidence = row.evidence
    return StoredAlert(
        id=row.id,
        alert_key=row.alert_key,
        vehicle_key=row.vehicle_key,
        vehicle_id=row.vehicle_id,
        carrier_id=row.carrier_id,
        waybill_id=row.waybill_id,
        rule_id=row.rule_id,
        condition_key=row.condition_key,
        severity=row.severity,
        is_active=row.is_active,
        started_at=row.started_at,
        last_at=row.last_at,
        ended_at=row.ended_at,
        state=HandlingState(row.state),
        acknowledged_by=row.acknowledged_by,
        acknowledged_at=row.acknowledged_at,
        closed_by=row.closed_by,
        closed_at=row.closed_at,
        lon=row.lon,
        lat=row.lat,
        evidence={} if evidence is None else evidence.content,
        matched_geojson=None if evidence is None else evidence.matched_geojson,
    )


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


def _new_row(alert: Alert, ref: VehicleRef, waybill_id: int | None) -> models.AlertRow:
    """Return a new alert row for a lifecycle alert (not yet added)."""
    return models.AlertRow(
        alert_key=alert.alert_id,
        vehicle_key=alert.vehicle_id,
        vehicle_id=ref.vehicle_id,
        carrier_id=ref.carrier_id,
        waybill_id=waybill_id,
        rule_id=alert.rule_id,
        condition_key=alert.key[:200],
        severity=alert.severity,
        is_active=True,
        started_at=alert.started_at,
        last_at=alert.last_at,
        state=HandlingState.NEW.value,
    )


def _apply(
    row: models.AlertRow, event: AlertEvent, road_geometry: RoadGeometry | None
) -> list[models.AlertActionRow]:
    """Bring a row up to a lifecycle event; return the history entries it adds."""
    alert = event.alert
    entries = []
    if alert.last_at >= row.last_at or row.evidence is None:
        row.last_at = max(row.last_at, alert.last_at)
        row.severity = alert.severity
        if alert.evidence.fixes:
            row.lon, row.lat = alert.evidence.fixes[-1].lon, alert.evidence.fixes[-1].lat
        content = evidence_mod.evidence_to_dict(alert.evidence)
        matched = None if road_geometry is None else road_geometry(alert.evidence.edge_ids)
        if row.evidence is None:
            row.evidence = models.AlertEvidenceRow(content=content, matched_geojson=matched)
        else:
            row.evidence.content = content
            row.evidence.matched_geojson = matched or row.evidence.matched_geojson
    if event.change is AlertChange.CLOSED and row.is_active:
        row.is_active = False
        row.ended_at = alert.ended_at or alert.last_at
        entries.append(_history(AlertAction.ENDED, SYSTEM_ACTOR, None, row.ended_at))
    return entries


def _history(
    action: AlertAction, actor: str, note: str | None, at: datetime
) -> models.AlertActionRow:
    """Return one history row (its alert is set by the relationship's owner)."""
    return models.AlertActionRow(action=action.value, actor=actor, note=note, acted_at=at)


def _store_together(
    session: Session,
    events: Sequence[AlertEvent],
    rows: dict[str, models.AlertRow],
    refs: Mapping[str, VehicleRef],
    waybills: Mapping[str, int | None],
    road_geometry: RoadGeometry | None,
) -> None:
    """Bring every row up to its events in memory, then write them in two flushes.

    `rows` holds the stored rows by alert key and receives the new ones; `waybills` gives the
    waybill of each alert (`_waybills_of`).
    """
    history: list[tuple[models.AlertRow, models.AlertActionRow]] = []
    with session.no_autoflush:
        for event in events:
            key = event.alert.alert_id
            row = rows.get(key)
            if row is None:
                alert = event.alert
                row = rows[key] = _new_row(alert, refs[alert.vehicle_id], waybills[key])
                opened = _history(AlertAction.OPENED, SYSTEM_ACTOR, None, row.started_at)
                history.append((row, opened))
                session.add(row)
            history.extend((row, entry) for entry in _apply(row, event, road_geometry))
    session.flush()
    for row, entry in history:
        entry.alert_id = row.id
    session.add_all(entry for _, entry in history)
    session.flush()


def _store_one(
    session: Session,
    event: AlertEvent,
    row: models.AlertRow | None,
    ref: VehicleRef,
    waybill_id: int | None,
    road_geometry: RoadGeometry | None,
) -> models.AlertRow:
    """Create or update the row of one event, with its history, in a savepoint."""
    opened = row is None
    if row is None:
        row = _new_row(event.alert, ref, waybill_id)
    entries = _apply(row, event, road_geometry)
    with session.begin_nested():
        session.add(row)
        session.flush()
        if opened:
            entries.insert(0, _history(AlertAction.OPENED, SYSTEM_ACTOR, None, row.started_at))
        for entry in entries:
            entry.alert_id = row.id
            session.add(entry)
        session.flush()
    return row


def record_alert_events(
    session: Session,
    events: Sequence[AlertEvent],
    *,
    all_carriers: bool,
    road_geometry: RoadGeometry | None = None,
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
        Open session; the caller commits (together with the fixes of the same batch).
    events
        `transport.alerts.lifecycle.AlertEvent` values as `lifecycle.step` returns them.
    all_carriers
        Must be True: the pipeline writes for every carrier.
    road_geometry
        Optional function from matched edge ids to a WGS-84 GeoJSON geometry, kept as the
        evidence's matched roads.

    Returns
    -------
    alerts
        The stored state of each alert touched, one per alert, in first-touched order; publish
        them to the live channel after commit.
    """
    check_scope(None, all_carriers)
    if not events:
        return []
    refs = resolve_vehicle_keys(session, {e.alert.vehicle_id for e in events})
    keys = {e.alert.alert_id for e in events}
    rows = {
        row.alert_key: row
        for row in session.scalars(
            select(models.AlertRow).where(models.AlertRow.alert_key.in_(keys))
        )
    }
    firsts = {e.alert.alert_id: e.alert for e in reversed(events)}.values()  # of each alert
    waybills = _waybills_of(
        session, [(a, refs[a.vehicle_id]) for a in firsts if a.alert_id not in rows]
    )  # only new rows take a waybill
    try:
        with session.begin_nested():
            _store_together(session, events, rows, refs, waybills, road_geometry)
    except IntegrityError:  # another writer created one of them meanwhile: one by one
        rows = {
            row.alert_key: row
            for row in session.scalars(
                select(models.AlertRow).where(models.AlertRow.alert_key.in_(keys))
            )
        }
        for event in events:
            key, ref = event.alert.alert_id, refs[event.alert.vehicle_id]
            try:
                rows[key] = _store_one(
                    session, event, rows.get(key), ref, waybills.get(key), road_geometry
                )
            except IntegrityError:
                existing = session.scalars(
                    select(models.AlertRow).where(models.AlertRow.alert_key == key)
                ).one()
                rows[key] = _store_one(
                    session, event, existing, ref, waybills.get(key), road_geometry
                )
    return [_to_alert(rows[key]) for key in dict.fromkeys(e.alert.alert_id for e in events)]


def _scoped_alerts(*, carrier_id: int | None, all_carriers: bool) -> Any:
    """Return the SELECT of alerts in scope."""
    return scoped(
        select(models.AlertRow),
        models.AlertRow,
        carrier_id=carrier_id,
        all_carriers=all_carriers,
    )


def get_alert(
    session: Session, *, alert_id: int, carrier_id: int | None = None, all_carriers: bool = False
) -> StoredAlert | None:
    """Return one alert in scope, None when unknown or another carrier's."""
    statement = _scoped_alerts(carrier_id=carrier_id, all_carriers=all_carriers)
    row = session.scalars(statement.where(models.AlertRow.id == alert_id)).one_or_none()
    return None if row is None else _to_alert(row)


def _filtered(statement: Any, where: AlertFilter) -> Any:
    """Apply a filter to a SELECT of alerts."""
    table = models.AlertRow
    conditions: list[tuple[Any, Callable[[Any], Any]]] = [
        (where.state, lambda v: table.state == HandlingState(v).value),
        (where.is_active, lambda v: table.is_active == v),
        (where.rule_id, lambda v: table.rule_id == v),
        (where.severity, lambda v: table.severity == v),
        (where.vehicle_id, lambda v: table.vehicle_id == v),
        (where.vehicle_key, lambda v: table.vehicle_key == v),
        (where.since, lambda v: table.last_at >= v),
        (where.until, lambda v: table.started_at <= v),
    ]
    for value, condition in conditions:
        if value is not None:
            statement = statement.where(condition(value))
    if where.exclude_closed:
        statement = statement.where(table.state != HandlingState.CLOSED.value)
    return statement


def list_alerts(
    session: Session,
    *,
    carrier_id: int | None = None,
    all_carriers: bool = False,
    where: AlertFilter | None = None,
    offset: int = 0,
    limit: int = 50,
) -> AlertPage:
    """Return one page of the alerts in scope matching a filter, newest start first.

    ``since``/``until`` select alerts whose span overlaps the period.
    """
    if not 0 < limit <= MAX_PAGE_SIZE or offset < 0:
        msg = f"`limit` must be 1..{MAX_PAGE_SIZE} and `offset` >= 0"
        raise ValueError(msg)
    statement = _filtered(
        _scoped_alerts(carrier_id=carrier_id, all_carriers=all_carriers), where or AlertFilter()
    )
    total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    page = statement.order_by(models.AlertRow.started_at.desc(), models.AlertRow.id.desc())
    rows = session.scalars(page.offset(offset).limit(limit))
    return AlertPage(tuple(_to_alert(row) for row in rows), total, offset, limit)


def _handle(
    session: Session,
    *,
    alert_id: int,
    action: AlertAction,
    actor: str,
    note: str | None,
    carrier_id: int | None,
    all_carriers: bool,
) -> StoredAlert | None:
    """Apply one person's action to an alert in scope (row locked); None when not found.

    Raises
    ------
    TransitionError
        The action is not allowed in the alert's handling state.
    """
    statement = _scoped_alerts(carrier_id=carrier_id, all_carriers=all_carriers)
    row = session.scalars(
        statement.where(models.AlertRow.id == alert_id).with_for_update()
    ).one_or_none()
    if row is None:
        return None
    now = datetime.now(UTC)
    row.state = next_state(HandlingState(row.state), action).value
    if action is AlertAction.ACKNOWLEDGED:
        row.acknowledged_by, row.acknowledged_at = actor, now
    elif action is AlertAction.CLOSED:
        row.closed_by, row.closed_at = actor, now
    with session.begin_nested():
        session.add(models.AlertActionRow(
            alert_id=row.id, action=action.value, actor=actor, note=note, acted_at=now
        ))  # fmt: skip
    return _to_alert(row)


def acknowledge_alert(
    session: Session,
    *,
    alert_id: int,
    actor: str,
    note: str | None = None,
    carrier_id: int | None = None,
    all_carriers: bool = False,
) -> StoredAlert | None:
    """Acknowledge a new alert (who, now); None when not in scope; 409-style refusal if not new."""
    return _handle(
        session, alert_id=alert_id, action=AlertAction.ACKNOWLEDGED, actor=actor, note=note,
        carrier_id=carrier_id, all_carriers=all_carriers,
    )  # fmt: skip


def add_alert_note(
    session: Session,
    *,
    alert_id: int,
    actor: str,
    note: str,
    carrier_id: int | None = None,
    all_carriers: bool = False,
) -> StoredAlert | None:
    """Add a note to an alert in any state; None when not in scope."""
    return _handle(
        session, alert_id=alert_id, action=AlertAction.NOTE, actor=actor, note=note,
        carrier_id=carrier_id, all_carriers=all_carriers,
    )  # fmt: skip


def close_alert(
    session: Session,
    *,
    alert_id: int,
    actor: str,
    note: str | None = None,
    carrier_id: int | None = None,
    all_carriers: bool = False,
) -> StoredAlert | None:
    """Close the handling of an alert (a closed alert cannot be closed again)."""
    return _handle(
        session, alert_id=alert_id, action=AlertAction.CLOSED, actor=actor, note=note,
        carrier_id=carrier_id, all_carriers=all_carriers,
    )  # fmt: skip


def list_alert_history(
    session: Session, *, alert_id: int, carrier_id: int | None = None, all_carriers: bool = False
) -> list[AlertHistoryEntry] | None:
    """Return an alert's history, oldest first; None when the alert is not in scope."""
    if (
        get_alert(session, alert_id=alert_id, carrier_id=carrier_id, all_carriers=all_carriers)
        is None
    ):
        return None
    statement = (
        select(models.AlertActionRow)
        .where(models.AlertActionRow.alert_id == alert_id)
        .order_by(models.AlertActionRow.acted_at, models.AlertActionRow.id)
    )
    return [
        AlertHistoryEntry(AlertAction(r.action), r.actor, r.note, r.acted_at)
        for r in session.scalars(statement)
    ]
