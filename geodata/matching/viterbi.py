"""Log-space Viterbi over the candidate lattice (numba), with chain breaks.

Emission: Gaussian on the fix-to-road distance. Transition: exponential on the absolute
difference between the straight-line distance of two fixes and the route distance of two
candidates (Newson & Krumm 2009). A chain restarts, and records a break, when the time gap is
too long or no candidate of the new fix can be reached from any candidate of the previous one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numba
import numpy as np

from geodata.matching import transitions

if TYPE_CHECKING:
    from geodata.matching.index import Graph, Workspace
    from geodata.matching.route_table import RouteTable
    from geodata.matching.transitions import RouteLimits

__all__ = ["HmmParams", "advance", "advance_many", "backtrack", "run_lattice", "start_scores"]


class HmmParams(NamedTuple):
    """Model parameters as the kernels read them (metres and seconds)."""

    sigma_m: float
    beta_m: float
    beta_per_s: float
    max_gap_s: float
    limits: RouteLimits


@numba.njit(cache=True)
def log_emission(dist_m, sigma_m):  # type: ignore[no-untyped-def]
    """Gaussian log-likelihood of fix-to-road distances, without the constant."""
    z = dist_m / sigma_m
    return -0.5 * z * z


@numba.njit(cache=True)
def step_scores(prev_score, route_m, penalty_m, gc_m, beta_m, log_emit):  # type: ignore[no-untyped-def]
    """Best score and best previous candidate for each current candidate (-inf, -1 if none)."""
    n_prev, n_cur = route_m.shape
    score = np.full(n_cur, -np.inf)
    back = np.full(n_cur, -1, np.int64)
    for j in range(n_cur):
        for i in range(n_prev):
            if route_m[i, j] == np.inf or prev_score[i] == -np.inf:
                continue
            s = prev_score[i] - (abs(gc_m - route_m[i, j]) + penalty_m[i, j]) / beta_m
            if s > score[j]:
                score[j] = s
                back[j] = i
        score[j] += log_emit[j]
    return score, back


@numba.njit(cache=True)
def advance(  # type: ignore[no-untyped-def]
    graph: Graph,
    ws: Workspace,
    table: RouteTable,
    prev_e,
    prev_o,
    cur,
    prev_score,
    gc_m,
    dt_s,
    hmm: HmmParams,
):
    """One Viterbi step from the previous candidates (edge ids, offsets) to `cur` = (edge
    ids, offsets, distances)."""
    limit = transitions.route_limit_m(gc_m, dt_s, hmm.limits)
    route, penalty = transitions.route_distances(
        graph, ws, table, prev_e, prev_o, cur[0], cur[1], limit, hmm.limits
    )
    beta = hmm.beta_m + hmm.beta_per_s * dt_s
    log_emit = log_emission(cur[2], hmm.sigma_m)
    score, back = step_scores(prev_score, route, penalty, gc_m, beta, log_emit)
    best = score.max()
    if best > -np.inf:
        score -= best
    return score, back


@numba.njit(cache=True)
def start_scores(graph: Graph, cur, hmm: HmmParams):  # type: ignore[no-untyped-def]
    """Scores of a chain's first candidates; at a node, leaving edges win over arriving ones."""
    score = log_emission(cur[2], hmm.sigma_m)
    for j in range(len(score)):
        if cur[1][j] >= graph.edge_length_m[cur[0][j]]:
            score[j] -= 1e-3
    return score


@numba.njit(cache=True)
def advance_many(  # type: ignore[no-untyped-def]
    graph: Graph,
    ws: Workspace,
    table: RouteTable,
    prev_indptr,
    prev_e,
    prev_o,
    prev_score,
    cur_lo,
    cur_hi,
    cur,
    gc_m,
    dt_s,
    hmm: HmmParams,
):
    """One Viterbi step for each of many chains (one kernel call for a fleet's new fixes).

    Chain `k` goes from the previous candidates `prev_indptr[k]:prev_indptr[k + 1]` (none: it
    starts) with their scores to its current candidates `cur_lo[k]:cur_hi[k]` of `cur` = (edge
    ids, offsets, distances). A chain whose step reaches no candidate starts again.

    Returns
    -------
    score, back, indptr, is_break
        Scores and back pointers of every chain's current candidates, in chain order (chain
        `k` at `indptr[k]:indptr[k + 1]`), and whether each chain (re)started.
    """
    n = len(cur_lo)
    indptr = np.zeros(n + 1, np.int64)
    indptr[1:] = np.cumsum(cur_hi - cur_lo)
    score = np.empty(indptr[n])
    back = np.full(indptr[n], -1, np.int64)
    is_break = np.zeros(n, np.bool_)
    for k in range(n):
        a, b, p0, p1 = cur_lo[k], cur_hi[k], prev_indptr[k], prev_indptr[k + 1]
        column = (cur[0][a:b], cur[1][a:b], cur[2][a:b])
        is_break[k] = p0 == p1
        if not is_break[k]:
            s, bk = advance(graph, ws, table, prev_e[p0:p1], prev_o[p0:p1], column,
                            prev_score[p0:p1], gc_m[k], dt_s[k], hmm)  # fmt: skip
            is_break[k] = not np.isfinite(s.max())
        if is_break[k]:
            s = start_scores(graph, column, hmm)
        else:
            back[indptr[k] : indptr[k + 1]] = bk
        score[indptr[k] : indptr[k + 1]] = s
    return score, back, indptr, is_break


@numba.njit(cache=True)
def backtrack(back_row, last_rows, last_score, chosen, row_fix):  # type: ignore[no-untyped-def]
    """Follow back pointers from the best of `last_rows`, writing each fix's chosen row."""
    row = last_rows[np.argmax(last_score)]
    while row >= 0:
        chosen[row_fix[row]] = row
        row = back_row[row]


@numba.njit(cache=True)
def run_lattice(  # type: ignore[no-untyped-def]
    graph: Graph, ws: Workspace, table: RouteTable, cand, x, y, t, hmm: HmmParams
):
    """Best candidate row per fix and chain-start flags for a whole track.

    `cand` = (fix_indptr, edge_id, offset_m, dist_m); every fix has at least one candidate.
    """
    indptr, edge, offset, dist = cand
    n = len(x)
    chosen = np.full(n, -1, np.int64)
    is_break = np.zeros(n, np.bool_)
    row_fix = np.repeat(np.arange(n), np.diff(indptr))
    back_row = np.full(len(edge), -1, np.int64)
    score = np.empty(0)
    for i in range(n):
        a, b = indptr[i], indptr[i + 1]
        cur = (edge[a:b], offset[a:b], dist[a:b])
        restart = i == 0 or t[i] - t[i - 1] > hmm.max_gap_s
        new_score, back = score, np.empty(0, np.int64)
        if not restart:
            p0, p1 = indptr[i - 1], indptr[i]
            gc = np.hypot(x[i] - x[i - 1], y[i] - y[i - 1])
            new_score, back = advance(
                graph, ws, table, edge[p0:p1], offset[p0:p1], cur, score, gc, t[i] - t[i - 1], hmm
            )
            restart = new_score.max() == -np.inf
        if restart:
            if i > 0:
                backtrack(back_row, np.arange(indptr[i - 1], indptr[i]), score, chosen, row_fix)
            is_break[i] = True
            score = start_scores(graph, cur, hmm)
            continue
        for j in range(b - a):
            back_row[a + j] = -1 if back[j] < 0 else indptr[i - 1] + back[j]
        score = new_score
    if n > 0:
        backtrack(back_row, np.arange(indptr[n - 1], indptr[n]), score, chosen, row_fix)
    return chosen, is_break
