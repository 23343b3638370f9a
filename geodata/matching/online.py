"""Online map matching: one vehicle's fixes pushed one at a time, matched with a fixed lag.

The same kernels as the batch matcher run one lattice step per fix; a fix is decided once
`lag` later fixes are in, by backtracking from the current best candidate (fixed-lag Viterbi).
Away from breaks the output equals the batch matcher's when the lag is long enough.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from geodata.matching import candidates, index, screening, transitions, viterbi
from geodata.matching.matcher import DEFAULT_PARAMS, MatchParams
from geodata.matching.result import MatchedPoint

if TYPE_CHECKING:
    from geodata.network import RoadNetwork

__all__ = ["OnlineMatcher", "match_step_many"]


@dataclass
class _Step:
    """One fix waiting to be emitted: its lattice column, or none when it was rejected."""

    seq: int
    t: float
    x: float
    y: float
    reason: int
    rows: tuple[np.ndarray, ...] | None = None
    back: np.ndarray | None = None
    is_break: bool = False
    chosen: int = -1

    @property
    def lattice(self) -> tuple[np.ndarray, ...]:
        """The lattice column of a fix that has candidates."""
        if self.rows is None:
            msg = "a refused fix has no lattice column"
            raise ValueError(msg)
        return self.rows


class OnlineMatcher:
    """Fixed-lag HMM matcher for one vehicle.

    Parameters
    ----------
    network
        Projected road network (its matching index is shared by all matchers on it).
    params
        Matcher parameters; `params.lag` fixes are held back before a match is emitted.
    """

    def __init__(self, network: RoadNetwork, params: MatchParams = DEFAULT_PARAMS) -> None:
        self.index = index.match_index(network)
        self.params = params
        self._hmm = params.hmm()
        self._screen_state = screening.INITIAL_STATE
        self._pending: list[_Step] = []
        self._score = np.empty(0)
        self._last_step: _Step | None = None
        self._emitted: _Step | None = None
        self._seq = 0

    @property
    def pushed(self) -> int:
        """Fixes pushed so far; the next fix gets this `seq`."""
        return self._seq

    def push(self, x: float, y: float, t: float) -> list[MatchedPoint]:
        """Add one fix (network CRS metres, seconds); return the fixes decided by it."""
        return match_step_many([self], np.array([x]), np.array([y]), np.array([t]))[0]

    def flush(self) -> list[MatchedPoint]:
        """Decide and return every pending fix; the next fix starts a new chain."""
        self._decide_all()
        (out,) = _emit_many([self], [self._pop(len(self._pending))])
        self._last_step = None
        return out

    def _advance(self, step: _Step) -> list[_Step]:
        """Queue a screened fix (its lattice column, if any, is in place); pop what is due."""
        self._pending.append(step)
        n_columns = sum(s.rows is not None for s in self._pending)
        if n_columns <= self.params.lag:
            return []
        self._decide_oldest_column()
        is_open = [s.rows is not None and s.chosen < 0 for s in self._pending]
        return self._pop(is_open.index(True) if any(is_open) else len(is_open))

    def _continues_from(self, step: _Step) -> _Step | None:
        """The column a new fix's step starts from: none after a gap or before any."""
        prev = self._last_step
        if prev is None or step.t - prev.t > self.params.max_gap_s:
            return None
        return prev

    def _add_column(
        self, step: _Step, score: np.ndarray, back: np.ndarray, *, is_break: bool
    ) -> None:
        """Make a Viterbi step's result the newest column; a (re)start decides the old chain."""
        if is_break:
            self._decide_all()
            step.is_break = True
        step.back = back
        self._score = score
        self._last_step = step

    def _columns(self) -> list[_Step]:
        """Pending lattice columns of the current chain, oldest first."""
        return [s for s in self._pending if s.rows is not None and s.chosen < 0]

    def _backtrack(self) -> list[int]:
        """Best candidate of each open column, by following back pointers from the newest."""
        columns = self._columns()
        if not columns:
            return []
        row = int(np.argmax(self._score))
        chosen = []
        for step in reversed(columns):
            chosen.append(row)
            row = int(step.back[row]) if step.back is not None else -1
        return chosen[::-1]

    def _decide_oldest_column(self) -> None:
        """Fix the choice of the oldest open column (fixed-lag decision)."""
        columns = self._columns()
        if columns:
            columns[0].chosen = self._backtrack()[0]

    def _decide_all(self) -> None:
        """Fix the choice of every open column."""
        for step, row in zip(self._columns(), self._backtrack(), strict=True):
            step.chosen = row

    def _pop(self, count: int) -> list[_Step]:
        """Take the first `count` pending fixes (decided) off the queue."""
        due, self._pending = self._pending[:count], self._pending[count:]
        return due


def _emit_many(matchers: list[OnlineMatcher], due: list[list[_Step]]) -> list[list[MatchedPoint]]:
    """The matched points of each matcher's due fixes, with the edges entered up to each one
    since the one before it (the matcher's last emitted match for the first): the paths of all
    matchers are traced in one kernel call."""
    chain: list[_Step] = []
    is_start: list[bool] = []
    is_own: list[bool] = []  # False for the anchors, whose paths were emitted before
    for matcher, steps in zip(matchers, due, strict=True):
        decided = [s for s in steps if s.rows is not None]
        if not decided:
            continue
        anchor = [] if matcher._emitted is None else [matcher._emitted]
        chain += anchor + decided
        is_start += [True] + [s.is_break for s in decided[1 - len(anchor) :]]
        is_own += [False] * len(anchor) + [True] * len(decided)
        matcher._emitted = decided[-1]
    traced = _trace_paths(matchers[0], chain, is_start) if chain else []
    paths = iter([path for path, own in zip(traced, is_own, strict=True) if own])
    nan = float("nan")
    out = []
    for steps in due:
        points = []
        for step in steps:
            if step.rows is None:
                points.append(
                    MatchedPoint(step.seq, step.t, -1, nan, nan, nan, nan, step.reason, False, ())
                )
                continue
            edge, offset, dist, sx, sy = (float(a[step.chosen]) for a in step.rows)
            points.append(
                MatchedPoint(
                    step.seq, step.t, int(edge), offset, sx, sy, dist, 0, step.is_break,
                    next(paths),
                )
            )  # fmt: skip
        out.append(points)
    return out


def _trace_paths(
    matcher: OnlineMatcher, chain: list[_Step], is_start: list[bool]
) -> list[tuple[int, ...]]:
    """The edges entered up to each decided step of `chain` since the step before it (none
    before a start): one `transitions.trace_paths` call."""
    rows = [s.lattice for s in chain]
    chosen = [s.chosen for s in chain]
    counts, edges = transitions.trace_paths(
        matcher.index.graph,
        matcher.index.workspace,
        matcher.index.routes,
        np.array([int(r[0][j]) for r, j in zip(rows, chosen, strict=True)], np.int64),
        np.array([float(r[1][j]) for r, j in zip(rows, chosen, strict=True)]),
        np.array([s.x for s in chain]),
        np.array([s.y for s in chain]),
        np.array([s.t for s in chain]),
        np.array(is_start),
        matcher._hmm.limits,
    )
    ends = np.cumsum(counts).tolist()
    flat = edges.tolist()
    return [tuple(flat[a:b]) for a, b in zip([0, *ends[:-1]], ends, strict=True)]


def match_step_many(
    matchers: list[OnlineMatcher], x: np.ndarray, y: np.ndarray, t: np.ndarray
) -> list[list[MatchedPoint]]:
    """Advance many vehicles by one fix each: one screening, one candidate search and one
    Viterbi kernel call for all of them.

    Parameters
    ----------
    matchers
        One online matcher per vehicle (each at most once), all on the same network and
        parameters.
    x, y, t
        The new fix of each matcher (network CRS metres, seconds), aligned with `matchers`.

    Returns
    -------
    emitted
        For each matcher, the matched points its new fix made due (often empty).
    """
    if not len(matchers) == len(x) == len(y) == len(t):
        msg = "`matchers`, `x`, `y` and `t` must have one length"
        raise ValueError(msg)
    if len({id(m) for m in matchers}) != len(matchers):
        msg = "`matchers` must be distinct: one fix per vehicle and call"
        raise ValueError(msg)
    if not matchers:
        return []
    steps = _screened_steps(matchers, x, y, t)
    ok = np.array([s.reason == 0 for s in steps])
    p, idx = matchers[0].params, matchers[0].index
    cand = candidates.find_candidates(
        idx, x[ok], y[ok], radius_m=p.search_radius_m, max_candidates=p.max_candidates
    )
    columns: list[tuple[OnlineMatcher, _Step]] = []
    cur_lo, cur_hi = [], []
    screened = [(m, s) for m, s, good in zip(matchers, steps, ok, strict=True) if good]
    lo, hi = cand.fix_indptr[:-1].tolist(), cand.fix_indptr[1:].tolist()
    for (m, step), a, b in zip(screened, lo, hi, strict=True):
        if a == b:
            step.reason = int(screening.FixReason.NO_ROAD_NEARBY)
            continue
        step.rows = tuple(v[a:b] for v in (cand.edge_id, cand.offset_m, cand.dist_m, cand.x,
                                           cand.y))  # fmt: skip
        columns.append((m, step))
        cur_lo.append(a)
        cur_hi.append(b)
    if columns:
        _add_columns(columns, np.array(cur_lo, np.int64), np.array(cur_hi, np.int64), cand)
    return _emit_many(matchers, [m._advance(s) for m, s in zip(matchers, steps, strict=True)])


def _screened_steps(
    matchers: list[OnlineMatcher], x: np.ndarray, y: np.ndarray, t: np.ndarray
) -> list[_Step]:
    """The new fix of each matcher as a step with its screening reason (one kernel call)."""
    p = matchers[0].params
    states = np.array([m._screen_state for m in matchers], np.float64)
    reasons = screening.screen_each(
        np.asarray(x, np.float64), np.asarray(y, np.float64), np.asarray(t, np.float64),
        p.max_speed_kmh / 3.6, p.jump_slack_m, p.max_jump_rejects, states,
    )  # fmt: skip
    steps = []
    for m, xi, yi, ti, reason, state in zip(
        matchers, x.tolist(), y.tolist(), t.tolist(), reasons.tolist(), states.tolist(),
        strict=True,
    ):  # fmt: skip
        m._screen_state = (state[0], state[1], state[2], int(state[3]))
        steps.append(_Step(m._seq, ti, xi, yi, reason))
        m._seq += 1
    return steps


def _add_columns(
    columns: list[tuple[OnlineMatcher, _Step]],
    cur_lo: np.ndarray,
    cur_hi: np.ndarray,
    cand: candidates.Candidates,
) -> None:
    """Run the Viterbi step of every new column (its candidates at ``cur_lo:cur_hi`` of
    `cand`) in one kernel call, then store the results."""
    prev = [m._continues_from(step) for m, step in columns]
    scores = [m._score for (m, _), p in zip(columns, prev, strict=True) if p is not None]
    prev_rows = [p.lattice for p in prev if p is not None]
    sizes = [0 if p is None else len(p.lattice[0]) for p in prev]
    steps = [step for _, step in columns]
    gc = [
        0.0 if p is None else math.hypot(s.x - p.x, s.y - p.y)
        for s, p in zip(steps, prev, strict=True)
    ]
    dt = [0.0 if p is None else s.t - p.t for s, p in zip(steps, prev, strict=True)]
    idx, hmm = columns[0][0].index, columns[0][0]._hmm
    empty = np.empty(0)
    score, back, indptr, is_break = viterbi.advance_many(
        idx.graph, idx.workspace, idx.routes,
        np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
        np.concatenate([r[0] for r in prev_rows]) if prev_rows else empty.astype(np.int64),
        np.concatenate([r[1] for r in prev_rows]) if prev_rows else empty,
        np.concatenate(scores) if scores else empty,
        cur_lo, cur_hi,
        (cand.edge_id, cand.offset_m, cand.dist_m), np.array(gc), np.array(dt), hmm,
    )  # fmt: skip
    ends = indptr.tolist()
    for (m, step), a, b, brk in zip(columns, ends, ends[1:], is_break.tolist(), strict=False):
        m._add_column(step, score[a:b], back[a:b], is_break=brk)
