"""Match GPS tracks to a road network with a hidden Markov model: the public batch API."""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

import numpy as np

from geodata.matching import candidates, index, screening, transitions, viterbi
from geodata.matching.result import MatchResult

if TYPE_CHECKING:
    from geodata.network import RoadNetwork

__all__ = ["MatchParams", "match_track"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class MatchParams:
    """Parameters of the matcher (metres, seconds; km/h only for the speed limit).

    Attributes
    ----------
    sigma_m
        Standard deviation of GPS error (Gaussian emission).
    beta_m, beta_per_s
        Scale of the exponential transition on |straight distance - route distance|:
        `beta_m + beta_per_s * dt` for fixes `dt` seconds apart.
    search_radius_m
        Roads further than this from a fix are not candidates.
    max_candidates
        Nearest candidates kept per fix (one per directed edge).
    max_gap_s
        A longer time gap restarts the chain (a break).
    max_speed_kmh, jump_slack_m, max_jump_rejects
        Impossible-jump test: further from the last accepted fix than this speed allows plus
        the slack; after `max_jump_rejects` in a row the next fix is accepted again.
    route_factor, route_slack_m
        Routes longer than `route_factor * distance + route_slack_m` are not searched.
    jitter_m
        A step back along one edge is standing still; beyond this length it is penalised.
    uturn_m
        Mismatch penalty (metres) for a route that starts or ends with a U-turn.
    lag
        Fixes held back by the online matcher before a match is emitted.
    """

    sigma_m: float = 5.0
    beta_m: float = 2.0
    beta_per_s: float = 0.5
    search_radius_m: float = 100.0
    max_candidates: int = 12
    max_gap_s: float = 600.0
    max_speed_kmh: float = 200.0
    jump_slack_m: float = 100.0
    max_jump_rejects: int = 5
    route_factor: float = 3.0
    route_slack_m: float = 150.0
    jitter_m: float = 30.0
    uturn_m: float = 50.0
    lag: int = 10

    def __post_init__(self) -> None:
        bad = [f.name for f in fields(self) if f.name != "lag" and not getattr(self, f.name) > 0]
        if self.lag < 0:
            bad.append("lag")
        if bad:
            msg = f"`MatchParams` fields must be positive: {', '.join(bad)}"
            raise ValueError(msg)

    def hmm(self) -> viterbi.HmmParams:
        """The parameters as the numba kernels take them."""
        limits = transitions.RouteLimits(
            float(self.route_factor),
            float(self.route_slack_m),
            self.max_speed_kmh / 3.6,
            float(self.jitter_m),
            float(self.uturn_m),
        )
        return viterbi.HmmParams(
            float(self.sigma_m), float(self.beta_m), float(self.beta_per_s),
            float(self.max_gap_s), limits,
        )  # fmt: skip


DEFAULT_PARAMS = MatchParams()


def match_track(
    network: RoadNetwork,
    x: np.ndarray,
    y: np.ndarray,
    t: np.ndarray,
    *,
    params: MatchParams = DEFAULT_PARAMS,
) -> MatchResult:
    """Match one vehicle's whole track to the road network.

    Parameters
    ----------
    network
        Projected road network; its matching index is built on first use and cached.
    x, y
        Fix positions in the network CRS (metres).
    t
        Fix times in seconds (float64), expected in increasing order.
    params
        Matcher parameters.

    Returns
    -------
    result
        Per-fix arrays; bad fixes (non-finite, duplicate or backward time, impossible jump, no
        road within the radius) get a `screening.FixReason` code and edge -1.
    """
    x, y, t = (np.asarray(v, dtype=np.float64).ravel() for v in (x, y, t))
    if not len(x) == len(y) == len(t):
        msg = f"`x`, `y` and `t` must have one length, got {len(x)}, {len(y)}, {len(t)}"
        raise ValueError(msg)
    idx = index.match_index(network)
    reasons, _ = screening.screen_fixes(
        x, y, t, max_speed_ms=params.max_speed_kmh / 3.6, jump_slack_m=params.jump_slack_m,
        max_jump_rejects=params.max_jump_rejects,
    )  # fmt: skip
    ok = np.flatnonzero(reasons == 0)
    cand = candidates.find_candidates(
        idx, x[ok], y[ok], radius_m=params.search_radius_m, max_candidates=params.max_candidates
    )
    has = cand.counts() > 0
    reasons[ok[~has]] = screening.FixReason.NO_ROAD_NEARBY
    return _solve(idx, cand, ok[has], x, y, t, reasons, params)


def _solve(
    idx: index.MatchIndex,
    cand: candidates.Candidates,
    fixes: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    t: np.ndarray,
    reasons: np.ndarray,
    params: MatchParams,
) -> MatchResult:
    """Run the lattice over the fixes that have candidates and assemble the per-fix result."""
    indptr = np.concatenate([[0], np.cumsum(cand.counts()[cand.counts() > 0])]).astype(np.int64)
    hmm = params.hmm()
    fx, fy, ft = x[fixes], y[fixes], t[fixes]
    lattice = (indptr, cand.edge_id, cand.offset_m, cand.dist_m)
    rows, breaks = viterbi.run_lattice(
        idx.graph, idx.workspace, idx.routes, lattice, fx, fy, ft, hmm
    )
    edge, offset = cand.edge_id[rows], cand.offset_m[rows]
    counts, path = transitions.trace_paths(
        idx.graph, idx.workspace, idx.routes, edge, offset, fx, fy, ft, breaks, hmm.limits
    )
    n = len(x)
    out = {k: np.full(n, np.nan) for k in ("offset_m", "snapped_x", "snapped_y", "distance_m")}
    for key, values in zip(
        out, (offset, cand.x[rows], cand.y[rows], cand.dist_m[rows]), strict=True
    ):
        out[key][fixes] = values
    edge_id = np.full(n, -1, np.int64)
    edge_id[fixes] = edge
    is_break = np.zeros(n, dtype=bool)
    is_break[fixes] = breaks
    path_counts = np.zeros(n, np.int64)
    path_counts[fixes] = counts
    path_indptr = np.concatenate([[0], np.cumsum(path_counts)]).astype(np.int64)
    return MatchResult(
        edge_id=edge_id, reason=reasons, is_break=is_break, path_indptr=path_indptr,
        path_edge_ids=path, **out,
    )  # fmt: skip
