"""The supervisor's live map: vehicles by state, recent trails, restrictions in force, alerts.

Vehicles are drawn in the browser from a GeoJSON FeatureCollection (`positions_geojson`, the
body of ``/v1/live/positions.geojson``): clustered, coloured by state, turned to their heading,
with their trail of the last minutes. A page written to a file shows the snapshot it was made
with; a page given a `refresh_url` polls that address and redraws the vehicles, so the API serves
the same page for live use. Restrictions are drawn by kind, solid when in force at the map's
moment; alerts are markers with zh/en popups.
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import folium
import numpy as np
import pandas as pd
from branca.element import MacroElement
from folium import plugins
from jinja2 import Template

from maps import base, layers, styles
from maps.base import esc
from maps.styles import VehicleState

if TYPE_CHECKING:
    from pathlib import Path

    from geodata.network import RoadNetwork
    from geodata.restrictions import Restriction
    from transport.alerts.lifecycle import Alert

__all__ = [
    "LiveParams",
    "VehicleInfo",
    "VehiclePosition",
    "alert_popup_html",
    "alerts_at",
    "live_map",
    "positions_geojson",
    "vehicle_positions",
    "vehicle_state",
    "write_live_map",
]

logger = logging.getLogger(__name__)

DISPLAY_TIME_ZONE = "Asia/Shanghai"


@dataclass(frozen=True)
class LiveParams:
    """When a vehicle counts as offline or moving, how much trail and alert history to show."""

    offline_after_s: float = 300.0
    moving_above_kmh: float = 3.0
    trail_s: float = 600.0
    alert_lookback_s: float = 4 * 3600.0
    refresh_s: float = 15.0


@dataclass(frozen=True)
class VehicleInfo:
    """What the popups tell about a vehicle besides its fixes."""

    vehicle_id: str
    plate: str
    waybill_id: str | None = None
    goods: str | None = None
    carrier: str | None = None


@dataclass(frozen=True)
class VehiclePosition:
    """A vehicle at the map's moment: its latest fix, state and recent trail (lon, lat)."""

    vehicle_id: str
    plate: str
    lon: float
    lat: float
    fix_at: dt.datetime
    speed_kmh: float
    heading_deg: float
    state: VehicleState
    waybill_id: str | None = None
    goods: str | None = None
    trail: tuple[tuple[float, float], ...] = ()


def vehicle_state(
    fix_age_s: float, speed_kmh: float, *, is_in_alert: bool, params: LiveParams | None = None
) -> VehicleState:
    """Return a vehicle's state: in alert first, then offline, moving or stopped.

    Examples
    --------
    >>> vehicle_state(30.0, 42.0, is_in_alert=False).value
    'moving'
    >>> vehicle_state(900.0, 42.0, is_in_alert=False).value
    'offline'
    """
    params = params or LiveParams()
    if is_in_alert:
        return VehicleState.ALERT
    if fix_age_s > params.offline_after_s:
        return VehicleState.OFFLINE
    if speed_kmh > params.moving_above_kmh:
        return VehicleState.MOVING
    return VehicleState.STOPPED


def vehicle_positions(
    fixes: pd.DataFrame,
    *,
    at: dt.datetime,
    vehicles: Mapping[str, VehicleInfo] | None = None,
    alert_vehicle_ids: Collection[str] = (),
    params: LiveParams | None = None,
) -> list[VehiclePosition]:
    """Return every vehicle's position at `at` from a fleet's fixes.

    Parameters
    ----------
    fixes
        Columns ``vehicle_id``, ``lon``, ``lat``, ``fix_at`` (aware), ``speed_kmh`` and
        optionally ``heading_deg``; fixes after `at` are ignored.
    at
        The map's moment (aware).
    vehicles
        Plates, waybills and goods by vehicle id; unknown vehicles show their id.
    alert_vehicle_ids
        Vehicles with an alert open at `at`.
    """
    params = params or LiveParams()
    frame = fixes.assign(fix_at=pd.to_datetime(fixes["fix_at"], utc=True))
    frame = frame[frame["fix_at"] <= pd.Timestamp(at)].sort_values(["vehicle_id", "fix_at"])
    if "heading_deg" not in frame:
        frame = frame.assign(heading_deg=np.nan)
    vehicles = vehicles or {}
    out = []
    for vehicle_id, track in frame.groupby("vehicle_id", sort=True):
        last = track.iloc[-1]
        recent = track[track["fix_at"] >= last["fix_at"] - pd.Timedelta(seconds=params.trail_s)]
        info = vehicles.get(str(vehicle_id), VehicleInfo(str(vehicle_id), str(vehicle_id)))
        age_s = (pd.Timestamp(at) - last["fix_at"]).total_seconds()
        state = vehicle_state(
            age_s,
            float(last["speed_kmh"]),
            is_in_alert=vehicle_id in alert_vehicle_ids,
            params=params,
        )
        out.append(
            VehiclePosition(
                vehicle_id=str(vehicle_id), plate=info.plate, lon=float(last["lon"]),
                lat=float(last["lat"]), fix_at=last["fix_at"].to_pydatetime(),
                speed_kmh=float(last["speed_kmh"]), heading_deg=float(last["heading_deg"]),
                state=state, waybill_id=info.waybill_id, goods=info.goods,
                trail=tuple(zip(recent["lon"].round(6), recent["lat"].round(6), strict=True)),
            )
        )  # fmt: skip
    return out


def positions_geojson(positions: Sequence[VehiclePosition]) -> dict[str, Any]:
    """Return positions as the GeoJSON the live map reads (the live endpoint's body).

    One Point feature per vehicle; properties ``vehicle_id``, ``plate``, ``state``,
    ``speed_kmh``, ``heading_deg`` (``null`` when unknown), ``fix_at`` (ISO, UTC),
    ``waybill_id``, ``goods`` and ``trail`` (``[[lon, lat], ...]``, oldest first).
    """
    features = [
        {
            "type": "Feature",
            "id": p.vehicle_id,
            "geometry": {"type": "Point", "coordinates": [round(p.lon, 6), round(p.lat, 6)]},
            "properties": {
                "vehicle_id": p.vehicle_id,
                "plate": p.plate,
                "state": p.state.value,
                "speed_kmh": round(p.speed_kmh, 1),
                "heading_deg": None if np.isnan(p.heading_deg) else round(p.heading_deg, 1),
                "fix_at": p.fix_at.astimezone(dt.UTC).isoformat(),
                "waybill_id": p.waybill_id,
                "goods": p.goods,
                "trail": [list(xy) for xy in p.trail],
            },
        }
        for p in positions
    ]
    return {"type": "FeatureCollection", "features": features}


def alerts_at(
    alerts: Sequence[Alert], *, at: dt.datetime, lookback_s: float
) -> list[tuple[Alert, bool]]:
    """The alerts to show at `at`: started by then, not ended before the lookback; open or not."""
    since = at - dt.timedelta(seconds=lookback_s)
    shown = []
    for alert in alerts:
        if alert.started_at > at or (alert.ended_at is not None and alert.ended_at < since):
            continue
        shown.append((alert, alert.ended_at is None or alert.ended_at >= at))
    return shown


def alert_popup_html(
    alert: Alert, *, is_open: bool, vehicle: VehicleInfo | None, time_zone: str = DISPLAY_TIME_ZONE
) -> str:
    """The zh/en popup of an alert: rule, time, vehicle, waybill, goods, fact, legal basis."""
    zone = zoneinfo.ZoneInfo(time_zone)
    ev = alert.evidence
    end = alert.ended_at if not is_open else None
    when = f"{alert.started_at.astimezone(zone):%Y-%m-%d %H:%M:%S}" + (
        f" – {end.astimezone(zone):%H:%M:%S}" if end else " –"
    )
    status = ("进行中", "open") if is_open else ("已结束", "closed")
    rows = [
        ("规则 rule", styles.bilingual(ev.rule_title.zh, ev.rule_title.en)),
        ("时间 time", f"{when} ({time_zone})"),
        ("车辆 vehicle", f"{vehicle.plate if vehicle else ''} ({alert.vehicle_id})"),
        ("运单 waybill", alert.waybill_id or (vehicle.waybill_id if vehicle else None) or "—"),
        ("货物 goods", (vehicle.goods if vehicle else None) or "—"),
        ("事实 fact", styles.bilingual(ev.fact.zh, ev.fact.en)),
        ("依据 legal basis", styles.bilingual(ev.legal_basis.zh, ev.legal_basis.en)),
        ("等级 severity", alert.severity),
        ("状态 status", styles.bilingual(*status)),
        ("编号 id", alert.alert_id),
    ]
    body = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows)
    return f'<div class="hz-popup hz-alert-popup"><table>{body}</table></div>'


def _alert_icon(is_open: bool) -> folium.DivIcon:
    """A warning triangle: red when open, grey when closed."""
    colour = styles.STATE_STYLES[VehicleState.ALERT].colour if is_open else "#888888"
    svg = (
        '<svg width="24" height="22" viewBox="0 0 24 22"><path d="M12 1 L23 21 L1 21 Z" '
        f'fill="{colour}" stroke="white" stroke-width="1.5"/><text x="12" y="18" '
        'text-anchor="middle" font-size="13" font-weight="bold" fill="white">!</text></svg>'
    )
    state = "open" if is_open else "closed"
    return folium.DivIcon(
        html=f'<div class="hz-alert hz-alert-{state}">{svg}</div>',
        icon_size=(24, 22),
        icon_anchor=(12, 21),
        class_name="hz-icon",
    )


def add_alert_markers(
    m: folium.Map,
    shown: Sequence[tuple[Alert, bool]],
    *,
    vehicles: Mapping[str, VehicleInfo],
    name: str = styles.bilingual("报警", "alerts"),
) -> folium.FeatureGroup:
    """Add a marker per alert at its first fix, with the zh/en popup."""
    group = folium.FeatureGroup(name=name)
    group.add_to(m)
    for alert, is_open in shown:
        if not alert.evidence.fixes:
            continue
        first = alert.evidence.fixes[0]
        popup = alert_popup_html(alert, is_open=is_open, vehicle=vehicles.get(alert.vehicle_id))
        folium.Marker(
            [first.lat, first.lon],
            icon=_alert_icon(is_open),
            popup=folium.Popup(popup, max_width=380),
            tooltip=esc(alert.evidence.rule_title.zh + " / " + alert.evidence.rule_title.en),
        ).add_to(group)
    return group


class LiveVehicles(MacroElement):
    """Draw vehicles and trails from GeoJSON in the browser, and poll `refresh_url` if given."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
          var cluster = {{ this.cluster.get_name() }};
          var trails = {{ this.trails.get_name() }};
          var colours = {{ this.colours|tojson }};
          var labels = {{ this.labels|tojson }};
          var tz = {{ this.time_zone|tojson }};
          var refreshUrl = {{ this.refresh_url|tojson }};
          function esc(v) {
            var codes = {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'};
            return String(v === null || v === undefined ? '' : v).replace(/[&<>"']/g,
              function (c) { return codes[c]; });
          }
          function when(iso) {
            return new Date(iso).toLocaleString('zh-CN', {timeZone: tz, hour12: false});
          }
          function icon(p) {
            var c = colours[p.state] || '#333';
            var arrow = p.heading_deg === null
              ? '<circle cx="13" cy="13" r="8" fill="' + c + '" stroke="white" stroke-width="2"/>'
              : '<g transform="rotate(' + p.heading_deg + ' 13 13)">'
                + '<path d="M13 2 L22 23 L13 18 L4 23 Z" fill="' + c
                + '" stroke="white" stroke-width="1.5"/></g>';
            return L.divIcon({className: 'hz-icon', iconSize: [26, 26], iconAnchor: [13, 13],
              html: '<div class="hz-vehicle hz-state-' + esc(p.state) + '" data-vehicle-id="'
                + esc(p.vehicle_id) + '"><svg width="26" height="26">' + arrow + '</svg></div>'});
          }
          function popup(p) {
            var rows = [['车牌 plate', p.plate], ['状态 state', labels[p.state]],
              ['速度 speed', p.speed_kmh + ' km/h'],
              ['方向 heading', p.heading_deg === null ? '—' : p.heading_deg + '°'],
              ['时间 time', when(p.fix_at)], ['运单 waybill', p.waybill_id || '—'],
              ['货物 goods', p.goods || '—'], ['车辆 vehicle', p.vehicle_id]];
            return '<div class="hz-popup hz-vehicle-popup"><table>' + rows.map(function (r) {
              return '<tr><th>' + esc(r[0]) + '</th><td>' + esc(r[1]) + '</td></tr>'; }).join('')
              + '</table></div>';
          }
          function draw(data) {
            cluster.clearLayers();
            trails.clearLayers();
            (data.features || []).forEach(function (f) {
              var p = f.properties, xy = f.geometry.coordinates;
              if (p.trail && p.trail.length > 1) {
                L.polyline(p.trail.map(function (q) { return [q[1], q[0]]; }),
                  {color: colours[p.state] || '#333', weight: 3, opacity: 0.7,
                   className: 'hz-trail'}).addTo(trails);
              }
              L.marker([xy[1], xy[0]], {icon: icon(p), title: p.plate})
                .bindPopup(popup(p), {maxWidth: 360}).addTo(cluster);
            });
            var status = document.querySelector('.hz-live-status');
            if (status) {
              status.dataset.vehicles = String((data.features || []).length);
            }
          }
          function poll() {
            var status = document.querySelector('.hz-live-status');
            fetch(refreshUrl, {cache: 'no-store', headers: {'Accept': 'application/geo+json'}})
              .then(function (r) {
                if (!r.ok) { throw new Error('HTTP ' + r.status); }
                return r.json();
              })
              .then(function (data) {
                draw(data);
                if (status) {
                  status.dataset.refreshes = String(Number(status.dataset.refreshes || 0) + 1);
                  status.textContent = '更新于 updated ' + when(new Date().toISOString());
                }
              })
              .catch(function (err) {
                if (status) {
                  status.textContent = '连接中断 connection lost (' + err.message + ')';
                }
              });
          }
          draw({{ this.data|tojson }});
          if (refreshUrl) {
            poll();
            setInterval(poll, {{ this.refresh_ms }});
          }
        })();
        {% endmacro %}
        """
    )

    def __init__(
        self,
        data: dict[str, Any],
        *,
        cluster: plugins.MarkerCluster,
        trails: folium.FeatureGroup,
        refresh_url: str | None,
        refresh_s: float,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "LiveVehicles"
        self.data = data
        self.cluster = cluster
        self.trails = trails
        self.refresh_url = refresh_url
        self.refresh_ms = int(refresh_s * 1000)
        self.time_zone = DISPLAY_TIME_ZONE
        self.colours = {s.value: st.colour for s, st in styles.STATE_STYLES.items()}
        self.labels = {
            s.value: styles.bilingual(st.zh, st.en) for s, st in styles.STATE_STYLES.items()
        }


def _legend_html(kinds: Sequence[Any], *, at: dt.datetime, refresh_url: str | None) -> str:
    """The live map's legend: vehicle states, restriction kinds, time and refresh status."""
    local = at.astimezone(zoneinfo.ZoneInfo(DISPLAY_TIME_ZONE))
    states = "".join(
        f'<div class="hz-legend-state" data-state="{s.value}"><span class="hz-swatch" '
        f'style="border-color:{st.colour};background:{st.colour}"></span>'
        f"{esc(styles.bilingual(st.zh, st.en))}</div>"
        for s, st in styles.STATE_STYLES.items()
    )
    status = "实时 live" if refresh_url else "快照 snapshot"
    return (
        "<h4>危险货物车辆监控 / Hazmat vehicles</h4>"
        f"<div>{local:%Y-%m-%d %H:%M} ({DISPLAY_TIME_ZONE})</div>"
        f'<div class="hz-live-status" data-refreshes="0">{status}</div>'
        f"{states}{layers.restriction_legend_html(kinds)}"
    )


def live_map(
    network: RoadNetwork,
    *,
    positions: Sequence[VehiclePosition],
    restrictions: Sequence[Restriction] = (),
    alerts: Sequence[Alert] = (),
    vehicles: Mapping[str, VehicleInfo] | None = None,
    at: dt.datetime,
    refresh_url: str | None = None,
    params: LiveParams | None = None,
) -> folium.Map:
    """Build the supervisor's live map.

    Parameters
    ----------
    network
        Road network, drawn as the offline base layer.
    positions
        Vehicles at `at` (`vehicle_positions`).
    restrictions
        Restrictions to draw, styled by whether they are in force at `at`.
    alerts
        Alerts; those started by `at` and not ended before the lookback are shown.
    vehicles
        Plates, waybills and goods for the alert popups.
    at
        The map's moment (aware).
    refresh_url
        Address of the positions GeoJSON to poll (e.g. ``/v1/live/positions.geojson``); ``None``
        for a static snapshot.
    """
    params = params or LiveParams()
    vehicles = vehicles or {}
    m = base.new_map(network, title="危险货物车辆监控 / Hazmat live map")
    groups = layers.add_restriction_layers(m, network, restrictions, at=at)
    trails = folium.FeatureGroup(name=styles.bilingual("轨迹", "trails"))
    trails.add_to(m)
    cluster = plugins.MarkerCluster(  # type: ignore[no-untyped-call]
        name=styles.bilingual("车辆", "vehicles"), options={"disableClusteringAtZoom": 16}
    )
    cluster.add_to(m)
    shown = alerts_at(alerts, at=at, lookback_s=params.alert_lookback_s)
    add_alert_markers(m, shown, vehicles=vehicles)
    m.add_child(
        LiveVehicles(
            positions_geojson(positions), cluster=cluster, trails=trails,
            refresh_url=refresh_url, refresh_s=params.refresh_s,
        )
    )  # fmt: skip
    m.add_child(base.InfoControl(_legend_html(list(groups), at=at, refresh_url=refresh_url),
                                 css_class="hz-legend"))  # fmt: skip
    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    return m


def write_live_map(path: Path, network: RoadNetwork, *, static_url: str | None = None,
                   **kwargs: Any) -> Path:  # fmt: skip
    """Build the live map (`live_map` arguments) and write it as offline HTML."""
    return base.save(live_map(network, **kwargs), path, static_url=static_url)
