"""Offline assets: pages keep no CDN reference, served names resolve, unknown files are refused."""

from __future__ import annotations

import html.parser
import re

import folium
import pytest
from folium import plugins

from maps import assets

CDN_TAG = re.compile(r'<(?:script|link)[^>]+(?:src|href)="https?://')


def _page_with_plugins() -> str:
    """A page with the plugins the maps use, rendered by Folium (CDN links)."""
    m = folium.Map(tiles=None)
    plugins.MarkerCluster().add_to(m)
    plugins.TimestampedGeoJson({"type": "FeatureCollection", "features": []}).add_to(m)
    return m.get_root().render()


def test_inline_page_has_no_cdn_reference() -> None:
    html = assets.localize_html(_page_with_plugins())
    assert CDN_TAG.search(html) is None
    assert "L.MarkerClusterGroup" in html
    assert "L.TimeDimension" in html


class _Scripts(html.parser.HTMLParser):
    """Collect the text of every script element as a browser's tokenizer splits it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.bodies: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: object) -> None:
        self._in_script = tag == "script"
        if self._in_script:
            self.bodies.append("")

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.bodies[-1] += data


def test_inline_script_cannot_end_early() -> None:
    # jQuery UI's source holds "</script" in a string: inlined raw, it would end the element.
    parser = _Scripts()
    parser.feed(assets.localize_html(_page_with_plugins()))
    jquery_ui = [b for b in parser.bodies if "jQuery UI - v1.10.2" in b[:100]]
    assert len(jquery_ui) == 1
    assert jquery_ui[0].rstrip().endswith('s.removeData("ui-tooltip-title"))})}})})(jQuery);')


def test_served_page_points_at_static_url_and_every_name_reads() -> None:
    html = assets.localize_html(_page_with_plugins(), static_url="/maps/static/")
    names = re.findall(r'(?:src|href)="/maps/static/([^"]+)"', html)
    assert CDN_TAG.search(html) is None
    assert len(names) >= 10
    for name in names:
        body, media_type = assets.read_asset(name)
        assert body
        assert media_type in {"text/javascript", "text/css"}


def test_write_assets_writes_files_under_their_names(tmp_path) -> None:  # type: ignore[no-untyped-def]
    written = assets.write_assets(tmp_path, [assets.LEAFLET_JS, assets.LEAFLET_CSS])
    assert [p.name for p in written] == [
        assets.asset_name(assets.LEAFLET_JS),
        assets.asset_name(assets.LEAFLET_CSS),
    ]
    assert "Leaflet 1.9.3" in written[0].read_text(encoding="utf-8")


def test_unknown_cdn_asset_is_refused() -> None:
    page = '<head><script src="https://cdn.example.invalid/lib.js"></script></head>'
    with pytest.raises(assets.OfflineAssetError, match=r"no offline copy of https://cdn\.example"):
        assets.localize_html(page)


def test_other_remote_reference_is_refused() -> None:
    page = '<body><img src="https://tiles.example.invalid/1/1/1.png"></body>'
    with pytest.raises(assets.OfflineAssetError, match="a remote reference remains"):
        assets.localize_html(page)


def test_unknown_asset_name_is_refused() -> None:
    with pytest.raises(assets.OfflineAssetError, match=r"no offline asset named 'nope\.js'"):
        assets.read_asset("nope.js")


def test_slim_map_keeps_leaflet_and_jquery_only() -> None:
    m = assets.slim_map(folium.Map(tiles=None))
    html = m.get_root().render()
    assert "bootstrap" not in html
    assert "fontawesome" not in html
    assert assets.LEAFLET_JS in html
    assert assets.JQUERY_JS in html
