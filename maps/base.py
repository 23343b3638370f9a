"""The offline base map: the road network drawn from our own data, no tile server needed.

Every map starts here: a Folium map without tiles whose base layer is the road network (one
MultiLineString per road class, each drawn once whatever its travel directions), fitted to the
network, plus the small controls the pages share (legend, info panel, layer control) and HTML
escaping for popups.
"""

from __future__ import annotations

import html
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import folium
import numpy as np
import shapely
from branca.element import Figure, MacroElement
from jinja2 import Template

from maps import assets, styles

if TYPE_CHECKING:
    from collections.abc import Iterable

    from geodata.network import RoadNetwork

__all__ = [
    "InfoControl",
    "esc",
    "fit_to",
    "new_map",
    "road_features",
    "save",
]

logger = logging.getLogger(__name__)

COORD_DECIMALS = 6  # ~0.1 m
SIMPLIFY_TOLERANCE_M = 1.0
MAX_ZOOM = 19
MIN_ZOOM = 10
PAGE_CSS = """
<style>
.hz-panel { background: rgba(255,255,255,0.93); padding: 6px 9px; border-radius: 5px;
  box-shadow: 0 1px 5px rgba(0,0,0,0.4); font: 12px/1.45 "Helvetica Neue", Arial,
  "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif; max-width: 320px; }
.hz-panel h4 { margin: 0 0 4px; font-size: 13px; }
.hz-swatch { display: inline-block; width: 14px; height: 10px; margin-right: 5px;
  vertical-align: middle; border: 2px solid; box-sizing: border-box; }
.hz-popup table { border-collapse: collapse; font-size: 12px; }
.hz-popup th { text-align: left; padding-right: 6px; color: #555; font-weight: normal;
  white-space: nowrap; vertical-align: top; }
.hz-popup td { padding: 0; }
.hz-icon { background: none; border: none; }
</style>
"""


def esc(value: object) -> str:
    """HTML-escape any value for a popup or a panel."""
    return html.escape("" if value is None else str(value))


class InfoControl(MacroElement):
    """A Leaflet control showing fixed HTML (a legend, a title panel) at a corner of the map."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.control({position: {{ this.position|tojson }}});
        {{ this.get_name() }}.onAdd = function () {
            var div = L.DomUtil.create('div', 'hz-panel ' + {{ this.css_class|tojson }});
            div.innerHTML = {{ this.html|tojson }};
            L.DomEvent.disableClickPropagation(div);
            L.DomEvent.disableScrollPropagation(div);
            return div;
        };
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, html_text: str, *, position: str = "bottomright", css_class: str) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "InfoControl"
        self.html = html_text
        self.position = position
        self.css_class = css_class


def road_features(network: RoadNetwork) -> dict[str, Any]:
    """Return the network as GeoJSON: one MultiLineString per road class (WGS-84).

    The two directions of a two-way street share one line; geometries are simplified by
    `SIMPLIFY_TOLERANCE_M` in the metric CRS and rounded to `COORD_DECIMALS`.
    """
    edges = network.edges
    u, v = network.edge_u, network.edge_v
    key = np.stack([np.minimum(u, v), np.maximum(u, v), edges["osm_way_id"].to_numpy()], axis=1)
    _, first = np.unique(key, axis=0, return_index=True)
    kept = edges.iloc[np.sort(first)]
    lines = shapely.simplify(kept.geometry.to_numpy(), SIMPLIFY_TOLERANCE_M)
    lonlat = kept.set_geometry(lines).to_crs(4326)
    highway = lonlat["highway"].astype(object).to_numpy()
    features = []
    assigned = np.zeros(len(lonlat), dtype=bool)
    for name, values, colour, weight in styles.ROAD_CLASS_STYLES:
        mask = ~assigned & (np.isin(highway, list(values)) if values else True)
        assigned |= mask
        geometry = shapely.multilinestrings(lonlat.geometry.to_numpy()[mask])
        rounded = shapely.set_precision(geometry, 10.0**-COORD_DECIMALS)
        features.append(
            {
                "type": "Feature",
                "geometry": shapely.geometry.mapping(rounded),
                "properties": {"road_class": name, "colour": colour, "weight": weight},
            }
        )
    return {"type": "FeatureCollection", "features": features}


def new_map(network: RoadNetwork, *, title: str, extra_js: tuple[str, ...] = ()) -> folium.Map:
    """A tile-free map fitted to the network, with the road network as its base layer."""
    west, south, east, north = network.edges.to_crs(4326).total_bounds
    m = folium.Map(
        location=[(south + north) / 2, (west + east) / 2],
        zoom_start=14,
        tiles=None,
        control_scale=True,
    )
    # Leaflet map options: without a tile layer nothing sets them (clustering needs maxZoom).
    m.options.update(maxZoom=MAX_ZOOM, minZoom=MIN_ZOOM)
    assets.slim_map(m, extra_js=extra_js)
    root = m.get_root()
    assert isinstance(root, Figure)
    root.header.add_child(folium.Element(f"<title>{esc(title)}</title>" + PAGE_CSS))
    root.script.add_child(folium.Element(assets.default_icon_script()), name="hz_default_icon")
    folium.GeoJson(
        road_features(network),
        name=styles.bilingual("路网", "roads"),
        overlay=False,
        control=True,
        style_function=_road_style,
        interactive=False,
        smooth_factor=1.0,
    ).add_to(m)
    m.fit_bounds([[south, west], [north, east]])
    return m


def _road_style(feature: dict[str, Any]) -> dict[str, Any]:
    """Style of one road class line."""
    props = feature["properties"]
    return {"color": props["colour"], "weight": props["weight"], "opacity": 1.0}


def fit_to(m: folium.Map, lonlat: Iterable[tuple[float, float]], *, pad_deg: float = 0.002) -> None:
    """Fit the map to points (lon, lat), padded; nothing happens for no points."""
    points = np.asarray(list(lonlat), dtype=float).reshape(-1, 2)
    if not len(points):
        return
    west, south = points.min(axis=0) - pad_deg
    east, north = points.max(axis=0) + pad_deg
    m.fit_bounds([[float(south), float(west)], [float(north), float(east)]])


def save(m: folium.Map, path: Path, *, static_url: str | None = None) -> Path:
    """Write a map as HTML with offline assets (inline unless `static_url` is given)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(assets.render_offline(m, static_url=static_url), encoding="utf-8")
    logger.info("wrote map %s", path)
    return path
