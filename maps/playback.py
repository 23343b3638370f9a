"""Track playback for one vehicle and period: speed-coloured path, stops, alerts on a timeline.

The path is split into runs of one speed class, each drawn in its class colour; stops (speed at
or under a threshold for long enough) are circles with their duration; alerts are markers at
their first fix. A time slider (Folium's TimestampedGeoJson, assets served offline) replays the
drive: the path grows fix by fix and each alert appears at the moment it began.
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import folium
import numpy as np
import pandas as pd
from folium import plugins

from maps import base, live, styles
from maps.base import esc

if TYPE_CHECKING:
    from pathlib import Path

    import shapely

    from geodata.network import RoadNetwork
    from transport.alerts.lifecycle import Alert

__all__ = ["PlaybackParams", "Stop", "find_stops", "playback_map", "write_playback_map"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlaybackParams:
    """What counts as a stop, and the time slider's step."""

    stop_max_speed_kmh: float = 3.0
    min_stop_s: float = 120.0
    step_s: float | None = None  # None: the median interval between fixes


@dataclass(frozen=True)
class Stop:
    """A stop: where, from when to when."""

    lon: float
    lat: float
    started_at: dt.datetime
    ended_at: dt.datetime

    @property
    def duration_s(self) -> float:
        """How long the vehicle stood, in seconds."""
        return (self.ended_at - self.started_at).total_seconds()


def find_stops(fixes: pd.DataFrame, *, params: PlaybackParams | None = None) -> list[Stop]:
    """Return the stops of a track: runs of fixes at or under the stop speed, long enough.

    `fixes` has ``lon``, ``lat``, ``fix_at`` (aware) and ``speed_kmh``, in time order. A stop is
    placed at the median position of its fixes (GPS drift averages out).
    """
    params = params or PlaybackParams()
    if fixes.empty:
        return []
    still = np.nan_to_num(fixes["speed_kmh"].to_numpy(float)) <= params.stop_max_speed_kmh
    edges = np.flatnonzero(np.diff(np.concatenate([[0], still.astype(np.int8), [0]])))
    starts, ends = edges[::2], edges[1::2] - 1
    times = pd.to_datetime(fixes["fix_at"], utc=True).reset_index(drop=True)
    lon, lat = fixes["lon"].to_numpy(float), fixes["lat"].to_numpy(float)
    stops = []
    for first, last in zip(starts.tolist(), ends.tolist(), strict=True):
        if (times[last] - times[first]).total_seconds() < params.min_stop_s:
            continue
        run = slice(first, last + 1)
        stops.append(
            Stop(float(np.median(lon[run])), float(np.median(lat[run])),
                 times[first].to_pydatetime(), times[last].to_pydatetime())
        )  # fmt: skip
    return stops


def _speed_runs(fixes: pd.DataFrame) -> list[tuple[int, list[list[float]]]]:
    """Split the track into runs of one speed class: (class, [[lat, lon], ...])."""
    bins = styles.speed_bin(fixes["speed_kmh"].to_numpy(float))
    latlon = fixes[["lat", "lon"]].to_numpy(float).round(6).tolist()
    cuts = np.flatnonzero(np.diff(bins)) + 1
    runs = []
    for start, end in zip(np.r_[0, cuts].tolist(), np.r_[cuts, len(bins)].tolist(), strict=True):
        points = latlon[start : min(end + 1, len(latlon))]  # share the next point: no gaps
        if len(points) > 1:
            runs.append((int(bins[start]), points))
    return runs


def _iso_step(fixes: pd.DataFrame, step_s: float | None) -> str:
    """The slider step as an ISO 8601 duration."""
    if step_s is None:
        gaps = pd.to_datetime(fixes["fix_at"], utc=True).diff().dt.total_seconds().dropna()
        step_s = float(gaps.median()) if len(gaps) else 60.0
    return f"PT{max(round(step_s), 1)}S"


def _timeline_features(
    fixes: pd.DataFrame, alerts: Sequence[Alert], zone: zoneinfo.ZoneInfo
) -> list[dict[str, Any]]:
    """The slider's features: the growing path and each alert at its start."""
    times = pd.to_datetime(fixes["fix_at"], utc=True)
    path = {
        "type": "Feature",
        "geometry": {"type": "LineString",
                     "coordinates": fixes[["lon", "lat"]].to_numpy(float).round(6).tolist()},
        "properties": {"times": [t.isoformat() for t in times],
                       "style": {"color": "#222222", "weight": 3, "opacity": 0.8}},
    }  # fmt: skip
    features = [path]
    for alert in alerts:
        if not alert.evidence.fixes:
            continue
        first = alert.evidence.fixes[0]
        title = f"{alert.evidence.rule_title.zh} / {alert.evidence.rule_title.en}"
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [first.lon, first.lat]},
                "properties": {
                    "times": [alert.started_at.astimezone(dt.UTC).isoformat()],
                    "icon": "circle",
                    "iconstyle": {"color": "#d7191c", "fillColor": "#d7191c",
                                  "fillOpacity": 0.9, "radius": 8},
                    "popup": f"{esc(title)}<br>{alert.started_at.astimezone(zone):%H:%M:%S}",
                },
            }
        )  # fmt: skip
    return features


def _speed_class_label(i: int) -> str:
    """The range of speed class `i` in km/h."""
    bounds = styles.SPEED_BINS_KMH
    if i == 0:
        return f"≤ {bounds[0]:g} km/h"
    if i < len(bounds):
        return f"{bounds[i - 1]:g}–{bounds[i]:g} km/h"
    return f"> {bounds[-1]:g} km/h"


def _legend_html(vehicle: live.VehicleInfo, fixes: pd.DataFrame, zone: zoneinfo.ZoneInfo) -> str:
    """Title, period and the speed classes."""
    times = pd.to_datetime(fixes["fix_at"], utc=True)
    rows = "".join(
        f'<div class="hz-legend-speed"><span class="hz-swatch" style="border-color:{colour};'
        f'background:{colour}"></span>{_speed_class_label(i)}</div>'
        for i, colour in enumerate(styles.SPEED_COLOURS)
    )
    period = f"{times.min().astimezone(zone):%Y-%m-%d %H:%M} – {times.max().astimezone(zone):%H:%M}"
    return (
        f"<h4>轨迹回放 / Track playback: {esc(vehicle.plate)}</h4>"
        f"<div>{esc(period)} ({zone.key})</div>"
        f"<div>运单 waybill: {esc(vehicle.waybill_id or '—')}; 货物 goods: "
        f"{esc(vehicle.goods or '—')}</div>"
        f"<div>速度 speed</div>{rows}"
        '<div><span class="hz-swatch" style="border-color:#333;background:#fff;'
        'border-radius:50%"></span>停车 stop</div>'
    )


def playback_map(
    network: RoadNetwork,
    fixes: pd.DataFrame,
    *,
    vehicle: live.VehicleInfo,
    alerts: Sequence[Alert] = (),
    matched_path: shapely.Geometry | None = None,
    time_zone: str = live.DISPLAY_TIME_ZONE,
    params: PlaybackParams | None = None,
) -> folium.Map:
    """Build the playback map of one vehicle's track.

    Parameters
    ----------
    network
        Road network, drawn as the offline base layer.
    fixes
        The vehicle's fixes over the period: ``lon``, ``lat``, ``fix_at`` (aware),
        ``speed_kmh``; sorted here by time.
    vehicle
        Plate, waybill and goods for the title and popups.
    alerts
        The vehicle's alerts in the period.
    matched_path
        The map-matched path (WGS-84 line), drawn under the fixes when given.
    """
    params = params or PlaybackParams()
    zone = zoneinfo.ZoneInfo(time_zone)
    fixes = fixes.assign(fix_at=pd.to_datetime(fixes["fix_at"], utc=True)).sort_values("fix_at")
    m = base.new_map(network, title=f"轨迹回放 / Track playback {vehicle.plate}")
    if matched_path is not None:
        group = folium.FeatureGroup(name=styles.bilingual("匹配路径", "matched path")).add_to(m)
        folium.GeoJson(
            matched_path.__geo_interface__,
            style_function=lambda _: {"color": "#555555", "weight": 8, "opacity": 0.35},
        ).add_to(group)
    speed_group = folium.FeatureGroup(name=styles.bilingual("速度", "speed")).add_to(m)
    for speed_class, points in _speed_runs(fixes):
        folium.PolyLine(  # type: ignore[no-untyped-call]
            points, color=styles.SPEED_COLOURS[speed_class], weight=5,
                        opacity=0.95, class_name=f"hz-speed hz-speed-{speed_class}",
                        ).add_to(speed_group)  # fmt: skip
    stop_group = folium.FeatureGroup(name=styles.bilingual("停车", "stops")).add_to(m)
    for stop in find_stops(fixes, params=params):
        text = (
            f'<div class="hz-popup hz-stop-popup"><b>停车 / stop</b><br>'
            f"{stop.started_at.astimezone(zone):%H:%M:%S} – "
            f"{stop.ended_at.astimezone(zone):%H:%M:%S}"
            f"<br>时长 duration: {stop.duration_s / 60:.1f} min</div>"
        )
        folium.CircleMarker(
            [stop.lat, stop.lon], radius=9, color="#333333", weight=2, fill=True,
            fill_color="#ffffff", fill_opacity=0.9, popup=folium.Popup(text, max_width=260),
            tooltip=f"停车 stop {stop.duration_s / 60:.0f} min", class_name="hz-stop",
        ).add_to(stop_group)  # fmt: skip
    shown = [(a, False) for a in alerts]
    live.add_alert_markers(m, shown, vehicles={vehicle.vehicle_id: vehicle})
    plugins.TimestampedGeoJson(  # type: ignore[no-untyped-call]
        {"type": "FeatureCollection", "features": _timeline_features(fixes, alerts, zone)},
        period=_iso_step(fixes, params.step_s), duration=None, add_last_point=True,
        auto_play=False, loop=False, max_speed=20, loop_button=True,
        date_options="YYYY-MM-DD HH:mm:ss", time_slider_drag_update=True,
    ).add_to(m)  # fmt: skip
    m.add_child(base.InfoControl(_legend_html(vehicle, fixes, zone), css_class="hz-legend"))
    folium.LayerControl(collapsed=False).add_to(m)
    base.fit_to(m, fixes[["lon", "lat"]].to_numpy(float))
    return m


def write_playback_map(path: Path, network: RoadNetwork, fixes: pd.DataFrame, *,
                       static_url: str | None = None, **kwargs: Any) -> Path:  # fmt: skip
    """Build the playback map (`playback_map` arguments) and write it as offline HTML."""
    return base.save(playback_map(network, fixes, **kwargs), path, static_url=static_url)
