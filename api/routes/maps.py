"""Map pages: the supervisor's live map, track playback, alert evidence and the planner's layers.

Every page is a Folium map rendered offline: its scripts and styles come from
``/maps/static/{name}`` (the files of the ``folium-offline`` package), its base layer is the road
network itself, so nothing is fetched from the internet.

Authentication: a page is opened from a plain link, and a link cannot carry an
``Authorization`` header, so the pages (and the live page's data) also take the access token as
``?access_token=`` (the header wins when both are given, as on the websocket). The live page
polls ``/maps/live/positions.geojson?access_token=...`` with the same token. A token in an
address lands in browser history and access logs, so the pages are answered with
``Cache-Control: no-store`` and ``Referrer-Policy: no-referrer`` (their links and requests do not
pass the address on), tokens expire (``HAZMAT_ACCESS_TOKEN_TTL_S``), and a
``Content-Security-Policy`` keeps the page on this server.

The live page polls its own feed rather than ``/v1/live/positions.geojson``: the map draws the
feed of `maps.live.positions_geojson` (plate, state, trail), which the API feed does not carry;
both read the same store with the same scope.

Roles: police see every vehicle, a carrier its own (another carrier's vehicle or alert is 404);
the planner page is for planners and police.
"""

from __future__ import annotations

import datetime as dt
import logging
import urllib.parse
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AwareDatetime

from api.deps import (
    NetworkDep,
    RecordId,
    Scope,
    SessionDep,
    SettingsDep,
    account_of_token,
    scope_of,
)
from api.errors import found
from maps import assets, evidence, live, planner, playback, stored
from transport import registry
from transport.accounts import Account, Role
from transport.store import alerts, registries, restriction_layers, tracks, waybills

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    import folium
    from sqlalchemy.orm import Session

    from geodata.restrictions import Restriction

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/maps", tags=["maps"])

STATIC_URL = "/maps/static/"
#: Vehicles on the live map: those fixed within this period.
LIVE_LOOKBACK = dt.timedelta(hours=24)
#: Alerts drawn on the live map at most (newest first), as on the live alerts feed.
MAX_LIVE_ALERTS = 500
#: Default playback period (ending now) and the longest one.
DEFAULT_PLAYBACK = dt.timedelta(hours=24)
MAX_PLAYBACK = dt.timedelta(days=31)
#: Track drawn for context around an alert's evidence.
EVIDENCE_TRACK_MARGIN = dt.timedelta(minutes=10)
# Fonts are not restricted to this server: Leaflet.TimeDimension's stylesheet gives an inlined
# font with a CDN fallback, and under a narrower font-src Chromium reaches for the fallback
# (the inlined font is then used; no request leaves, as the browser tests check).
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self' 'unsafe-inline'; "
        "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src * data:; "
        "connect-src 'self'; "
        "frame-ancestors 'self'"
    ),
}
_UNAUTHENTICATED = (
    "not authenticated: give a valid bearer token or ?access_token= / 未认证：请提供有效令牌"
)
_BEARER = HTTPBearer(auto_error=False, description="Access token from `POST /v1/auth/token`.")

AccessToken = Annotated[
    str | None,
    Query(
        max_length=4096,
        description="Access token, for pages opened from a link (a header cannot be set there).",
    ),
]


def _page_token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)],
    access_token: AccessToken = None,
) -> str | None:
    """Return the caller's token: the bearer header's, else the ``access_token`` query's."""
    return credentials.credentials if credentials is not None else access_token or None


PageToken = Annotated[str | None, Depends(_page_token)]


def get_page_account(request: Request, session: SessionDep, token: PageToken) -> Account:
    """Return the caller's account from a bearer header or ``?access_token=`` (else 401)."""
    account = (
        None
        if token is None
        else account_of_token(session, token, secret_key=request.app.state.token_secret)
    )
    if account is None:
        raise HTTPException(401, detail=_UNAUTHENTICATED, headers={"WWW-Authenticate": "Bearer"})
    return account


PageAccount = Annotated[Account, Depends(get_page_account)]


def require_page_role(*roles: Role) -> Callable[[Account], None]:
    """Return a dependency refusing (403) page callers whose role is not one of `roles`."""
    allowed = frozenset(roles)

    def _check_page_role(account: PageAccount) -> None:
        if account.role not in allowed:
            names = ", ".join(sorted(allowed))
            raise HTTPException(
                403, detail=f"role {account.role} may not do this (allowed: {names}) / 无权限"
            )

    return _check_page_role


def get_page_scope(account: PageAccount) -> Scope:
    """Return the page caller's scope (`api.deps.scope_of`)."""
    return scope_of(account)


PageScope = Annotated[Scope, Depends(get_page_scope)]
SUPERVISORS = Depends(require_page_role(Role.POLICE, Role.CARRIER))
PLANNERS = Depends(require_page_role(Role.PLANNER, Role.POLICE))


def _page(m: folium.Map) -> HTMLResponse:
    """Answer a map as an HTML page whose assets this router serves."""
    return HTMLResponse(assets.render_offline(m, static_url=STATIC_URL), headers=PAGE_HEADERS)


def _layer_restrictions(session: Session) -> list[Restriction]:
    """Return the restrictions of every layer in force (not retired), current versions."""
    contents = []
    for layer in restriction_layers.list_layers(session):
        read = restriction_layers.get_layer_version(session, layer_id=layer.id)
        content = None if read is None else read[1].content
        if content is not None:
            contents.append(content)
    return stored.restrictions_of(contents)


def _goods(waybill: Any) -> str:
    """The goods of a waybill as the popups show them: UN number and name per line."""
    return "; ".join(f"UN{line.un_number} {line.name or ''}".strip() for line in waybill.lines)


def _vehicle_infos(
    session: Session, scope: Scope, refs: Iterable[tuple[str, int | None]]
) -> dict[str, live.VehicleInfo]:
    """Plates, active waybills and goods of vehicles named by (key, registry id)."""
    infos: dict[str, live.VehicleInfo] = {}
    for key, vehicle_id in refs:
        if key in infos:
            continue
        record = (
            None
            if vehicle_id is None
            else registries.get_record(
                session, registry.Vehicle, record_id=vehicle_id, **scope.kwargs
            )
        )
        if record is None or record.id is None:
            infos[key] = live.VehicleInfo(key, key)
            continue
        waybill = waybills.find_active_waybill(session, vehicle_id=record.id, **scope.kwargs)
        infos[key] = live.VehicleInfo(
            vehicle_id=key,
            plate=record.plate,
            waybill_id=None if waybill is None else waybill.number,
            goods=None if waybill is None else _goods(waybill),
        )
    return infos


def _live_scene(
    session: Session, scope: Scope, at: dt.datetime, params: live.LiveParams
) -> tuple[list[live.VehiclePosition], list[alerts.StoredAlert], dict[str, live.VehicleInfo]]:
    """The vehicles in scope at `at` with trails and states, their alerts, their infos."""
    latest = tracks.latest_positions(session, since=at - LIVE_LOOKBACK, **scope.kwargs)
    trail = dt.timedelta(seconds=params.trail_s)
    points = [
        point
        for newest in latest
        for point in tracks.read_track_of_key(
            session,
            vehicle_key=newest.vehicle_key,
            since=newest.fix_at - trail,
            until=newest.fix_at,
            **scope.kwargs,
        )
    ]
    where = alerts.AlertFilter(exclude_closed=True)
    shown = alerts.list_alerts(session, where=where, limit=MAX_LIVE_ALERTS, **scope.kwargs).items
    refs = [(p.vehicle_key, p.vehicle_id) for p in latest]
    refs += [(a.vehicle_key, a.vehicle_id) for a in shown]
    infos = _vehicle_infos(session, scope, refs)
    in_alert = {a.vehicle_key for a in shown if a.is_active}
    positions = (
        live.vehicle_positions(
            stored.fixes_frame(points), at=at, vehicles=infos, alert_vehicle_ids=in_alert,
            params=params,
        )
        if points
        else []
    )  # fmt: skip
    return positions, list(shown), infos


def _refresh_url(request: Request, token: str | None) -> str:
    """The live feed's address for the page to poll, carrying the page's token."""
    path = request.app.url_path_for("read_live_map_positions")
    query = "" if token is None else "?" + urllib.parse.urlencode({"access_token": token})
    return f"{path}{query}"


@router.get("/static/{name}", response_class=Response)
def read_map_asset(
    name: Annotated[str, Path(max_length=200, description="Local name of an asset.")],
) -> Response:
    """Return a script or stylesheet of the map pages (Leaflet and plugins); 404 if unknown."""
    try:
        content, media_type = assets.read_asset(name)
    except assets.OfflineAssetError:
        raise HTTPException(404, detail=f"no map asset {name!r} / 无此文件") from None
    return Response(
        content, media_type=media_type, headers={"Cache-Control": "public, max-age=86400"}
    )


@router.get("/live", response_class=HTMLResponse, dependencies=[SUPERVISORS])
def read_live_map(
    request: Request,
    session: SessionDep,
    scope: PageScope,
    token: PageToken,
    network: NetworkDep,
) -> HTMLResponse:
    """The supervisor's live map: police every vehicle, a carrier its own; refreshes itself.

    Vehicles by state with heading and trail, alerts not yet closed by police, restriction
    layers in force (solid when in force now). The page polls ``/maps/live/positions.geojson``
    with the caller's token.
    """
    params = live.LiveParams()
    now = dt.datetime.now(dt.UTC)
    positions, shown, infos = _live_scene(session, scope, now, params)
    m = live.live_map(
        network,
        positions=positions,
        restrictions=_layer_restrictions(session),
        alerts=[stored.alert_of(a) for a in shown],
        vehicles=infos,
        at=now,
        refresh_url=_refresh_url(request, token),
        params=params,
    )
    return _page(m)


@router.get(
    "/live/positions.geojson",
    response_class=JSONResponse,
    responses={200: {"content": {"application/geo+json": {}}}},
    dependencies=[SUPERVISORS],
)
def read_live_map_positions(session: SessionDep, scope: PageScope) -> JSONResponse:
    """The live map's vehicles as it draws them: plate, state, heading, trail (GeoJSON)."""
    params = live.LiveParams()
    now = dt.datetime.now(dt.UTC)
    positions, _, _ = _live_scene(session, scope, now, params)
    body = live.positions_geojson(positions) | {
        "properties": {"generated_at": now.isoformat(), "count": len(positions)}
    }
    return JSONResponse(
        body, media_type="application/geo+json", headers={"Cache-Control": "no-store"}
    )


def _period(
    since: dt.datetime | None, until: dt.datetime | None
) -> tuple[dt.datetime, dt.datetime]:
    """The playback period: defaults end now and last `DEFAULT_PLAYBACK`; at most 31 days."""
    until = until or dt.datetime.now(dt.UTC)
    since = since or until - DEFAULT_PLAYBACK
    if not since <= until <= since + MAX_PLAYBACK:
        raise HTTPException(
            422, detail="`until` must follow `since` by at most 31 days / 时间段须在31天以内"
        )
    return since, until


@router.get(
    "/vehicles/{vehicle_id}/playback", response_class=HTMLResponse, dependencies=[SUPERVISORS]
)
def read_playback_map(
    network: NetworkDep,
    session: SessionDep,
    settings: SettingsDep,
    scope: PageScope,
    vehicle_id: RecordId,
    since: Annotated[AwareDatetime | None, Query(description="Start (default: 24 h ago).")] = None,
    until: Annotated[AwareDatetime | None, Query(description="End (default: now).")] = None,
) -> HTMLResponse:
    """Track playback of one vehicle over a period: speed-coloured path, stops, alerts.

    404 for a vehicle out of the caller's scope, or with no position in the period.
    """
    since, until = _period(since, until)
    points = tracks.read_track(
        session, vehicle_id=vehicle_id, since=since, until=until, **scope.kwargs
    )
    points = found(points, "vehicle", "车辆", vehicle_id)
    if not points:
        raise HTTPException(
            404, detail=f"vehicle {vehicle_id} has no position in the period / 该时段无轨迹"
        )
    where = alerts.AlertFilter(vehicle_id=vehicle_id, since=since, until=until)
    shown = alerts.list_alerts(session, where=where, limit=MAX_LIVE_ALERTS, **scope.kwargs).items
    key = points[-1].vehicle_key
    info = _vehicle_infos(session, scope, [(key, vehicle_id)])[key]
    m = playback.playback_map(
        network,
        stored.fixes_frame(points),
        vehicle=info,
        alerts=[stored.alert_of(a) for a in shown],
        time_zone=settings.local_timezone,
    )
    return _page(m)


@router.get("/alerts/{alert_id}/evidence", response_class=HTMLResponse, dependencies=[SUPERVISORS])
def read_evidence_map(
    network: NetworkDep,
    session: SessionDep,
    settings: SettingsDep,
    scope: PageScope,
    alert_id: RecordId,
) -> HTMLResponse:
    """An alert's evidence: its fixes, the matched path, the restriction, when it began."""
    alert = found(
        alerts.get_alert(session, alert_id=alert_id, **scope.kwargs), "alert", "告警", alert_id
    )
    track = tracks.read_track_of_key(
        session,
        vehicle_key=alert.vehicle_key,
        since=alert.started_at - EVIDENCE_TRACK_MARGIN,
        until=(alert.ended_at or alert.last_at) + EVIDENCE_TRACK_MARGIN,
        **scope.kwargs,
    )
    info = _vehicle_infos(session, scope, [(alert.vehicle_key, alert.vehicle_id)])
    m = evidence.evidence_map(
        network,
        stored.alert_of(alert),
        restrictions=_layer_restrictions(session),
        vehicle=info[alert.vehicle_key],
        track=stored.fixes_frame(track) if track else None,
        time_zone=settings.local_timezone,
    )
    return _page(m)


@router.get("/planner", response_class=HTMLResponse, dependencies=[PLANNERS])
def read_planner_map(
    network: NetworkDep,
    session: SessionDep,
    settings: SettingsDep,
    at: Annotated[AwareDatetime | None, Query(description="Moment shown (default: now).")] = None,
) -> HTMLResponse:
    """The restriction layers in force (not retired), styled as in force at `at` or not."""
    m = planner.planner_map(
        network,
        _layer_restrictions(session),
        at=at or dt.datetime.now(dt.UTC),
        time_zone=settings.local_timezone,
    )
    return _page(m)
