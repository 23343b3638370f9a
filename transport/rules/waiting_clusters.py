"""Clusters of loaded hazmat vehicles waiting together (e.g. at an expressway entrance).

A fleet-wide rule: it reads the stopped, loaded vehicles of one moment across all monitors, so
it is a pure function over arrays rather than a per-vehicle state machine.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import shapely
from scipy import sparse
from scipy.sparse import csgraph

from transport.rules.base import RuleEvent, Text

__all__ = ["LEGAL_BASIS", "RULE_ID", "TITLE", "WaitingCluster", "find_waiting_clusters"]

RULE_ID = "waiting_cluster"
TITLE = Text("危险货物车辆聚集等候", "Loaded hazmat vehicles waiting in a cluster")
LEGAL_BASIS = Text(
    "《危险货物道路运输安全管理办法》（集中停放风险，实践做法）",
    "Order 29 (clustered waiting is a known risk, practice)",
)


@dataclass(frozen=True)
class WaitingCluster:
    """Vehicles within the radius of one another, and the event describing them."""

    vehicle_ids: tuple[str, ...]
    centre_x: float
    centre_y: float
    event: RuleEvent


def find_waiting_clusters(
    vehicle_ids: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    *,
    at: dt.datetime,
    radius_m: float = 200.0,
    min_vehicles: int = 5,
) -> list[WaitingCluster]:
    """Return groups of at least `min_vehicles` stopped loaded vehicles linked within `radius_m`.

    Parameters
    ----------
    vehicle_ids, x, y
        Stopped loaded vehicles at one moment and their metric positions.
    at
        The moment, aware.
    """
    points = shapely.points(np.asarray(x, float), np.asarray(y, float))
    tree = shapely.STRtree(points)
    a, b = tree.query(points, predicate="dwithin", distance=radius_m)
    n = len(points)
    graph = sparse.coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n))
    _, labels = csgraph.connected_components(graph, directed=False)
    clusters = []
    for label in np.flatnonzero(np.bincount(labels, minlength=1) >= min_vehicles):
        members = np.flatnonzero(labels == label)
        ids = tuple(sorted(str(v) for v in np.asarray(vehicle_ids)[members]))
        cx, cy = float(np.mean(np.asarray(x)[members])), float(np.mean(np.asarray(y)[members]))
        event = RuleEvent(
            rule_id=RULE_ID,
            key=f"cluster:{ids[0]}",
            at=at,
            severity="warning",
            fact=Text(
                f"{len(ids)} 辆重车在 {radius_m:g} 米内聚集",
                f"{len(ids)} loaded vehicles within {radius_m:g} m",
            ),
            legal_basis=LEGAL_BASIS,
            value=float(len(ids)),
            limit=float(min_vehicles),
        )
        clusters.append(WaitingCluster(ids, cx, cy, event))
    return clusters
