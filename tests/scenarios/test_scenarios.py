"""Every scenario file: drive, match, run every rule, and compare the alerts with the expected."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from geodata.network import RoadNetwork
from tests.scenarios import runner
from tests.scenarios.model import Scenario
from transport.rules import RULES

FILES = sorted((Path(__file__).parent / "files").glob("*.yaml"))


def load(path: Path) -> Scenario:
    """Read one scenario file."""
    return Scenario.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_scenario(path: Path, scenario_network: Callable[[str], RoadNetwork]) -> None:
    scenario = load(path)
    result = runner.run_scenario(scenario_network(scenario.network), scenario)
    faults = runner.compare(result.alerts, scenario)
    assert not faults, "\n".join([*faults, "alerts raised:", runner.describe(result.alerts)])


def test_there_are_at_least_30_scenarios_on_both_networks() -> None:
    networks = [load(p).network for p in FILES]
    assert len(FILES) >= 30
    assert {"shenzhen", "helsinki"} <= set(networks)


def test_every_rule_is_expected_to_alert_in_some_scenario() -> None:
    expected = {e.rule_id for p in FILES for e in load(p).expect}
    missing = {rule.rule_id for rule in RULES} - expected
    assert not missing, f"rules no scenario expects: {sorted(missing)}"
