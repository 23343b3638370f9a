"""Water-source zones: level 1 always, level 2 and belt unless the waybill carries the permit."""

from __future__ import annotations

import pytest

from tests.transport.rules.conftest import box, cargo, feature, fix_at, local, monitor, opened

ZONE = box(114.01, 22.54, 114.02, 22.56)


def test_night_run_in_water_zone_opens_alert(toy) -> None:
    m = monitor(toy, feature("w1", "water_source_level1", ZONE, severity="critical"))
    changes = m.process(fix_at(toy, local(2025, 10, 9, 23, 30), 114.015))
    (alert,) = opened(list(changes), "water_source_zone")
    assert alert.severity == "critical"
    assert alert.evidence.legal_basis.en == "test basis"
    assert "level-1" in alert.evidence.fact.en


@pytest.mark.parametrize(
    ("kind", "permits", "expected"),
    [
        pytest.param(
            "water_source_level1", ("water_source_permit",), 1, id="level1-permit-ignored"
        ),
        pytest.param("water_source_level2", (), 1, id="level2-no-permit"),
        pytest.param("water_source_level2", ("water_source_permit",), 0, id="level2-permit"),
        pytest.param("water_source_belt", (), 1, id="belt-no-permit"),
        pytest.param("water_source_belt", ("water_source_permit",), 0, id="belt-permit"),
    ],
)
def test_permit_by_zone_level(toy, kind, permits, expected) -> None:
    m = monitor(toy, feature("w", kind, ZONE), load=cargo("1203", permits=permits))
    changes = m.process(fix_at(toy, local(2025, 10, 9, 12, 0), 114.015))
    assert len(opened(list(changes), "water_source_zone")) == expected


def test_just_outside_the_zone_is_quiet(toy) -> None:
    m = monitor(toy, feature("w1", "water_source_level1", ZONE))
    assert not m.process(fix_at(toy, local(2025, 10, 9, 12, 0), 114.0202))
