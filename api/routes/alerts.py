"""Alerts API: list and read alerts in scope, acknowledge, note, close, export evidence.

Police see and handle every alert; a carrier sees its own and may add notes. The evidence
package (track, violating fixes, matched roads, rule, legal basis) exports as GeoJSON or CSV.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import AwareDatetime
from sqlalchemy.orm import Session

from api.deps import MAX_ID, CurrentAccount, RecordId, Scope, ScopeDep, SessionDep, require_role
from api.errors import found
from api.schemas.alerts import (
    AlertDetail,
    AlertHistoryPublic,
    AlertNoteCreate,
    AlertPage,
    AlertPublic,
    AlertUpdate,
)
from api.schemas.live import FeatureCollection
from transport.accounts import Role
from transport.alerts import export
from transport.alerts.handling import HandlingState
from transport.store import alerts, tracks

router = APIRouter(prefix="/v1/alerts", tags=["alerts"])

READERS = Depends(require_role(Role.POLICE, Role.CARRIER))
POLICE_ONLY = Depends(require_role(Role.POLICE))
#: Track kept around an alert in its evidence package.
TRACK_MARGIN = timedelta(minutes=10)


def _get(session: Session, scope: Scope, alert_id: int) -> alerts.StoredAlert:
    """Return the alert in scope or answer 404."""
    alert = alerts.get_alert(session, alert_id=alert_id, **scope.kwargs)
    return found(alert, "alert", "告警", alert_id)


@router.get("", dependencies=[READERS])
def read_alerts(
    session: SessionDep,
    scope: ScopeDep,
    state: Annotated[HandlingState | None, Query()] = None,
    is_active: Annotated[bool | None, Query(description="Condition still present.")] = None,
    rule_id: Annotated[str | None, Query(max_length=40)] = None,
    severity: Annotated[str | None, Query(max_length=16)] = None,
    vehicle_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    since: Annotated[AwareDatetime | None, Query(description="Alerts lasting until then.")] = None,
    until: Annotated[AwareDatetime | None, Query(description="Alerts begun by then.")] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=alerts.MAX_PAGE_SIZE)] = 50,
) -> AlertPage:
    """List the alerts in scope, newest first, filtered and paged."""
    where = alerts.AlertFilter(
        state=state,
        is_active=is_active,
        rule_id=rule_id,
        severity=severity,
        vehicle_id=vehicle_id,
        since=since,
        until=until,
    )
    page = alerts.list_alerts(session, where=where, offset=offset, limit=limit, **scope.kwargs)
    return AlertPage(
        items=[AlertPublic.of(a) for a in page.items],
        total=page.total,
        offset=page.offset,
        limit=page.limit,
    )


@router.get("/{alert_id}", dependencies=[READERS])
def read_alert(session: SessionDep, scope: ScopeDep, alert_id: RecordId) -> AlertDetail:
    """Return one alert with its evidence."""
    return AlertDetail.of(_get(session, scope, alert_id))


@router.get("/{alert_id}/history", dependencies=[READERS])
def read_alert_history(
    session: SessionDep, scope: ScopeDep, alert_id: RecordId
) -> list[AlertHistoryPublic]:
    """Return an alert's history: opened, ended, acknowledged, notes, closed, and the steps of
    the driver's reminder (queued, sent, acknowledged by the terminal, undeliverable); who, when.
    """
    history = alerts.list_alert_history(session, alert_id=alert_id, **scope.kwargs)
    return [AlertHistoryPublic.of(e) for e in found(history, "alert", "告警", alert_id)]


@router.post("/{alert_id}/acknowledge", dependencies=[POLICE_ONLY])
def acknowledge_alert(
    session: SessionDep,
    scope: ScopeDep,
    account: CurrentAccount,
    alert_id: RecordId,
    body: AlertUpdate,
) -> AlertPublic:
    """Acknowledge a new alert (409 when it is acknowledged or closed already)."""
    alert = alerts.acknowledge_alert(
        session, alert_id=alert_id, actor=account.label, note=body.note, **scope.kwargs
    )
    return AlertPublic.of(found(alert, "alert", "告警", alert_id))


@router.post("/{alert_id}/notes", status_code=201, dependencies=[READERS])
def create_alert_note(
    session: SessionDep,
    scope: ScopeDep,
    account: CurrentAccount,
    alert_id: RecordId,
    body: AlertNoteCreate,
) -> AlertPublic:
    """Add a note to an alert (police, or the carrier of the alert's vehicle)."""
    alert = alerts.add_alert_note(
        session, alert_id=alert_id, actor=account.label, note=body.note, **scope.kwargs
    )
    return AlertPublic.of(found(alert, "alert", "告警", alert_id))


@router.post("/{alert_id}/close", dependencies=[POLICE_ONLY])
def close_alert(
    session: SessionDep,
    scope: ScopeDep,
    account: CurrentAccount,
    alert_id: RecordId,
    body: AlertUpdate,
) -> AlertPublic:
    """Close the handling of an alert (409 when closed already)."""
    alert = alerts.close_alert(
        session, alert_id=alert_id, actor=account.label, note=body.note, **scope.kwargs
    )
    return AlertPublic.of(found(alert, "alert", "告警", alert_id))


def _package_track(
    session: Session, scope: Scope, alert: alerts.StoredAlert
) -> list[tracks.TrackPoint]:
    """Return the vehicle's track from before the alert began to after it ended."""
    return tracks.read_track_of_key(
        session,
        vehicle_key=alert.vehicle_key,
        since=alert.started_at - TRACK_MARGIN,
        until=(alert.ended_at or alert.last_at) + TRACK_MARGIN,
        **scope.kwargs,
    )


@router.get("/{alert_id}/evidence.geojson", dependencies=[READERS])
def read_alert_evidence(
    session: SessionDep, scope: ScopeDep, alert_id: RecordId
) -> FeatureCollection:
    """Return an alert with its evidence as GeoJSON (alert place, fixes, matched roads)."""
    alert = _get(session, scope, alert_id)
    return FeatureCollection.model_validate(export.package_geojson(alert, []))


@router.get(
    "/{alert_id}/export.geojson",
    dependencies=[POLICE_ONLY],
    response_class=JSONResponse,
    responses={200: {"content": {"application/geo+json": {}}}},
)
def export_alert_geojson(session: SessionDep, scope: ScopeDep, alert_id: RecordId) -> JSONResponse:
    """Export the evidence package as GeoJSON: track, violating fixes, matched roads, rule."""
    alert = _get(session, scope, alert_id)
    package = export.package_geojson(alert, _package_track(session, scope, alert))
    return JSONResponse(
        package,
        media_type="application/geo+json",
        headers={"Content-Disposition": f'attachment; filename="alert-{alert.id}.geojson"'},
    )


@router.get("/{alert_id}/export.csv", dependencies=[POLICE_ONLY], response_class=PlainTextResponse)
def export_alert_csv(session: SessionDep, scope: ScopeDep, alert_id: RecordId) -> PlainTextResponse:
    """Export the evidence package as CSV: one row per track point, fix and matched road."""
    alert = _get(session, scope, alert_id)
    text = export.package_csv(alert, _package_track(session, scope, alert))
    return PlainTextResponse(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="alert-{alert.id}.csv"'},
    )
