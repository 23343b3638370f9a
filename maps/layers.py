"""Draw restriction layers on a map: one overlay per kind, styled by whether each is in force.

Restrictions given by geometry are drawn as they are (a dense area with its buffer); those on OSM
way ids are drawn along the network's edges of those ways. Each feature carries its id, kind and
``is_active`` in its GeoJSON properties, and a zh/en popup with its schedule, cargo, legal basis
and validity.
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import folium
import numpy as np
import shapely
import shapely.geometry

from geodata.restrictions import Restriction, RestrictionKind, RestrictionLayer
from maps import styles
from maps.base import esc

if TYPE_CHECKING:
    import pyproj

    from geodata.network import RoadNetwork

__all__ = [
    "add_restriction_layers",
    "describe_cargo",
    "restriction_feature",
    "restriction_legend_html",
    "restriction_shape",
    "restrictions_of",
]

logger = logging.getLogger(__name__)


def restrictions_of(layers: Iterable[RestrictionLayer | Restriction]) -> list[Restriction]:
    """Flatten layers and single restrictions into one list."""
    out: list[Restriction] = []
    for item in layers:
        out += item.features if isinstance(item, RestrictionLayer) else [item]
    return out


def restriction_shape(network: RoadNetwork, restriction: Restriction) -> shapely.Geometry | None:
    """Return what to draw for a restriction (WGS-84), ``None`` when its ways are not here.

    A dense area is drawn with its buffer; ways are drawn along their edges in the network.
    """
    p = restriction.properties
    shape = restriction.shape
    if shape is None:
        edges = network.edges
        mask = np.isin(edges["osm_way_id"].to_numpy(np.int64), p.osm_way_ids or [])
        if not mask.any():
            return None
        merged = shapely.line_merge(shapely.union_all(network.geometries[mask]))
        return _reproject(merged, network.to_lonlat)
    if p.kind is RestrictionKind.DENSE_AREA and p.buffer_m:
        metric = _reproject(shape, network.from_lonlat)
        return _reproject(metric.buffer(p.buffer_m), network.to_lonlat)
    return shape


def _reproject(geometry: shapely.Geometry, transformer: pyproj.Transformer) -> shapely.Geometry:
    """A geometry in another CRS, all coordinates in one vectorised call."""
    return shapely.transform(geometry, lambda x, y: transformer.transform(x, y), interleaved=False)


def describe_cargo(restriction: Restriction) -> str:
    """A short zh/en text of which loads a restriction applies to."""
    cargo = restriction.properties.cargo
    if cargo.all_dangerous_goods:
        return styles.bilingual("全部危险货物", "all dangerous goods")
    parts: list[tuple[str, list[str]]] = [
        ("类别 class", sorted(cargo.classes)),
        ("UN", sorted(cargo.un_numbers)),
        ("隧道代码 tunnel code", sorted(cargo.tunnel_codes)),
        ("标记 flag", sorted(cargo.flags)),
    ]
    return "; ".join(f"{name} {', '.join(values)}" for name, values in parts if values)


def _popup_html(restriction: Restriction, *, is_active: bool, at: dt.datetime) -> str:
    """The zh/en popup of one restriction."""
    p = restriction.properties
    kind = styles.KIND_STYLES[p.kind]
    state = ("生效中", "in force") if is_active else ("未生效", "not in force")
    local = at.astimezone(zoneinfo.ZoneInfo(p.time_zone))
    validity = f"{p.valid_from or '…'} – {p.valid_to or '…'}"
    rows = [
        ("名称 name", styles.bilingual(p.name.zh, p.name.en)),
        ("类型 kind", styles.bilingual(kind.zh, kind.en)),
        ("状态 status", f"{styles.bilingual(*state)} @ {local:%Y-%m-%d %H:%M}"),
        ("时段 schedule", f"{p.schedule} ({p.time_zone})"),
        ("货物 cargo", describe_cargo(restriction)),
        ("豁免 exemptions", ", ".join(sorted(p.exemptions)) or "—"),
        ("等级 severity", p.severity.value),
        ("有效期 valid", validity),
        ("依据 legal basis", styles.bilingual(p.legal_basis.zh, p.legal_basis.en)),
        ("来源 source", p.source.kind.value + (f": {p.source.ref}" if p.source.ref else "")),
        ("编号 id", p.id),
    ]
    body = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows)
    return f'<div class="hz-popup hz-restriction-popup"><table>{body}</table></div>'


def restriction_feature(
    network: RoadNetwork, restriction: Restriction, *, at: dt.datetime
) -> dict[str, Any] | None:
    """One restriction as a GeoJSON Feature with its style, ``None`` when it cannot be drawn."""
    shape = restriction_shape(network, restriction)
    if shape is None or shape.is_empty:
        return None
    is_active = restriction.is_in_force(at)
    p = restriction.properties
    return {
        "type": "Feature",
        "geometry": shapely.geometry.mapping(shapely.set_precision(shape, 1e-6)),
        "properties": {
            "restriction_id": p.id,
            "kind": p.kind.value,
            "is_active": is_active,
            "name": styles.bilingual(p.name.zh, p.name.en),
            "style": styles.restriction_style(p.kind, is_active=is_active),
        },
    }


def _style_of(feature: dict[str, Any]) -> dict[str, Any]:
    """Leaflet style stored in the feature."""
    return dict(feature["properties"]["style"])


def add_restriction_layers(
    m: folium.Map,
    network: RoadNetwork,
    restrictions: Sequence[Restriction],
    *,
    at: dt.datetime,
    show: bool = True,
) -> dict[RestrictionKind, folium.FeatureGroup]:
    """Add one overlay per restriction kind present; return them by kind.

    Restrictions in force at `at` are drawn solid, the others dashed and faint; zones go under
    lines. A restriction on ways absent from the network is skipped (logged).
    """
    groups: dict[RestrictionKind, folium.FeatureGroup] = {}
    ordered = sorted(restrictions, key=lambda r: not styles.KIND_STYLES[r.properties.kind].is_area)
    for restriction in ordered:
        feature = restriction_feature(network, restriction, at=at)
        kind = restriction.properties.kind
        if feature is None:
            logger.info("restriction %s is not on this network", restriction.properties.id)
            continue
        if kind not in groups:
            label = styles.bilingual(styles.KIND_STYLES[kind].zh, styles.KIND_STYLES[kind].en)
            groups[kind] = folium.FeatureGroup(name=f"限制 {label}", show=show)
            groups[kind].add_to(m)
        layer = folium.GeoJson(feature, style_function=_style_of)
        is_active = feature["properties"]["is_active"]
        layer.add_child(
            folium.Popup(_popup_html(restriction, is_active=is_active, at=at), max_width=360)
        )
        layer.add_child(folium.Tooltip(esc(feature["properties"]["name"])))
        layer.add_to(groups[kind])
    return groups


def restriction_legend_html(kinds: Iterable[RestrictionKind]) -> str:
    """Legend rows of the kinds drawn, with the in-force / not-in-force sample."""
    rows = []
    for kind in kinds:
        s = styles.KIND_STYLES[kind]
        fill = f"background:{s.colour}55;" if s.is_area else ""
        rows.append(
            f'<div class="hz-legend-kind" data-kind="{kind.value}"><span class="hz-swatch" '
            f'style="border-color:{s.colour};{fill}"></span>{esc(styles.bilingual(s.zh, s.en))}'
            "</div>"
        )
    if rows:
        rows.append(
            '<div><span class="hz-swatch" style="border-color:#555"></span>生效中 in force'
            ' &nbsp;<span class="hz-swatch" style="border:2px dashed #999"></span>未生效 not now'
            "</div>"
        )
    return "".join(rows)
