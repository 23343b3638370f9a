"""Read stored alerts and record their handling by people, always within a carrier scope.

The pipeline records alerts with `alert_recording.record_alert_events`. People acknowledge, add
notes and close through the functions here; each action is kept as history.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from transport.alerts.handling import AlertAction, HandlingState, next_state
from transport.store import models
from transport.store.scope import scoped

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


__all__ = [
    "MAX_PAGE_SIZE",
    "SYSTEM_ACTOR",
    "AlertFilter",
    "AlertHistoryEntry",
    "AlertPage",
    "StoredAlert",
    "acknowledge_alert",
    "add_alert_note",
    "close_alert",
    "get_alert",
    "list_alert_history",
    "list_alerts",
]

logger = logging.getLogger(__name__)

MAX_PAGE_SIZE = 500
SYSTEM_ACTOR = "system"


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
