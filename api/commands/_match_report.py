"""What a matched track amounts to: counts, km, time, roads driven; shared by match and demo."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from geodata.matching.result import MatchResult
from geodata.matching.screening import FixReason
from geodata.network import RoadNetwork


@dataclass(frozen=True)
class MatchReport:
    """Summary of one matched track."""

    fixes: int
    matched: int
    rejected: dict[str, int]
    breaks: int
    km: float
    duration_s: float  # time between consecutive matched fixes, gaps at breaks left out
    roads: list[str]


def main_roads(network: RoadNetwork, edge_ids: np.ndarray, *, count: int = 3) -> list[str]:
    """The named roads with the most length among `edge_ids`, longest first."""
    names = network.edges["name"].to_numpy(dtype=object)[edge_ids]
    by_road: defaultdict[str, float] = defaultdict(float)
    for name, length in zip(names, network.edge_length_m[edge_ids], strict=True):
        if isinstance(name, str):
            by_road[name] += float(length)
    return sorted(by_road, key=by_road.__getitem__, reverse=True)[:count]


def report_match(network: RoadNetwork, result: MatchResult, t: np.ndarray) -> MatchReport:
    """Summarise a match: fixes matched and rejected by reason, breaks, km, time, main roads."""
    edge_ids = result.matched_edge_ids()
    lengths = network.edge_length_m[edge_ids]
    matched = result.is_matched
    steps = np.diff(t[matched])
    continuing = ~result.is_break[matched][1:]
    rejected = {
        FixReason(code).name.lower(): count
        for code, count in result.reason_counts().items()
        if code != FixReason.OK
    }
    return MatchReport(
        fixes=len(result),
        matched=int(result.is_matched.sum()),
        rejected=rejected,
        breaks=max(int((result.is_break & result.is_matched).sum()) - 1, 0),
        km=float(lengths.sum()) / 1000.0,
        duration_s=float(steps[continuing].sum()),
        roads=main_roads(network, edge_ids),
    )
