"""Tests for alert evidence as it travels in a worker's checkpoint (pickled)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from transport.alerts import evidence
from transport.alerts.evidence import Evidence, FixEvidence
from transport.rules.base import Text

fix_times = st.datetimes(  # hypothesis takes naive bounds; the values are UTC
    min_value=dt.datetime(1900, 1, 1),  # noqa: DTZ001
    max_value=dt.datetime(2200, 1, 1),  # noqa: DTZ001
    timezones=st.just(dt.UTC),
)
fix_evidence = st.builds(
    FixEvidence,
    fix_at=fix_times,
    lon=st.floats(-180, 180),
    lat=st.floats(-90, 90),
    speed_kmh=st.floats(allow_infinity=True, allow_nan=True),
    edge_id=st.integers(-(2**63), 2**63 - 1),
)


def evidence_with(fixes: tuple[FixEvidence, ...]) -> Evidence:
    """An overspeed alert's evidence holding `fixes`."""
    return Evidence(
        rule_id="overspeed",
        rule_title=Text("超速", "Overspeed"),
        legal_basis=Text("《道路交通安全法》第四十二条", "RTSL Art 42"),
        fact=Text("车速 92 km/h，限速 80", "92 km/h where 80 is the limit"),
        restriction_id=None,
        schedule=None,
        fixes=fixes,
        edge_ids=tuple(fix.edge_id for fix in fixes),
        fix_count=len(fixes),
        peak_value=92.0,
        limit=80.0,
    )


@given(st.lists(fix_evidence, max_size=40).map(tuple))
def test_evidence_comes_back_from_a_pickle_exactly(fixes: tuple[FixEvidence, ...]) -> None:
    original = evidence_with(fixes)

    restored = pickle.loads(pickle.dumps(original, protocol=pickle.HIGHEST_PROTOCOL))

    assert repr(restored) == repr(original)  # repr: NaN speeds compare equal, times keep UTC
    assert all(fix.fix_at.tzinfo is dt.UTC for fix in restored.fixes)


def test_utc_fix_times_are_pickled_packed_not_as_datetimes() -> None:
    at = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
    fixes = tuple(FixEvidence(at + dt.timedelta(seconds=10 * k), 114.0, 22.5, 92.0, k)
                  for k in range(40))  # fmt: skip

    pickled = pickle.dumps(evidence_with(fixes), protocol=pickle.HIGHEST_PROTOCOL)

    assert b"datetime" not in pickled


def test_fix_times_in_another_zone_keep_it() -> None:
    beijing = dt.timezone(dt.timedelta(hours=8))
    fixes = (FixEvidence(dt.datetime(2026, 3, 2, 16, 0, tzinfo=beijing), 114.0, 22.5, 92.0, 7),)

    restored = pickle.loads(pickle.dumps(evidence_with(fixes)))

    assert restored.fixes == fixes
    assert restored.fixes[0].fix_at.utcoffset() == dt.timedelta(hours=8)


# An overspeed evidence with two fixes (the second at longitude -0.0), pickled by the worker of
# session 8, which packed the fixes as columns: checkpoints written then must still load.
COLUMNS_PICKLE = bytes.fromhex(
    "8005950f020000000000008c197472616e73706f72742e616c657274732e65766964656e6365948c135f756e"
    "7069636b6c65645f65766964656e63659493947d94288c0772756c655f6964948c096f766572737065656494"
    "8c0a72756c655f7469746c65948c147472616e73706f72742e72756c65732e62617365948c04546578749493"
    "942981947d94288c027a68948c06e8b685e9809f948c02656e948c094f76657273706565649475628c0b6c65"
    "67616c5f62617369739468092981947d9428680c8c2ae3808ae98193e8b7afe4baa4e9809ae5ae89e585a8e6"
    "b395e3808be7acace59b9be58d81e4ba8ce69da194680e8c0b5254534c204172742034329475628c04666163"
    "749468092981947d9428680c8c1ae8bda6e9809f203932206b6d2f68efbc8ce99990e9809f20383094680e8c"
    "1d3932206b6d2f6820776865726520383020697320746865206c696d69749475628c0e726573747269637469"
    "6f6e5f6964944e8c087363686564756c65944e8c05666978657394435000e037f9054c06008076d0f9054c06"
    "003333333333835c4000000000000000800000000000803640c3f5285c8f8236400000000000005740000000"
    "000060574007000000000000000800000000000000948c08656467655f696473944b074b0886948c09666978"
    "5f636f756e74944b028c0a7065616b5f76616c7565944740576000000000008c056c696d6974944740540000"
    "0000000075859452942e"
)


def test_evidence_pickled_as_columns_by_an_earlier_worker_loads() -> None:
    at = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
    fixes = (
        FixEvidence(at, 114.05, 22.5, 92.0, 7),
        FixEvidence(at + dt.timedelta(seconds=10), -0.0, 22.51, 93.5, 8),
    )

    restored = pickle.loads(COLUMNS_PICKLE)

    assert repr(restored) == repr(dataclasses.replace(evidence_with(fixes), peak_value=93.5))


def test_equal_fixes_of_different_signs_keep_their_own_rows() -> None:
    at = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
    east, west = FixEvidence(at, 0.0, 22.5, 0.0, 1), FixEvidence(at, -0.0, 22.5, -0.0, 1)
    assert east == west  # equal values: the packed rows are held by object, not by value

    first = pickle.loads(pickle.dumps(evidence_with((east,))))
    second = pickle.loads(pickle.dumps(evidence_with((west,))))

    assert repr(first.fixes) == repr((east,))
    assert repr(second.fixes) == repr((west,))


def test_fixes_come_back_exactly_when_the_held_rows_overflow(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(evidence, "PACKED_FIXES_HELD", 3)
    at = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
    fixes = tuple(FixEvidence(at + dt.timedelta(seconds=k), 114.0 + k, 22.5, 60.0, k)
                  for k in range(10))  # fmt: skip

    for _ in range(2):  # the second time, some rows are held and some packed again
        restored = pickle.loads(pickle.dumps(evidence_with(fixes)))
        assert restored.fixes == fixes
