"""Offline assets: every JavaScript and CSS file a Folium page needs, without a CDN.

Folium links Leaflet, its plugins, jQuery and friends from public CDNs, which police networks
and this project's machines do not reach. The files themselves ship inside the PyPI package
``folium-offline`` (import name ``offlinefolium``), keyed by the very CDN address Folium uses.
A rendered page is localised in one of two ways:

- inline (``static_url=None``): every ``<script src>`` and ``<link rel=stylesheet>`` to a CDN
  becomes an inline ``<script>`` or ``<style>``: a single self-contained HTML file, as written by
  ``hazmat map ...`` and the demo;
- served (``static_url="/maps/static/"``): each address becomes ``static_url + asset_name(url)``,
  files that the API serves with `read_asset` (or that `write_assets` puts in a folder).

A CDN address with no local copy raises `OfflineAssetError` instead of leaving a page that
half-loads.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import re
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import folium

__all__ = [
    "JQUERY_JS",
    "LEAFLET_CSS",
    "LEAFLET_JS",
    "OfflineAssetError",
    "asset_name",
    "asset_names",
    "default_icon_script",
    "localize_html",
    "read_asset",
    "render_offline",
    "slim_map",
    "write_assets",
]

logger = logging.getLogger(__name__)

LEAFLET_JS = "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js"
LEAFLET_CSS = "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css"
JQUERY_JS = "https://code.jquery.com/jquery-3.7.1.min.js"  # folium's popups build their HTML with $

_SCRIPT_TAG = re.compile(r'<script\s+src="(?P<url>https?://[^"]+)"\s*>\s*</script>')
_STYLE_TAG = re.compile(r'<link\s+rel="stylesheet"\s+href="(?P<url>https?://[^"]+)"\s*/?>')
_ANY_REMOTE = re.compile(r'(?:src|href)\s*=\s*["\'](?:https?:)?//', re.IGNORECASE)
_SOURCE_MAP = re.compile(r"^\s*(?://|/\*)# sourceMappingURL=\S*(?:\s*\*/)?\s*$", re.MULTILINE)
_DEFAULT_ICON = re.compile(
    r"\.leaflet-default-icon-path\s*\{[^}]*?url\((?P<uri>data:image/png;base64,[^)]+)\)"
)
_MEDIA_TYPES = {".js": "text/javascript", ".css": "text/css"}


class OfflineAssetError(LookupError):
    """A page needs a file from the internet that has no local copy."""


@functools.cache
def _store() -> dict[str, str]:
    """Every asset by CDN address, read once from the ``offlinefolium`` package."""
    try:
        from offlinefolium import elements
    except ImportError as err:  # pragma: no cover - a missing install
        msg = "the offline assets need the `folium-offline` package (pip install folium-offline)"
        raise OfflineAssetError(msg) from err
    return dict(elements._res)


def asset_name(url: str) -> str:
    """Return the local file name of a CDN address: a short hash and the original base name.

    Examples
    --------
    >>> asset_name("https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js")
    '88d58c69be-leaflet.js'
    """
    base = PurePosixPath(url.split("?", 1)[0]).name or "asset"
    digest = hashlib.sha1(url.encode(), usedforsecurity=False).hexdigest()[:10]
    return f"{digest}-{base}"


def asset_names() -> dict[str, str]:
    """Return every available asset as {local name: CDN address}."""
    return {asset_name(url): url for url in _store()}


def read_asset(name: str) -> tuple[bytes, str]:
    """Return the bytes and media type of an asset by its local name (for a static route).

    Raises
    ------
    OfflineAssetError
        No asset has that name.
    """
    url = asset_names().get(name)
    if url is None:
        msg = f"no offline asset named {name!r}"
        raise OfflineAssetError(msg)
    suffix = PurePosixPath(name).suffix
    return _content(url).encode(), _MEDIA_TYPES.get(suffix, "application/octet-stream")


def write_assets(folder: Path, urls: list[str] | None = None) -> list[Path]:
    """Write assets (all, or those of `urls`) into `folder` under their local names."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for url in urls if urls is not None else list(_store()):
        path = folder / asset_name(url)
        path.write_text(_content(url), encoding="utf-8")
        written.append(path)
    return written


def _content(url: str) -> str:
    """The text of one asset without its source-map comment, or `OfflineAssetError`."""
    try:
        text = _store()[url]
    except KeyError:
        msg = f"no offline copy of {url}; use a plugin whose files folium-offline ships"
        raise OfflineAssetError(msg) from None
    return _SOURCE_MAP.sub("", text)  # no request for a .map file that is not there


def localize_html(html: str, *, static_url: str | None = None) -> str:
    """Replace every CDN script and stylesheet of a rendered page by a local copy.

    Parameters
    ----------
    html
        A page rendered by Folium.
    static_url
        ``None`` to inline every asset; else the URL prefix the assets are served under
        (ending with ``/``).

    Raises
    ------
    OfflineAssetError
        An asset has no local copy, or a remote ``src``/``href`` remains.
    """

    def script(match: re.Match[str]) -> str:
        url = match["url"]
        if static_url is not None:
            return f'<script src="{static_url}{asset_name(url)}"></script>'
        # "</script" inside a library's strings would end the inline element early.
        return "<script>" + _content(url).replace("</script", "<\\/script") + "</script>"

    def style(match: re.Match[str]) -> str:
        url = match["url"]
        if static_url is not None:
            _content(url)
            return f'<link rel="stylesheet" href="{static_url}{asset_name(url)}"/>'
        return "<style>" + _content(url).replace("</style", "<\\/style") + "</style>"

    others = _STYLE_TAG.sub("", _SCRIPT_TAG.sub("", html))
    remaining = _ANY_REMOTE.search(others)
    if remaining is not None:
        start = remaining.start()
        msg = f"a remote reference remains: {others[start : start + 120]!r}"
        raise OfflineAssetError(msg)
    return _STYLE_TAG.sub(style, _SCRIPT_TAG.sub(script, html))


def default_icon_script() -> str:
    """JavaScript giving Leaflet's default marker icon the image inlined in leaflet.css.

    Leaflet guesses the icon's folder from its stylesheet's address; inlined or renamed, the guess
    points at files that do not exist (a 404 per marker, e.g. TimestampedGeoJson's last point).
    """
    match = _DEFAULT_ICON.search(_content(LEAFLET_CSS))
    if match is None:  # pragma: no cover - a different Leaflet build
        msg = "leaflet.css holds no inlined default marker icon"
        raise OfflineAssetError(msg)
    icon = json.dumps(match["uri"])
    return (
        "L.Icon.Default.prototype._getIconUrl = function (name) {"
        f" return name === 'shadow' ? '' : {icon}; }};"
    )


def slim_map(m: folium.Map, *, extra_js: tuple[str, ...] = ()) -> folium.Map:
    """Keep only Leaflet and jQuery (and `extra_js`) among the map's own assets.

    Folium's map also links Bootstrap, Font Awesome and awesome-markers; these pages use none of
    them (their fonts would be further requests), so they are dropped on this instance.
    """
    m.default_js = [
        ("leaflet", LEAFLET_JS),
        ("jquery", JQUERY_JS),
        *((asset_name(u), u) for u in extra_js),
    ]
    m.default_css = [("leaflet_css", LEAFLET_CSS)]
    return m


def render_offline(m: folium.Map, *, static_url: str | None = None) -> str:
    """Render a map to a complete HTML page with local assets (see `localize_html`)."""
    return localize_html(m.get_root().render(), static_url=static_url)
