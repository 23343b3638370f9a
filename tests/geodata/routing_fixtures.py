"""A small ladder network and restriction builders for routing and what-if scenario tests.

Main road (primary, fast) 0-1-2-3 along latitude 22.50, a slow parallel road 4-5-6-7 at 22.51
with rungs, and a spur 3-8-9. Way ids: main pieces 12, 23, 1 (0-1); spur 38 and 89.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from geodata import restrictions
from geodata.network import RoadNetwork
from geodata.restrictions import RestrictionLayer

LON = [114.00, 114.01, 114.02, 114.03, 114.00, 114.01, 114.02, 114.03, 114.04, 114.05]
LAT = [22.50] * 4 + [22.51] * 4 + [22.50, 22.50]
# (u, v, way, highway)
PIECES = [
    (0, 1, 1, "primary"), (1, 2, 12, "primary"), (2, 3, 23, "primary"),
    (4, 5, 45, "residential"), (5, 6, 56, "residential"), (6, 7, 67, "residential"),
    (0, 4, 4, "residential"), (1, 5, 15, "residential"), (2, 6, 26, "residential"),
    (3, 7, 37, "residential"), (3, 8, 38, "primary"), (8, 9, 89, "primary"),
]  # fmt: skip


def ladder(tunnel_category: str | None = None) -> RoadNetwork:
    """The ladder network; way 23 (nodes 2-3) is a tunnel of `tunnel_category` when given."""
    rows = []
    for u, v, way, highway in PIECES:
        for a, b, fwd in ((u, v, True), (v, u, False)):
            is_tunnel = tunnel_category is not None and way == 23
            rows.append(
                {
                    "u": a, "v": b, "osm_way_id": way, "is_forward": fwd, "highway": highway,
                    "is_tunnel": is_tunnel,
                    "tunnel_category": tunnel_category if is_tunnel else None,
                }
            )  # fmt: skip
    nodes = pd.DataFrame({"lon": LON, "lat": LAT, "osm_node_id": range(100, 110)})
    return RoadNetwork.from_tables(nodes, pd.DataFrame(rows), name="ladder")


def feature(rid: str, kind: str, *, schedule: str = "24/7", **extra: Any) -> dict[str, Any]:
    """One raw restriction feature (geometry or osm_way_ids in `extra`)."""
    geometry = extra.pop("geometry", None)
    return {
        "type": "Feature",
        "geometry": geometry,
        "properties": {
            "id": rid,
            "kind": kind,
            "name": {"zh": f"测试限制 {rid}", "en": f"Test restriction {rid}"},
            "legal_basis": {"zh": "测试依据", "en": "Test basis"},
            "cargo": extra.pop("cargo", {"all_dangerous_goods": True}),
            "schedule": schedule,
            "source": {"kind": "example"},
            **extra,
        },
    }


def layer(*features: dict[str, Any]) -> RestrictionLayer:
    """A layer of raw features."""
    return RestrictionLayer.model_validate(
        restrictions.layer_document(list(features), name="test", authority=("测试", "test"))
    )


def box(lon0: float, lat0: float, lon1: float, lat1: float) -> dict[str, Any]:
    """A GeoJSON rectangle."""
    ring = [[lon0, lat0], [lon1, lat0], [lon1, lat1], [lon0, lat1], [lon0, lat0]]
    return {"type": "Polygon", "coordinates": [ring]}
