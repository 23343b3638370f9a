"""The alert evidence map: the violating fixes, the matched path, the restriction, when it began.

What an officer shows when an alert is contested: each evidence fix (time, speed, matched edge),
the roads the matcher put the vehicle on, the restriction's geometry as it stood at that moment,
a flag where and when the violation began, and a panel with rule, fact and legal basis.
"""

from __future__ import annotations

import logging
import zoneinfo
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import folium
import numpy as np
import pandas as pd
import shapely

from maps import base, layers, live, styles
from maps.base import esc

if TYPE_CHECKING:
    from pathlib import Path

    from geodata.network import RoadNetwork
    from geodata.restrictions import Restriction
    from transport.alerts.lifecycle import Alert

__all__ = ["evidence_map", "matched_path_lonlat", "write_evidence_map"]

logger = logging.getLogger(__name__)


def matched_path_lonlat(network: RoadNetwork, edge_ids: Sequence[int]) -> shapely.Geometry | None:
    """The union of the given edges as WGS-84 lines, ``None`` for no (known) edge."""
    ids = np.asarray([e for e in edge_ids if 0 <= e < len(network.edges)], dtype=np.int64)
    if not len(ids):
        return None
    lines = network.edges.iloc[ids].to_crs(4326).geometry.to_numpy()
    return shapely.line_merge(shapely.union_all(lines))


def _panel_html(alert: Alert, vehicle: live.VehicleInfo | None, zone: zoneinfo.ZoneInfo) -> str:
    """Rule, fact, legal basis, vehicle and times of the alert."""
    ev = alert.evidence
    end = alert.ended_at or alert.last_at
    measured = (
        f"{ev.peak_value:g} / {ev.limit:g}" if ev.peak_value is not None and ev.limit is not None
        else "—"
    )  # fmt: skip
    rows = [
        ("规则 rule", styles.bilingual(ev.rule_title.zh, ev.rule_title.en)),
        ("事实 fact", styles.bilingual(ev.fact.zh, ev.fact.en)),
        ("依据 legal basis", styles.bilingual(ev.legal_basis.zh, ev.legal_basis.en)),
        ("开始 began", f"{alert.started_at.astimezone(zone):%Y-%m-%d %H:%M:%S} ({zone.key})"),
        ("结束 ended", f"{end.astimezone(zone):%Y-%m-%d %H:%M:%S}"),
        ("车辆 vehicle", f"{vehicle.plate if vehicle else ''} ({alert.vehicle_id})"),
        ("运单 waybill", alert.waybill_id or "—"),
        ("货物 goods", (vehicle.goods if vehicle else None) or "—"),
        ("限制 restriction", ev.restriction_id or "—"),
        ("时段 schedule", ev.schedule or "—"),
        ("峰值/限值 peak/limit", measured),
        ("定位点 fixes", f"{ev.fix_count} ({len(ev.fixes)} kept)"),
        ("编号 alert id", alert.alert_id),
    ]
    body = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows)
    return f'<h4>报警证据 / Alert evidence</h4><div class="hz-popup"><table>{body}</table></div>'


def _began_icon(label: str) -> folium.DivIcon:
    """A flag with the time the violation began."""
    return folium.DivIcon(
        html=(
            '<div class="hz-began" style="white-space:nowrap;font:bold 12px sans-serif;'
            "color:#fff;background:#d7191c;padding:2px 5px;border-radius:3px;"
            f'border:1px solid #fff;box-shadow:0 1px 3px #0008">▶ {esc(label)}</div>'
        ),
        icon_size=(150, 20),
        icon_anchor=(-8, 10),
        class_name="hz-icon",
    )


def _add_fixes(m: folium.Map, alert: Alert, zone: zoneinfo.ZoneInfo) -> list[tuple[float, float]]:
    """Evidence fixes as numbered circles; the first also gets the 'began' flag."""
    group = folium.FeatureGroup(name=styles.bilingual("证据定位点", "evidence fixes")).add_to(m)
    points = []
    for i, fix in enumerate(alert.evidence.fixes):
        local = fix.fix_at.astimezone(zone)
        text = (
            f'<div class="hz-popup hz-fix-popup"><b>#{i + 1}</b> {local:%Y-%m-%d %H:%M:%S}<br>'
            f"速度 speed {fix.speed_kmh:.1f} km/h<br>路段 edge {fix.edge_id}<br>"
            f"{fix.lat:.6f}, {fix.lon:.6f}</div>"
        )
        folium.CircleMarker(
            [fix.lat, fix.lon], radius=7 if i == 0 else 5, color="#ffffff", weight=1.5,
            fill=True, fill_color="#d7191c" if i == 0 else "#fc8d59", fill_opacity=1.0,
            popup=folium.Popup(text, max_width=260), tooltip=f"#{i + 1} {local:%H:%M:%S}",
            class_name="hz-evidence-fix",
        ).add_to(group)  # fmt: skip
        points.append((fix.lon, fix.lat))
    if alert.evidence.fixes:
        first = alert.evidence.fixes[0]
        label = f"开始 began {alert.started_at.astimezone(zone):%H:%M:%S}"
        folium.Marker([first.lat, first.lon], icon=_began_icon(label)).add_to(group)
    return points


def evidence_map(
    network: RoadNetwork,
    alert: Alert,
    *,
    restrictions: Sequence[Restriction] = (),
    vehicle: live.VehicleInfo | None = None,
    track: pd.DataFrame | None = None,
    time_zone: str = live.DISPLAY_TIME_ZONE,
) -> folium.Map:
    """Build the evidence map of one alert.

    Parameters
    ----------
    network
        The road network the alert was matched on (edge ids index it).
    alert
        The alert with its evidence.
    restrictions
        Restrictions to look the alert's ``restriction_id`` up in; drawn as at the alert's start.
    vehicle
        Plate and goods for the panel.
    track
        The vehicle's fixes around the alert (``lon``, ``lat``, ``fix_at``), drawn thin for
        context.
    """
    zone = zoneinfo.ZoneInfo(time_zone)
    m = base.new_map(network, title=f"报警证据 / Alert evidence {alert.alert_id}")
    bounds: list[tuple[float, float]] = []
    rid = alert.evidence.restriction_id
    hit = [r for r in restrictions if rid is not None and r.properties.id == rid]
    if hit:
        layers.add_restriction_layers(m, network, hit, at=alert.started_at)
        shape = layers.restriction_shape(network, hit[0])
        if shape is not None:
            bounds += [tuple(xy) for xy in shapely.get_coordinates(shape).tolist()]
    if track is not None and len(track):
        ordered = track.sort_values("fix_at")
        folium.PolyLine(  # type: ignore[no-untyped-call]
            ordered[["lat", "lon"]].to_numpy(float).round(6).tolist(),
            color="#555555",
            weight=2,
            opacity=0.6,
            dash_array="4 4",
            class_name="hz-context-track",
        ).add_to(folium.FeatureGroup(name=styles.bilingual("全程轨迹", "whole track")).add_to(m))
    path = matched_path_lonlat(network, alert.evidence.edge_ids)
    if path is not None:
        group = folium.FeatureGroup(name=styles.bilingual("匹配路径", "matched path")).add_to(m)
        folium.GeoJson(path.__geo_interface__, style_function=_path_style).add_to(group)
    bounds += _add_fixes(m, alert, zone)
    m.add_child(base.InfoControl(_panel_html(alert, vehicle, zone), position="topleft",
                                 css_class="hz-evidence-panel"))  # fmt: skip
    folium.LayerControl(collapsed=False).add_to(m)
    base.fit_to(m, bounds)
    return m


def _path_style(_: dict[str, Any]) -> dict[str, Any]:
    """The matched path: a wide dark line under the fixes."""
    return {"color": "#3f007d", "weight": 7, "opacity": 0.55}


def write_evidence_map(path: Path, network: RoadNetwork, alert: Alert, *,
                       static_url: str | None = None, **kwargs: Any) -> Path:  # fmt: skip
    """Build the evidence map (`evidence_map` arguments) and write it as offline HTML."""
    return base.save(evidence_map(network, alert, **kwargs), path, static_url=static_url)
