"""Values built without their __init__ equal those built with it."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from transport.frozen import build, evolve


@dataclasses.dataclass(frozen=True)
class _Sample:
    name: str
    at: dt.datetime
    count: int = 3
    note: str | None = None


def test_build_fills_plain_defaults_and_equals_the_constructor():
    at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    built = build(_Sample, name="a", at=at)
    assert built == _Sample("a", at)
    assert build(_Sample, name="a", at=at, note="n") == _Sample("a", at, note="n")
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.name = "b"  # type: ignore[misc]


def test_evolve_equals_replace_and_leaves_the_original():
    at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    value = _Sample("a", at)
    assert evolve(value, count=5) == dataclasses.replace(value, count=5)
    assert value.count == 3
