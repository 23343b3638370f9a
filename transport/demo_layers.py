"""An illustrative restriction layer for the embedded default network (Helsinki centre).

`hazmat demo` compiles it so that the simulated fleet raises a few alerts: a daytime city-centre
ban on Mannerheimintie (DOMAIN.md §5, "city-centre daytime bans"), a level-2 drinking-water
zone over the streets east of the Kaisaniemi park, and a police tunnel notice on the city-centre
service tunnel. Way ids are read from the network, so the layer always compiles onto it. The
data is made up: ``source.kind`` is ``example`` and every text says so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from geodata import restrictions

if TYPE_CHECKING:
    from geodata.network import RoadNetwork

__all__ = ["DEMO_LAYER_NAME", "default_demo_layer"]

DEMO_LAYER_NAME = "helsinki-demo"
BAN_STREET = "Mannerheimintie"
SERVICE_TUNNEL_WAY_ID = 27193233  # Helsinki city-centre service tunnel (huoltotunneli)
WATER_ZONE_LONLAT = ((24.9440, 60.1690), (24.9530, 60.1690), (24.9530, 60.1735), (24.9440, 60.1735))
_EXAMPLE = {"kind": "example", "ref": "illustrative"}


def _feature(rid: str, kind: str, name: tuple[str, str], **props: Any) -> dict[str, Any]:
    """A restriction feature marked as illustrative."""
    geometry = props.pop("geometry", None)
    return {
        "type": "Feature",
        "geometry": geometry,
        "properties": {
            "id": rid,
            "kind": kind,
            "name": {"zh": name[0], "en": name[1]},
            "legal_basis": {
                "zh": "示例：《危险货物道路运输安全管理办法》第四十九条（示意）",
                "en": "Example: Order 29 Art 49 (illustrative)",
            },
            "cargo": {"all_dangerous_goods": True},
            "source": _EXAMPLE,
            **props,
        },
    }


def default_demo_layer(network: RoadNetwork) -> restrictions.RestrictionLayer:
    """Return the illustrative demo layer for a network (made for the default Helsinki one).

    Features whose streets or tunnel the network lacks are left out, so the layer compiles
    onto any network; on the default network it holds all three.
    """
    edges = network.edges
    ways = edges["osm_way_id"].to_numpy(np.int64)
    ban_ways = sorted(
        set(ways[(edges["name"] == BAN_STREET).fillna(False).to_numpy(bool)].tolist())
    )
    features = []
    if ban_ways:
        features.append(
            _feature(
                "demo-mannerheimintie-daytime-ban", "forbidden_segment",
                ("示例：曼纳海姆大街白天禁行", "Example: Mannerheimintie daytime ban"),
                osm_way_ids=ban_ways, schedule="06:00-22:00",
            )
        )  # fmt: skip
    ring = [list(p) for p in (*WATER_ZONE_LONLAT, WATER_ZONE_LONLAT[0])]
    features.append(
        _feature(
            "demo-water-source-level2", "water_source_level2",
            ("示例：二级饮用水水源保护区", "Example: level-2 drinking-water source zone"),
            geometry={"type": "Polygon", "coordinates": [ring]}, severity="critical",
        )
    )  # fmt: skip
    if SERVICE_TUNNEL_WAY_ID in set(ways.tolist()):
        features.append(
            _feature(
                "demo-service-tunnel-category-d", "tunnel",
                ("示例：市中心服务隧道限行（按 ADR D 类）",
                 "Example: city-centre service tunnel restriction (as ADR category D)"),
                osm_way_ids=[SERVICE_TUNNEL_WAY_ID], cargo={"tunnel_codes": ["B", "C", "D"]},
            )
        )  # fmt: skip
    return restrictions.load_layer(
        restrictions.layer_document(
            features,
            name=DEMO_LAYER_NAME,
            authority=(
                "示例数据（非任何警方发布）",
                "Illustrative data (issued by no police authority)",
            ),
        )
    )
