"""ADR tunnel codes of loads vs tunnel categories, including combined codes."""

from __future__ import annotations

import pytest

from tests.transport.rules.conftest import cargo, fix_at, local, monitor, opened

# Edge 2 of the toy network is a category C tunnel.
CASES = [
    pytest.param(("1203",), "tank", 0, id="gasoline-D/E-tank=D-enters-C"),
    pytest.param(("1075",), "tank", 1, id="LPG-B/D-tank=B-barred-from-C"),
    pytest.param(("1075",), "packages", 0, id="LPG-B/D-packages=D-enters-C"),
    pytest.param(("1005",), "tank", 1, id="ammonia-C/D-tank=C-barred-from-C"),
    pytest.param(("1005",), "packages", 0, id="ammonia-C/D-packages=D-enters-C"),
    pytest.param(("1830",), "tank", 0, id="sulphuric-acid-E-enters-C"),
    pytest.param(("1203", "1075"), "tank", 1, id="mixed-most-restrictive-B"),
]


@pytest.mark.parametrize(("un_numbers", "carriage", "expected"), CASES)
def test_tunnel_code_vs_category(toy, un_numbers, carriage, expected) -> None:
    m = monitor(toy, load=cargo(*un_numbers, carriage=carriage))
    changes = m.process(fix_at(toy, local(2025, 10, 9, 12, 0), 114.025, path=(1, 2)))
    alerts = opened(list(changes), "adr_tunnel_category")
    assert len(alerts) == expected
    if expected:
        assert alerts[0].key == "tunnel:103"
        assert alerts[0].evidence.edge_ids == (2,)
        assert "category C" in alerts[0].evidence.fact.en


def test_explosive_b1000c_by_mass(toy) -> None:
    small = monitor(toy, load=cargo("0241", carriage="packages"))  # 10 t > 1000 kg: B
    changes = small.process(fix_at(toy, local(2025, 10, 9, 12, 0), 114.025))
    assert opened(list(changes), "adr_tunnel_category")
