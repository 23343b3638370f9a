"""Keep the OSM way tags the hazmat rules need and parse them into typed edge columns.

osmnx drops hazmat, hgv, maxweight and conditional tags by default; this module keeps them and
turns them into typed values: tunnel category A–E following GraphHopper's rules, speed limits in
km/h, weights in tonnes, booleans for bridge and tunnel.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

__all__ = [
    "EDGE_TAG_COLUMNS",
    "directional_tags",
    "edge_tag_columns",
    "kept_tags",
    "parse_maxspeed_kmh",
    "parse_maxweight_t",
    "travel_directions",
    "tunnel_category",
]

KEPT_KEYS = frozenset(
    {
        "highway", "name", "name:en", "name:zh", "ref", "oneway", "junction", "maxspeed",
        "bridge", "tunnel", "layer", "lanes", "access", "motor_vehicle", "service", "area",
        "maxheight", "maxlength", "bridge:name", "tunnel:name", "toll",
    }
)  # fmt: skip
KEPT_PREFIXES = ("hazmat", "hgv", "maxweight", "maxspeed", "goods")
CONDITIONAL_SUFFIX = ":conditional"

TUNNEL_CATEGORIES = ("A", "B", "C", "D", "E")
NOT_A_TUNNEL = frozenset({"no", "building_passage", "culvert"})
ONEWAY_FORWARD = frozenset({"yes", "true", "1"})
ONEWAY_BACKWARD = frozenset({"-1", "reverse"})
TWO_WAY = frozenset({"no", "false", "0", "reversible", "alternating"})
MPH_TO_KMH = 1.609344
SHORT_TON_T = 0.90718474
# Implicit national limits (e.g. "RU:urban") carry no number here; the rules supply defaults.
_SPEED = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(mph|km/h|kmh|kph)?\s*$", re.IGNORECASE)
_WEIGHT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(t|st|lbs|kg)?\s*$", re.IGNORECASE)

EDGE_TAG_COLUMNS: dict[str, str] = {
    "highway": "string",
    "name": "string",
    "ref": "string",
    "maxspeed_kmh": "float64",
    "maxspeed_hgv_kmh": "float64",
    "is_bridge": "bool",
    "is_tunnel": "bool",
    "layer": "int64",
    "tunnel_category": "string",
    "hazmat": "string",
    "hazmat_water": "string",
    "hazmat_conditional": "string",
    "hgv": "string",
    "maxweight_t": "float64",
}


def kept_tags(way_tags: Mapping[str, str]) -> dict[str, str]:
    """Return the subset of a way's tags that the network keeps.

    Examples
    --------
    >>> kept_tags({"highway": "primary", "surface": "asphalt", "hazmat:water": "no"})
    {'highway': 'primary', 'hazmat:water': 'no'}
    """
    return {
        key: value
        for key, value in way_tags.items()
        if key in KEPT_KEYS or key.startswith(KEPT_PREFIXES) or key.endswith(CONDITIONAL_SUFFIX)
    }


def directional_tags(way_tags: Mapping[str, str], *, forward: bool) -> dict[str, str]:
    """Resolve `key:forward` / `key:backward` variants for one travel direction.

    Examples
    --------
    >>> directional_tags({"hazmat": "yes", "hazmat:backward": "no"}, forward=False)["hazmat"]
    'no'
    """
    own, other = (":forward", ":backward") if forward else (":backward", ":forward")
    resolved = {k: v for k, v in way_tags.items() if not k.endswith((own, other))}
    for key, value in way_tags.items():
        if key.endswith(own):
            resolved[key.removesuffix(own)] = value
    return resolved


def parse_maxspeed_kmh(value: str | None) -> float:
    """Parse an OSM `maxspeed` value to km/h; NaN when absent, implicit or unreadable.

    Examples
    --------
    >>> parse_maxspeed_kmh("60"), parse_maxspeed_kmh("30 mph"), parse_maxspeed_kmh("CN:urban")
    (60.0, 48.28032, nan)
    """
    if not value:
        return float("nan")
    match = _SPEED.match(value.split(";")[0])
    if match is None:
        return float("nan")
    number = float(match.group(1))
    return number * MPH_TO_KMH if (match.group(2) or "").lower() == "mph" else number


def parse_maxweight_t(value: str | None) -> float:
    """Parse an OSM `maxweight` value to tonnes; NaN when absent or unreadable.

    Examples
    --------
    >>> parse_maxweight_t("4.5"), parse_maxweight_t("12 t"), parse_maxweight_t("heavy")
    (4.5, 12.0, nan)
    """
    if not value:
        return float("nan")
    match = _WEIGHT.match(value)
    if match is None:
        return float("nan")
    number, unit = float(match.group(1)), (match.group(2) or "t").lower()
    factor = {"t": 1.0, "st": SHORT_TON_T, "lbs": 0.00045359237, "kg": 0.001}[unit]
    return number * factor


def tunnel_category(way_tags: Mapping[str, str]) -> str | None:
    """Return the ADR tunnel category A–E of a way, or None when it has none.

    GraphHopper's order: `hazmat:adr_tunnel_cat`, then `hazmat:tunnel_cat`, then on tunnels the
    most restrictive `hazmat:X=no` for X from E down to B.

    Examples
    --------
    >>> tunnel_category({"tunnel": "yes", "hazmat:adr_tunnel_cat": "C"})
    'C'
    >>> tunnel_category({"tunnel": "yes", "hazmat:B": "no", "hazmat:D": "no"})
    'D'
    >>> tunnel_category({"highway": "primary", "hazmat:E": "no"}) is None
    True
    """
    for key in ("hazmat:adr_tunnel_cat", "hazmat:tunnel_cat"):
        value = way_tags.get(key, "").strip().upper()
        if value in TUNNEL_CATEGORIES:
            return value
    if way_tags.get("tunnel", "no") in NOT_A_TUNNEL:
        return None
    for category in reversed(TUNNEL_CATEGORIES[1:]):
        if way_tags.get(f"hazmat:{category}") == "no":
            return category
    return None


def travel_directions(way_tags: Mapping[str, str]) -> tuple[bool, bool]:
    """Return whether a way may be driven (forwards, backwards), as osmnx and OSM imply.

    Examples
    --------
    >>> travel_directions({"highway": "primary"}), travel_directions({"oneway": "-1"})
    ((True, True), (False, True))
    >>> travel_directions({"highway": "motorway"}), travel_directions({"junction": "roundabout"})
    ((True, False), (True, False))
    """
    oneway = way_tags.get("oneway", "").strip().lower()
    if oneway in ONEWAY_FORWARD:
        return True, False
    if oneway in ONEWAY_BACKWARD:
        return False, True
    if oneway in TWO_WAY:
        return True, True
    implied = way_tags.get("junction") in {"roundabout", "circular"} or way_tags.get("highway") in {
        "motorway"
    }
    return True, not implied


def _layer(value: str | None) -> int:
    """Parse `layer` to an int, 0 when absent or unreadable."""
    try:
        return int(float(value)) if value else 0
    except ValueError:
        return 0


def _typed_row(way_tags: Mapping[str, str]) -> dict[str, Any]:
    """Typed column values for one direction of one way."""
    return {
        "highway": way_tags.get("highway"),
        "name": way_tags.get("name"),
        "ref": way_tags.get("ref"),
        "maxspeed_kmh": parse_maxspeed_kmh(way_tags.get("maxspeed")),
        "maxspeed_hgv_kmh": parse_maxspeed_kmh(way_tags.get("maxspeed:hgv")),
        "is_bridge": way_tags.get("bridge", "no") != "no",
        "is_tunnel": way_tags.get("tunnel", "no") not in NOT_A_TUNNEL,
        "layer": _layer(way_tags.get("layer")),
        "tunnel_category": tunnel_category(way_tags),
        "hazmat": way_tags.get("hazmat"),
        "hazmat_water": way_tags.get("hazmat:water"),
        "hazmat_conditional": way_tags.get("hazmat:conditional"),
        "hgv": way_tags.get("hgv"),
        "maxweight_t": parse_maxweight_t(way_tags.get("maxweight")),
    }


def edge_tag_columns(
    tag_dicts: Iterable[Mapping[str, str]], *, forward: Iterable[bool]
) -> pd.DataFrame:
    """Parse the kept tags of many edges into the typed columns of `EDGE_TAG_COLUMNS`.

    Parameters
    ----------
    tag_dicts
        Kept tags of each edge's OSM way.
    forward
        For each edge, whether it runs in the way's direction (picks `:forward` variants).

    Returns
    -------
    columns
        One row per edge, columns and dtypes as in `EDGE_TAG_COLUMNS`.
    """
    rows = [
        _typed_row(directional_tags(way_tags, forward=fwd))
        for way_tags, fwd in zip(tag_dicts, forward, strict=True)
    ]
    frame = pd.DataFrame(rows, columns=list(EDGE_TAG_COLUMNS))
    return frame.astype(EDGE_TAG_COLUMNS)
