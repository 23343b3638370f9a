"""Tests for the bus's fix serialisation: exact round trips, refused messages."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given

from tests.transport.bus.fixtures import fixes, make_fix
from transport.bus import fix_json
from transport.fixes import Fix


@given(fixes)
def test_fix_round_trips_exactly(fix: Fix) -> None:
    assert fix_json.fix_from_json(fix_json.fix_to_json(fix)) == fix


def test_time_keeps_its_instant_and_offset() -> None:
    local = datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=timezone(timedelta(hours=8)))
    back = fix_json.fix_from_json(fix_json.fix_to_json(make_fix(fix_at=local)))
    assert back.fix_at == local and back.fix_at.utcoffset() == timedelta(hours=8)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("not json", "not a bus fix"),
        ('{"schema": 2}', "fix schema 2, expected 1"),
        ('{"schema": 1, "vehicle_id": "V"}', "not a bus fix: 'fix_at'"),
        (
            fix_json.fix_to_json(make_fix()).replace(b"+00:00", b""),
            "`fix_at` on the bus has no time zone",
        ),
    ],
    ids=["not-json", "other-schema", "missing-field", "naive-time"],
)
def test_unreadable_message_is_refused(text: str, match: str) -> None:
    with pytest.raises(fix_json.FixFormatError, match=match):
        fix_json.fix_from_json(text)
