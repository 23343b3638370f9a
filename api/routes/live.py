"""Live API: a websocket of alerts and positions in the caller's scope, and GeoJSON snapshots.

The websocket takes the access token as ``?access_token=`` (browsers cannot set headers on a
websocket) or an ``Authorization: Bearer`` header. After ``{"type": "ready"}`` it sends one
message per alert change or position the caller may see: ``{"type": "alert"|"position",
"data": {...}}``; ``dropped`` counts messages lost because the client fell behind.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, WebSocket, WebSocketDisconnect, status
from starlette.concurrency import run_in_threadpool

from api.deps import ScopeDep, SessionDep, account_of_token, require_role, scope_of
from api.schemas.alerts import AlertPublic
from api.schemas.live import Feature, FeatureCollection, PositionPublic
from transport.accounts import Account, Role
from transport.live_channel import LiveHub, LiveMessage, MessageKind, Subscription
from transport.store import alerts, tracks

router = APIRouter(prefix="/v1/live", tags=["live"])

READERS = Depends(require_role(Role.POLICE, Role.CARRIER))
LIVE_ROLES = frozenset({Role.POLICE, Role.CARRIER})
MAX_LIVE_ALERTS = 500


def _token_of(websocket: WebSocket, access_token: str | None) -> str | None:
    """Return the token of the query, else of the Authorization header."""
    if access_token:
        return access_token
    scheme, _, credentials = websocket.headers.get("authorization", "").partition(" ")
    return credentials if scheme.lower() == "bearer" and credentials else None


def _authenticate(websocket: WebSocket, token: str) -> Account | None:
    """Return the account of a token (in a worker thread: the store is synchronous)."""
    with websocket.app.state.session_factory() as session:
        return account_of_token(session, token, secret_key=websocket.app.state.token_secret)


def _encode(message: LiveMessage, subscription: Subscription) -> dict[str, Any]:
    """Return the JSON of one live message."""
    if message.kind is MessageKind.ALERT:
        assert isinstance(message.item, alerts.StoredAlert)
        data = AlertPublic.of(message.item).model_dump(mode="json")
    else:
        assert isinstance(message.item, tracks.TrackPoint)
        data = PositionPublic.of(message.item).model_dump(mode="json")
    return {"type": message.kind.value, "data": data, "dropped": subscription.dropped}


async def _until_disconnect(websocket: WebSocket) -> None:
    """Read (and ignore) what the client sends until it disconnects."""
    while (await websocket.receive())["type"] != "websocket.disconnect":
        pass


async def _pump(websocket: WebSocket, subscription: Subscription) -> None:
    """Send the subscription's messages until the client goes away."""
    closed = asyncio.create_task(_until_disconnect(websocket))
    try:
        while True:
            next_message = asyncio.create_task(subscription.get())
            await asyncio.wait({next_message, closed}, return_when=asyncio.FIRST_COMPLETED)
            if closed.done():
                next_message.cancel()
                return
            await websocket.send_json(_encode(next_message.result(), subscription))
    finally:
        closed.cancel()
        with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect):
            await closed


@router.websocket("")
async def stream_live(
    websocket: WebSocket,
    access_token: Annotated[str | None, Query(max_length=4096)] = None,
    kinds: Annotated[str, Query(description="alert, position or both, comma-separated.")] = (
        "alert,position"
    ),
) -> None:
    """Stream alert changes and positions the caller may see (police: all; carrier: its own)."""
    token = _token_of(websocket, access_token)
    account = None if token is None else await run_in_threadpool(_authenticate, websocket, token)
    wanted = {k.strip() for k in kinds.split(",")}
    if account is None or account.role not in LIVE_ROLES or not wanted <= set(MessageKind):
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION)
        return
    scope = scope_of(account)
    hub: LiveHub = websocket.app.state.live_hub
    await websocket.accept()
    with hub.subscribe(
        carrier_id=scope.carrier_id,
        all_carriers=scope.all_carriers,
        kinds=[MessageKind(k) for k in wanted],
    ) as subscription:
        await websocket.send_json(
            {"type": "ready", "role": account.role.value, "carrier_id": scope.carrier_id}
        )
        with contextlib.suppress(WebSocketDisconnect):
            await _pump(websocket, subscription)


@router.get("/positions.geojson", dependencies=[READERS])
def read_live_positions(
    session: SessionDep,
    scope: ScopeDep,
    max_age_s: Annotated[
        int | None, Query(ge=1, le=30 * 86400, description="Only vehicles fixed this recently.")
    ] = None,
) -> FeatureCollection:
    """Return the newest position of every vehicle in scope as GeoJSON Points."""
    now = datetime.now(UTC)
    since = None if max_age_s is None else now - timedelta(seconds=max_age_s)
    points = tracks.latest_positions(session, since=since, **scope.kwargs)
    features = []
    for point in points:
        feature = PositionPublic.of(point).to_feature()
        feature.properties["age_s"] = round((now - point.fix_at).total_seconds(), 1)
        features.append(feature)
    return FeatureCollection(
        features=features, properties={"generated_at": now.isoformat(), "count": len(features)}
    )


def _alert_feature(alert: alerts.StoredAlert) -> Feature:
    """Return an alert as a Point where it began, with its evidence summary."""
    fixes = alert.evidence.get("fixes") or []
    lon, lat = (fixes[0]["lon"], fixes[0]["lat"]) if fixes else (alert.lon, alert.lat)
    geometry = None if lon is None else {"type": "Point", "coordinates": [lon, lat]}
    properties = AlertPublic.of(alert).model_dump(mode="json") | {
        "restriction_id": alert.evidence.get("restriction_id"),
        "fix_count": alert.evidence.get("fix_count"),
        "edge_ids": alert.evidence.get("edge_ids", []),
    }
    return Feature(geometry=geometry, properties=properties)


@router.get("/alerts.geojson", dependencies=[READERS])
def read_live_alerts(
    session: SessionDep,
    scope: ScopeDep,
    include_closed: Annotated[bool, Query(description="Also alerts closed by police.")] = False,
) -> FeatureCollection:
    """Return the alerts in scope with their evidence summary as GeoJSON Points (newest first).

    By default the alerts not yet closed by police; each point is where the alert began.
    """
    where = alerts.AlertFilter(exclude_closed=not include_closed)
    page = alerts.list_alerts(session, where=where, limit=MAX_LIVE_ALERTS, **scope.kwargs)
    features = [_alert_feature(alert) for alert in page.items]
    return FeatureCollection(
        features=features, properties={"count": len(features), "total": page.total}
    )
