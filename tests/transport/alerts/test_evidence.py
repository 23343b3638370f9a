"""Tests for alert evidence as it travels in a worker's checkpoint (pickled)."""

from __future__ import annotations

import datetime as dt
import pickle

from hypothesis import given
from hypothesis import strategies as st

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
