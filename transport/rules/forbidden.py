"""Forbidden segments, zones, tunnels, bridges and dense areas entered while in force.

A vehicle already on a restriction at its last fix before the restriction came into force is
not in violation when the ban starts: it must leave at the next exit (DOMAIN §5). On edges
(segments, tunnels, bridges, ways) the grace ends once its path passes a node where it could
have left the restricted edges and it stays on them; a zone (polygon, dense area) has no exit
node, so it gets `ExitGraceParams.zone_grace_s` (and optionally `zone_grace_m` driven). Leaving
within the grace raises nothing; re-entering while in force alerts as usual.

The grace starts at the first fix in force: exits passed on the path since the previous fix do
not count, as the moment the ban began between the two fixes is not known. Unmatched fixes keep
an edge grace (GPS is often lost in tunnels). The state holds one small `ExitGrace` per
restriction the vehicle is on while it is not in force, in grace or overdue.
"""

from __future__ import annotations

import datetime as dt
import enum
import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from geodata.arrays import unique_ints
from geodata.restrictions import RestrictionKind
from transport.rules.base import EPOCH, US, RuleEvent, RuleSpec, Text, restriction_event

if TYPE_CHECKING:
    from transport.rules.base import FixBatch, RoadContext
    from transport.rules.params import ExitGraceParams, RuleParams

__all__ = ["KINDS", "RULE", "RULE_ID", "ExitGrace", "ForbiddenState", "Phase", "step"]

RULE_ID = "forbidden_entry"
KINDS = frozenset(
    {
        RestrictionKind.FORBIDDEN_SEGMENT,
        RestrictionKind.ZONE,
        RestrictionKind.TUNNEL,
        RestrictionKind.BRIDGE,
        RestrictionKind.DENSE_AREA,
    }
)


class Phase(enum.StrEnum):
    """Where a vehicle stands with a restriction it was on before the restriction began."""

    PENDING = "pending"  # on it while it is not in force
    GRACE = "grace"  # in force since the grace began: leaving
    OVERDUE = "overdue"  # passed the exit or the zone grace and still on it


class _Verdict(enum.Enum):
    """What a fix in grace shows."""

    STAYED = enum.auto()
    LEFT = enum.auto()
    OVERDUE = enum.auto()
    REENTERED = enum.auto()


@dataclass(frozen=True)
class ExitGrace:
    """One restriction the vehicle was on before it came into force, at the last fix.

    `since_at` is the first fix in force (the grace start); `driven_m` the distance driven since
    then; `edge_id` the last matched edge on the restriction (-1 none).
    """

    restriction_id: str
    phase: Phase
    since_at: dt.datetime | None = None
    driven_m: float = 0.0
    edge_id: int = -1


@dataclass(frozen=True)
class ForbiddenState:
    """The restrictions followed for a grace, by restriction id (stable across layer reloads)."""

    graces: tuple[ExitGrace, ...] = ()


@dataclass(frozen=True)
class _Exits:
    """A restriction's edges and those of them whose head node is an exit."""

    edges: frozenset[int]
    exit_edges: frozenset[int]


@dataclass
class _Follow:
    """Where one restriction's scan stands (mutable while scanning a batch)."""

    phase: Phase | None = None
    since_us: int = 0
    base_m: float = 0.0  # odometer reading at the grace start
    edge_id: int = -1


def step(
    state: ForbiddenState, batch: FixBatch, params: RuleParams
) -> tuple[ForbiddenState, list[tuple[int, RuleEvent]]]:
    """Emit an event per fix and forbidden restriction it is in, unless in its exit grace."""
    if not (state.graces or batch.hit_idx.size or batch.on_idx.size):
        return state, []  # on no restriction, and none followed (most vehicles, most fixes)
    hit_pos, hit_idx = batch.hits_of_kinds(KINDS)
    on_pos, on_idx = _on_pairs(batch)
    m = max(len(batch.road.compiled), 1)
    idle = ~_member(on_pos * m + on_idx, hit_pos * m + hit_idx)  # on it, not in force
    if not state.graces and not idle.any():  # no grace in play: every hit is an entry
        return state, [
            (pos, _entered(batch, pos, idx))
            for pos, idx in zip(hit_pos.tolist(), hit_idx.tolist(), strict=True)
        ]
    index_of = batch.road.memoized((RULE_ID, "index_of"), _index_of, batch.road)
    carried = {index_of[g.restriction_id]: g for g in state.graces if g.restriction_id in index_of}
    carried_idx = np.array(sorted(carried), np.int64)
    idle_idx = unique_ints(on_idx[idle])
    # On it but never in force in this batch: at most a pending grace, found without a scan.
    hit_set = unique_ints(hit_idx)
    waiting = idle_idx[~_member(idle_idx, hit_set) & ~_member(idle_idx, carried_idx)]
    followed = unique_ints(np.concatenate([idle_idx[~_member(idle_idx, waiting)], carried_idx]))
    plain = ~_member(hit_idx, followed)
    events = [
        (pos, idx, _entered(batch, pos, idx))
        for pos, idx in zip(hit_pos[plain].tolist(), hit_idx[plain].tolist(), strict=True)
    ]
    graces = _pending_at_end(batch, on_pos, on_idx, waiting)
    if followed.size:
        odometer_m = _odometer_m(batch, params)
        for idx in followed.tolist():
            on, hit = on_pos[on_idx == idx], hit_pos[hit_idx == idx]
            found, grace = _follow_one(batch, idx, on, hit, carried.get(idx), odometer_m, params)
            events += found
            graces += [grace] if grace is not None else []
    events.sort(key=lambda e: (e[0], e[1]))
    return ForbiddenState(tuple(graces)), [(pos, event) for pos, _, event in events]


def _pending_at_end(
    batch: FixBatch, on_pos: np.ndarray, on_idx: np.ndarray, waiting: np.ndarray
) -> list[ExitGrace]:
    """Pending graces of restrictions the vehicle is on, none in force in the batch: those it
    is still on at the last fix (on edges, also when only unmatched fixes followed)."""
    if not waiting.size:
        return []
    keep = _member(on_idx, waiting)
    pos, idx = on_pos[keep], on_idx[keep]  # sorted by index, then position
    is_last = np.append(idx[1:] != idx[:-1], True)
    matched_after = np.cumsum((batch.edge_id >= 0)[::-1])[::-1]  # matched fixes from here on
    graces = []
    for last, i in zip(pos[is_last].tolist(), idx[is_last].tolist(), strict=True):
        is_kept = last == len(batch) - 1
        if not is_kept and matched_after[last + 1] == 0:
            is_kept = batch.road.memoized((RULE_ID, "exits", i), _exits, batch.road, i) is not None
        if is_kept:
            rid = str(batch.road.compiled.restriction_ids[i])
            graces.append(ExitGrace(rid, Phase.PENDING, edge_id=int(batch.edge_id[last])))
    return graces


def _member(values: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    """Tell for each value whether it is in `sorted_set` (ascending): `np.isin` without its
    set-up, which dominates on the few dozen values of a batch."""
    if not sorted_set.size:
        return np.zeros(len(values), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_set, values), sorted_set.size - 1)
    return sorted_set[at] == values


def _on_pairs(batch: FixBatch) -> tuple[np.ndarray, np.ndarray]:
    """(position, index) pairs sorted by index, then position: the restrictions of these kinds
    each fix's edge or point is on, applying to the load, whatever the time."""
    keep = batch.road.is_kind(KINDS)[batch.on_idx]
    keys = np.sort(batch.on_idx[keep] * len(batch) + batch.on_pos[keep])
    return keys % len(batch), keys // len(batch)


def _index_of(road: RoadContext) -> dict[str, int]:
    """Restriction index by id."""
    return {str(rid): i for i, rid in enumerate(road.compiled.restriction_ids.tolist())}


def _odometer_m(batch: FixBatch, params: RuleParams) -> np.ndarray:
    """Distance driven up to each fix since the previous batch, counted only while moving."""
    return np.cumsum(batch.step_m * (batch.speed_kmh > params.stop_speed_kmh))


def _follow_one(
    batch: FixBatch,
    idx: int,
    on_pos: np.ndarray,
    hit_pos: np.ndarray,
    carried: ExitGrace | None,
    odometer_m: np.ndarray,
    params: RuleParams,
) -> tuple[list[tuple[int, int, RuleEvent]], ExitGrace | None]:
    """Scan one restriction through the batch; return its events and its grace at the end."""
    exits = batch.road.memoized((RULE_ID, "exits", idx), _exits, batch.road, idx)
    matched_before = np.concatenate([[0], np.cumsum(batch.edge_id >= 0)])
    now = _carried_follow(carried, odometer_m)
    on, hit = set(on_pos.tolist()), set(hit_pos.tolist())
    events, last = [], -1
    for pos in sorted(on | hit):
        # Off the restriction at a fix in between (an unmatched fix keeps an edge grace).
        if pos > last + 1 and (exits is None or matched_before[pos] > matched_before[last + 1]):
            now = _Follow()
        last = pos
        if pos not in hit:  # on it while not in force
            now = _Follow(Phase.PENDING, edge_id=int(batch.edge_id[pos]))
            continue
        event = _in_force(batch, pos, idx, now, pos in on, exits, odometer_m, params)
        if event is not None:
            events.append((pos, idx, event))
    # Kept when on it at the last fix, or (edges) only unmatched fixes followed.
    is_kept = last == len(batch) - 1 or (
        exits is not None and matched_before[-1] == matched_before[last + 1]
    )
    if now.phase is None or not is_kept:
        return events, None
    rid = str(batch.road.compiled.restriction_ids[idx])
    since = EPOCH + now.since_us * US if now.phase is not Phase.PENDING else None
    driven_m = float(odometer_m[-1] - now.base_m) if now.phase is not Phase.PENDING else 0.0
    return events, ExitGrace(rid, now.phase, since, driven_m, now.edge_id)


def _carried_follow(carried: ExitGrace | None, odometer_m: np.ndarray) -> _Follow:
    """The scan's start from the state: the odometer base is shifted by the distance driven."""
    if carried is None:
        return _Follow()
    since_us = 0 if carried.since_at is None else (carried.since_at - EPOCH) // US
    return _Follow(carried.phase, since_us, -carried.driven_m, carried.edge_id)


def _in_force(
    batch: FixBatch,
    pos: int,
    idx: int,
    now: _Follow,
    is_on: bool,
    exits: _Exits | None,
    odometer_m: np.ndarray,
    params: RuleParams,
) -> RuleEvent | None:
    """Advance `now` at a fix where the restriction is in force; the event, if any."""
    edge_id = int(batch.edge_id[pos])
    if now.phase is Phase.PENDING:
        if is_on:  # the grace begins
            now.phase, now.since_us = Phase.GRACE, int(batch.at_us[pos])
            now.base_m, now.edge_id = float(odometer_m[pos]), edge_id
        else:  # left as the ban began
            now.phase = None
        return None
    if now.phase is Phase.GRACE:
        verdict = _verdict(batch, pos, now, is_on, exits, odometer_m, params.exit_grace)
        now.edge_id = edge_id if edge_id >= 0 else now.edge_id
        if verdict is _Verdict.STAYED:
            return None
        if verdict is _Verdict.LEFT:
            now.phase = None
            return None
        now.phase = Phase.OVERDUE if verdict is _Verdict.OVERDUE else None
    if now.phase is Phase.OVERDUE:
        elapsed_s = (int(batch.at_us[pos]) - now.since_us) / 1e6
        now.phase = Phase.OVERDUE if is_on else None
        return _overdue(batch, pos, idx, elapsed_s, exits is None, params.exit_grace)
    return _entered(batch, pos, idx)


def _verdict(
    batch: FixBatch,
    pos: int,
    now: _Follow,
    is_on: bool,
    exits: _Exits | None,
    odometer_m: np.ndarray,
    grace: ExitGraceParams,
) -> _Verdict:
    """What a fix in grace shows: still on it, left, past the exit or the zone grace, back."""
    if exits is None:
        if not is_on:
            return _Verdict.LEFT
        elapsed_s = (int(batch.at_us[pos]) - now.since_us) / 1e6
        driven_m = float(odometer_m[pos]) - now.base_m
        is_over = elapsed_s > grace.zone_grace_s or (
            grace.zone_grace_m is not None and driven_m > grace.zone_grace_m
        )
        return _Verdict.OVERDUE if is_over else _Verdict.STAYED
    start, end = batch.driven_ptr[pos], batch.driven_ptr[pos + 1]
    path = [now.edge_id, *batch.driven_edge[start:end].tolist()]
    return _walk(batch.road, exits, path)


def _walk(road: RoadContext, exits: _Exits, path: list[int]) -> _Verdict:
    """Follow a path that starts on a restriction's edges: stays, leaves, passes an exit."""
    is_on = True
    for before, edge in itertools.pairwise(path):
        if edge == before:
            continue
        if edge not in exits.edges:
            is_on = False
        elif not is_on:
            return _Verdict.REENTERED
        elif before in exits.exit_edges and road.edge_v[before] == road.edge_u[edge]:
            return _Verdict.OVERDUE
    return _Verdict.STAYED if is_on else _Verdict.LEFT


def _exits(road: RoadContext, idx: int) -> _Exits | None:
    """A restriction's edges and exits, ``None`` for a zone (not on edges); built once.

    An exit is a node at the head of a restricted edge with an out-edge the restriction does
    not cover, other than a U-turn onto it (an edge whose reverse it covers).
    """
    edges = road.compiled.edges_of(str(road.compiled.restriction_ids[idx]))
    if edges.size == 0:
        return None
    u, v = road.edge_u, road.edge_v
    n_nodes = int(max(u.max(), v.max())) + 1
    restricted = np.zeros(len(u), dtype=bool)
    restricted[edges] = True
    is_u_turn = np.isin(v * n_nodes + u, u[edges] * n_nodes + v[edges])
    leaves = ~restricted & ~is_u_turn & np.isin(u, v[edges])
    exit_edges = edges[np.isin(v[edges], u[leaves])]
    return _Exits(frozenset(edges.tolist()), frozenset(exit_edges.tolist()))


def _entered(batch: FixBatch, pos: int, idx: int) -> RuleEvent:
    """The event of being in restriction `idx` while it is in force."""
    road = batch.road
    fact = road.memoized((RULE_ID, idx), _fact, road, idx)
    return restriction_event(RULE_ID, batch, pos, idx, fact=fact)


def _overdue(
    batch: FixBatch, pos: int, idx: int, elapsed_s: float, is_zone: bool, grace: ExitGraceParams
) -> RuleEvent:
    """The event of still being in restriction `idx` after its exit grace."""
    road = batch.road
    fact = road.memoized((RULE_ID, "overdue", idx, grace), _overdue_fact, road, idx, grace)
    limit = grace.zone_grace_s if is_zone else None
    return restriction_event(RULE_ID, batch, pos, idx, fact=fact, value=elapsed_s, limit=limit)


def _fact(road: RoadContext, idx: int) -> Text:
    """The fact of entering restriction `idx`."""
    name = road.compiled.restrictions[idx].properties.name
    return Text(f"禁行期间驶入：{name.zh}", f"Entered while banned: {name.en}")


def _overdue_fact(road: RoadContext, idx: int, grace: ExitGraceParams) -> Text:
    """The fact of not leaving restriction `idx` in the grace after it came into force."""
    name = road.compiled.restrictions[idx].properties.name
    if _exits(road, idx) is not None:
        return Text(
            f"禁行开始时已在路段内，未在下一出口驶离：{name.zh}",
            f"Inside when the ban began and did not leave at the next exit: {name.en}",
        )
    minutes = f"{grace.zone_grace_s / 60.0:g}"
    zh, en = f"{minutes} 分钟", f"{minutes} min"
    if grace.zone_grace_m is not None:
        zh, en = f"{zh}或 {grace.zone_grace_m:g} 米", f"{en} or {grace.zone_grace_m:g} m"
    return Text(
        f"禁行开始时已在区域内，{zh}内未驶离：{name.zh}",
        f"Inside when the ban began and did not leave within {en}: {name.en}",
    )


RULE: RuleSpec[ForbiddenState] = RuleSpec(
    rule_id=RULE_ID,
    title=Text("限行时段驶入禁行路段或区域", "Restricted road or zone entered while banned"),
    legal_basis=Text(
        "《危险货物道路运输安全管理办法》第四十九条；《危险化学品安全管理条例》第四十九条",
        "Order 29 Art 49; Regulation 591 Art 49",
    ),
    initial_state=ForbiddenState,
    step=step,
)
