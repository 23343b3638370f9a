"""Rule thresholds from `HAZMAT_RULES__...` environment variables reach the worker's rules."""

from __future__ import annotations

import pydantic
import pytest

from geodata import sources
from geodata.matching.matcher import MatchParams
from transport import track_check
from transport.pipeline import chain
from transport.pipeline.checkpoint import MemoryCheckpointStore
from transport.pipeline.context import StaticDirectory
from transport.pipeline.fix_store import SqliteFixStore
from transport.pipeline.steps.evaluate_rules import EvaluateRules
from transport.rules.params import default_params
from transport.settings import Settings


def test_nested_rule_settings_are_read_and_the_rest_keep_the_national_defaults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HAZMAT_RULES__SPEED__NIGHT_FACTOR", "0.7")
    monkeypatch.setenv("HAZMAT_RULES__PARKING__CLUSTER_RADIUS_M", "300")
    rules = Settings().rules
    assert rules.speed.night_factor == 0.7
    assert rules.parking.cluster_radius_m == 300.0
    assert rules.driving_time == default_params().driving_time


def test_a_bad_rule_setting_names_the_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HAZMAT_RULES__SPEED__NIGHT_FACTOR", "2")
    with pytest.raises(pydantic.ValidationError, match=r"rules\.speed\.night_factor"):
        Settings()


def test_the_worker_chain_runs_the_rules_with_the_given_thresholds(tmp_path) -> None:  # type: ignore[no-untyped-def]
    network = sources.load_network()
    road = track_check.road_context(network, [], with_osm=False)
    params = default_params().model_copy(update={"time_zone": "Europe/Helsinki"})
    setup = chain.MonitoringSetup(
        network, road, StaticDirectory({}), MatchParams(), rule_params=params
    )
    steps = chain.build_chain(
        fix_store=SqliteFixStore(tmp_path / "fixes.sqlite"),
        checkpoints=MemoryCheckpointStore(),
        monitoring=setup,
    )
    [rules] = [step for step in steps if isinstance(step, EvaluateRules)]
    assert rules.params is params
