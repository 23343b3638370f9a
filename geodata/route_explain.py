"""Explain a compliant route: the unrestricted route beside it, the detours and their reasons.

`plan_route` answers a trip request with the compliant route, the unrestricted one, the
restrictions the unrestricted route would break (each detour names the rules that forced it,
with its extra km and minutes) and, when no compliant route exists, the restrictions that block
the trip and the earliest departure that works: candidate departures are the moments bans end
(from the schedules' changes), then the first working one is refined to the minute.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from geodata import route_check, route_graph, routing

if TYPE_CHECKING:
    from geodata.restriction_index import CargoKey
    from geodata.route_check import Violation
    from geodata.route_graph import RoutingIndex
    from geodata.routing import Route, Snap

__all__ = ["Detour", "RoutePlan", "plan_route"]

logger = logging.getLogger(__name__)

SEARCH_HOURS = 48.0
REFINE_S = 60.0
MAX_CANDIDATES = 200


@dataclass(frozen=True)
class Detour:
    """Where the compliant route leaves the unrestricted one, why, and what it costs."""

    avoided: tuple[Violation, ...]
    unrestricted_m: float
    compliant_m: float
    unrestricted_s: float
    compliant_s: float

    @property
    def restriction_ids(self) -> tuple[str, ...]:
        """Ids of the restrictions that forced the detour."""
        return tuple(dict.fromkeys(v.restriction_id for v in self.avoided))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values."""
        return {
            "restriction_ids": list(self.restriction_ids),
            "avoided": [v.to_dict() for v in self.avoided],
            "extra_km": round((self.compliant_m - self.unrestricted_m) / 1000.0, 3),
            "extra_min": round((self.compliant_s - self.unrestricted_s) / 60.0, 2),
        }


@dataclass(frozen=True, eq=False)
class RoutePlan:
    """The answer to a trip request, with its explanation.

    Attributes
    ----------
    route
        The fastest compliant route at `depart_at`, ``None`` when there is none.
    unrestricted
        The fastest route ignoring every restriction, ``None`` when the points are not connected.
    avoided
        What the unrestricted route would break.
    detours
        Per detour: the rules that forced it and its extra length and time.
    blocking
        When there is no route: the restrictions that block it (lifting any one of them opens
        a route; all of them together when no single one does).
    earliest_depart_at, earliest_route
        The earliest later departure with a compliant route, within the search window.
    """

    depart_at: dt.datetime
    route: Route | None
    unrestricted: Route | None
    avoided: tuple[Violation, ...]
    detours: tuple[Detour, ...]
    blocking: tuple[Violation, ...] = ()
    earliest_depart_at: dt.datetime | None = None
    earliest_route: Route | None = None

    @property
    def extra_m(self) -> float:
        """Extra length of the compliant route over the unrestricted one (NaN without both)."""
        if self.route is None or self.unrestricted is None:
            return float("nan")
        return self.route.length_m - self.unrestricted.length_m

    @property
    def extra_s(self) -> float:
        """Extra travel time of the compliant route (NaN without both)."""
        if self.route is None or self.unrestricted is None:
            return float("nan")
        return self.route.duration_s - self.unrestricted.duration_s

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values (routes as summaries)."""

        def summary(r: Route | None) -> dict[str, Any] | None:
            return None if r is None else r.summary()

        return {
            "depart_at": self.depart_at.isoformat(),
            "route": summary(self.route),
            "unrestricted": summary(self.unrestricted),
            "extra_km": None if self.route is None else round(self.extra_m / 1000.0, 3),
            "extra_min": None if self.route is None else round(self.extra_s / 60.0, 2),
            "avoided": [v.to_dict() for v in self.avoided],
            "detours": [d.to_dict() for d in self.detours],
            "blocking": [v.to_dict() for v in self.blocking],
            "earliest_depart_at": (
                None if self.earliest_depart_at is None else self.earliest_depart_at.isoformat()
            ),
            "earliest_route": summary(self.earliest_route),
        }

    def explain(self) -> list[str]:
        """Lines of text in Chinese and English saying what was avoided, or what blocks."""
        lines = []
        if self.unrestricted is None:
            lines.append("起终点之间无道路连接 / no road connects origin and destination")
        if self.route is not None:
            lines.append(
                f"合规路线 / compliant route: {self.route.length_m / 1000:.2f} km, "
                f"{self.route.duration_s / 60:.1f} min (+{self.extra_m / 1000:.2f} km, "
                f"+{self.extra_s / 60:.1f} min)"
            )
        for d in self.detours:
            names = "; ".join(f"{v.name_zh} / {v.name_en} [{v.restriction_id}]" for v in d.avoided)
            lines.append(
                f"绕行 / detour +{(d.compliant_m - d.unrestricted_m) / 1000:.2f} km "
                f"+{(d.compliant_s - d.unrestricted_s) / 60:.1f} min: {names}"
            )
        for v in self.blocking:
            lines.append(f"受阻于 / blocked by: {v.name_zh} / {v.name_en} [{v.restriction_id}]")
        if self.route is None and self.earliest_depart_at is not None:
            earliest = self.earliest_depart_at.isoformat()
            lines.append(f"最早可行出发 / earliest departure: {earliest}")
        return lines


def plan_route(
    index: RoutingIndex,
    origin: Snap | tuple[float, float],
    destination: Snap | tuple[float, float],
    depart_at: dt.datetime,
    cargo: CargoKey,
    *,
    search_hours: float = SEARCH_HOURS,
) -> RoutePlan:
    """Route a load and explain the answer.

    Parameters
    ----------
    index
        Routing index.
    origin, destination
        Snapped points or WGS-84 ``(lon, lat)`` pairs.
    depart_at
        Aware departure.
    cargo
        The load.
    search_hours
        How far ahead to look for a departure that works when none does now.
    """
    src = origin if isinstance(origin, routing.Snap) else routing.snap_point(index, *origin)
    dst = (
        destination
        if isinstance(destination, routing.Snap)
        else routing.snap_point(index, *destination)
    )
    route = routing.fastest_route(index, src, dst, depart_at, cargo)
    free = routing.fastest_route(index, src, dst, depart_at, None)
    avoided: tuple[Violation, ...] = ()
    if free is not None:
        avoided = tuple(
            route_check.check_route(
                index, free.edge_ids, depart_at, cargo, entered_s=free.entered_s
            )
        )
    if route is not None:
        detours = _detours(index, free, route, avoided) if free is not None else ()
        return RoutePlan(depart_at, route, free, avoided, detours)
    blocking = _blocking(index, src, dst, depart_at, cargo, avoided)
    earliest, earliest_route = _earliest_departure(
        index, src, dst, depart_at, cargo, search_s=search_hours * 3600.0
    )
    return RoutePlan(depart_at, None, free, avoided, (), blocking, earliest, earliest_route)


def _section(route: Route, start: int, stop: int, index: RoutingIndex) -> tuple[float, float]:
    """Length and time of route positions start..stop-1 (whole edges)."""
    edges = route.edge_ids[start:stop]
    end_s = route.entered_s[stop] if stop < len(route.entered_s) else route.duration_s
    begin_s = route.entered_s[start] if start < len(route.entered_s) else route.duration_s
    return float(index.edge_length_m[edges].sum()), float(end_s - begin_s)


def _detours(
    index: RoutingIndex, free: Route, route: Route, avoided: tuple[Violation, ...]
) -> tuple[Detour, ...]:
    """Sections where the unrestricted route leaves the compliant one, with what they avoid."""
    in_route = np.isin(free.edge_ids, route.edge_ids)
    position = {int(e): k for k, e in enumerate(route.edge_ids.tolist())}
    apart = np.flatnonzero(~in_route)
    runs = np.split(apart, np.flatnonzero(np.diff(apart) > 1) + 1) if apart.size else []
    out = []
    for run in runs:
        edges = set(free.edge_ids[run].tolist())
        hit = tuple(v for v in avoided if edges.intersection(v.edge_ids))
        if not hit:
            continue
        before = position.get(int(free.edge_ids[run[0] - 1]), -1) if run[0] > 0 else -1
        after_pos = run[-1] + 1
        after = (
            position.get(int(free.edge_ids[after_pos]), len(route.edge_ids))
            if after_pos < len(free.edge_ids)
            else len(route.edge_ids)
        )
        free_m, free_s = _section(free, int(run[0]), int(after_pos), index)
        comp_m, comp_s = _section(route, before + 1, after, index)
        out.append(Detour(hit, free_m, comp_m, free_s, comp_s))
    return tuple(out)


def _rule_index(index: RoutingIndex, restriction_id: str) -> int:
    """Restriction index of a violation's id (`TUNNEL_RULE` for the tunnel rule)."""
    if restriction_id.startswith("adr-tunnel-category-"):
        return route_graph.TUNNEL_RULE
    ids = [r.properties.id for r in index.restrictions]
    return ids.index(restriction_id)


def _blocking(
    index: RoutingIndex, src: Snap, dst: Snap, depart_at: dt.datetime, cargo: CargoKey,
    avoided: tuple[Violation, ...],
) -> tuple[Violation, ...]:  # fmt: skip
    """The violations of the unrestricted route whose lifting alone opens a route; else all."""
    first: dict[str, Violation] = {}
    for v in avoided:
        first.setdefault(v.restriction_id, v)
    singles = tuple(
        v
        for rid, v in first.items()
        if routing.fastest_route(
            index, src, dst, depart_at, cargo, lifted=frozenset({_rule_index(index, rid)})
        )
        is not None
    )
    return singles or tuple(first.values())


def _earliest_departure(
    index: RoutingIndex, src: Snap, dst: Snap, depart_at: dt.datetime, cargo: CargoKey,
    *, search_s: float,
) -> tuple[dt.datetime | None, Route | None]:  # fmt: skip
    """First departure after `depart_at` with a compliant route, refined to `REFINE_S`."""
    masks = route_graph.query_masks(index, cargo, depart_at, horizon_s=search_s)
    changes = np.concatenate([masks.iv_start, masks.iv_end])
    changes = np.unique(changes[(changes > 0) & (changes < search_s)])[:MAX_CANDIDATES]
    failed_s = 0.0
    for offset in changes.tolist():
        at = depart_at + dt.timedelta(seconds=offset)
        route = routing.fastest_route(index, src, dst, at, cargo)
        if route is None:
            failed_s = offset
            continue
        lo, hi, best = failed_s, offset, route
        while hi - lo > REFINE_S:
            mid = (lo + hi) / 2.0
            trial = routing.fastest_route(
                index, src, dst, depart_at + dt.timedelta(seconds=mid), cargo
            )
            if trial is None:
                lo = mid
            else:
                hi, best = mid, trial
        return depart_at + dt.timedelta(seconds=hi), best
    return None, None
