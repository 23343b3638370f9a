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


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        pytest.param({"drive": {}}, "with `vehicles`, give each vehicle's", id="both-forms"),
        pytest.param({"same_id": True}, "`vehicles` repeat a vehicle id", id="same-id"),
    ],
)
def test_multi_vehicle_scenario_form_is_checked(extra: dict, message: str) -> None:
    raw = yaml.safe_load((FILES[0].parent / "sz_lot_capacity_third_of_3_no_alert.yaml").read_text())
    if "drive" in extra:
        raw["drive"] = raw["vehicles"][0]["drive"]
    if "same_id" in extra:
        raw["vehicles"][1]["vehicle_id"] = raw["vehicles"][0]["vehicle_id"]
    with pytest.raises(ValueError, match=message):
        Scenario.model_validate(raw)
