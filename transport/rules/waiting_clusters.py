"""Clusters of loaded hazmat vehicles waiting together (e.g. at an expressway entrance).

Two forms of one condition: at least `cluster_min_vehicles` loaded vehicles stopped, each within
`cluster_radius_m` of another (single linkage), outside designated parking lots (a lot's own
capacity rule covers those). `RULE` is the per-vehicle rule of the monitoring: at each fix of a
loaded vehicle's stop that lasted `min_stop_s`, it grows the cluster from the vehicle's anchor
over the other vehicles' current stops (`FixBatch.fleet`) and alerts every member, so each
driver is reminded and the alert closes for a vehicle once it leaves. `find_waiting_clusters`
is the fleet-wide picture at one moment, a pure function over arrays (for dashboards).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import shapely
from scipy import sparse
from scipy.sparse import csgraph

from geodata.arrays import unique_ints
from transport.rules import fleet_view
from transport.rules.base import RuleEvent, RuleSpec, Text, step_alone
from transport.rules.parking import ParkingState

if TYPE_CHECKING:
    from collections.abc import Sequence

    from transport.rules.base import FixBatch, Stepped
    from transport.rules.fleet_view import FleetView
    from transport.rules.params import RuleParams

__all__ = [
    "LEGAL_BASIS",
    "RULE",
    "RULE_ID",
    "TITLE",
    "WaitingCluster",
    "cluster_members",
    "find_waiting_clusters",
    "step_fleet",
]

RULE_ID = "waiting_cluster"
TITLE = Text("危险货物车辆聚集等候", "Loaded hazmat vehicles waiting in a cluster")
LEGAL_BASIS = Text(
    "《危险货物道路运输安全管理办法》（集中停放风险，实践做法）",
    "Order 29 (clustered waiting is a known risk, practice)",
)


def _fact(count: int, radius_m: float) -> Text:
    """The cluster's description."""
    return Text(
        f"{count} 辆重车在 {radius_m:g} 米内聚集等候",
        f"{count} loaded vehicles waiting within {radius_m:g} m of one another",
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
            fact=_fact(len(ids), radius_m),
            legal_basis=LEGAL_BASIS,
            value=float(len(ids)),
            limit=float(min_vehicles),
        )
        clusters.append(WaitingCluster(ids, cx, cy, event))
    return clusters


def cluster_members(
    fleet: FleetView,
    near: np.ndarray,
    *,
    at_us: int,
    max_age_s: float,
    other_than: str,
    radius_m: float,
) -> np.ndarray:
    """Positions of the fleet stops that count at `at_us` for vehicle `other_than` and are
    linked to a point, given the stops `near` it (within `radius_m`).

    Single linkage, as `find_waiting_clusters`: the links among the fleet's loaded stops
    outside lots are found once per snapshot (`FleetView.waiting_groups`); a point joins the
    groups of the counting stops within the radius of it, and the counting members of those
    groups are returned. Only the members of the groups near the point are looked at. A stop
    that does not count at this moment may still link two groups (it was withdrawn or went
    stale since the snapshot): a rare, short-lived overcount.
    """
    labels = fleet.waiting_groups(radius_m)
    near = near[labels[near] >= 0]
    candidates = fleet.group_members(radius_m, unique_ints(labels[near]))
    counted = np.zeros(len(fleet), dtype=bool)
    counted[candidates] = fleet.current(
        at_us, max_age_s=max_age_s, other_than=other_than, positions=candidates
    )
    members = fleet.group_members(radius_m, unique_ints(labels[near[counted[near]]]))
    return members[counted[members]]


def step_fleet(
    states: Sequence[ParkingState], batches: Sequence[FixBatch], params: RuleParams
) -> list[Stepped[ParkingState]]:
    """Follow each vehicle's stop; at each stop fix of a loaded vehicle in a large enough
    cluster, an event. The lots (`fleet_view.follow_stops_in_lots`) and the
    neighbours of all their stops are looked up in one query each per fleet snapshot."""
    followed = fleet_view.follow_stops_in_lots(states, batches, params)
    by_snapshot: dict[int, tuple[FleetView, list[tuple[int, fleet_view.OwnStop]]]] = {}
    for k, (batch, (_, stops, lots)) in enumerate(zip(batches, followed, strict=True)):
        outside = [(k, stop) for stop, around in zip(stops, lots, strict=True) if not around]
        if outside and batch.fleet is not None and batch.vehicle.is_loaded:
            by_snapshot.setdefault(id(batch.fleet), (batch.fleet, []))[1].extend(outside)
    events: list[list[tuple[int, RuleEvent]]] = [[] for _ in batches]
    for fleet, waiting in by_snapshot.values():
        xs, ys = np.array([s.x for _, s in waiting]), np.array([s.y for _, s in waiting])
        near_each = fleet.within_each(xs, ys, params.parking.cluster_radius_m)
        for (k, stop), near in zip(waiting, near_each, strict=True):
            event = _cluster_event(batches[k], stop, near, params)
            if event is not None:
                events[k].append((stop.pos, event))
    return [(state, found) for (state, _, _), found in zip(followed, events, strict=True)]


def _cluster_event(
    batch: FixBatch, stop: fleet_view.OwnStop, near: np.ndarray, params: RuleParams
) -> RuleEvent | None:
    """The event of a vehicle's stop outside lots (`near`: the fleet stops within the radius
    of it) when a large enough cluster waits there, else None."""
    fleet, p = batch.fleet, params.parking
    assert fleet is not None  # only stops of vehicles that see the fleet come here
    radius_m = p.cluster_radius_m
    labels, group_sizes = fleet.waiting_groups(radius_m), fleet.waiting_group_sizes(radius_m)
    groups = unique_ints(labels[near])
    if 1 + group_sizes[groups[groups >= 0]].sum() < p.cluster_min_vehicles:
        return None  # too few waiting nearby even if all counted
    members = cluster_members(
        fleet, near, at_us=stop.at_us, max_age_s=p.fleet_stop_max_age_s,
        other_than=batch.vehicle.vehicle_id, radius_m=radius_m,
    )  # fmt: skip
    size = 1 + len(members)
    if size < p.cluster_min_vehicles:
        return None
    fix = batch.fixes[stop.pos]
    return RuleEvent(
        rule_id=RULE_ID,
        key="cluster",
        at=fix.fix_at,
        severity="warning",
        fact=_fact(size, radius_m),
        legal_basis=LEGAL_BASIS,
        edge_ids=(fix.edge_id,) if fix.is_matched else (),
        value=float(size),
        limit=float(p.cluster_min_vehicles),
    )


RULE: RuleSpec[ParkingState] = RuleSpec(
    rule_id=RULE_ID,
    title=TITLE,
    legal_basis=LEGAL_BASIS,
    initial_state=ParkingState,
    step=step_alone(step_fleet),
    step_fleet=step_fleet,
)
