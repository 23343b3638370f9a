"""The worker's warm-up matches a simulated trip live and as back-fill before it reads."""

from __future__ import annotations

import pandas as pd

from geodata.matching.matcher import MatchParams
from geodata.network import RoadNetwork
from transport.pipeline import warm_up


def test_warm_up_runs_the_live_and_the_backfill_matcher(network: RoadNetwork) -> None:
    done = warm_up.warm_up_matching(network, MatchParams(lag=2))
    assert done.backfill_matched > done.live_matched > 0  # the live matcher keeps its lag


def test_warm_up_on_a_network_of_one_road_matches_nothing() -> None:
    nodes = pd.DataFrame({"lon": [114.0, 114.001], "lat": [22.5, 22.5]})
    network = RoadNetwork.from_tables(nodes, pd.DataFrame({"u": [0, 1], "v": [1, 0]}))
    done = warm_up.warm_up_matching(network, MatchParams(lag=2))
    assert (done.live_matched, done.backfill_matched) == (0, 0)
