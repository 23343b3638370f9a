"""Derive restrictions from a road network's OSM tags and geometry, as a restriction layer.

Tags: ``hazmat=no`` and ``hazmat:water=no`` become forbidden segments on the ways (per travel
direction, since ``:forward`` / ``:backward`` variants are resolved per edge); each ``no @ (…)``
part of ``hazmat:conditional`` becomes a forbidden segment whose schedule is the condition, so it
is evaluated at query time like any other schedule. ADR tunnel categories stay on the edges
(``tunnel_category``) and are checked by the tunnel rule against the load's tunnel code.

Geometry: a chain of contiguous tunnel edges sharing a way id or a name longer than
``long_tunnel_m`` (3000 m, DOMAIN.md §5) becomes a ``tunnel`` restriction; bridges likewise above
``large_bridge_m`` (1000 m, unconfirmed: configurable).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from geodata import restriction_index, restrictions, schedules
from geodata._errors import ScheduleError
from geodata.restrictions import RestrictionLayer

if TYPE_CHECKING:
    from geodata.network import RoadNetwork

__all__ = ["DerivationParams", "derive_layer", "parse_conditional"]

logger = logging.getLogger(__name__)

LONG_TUNNEL_M = 3000.0
LARGE_BRIDGE_M = 1000.0
_CONDITION = re.compile(r"^\s*([a-z_]+)\s*@\s*\(?(.*?)\)?\s*$")
_OSM_SOURCE = {"kind": "osm"}
_ALL_GOODS = {"all_dangerous_goods": True}


@dataclass(frozen=True)
class DerivationParams:
    """Which derived restrictions to make, and the geometry thresholds."""

    long_tunnel_m: float | None = LONG_TUNNEL_M
    large_bridge_m: float | None = LARGE_BRIDGE_M
    time_zone: str = schedules.DEFAULT_TIME_ZONE
    water_cargo: Mapping[str, Any] | None = None  # selector for hazmat:water; all goods if None


def parse_conditional(value: str | None) -> list[str]:
    """Return the opening_hours conditions under which an OSM ``hazmat:conditional`` says ``no``.

    Parts are split at ``;`` outside parentheses; parts with another value are ignored.

    Examples
    --------
    >>> parse_conditional("no @ (Mo-Fr 07:00-19:00); yes @ (Sa)")
    ['Mo-Fr 07:00-19:00']
    >>> parse_conditional(None)
    []
    """
    if not value:
        return []
    parts, depth, current = [], 0, ""
    for char in value:
        depth += (char == "(") - (char == ")")
        if char == ";" and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    matches = (_CONDITION.match(part) for part in parts)
    return [m.group(2).strip() for m in matches if m and m.group(1) == "no" and m.group(2).strip()]


def derive_layer(network: RoadNetwork, params: DerivationParams | None = None) -> RestrictionLayer:
    """Return a restriction layer of everything the network's tags and geometry imply.

    Parameters
    ----------
    network
        Road network with typed tag columns.
    params
        Thresholds; ``None`` for the national defaults. A threshold of ``None`` turns it off.

    Returns
    -------
    layer
        Features on OSM way ids with a direction; ids start with ``osm-``. Unparsable
        ``hazmat:conditional`` values are logged and skipped.
    """
    params = params or DerivationParams()
    edges = network.edges.assign(is_forward=restriction_index.edge_is_forward(network))
    features = [
        *_tag_features(edges, "hazmat", "no", "hazmat-no", _ALL_GOODS, params),
        *_tag_features(
            edges, "hazmat_water", "no", "hazmat-water", params.water_cargo or _ALL_GOODS, params
        ),
        *_conditional_features(edges, params),
    ]
    if params.long_tunnel_m is not None:
        features += _chain_features(edges, "is_tunnel", params.long_tunnel_m, "tunnel", params)
    if params.large_bridge_m is not None:
        features += _chain_features(edges, "is_bridge", params.large_bridge_m, "bridge", params)
    return RestrictionLayer.model_validate(
        restrictions.layer_document(
            features,
            name=f"osm-derived:{network.name}",
            authority=("由 OSM 标签与几何推导", "Derived from OSM tags and geometry"),
        )
    )


def _direction_groups(edges: pd.DataFrame, mask: pd.Series) -> list[tuple[int, str]]:
    """Return (way id, direction) for the ways whose selected edges cover one or both ways."""
    chosen = edges.loc[mask.fillna(False).astype(bool), ["osm_way_id", "is_forward"]]
    groups = []
    for way_id, flags in chosen.groupby("osm_way_id")["is_forward"]:
        values = set(flags.tolist())
        direction = "both" if len(values) == 2 else ("forward" if True in values else "backward")
        groups.append((int(way_id), direction))
    return groups


def _feature(
    rid: str, kind: str, name: tuple[str, str], basis: tuple[str, str], **extra: Any
) -> dict[str, Any]:
    """One derived feature as a raw GeoJSON mapping."""
    return {
        "type": "Feature",
        "geometry": None,
        "properties": {
            "id": rid,
            "kind": kind,
            "name": {"zh": name[0], "en": name[1]},
            "legal_basis": {"zh": basis[0], "en": basis[1]},
            "source": _OSM_SOURCE,
            **extra,
        },
    }


_TAG_BASIS = ("OSM 标签所示禁行（道路交通标志）", "Prohibition mapped in OSM (road signs)")


def _tag_features(
    edges: pd.DataFrame,
    column: str,
    value: str,
    prefix: str,
    cargo: Mapping[str, Any],
    params: DerivationParams,
) -> list[dict[str, Any]]:
    """Forbidden segments for ways tagged ``column=value``, per direction."""
    tag = column.replace("_", ":")
    return [
        _feature(
            f"osm-{prefix}-{way_id}-{direction}",
            "forbidden_segment",
            (f"OSM {tag}={value}（道路 {way_id}）", f"OSM {tag}={value} (way {way_id})"),
            _TAG_BASIS,
            osm_way_ids=[way_id],
            direction=direction,
            cargo=dict(cargo),
            time_zone=params.time_zone,
            source={"kind": "osm", "ref": str(way_id)},
        )
        for way_id, direction in _direction_groups(edges, edges[column] == value)
    ]


def _conditional_features(edges: pd.DataFrame, params: DerivationParams) -> list[dict[str, Any]]:
    """Scheduled forbidden segments from ``hazmat:conditional``, one per ``no @`` condition."""
    features = []
    for value in edges["hazmat_conditional"].dropna().unique():
        for n, condition in enumerate(parse_conditional(str(value))):
            try:
                schedules.Schedule(condition, time_zone=params.time_zone)
            except ScheduleError as err:
                logger.warning("skipping hazmat:conditional %r: %s", value, err)
                continue
            for way_id, direction in _direction_groups(edges, edges["hazmat_conditional"] == value):
                features.append(
                    _feature(
                        f"osm-hazmat-conditional-{way_id}-{direction}-{n}",
                        "forbidden_segment",
                        (f"OSM 限时禁行 {condition}", f"OSM conditional ban {condition}"),
                        _TAG_BASIS,
                        osm_way_ids=[way_id],
                        direction=direction,
                        schedule=condition,
                        time_zone=params.time_zone,
                        cargo=_ALL_GOODS,
                        source={"kind": "osm", "ref": str(way_id)},
                    )
                )
    return features


_CHAIN_TEXT = {
    "tunnel": (
        ("特长隧道", "Extra-long tunnel"),
        (
            "《危险货物道路运输安全管理办法》第四十九条：特长隧道",
            "Order 29 Art 49: extra-long tunnels",
        ),
    ),
    "bridge": (
        ("特大桥", "Extra-large bridge"),
        (
            "《危险货物道路运输安全管理办法》第四十九条：特大桥梁",
            "Order 29 Art 49: extra-large bridges",
        ),
    ),
}


def _chain_features(
    edges: pd.DataFrame, column: str, min_length_m: float, kind: str, params: DerivationParams
) -> list[dict[str, Any]]:
    """Tunnel or bridge restrictions for contiguous chains longer than `min_length_m`."""
    labels, lengths_m = restriction_index.structure_chains(edges, column)
    (name_zh, name_en), basis = _CHAIN_TEXT[kind]
    features = []
    for label in np.flatnonzero(lengths_m > min_length_m):
        way_ids = sorted({int(w) for w in edges["osm_way_id"].to_numpy()[labels == label]})
        length_km = lengths_m[label] / 1000.0
        features.append(
            _feature(
                f"osm-{kind}-{way_ids[0]}",
                kind,
                (f"{name_zh}（{length_km:.2f} km）", f"{name_en} ({length_km:.2f} km)"),
                basis,
                osm_way_ids=way_ids,
                direction="both",
                cargo=_ALL_GOODS,
                time_zone=params.time_zone,
                source={"kind": "osm", "ref": ",".join(map(str, way_ids))},
            )
        )
    return features
