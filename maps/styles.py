"""How the maps look: colours of vehicle states, restriction kinds, speeds and road classes.

One place for every colour and label, so the legend and the layers cannot disagree. Labels are
Chinese first, English second, as on every user-facing text.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

import numpy as np

from geodata.restrictions import RestrictionKind

__all__ = [
    "KIND_STYLES",
    "ROAD_CLASS_STYLES",
    "SPEED_BINS_KMH",
    "SPEED_COLOURS",
    "STATE_STYLES",
    "KindStyle",
    "StateStyle",
    "VehicleState",
    "bilingual",
    "restriction_style",
    "speed_bin",
    "speed_colour",
]


class VehicleState(enum.StrEnum):
    """What a supervisor needs to see first about a vehicle."""

    MOVING = "moving"
    STOPPED = "stopped"
    OFFLINE = "offline"
    ALERT = "alert"


@dataclass(frozen=True)
class StateStyle:
    """Colour and zh/en label of a vehicle state."""

    colour: str
    zh: str
    en: str


STATE_STYLES: dict[VehicleState, StateStyle] = {
    VehicleState.MOVING: StateStyle("#1a9850", "行驶", "moving"),
    VehicleState.STOPPED: StateStyle("#2c7fb8", "停车", "stopped"),
    VehicleState.OFFLINE: StateStyle("#7f7f7f", "离线", "offline"),
    VehicleState.ALERT: StateStyle("#d7191c", "报警", "in alert"),
}


@dataclass(frozen=True)
class KindStyle:
    """Drawing of a restriction kind: stroke and fill colour, label, and whether it is a zone."""

    colour: str
    zh: str
    en: str
    is_area: bool


KIND_STYLES: dict[RestrictionKind, KindStyle] = {
    RestrictionKind.FORBIDDEN_SEGMENT: KindStyle("#b2182b", "禁行路段", "forbidden segment", False),
    RestrictionKind.ZONE: KindStyle("#e66101", "限行区域", "restricted zone", True),
    RestrictionKind.TUNNEL: KindStyle("#5e3c99", "隧道", "tunnel", False),
    RestrictionKind.BRIDGE: KindStyle("#8073ac", "桥梁", "bridge", False),
    RestrictionKind.WATER_SOURCE_LEVEL1: KindStyle(
        "#0571b0", "一级水源保护区", "water source level 1", True
    ),
    RestrictionKind.WATER_SOURCE_LEVEL2: KindStyle(
        "#4393c3", "二级水源保护区", "water source level 2", True
    ),
    RestrictionKind.WATER_SOURCE_BELT: KindStyle(
        "#92c5de", "水源准保护区", "water source belt", True
    ),
    RestrictionKind.DENSE_AREA: KindStyle("#d01c8b", "人员密集区", "dense area", True),
    RestrictionKind.NO_PARKING_ZONE: KindStyle("#f1a340", "禁停区", "no-parking zone", True),
    RestrictionKind.PARKING_LOT: KindStyle("#4dac26", "专用停车场", "hazmat parking lot", True),
    RestrictionKind.SERVICE_AREA: KindStyle(
        "#7fbc41", "高速公路服务区", "expressway service area", True
    ),
    RestrictionKind.APPROVED_CORRIDOR: KindStyle(
        "#018571", "核准路线走廊", "approved corridor", False
    ),
}

#: Upper bounds of the speed classes of a playback path (km/h); the last class is open.
SPEED_BINS_KMH: tuple[float, ...] = (3.0, 20.0, 40.0, 60.0, 80.0)
SPEED_COLOURS: tuple[str, ...] = ("#2c7fb8", "#41b6c4", "#a1dab4", "#fdae61", "#f46d43", "#a50026")

#: Road classes of the offline base layer: (highway values, colour, weight px).
ROAD_CLASS_STYLES: tuple[tuple[str, frozenset[str], str, float], ...] = (
    (
        "major",
        frozenset({"motorway", "motorway_link", "trunk", "trunk_link", "primary", "primary_link"}),
        "#9a9a9a",
        4.0,
    ),
    (
        "medium",
        frozenset({"secondary", "secondary_link", "tertiary", "tertiary_link"}),
        "#b4b4b4",
        3.0,
    ),
    ("minor", frozenset(), "#cfcfcf", 1.5),
)


def bilingual(zh: str, en: str) -> str:
    """A label as the maps write it: Chinese, then English."""
    return f"{zh} / {en}"


def restriction_style(kind: RestrictionKind, *, is_active: bool) -> dict[str, Any]:
    """Leaflet path options of a restriction: solid and strong in force, dashed and faint not.

    Examples
    --------
    >>> restriction_style(RestrictionKind.ZONE, is_active=False)["dashArray"]
    '6 6'
    """
    style = KIND_STYLES[kind]
    return {
        "color": style.colour,
        "weight": (3 if style.is_area else 6) if is_active else 2,
        "opacity": 0.9 if is_active else 0.5,
        "fillColor": style.colour,
        "fillOpacity": (0.3 if is_active else 0.06) if style.is_area else 0.0,
        "dashArray": None if is_active else "6 6",
    }


def speed_bin(speed_kmh: np.ndarray) -> np.ndarray:
    """Index of each speed's class in `SPEED_COLOURS` (NaN counts as standing).

    Examples
    --------
    >>> speed_bin(np.array([0.0, 35.0, 95.0, np.nan])).tolist()
    [0, 2, 5, 0]
    """
    speeds = np.nan_to_num(np.asarray(speed_kmh, dtype=float), nan=0.0)
    return np.searchsorted(np.asarray(SPEED_BINS_KMH), speeds, side="left")


def speed_colour(speed_kmh: float) -> str:
    """Colour of one speed."""
    return SPEED_COLOURS[int(speed_bin(np.array([speed_kmh]))[0])]
