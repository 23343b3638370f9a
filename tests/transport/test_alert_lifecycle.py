"""The alert lifecycle as timelines: open, update, hysteresis at a zone border, close, ack."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tests.transport.alert_events import as_one_batch
from transport.alerts import lifecycle
from transport.matched import MatchedFix
from transport.rules.base import RuleEvent, Text

T0 = dt.datetime(2025, 10, 9, 12, 0, tzinfo=dt.UTC)
PARAMS = lifecycle.LifecycleParams(close_after_s=60.0, close_after_fixes=2)


def _fix(s: float) -> MatchedFix:
    return MatchedFix("V1", T0 + dt.timedelta(seconds=s), 0.0, 0.0, 114.0, 22.5, 40.0, 7, 0.0, (7,))


def _limit(s: float) -> float | None:
    """A limit on every third fix's event."""
    return None if int(s) // 30 % 3 else float(s)


def _event(s: float, key: str = "zone-1") -> RuleEvent:
    return RuleEvent(
        "forbidden_entry", key, T0 + dt.timedelta(seconds=s), "violation",
        Text("驶入", "entered"), Text("依据", "basis"), restriction_id=key,
        edge_ids=(7, int(s) // 30 % 5), value=float(int(s) % 97), limit=_limit(s),
    )  # fmt: skip


def _run(timeline, params=PARAMS):
    """Feed (second, violating?) pairs; return every change."""
    state, changes = lifecycle.LifecycleState(), []
    for s, violating in timeline:
        state, out = lifecycle.step(state, _fix(s), (_event(s),) if violating else (), params)
        changes += out
    return state, changes


def test_violation_opens_updates_and_closes_after_hysteresis() -> None:
    state, changes = _run([(0, True), (30, True), (60, False), (90, False), (120, False)])
    assert [c.change for c in changes] == ["opened", "updated", "closed"]
    closed = changes[-1].alert
    assert closed.started_at == T0 and closed.ended_at == T0 + dt.timedelta(seconds=30)
    assert closed.evidence.fix_count == 2
    assert not state.open_alerts


def test_drift_across_zone_border_does_not_flap() -> None:
    border = [(s, s % 60 == 0) for s in range(0, 600, 30)]  # in, out, in, out ...
    _, changes = _run(border)
    assert [c.change for c in changes].count("opened") == 1
    assert "closed" not in [c.change for c in changes]


def test_open_after_delay_ignores_a_single_fix() -> None:
    params = lifecycle.LifecycleParams(open_after_s=60.0)
    _, short = _run([(0, True), (30, False), (60, False)], params)
    _, lasting = _run([(0, True), (30, True), (60, True)], params)
    assert not short
    assert [c.change for c in lasting] == ["opened"]
    assert lasting[0].alert.started_at == T0


def test_same_condition_same_alert_id() -> None:
    _, a = _run([(0, True)])
    _, b = _run([(0, True)])
    assert a[0].alert.alert_id == b[0].alert.alert_id


def test_close_all_at_end_of_track() -> None:
    state, _ = _run([(0, True), (30, True)])
    state, closed = lifecycle.close_all(state)
    assert [c.alert.status for c in closed] == ["closed"]
    assert not state.open_alerts


def test_acknowledge_records_first_person() -> None:
    _, changes = _run([(0, True)])
    alert = lifecycle.acknowledge(changes[0].alert, by="officer-7", at=T0)
    again = lifecycle.acknowledge(alert, by="officer-8", at=T0)
    assert again.acknowledged_by == "officer-7"
    with pytest.raises(ValueError, match="`by` must name"):
        lifecycle.acknowledge(alert, by=" ", at=T0)
    with pytest.raises(ValueError, match="`at` must be timezone-aware"):
        lifecycle.acknowledge(alert, by="x", at=T0.replace(tzinfo=None))


def test_evidence_keeps_first_and_latest_fixes() -> None:
    _, changes = _run([(s, True) for s in range(0, 3000, 30)])
    evidence = changes[-1].alert.evidence
    assert evidence.fix_count == 100
    assert len(evidence.fixes) == 40
    assert evidence.fixes[0].fix_at == T0
    assert evidence.fixes[-1].fix_at == T0 + dt.timedelta(seconds=2970)


def test_step_many_gives_the_state_of_step_fix_by_fix_and_one_update_per_alert() -> None:
    # Two conditions flapping out of phase, a delayed open, and a pause long enough to close.
    seconds = [*range(0, 600, 30), *range(900, 1200, 30)]
    timeline = [
        (s, tuple(_event(s, key) for key, on in (("a", s % 90 != 60), ("b", s % 900 < 300)) if on))
        for s in seconds
    ]
    params = lifecycle.LifecycleParams(open_after_s_by_rule={"forbidden_entry": 30.0})
    state, expected = lifecycle.LifecycleState(), []
    for s, events in timeline:
        state, out = lifecycle.step(state, _fix(s), events, params)
        expected += out
    many_state, got = lifecycle.step_many(
        lifecycle.LifecycleState(), [(_fix(s), events) for s, events in timeline], params
    )
    assert [c.change for c in expected].count("closed") >= 1
    assert [c.change for c in expected].count("updated") > [c.change for c in got].count("updated")
    assert list(got) == as_one_batch(expected)
    assert many_state == state


def _assert_evidence_of_every_fix(alert: lifecycle.Alert, violating_at: list[float]) -> None:
    """The evidence counts the alert's violating fixes, keeps the first and latest 20, its peak
    value, its latest limit and its edges in first-seen order."""
    ev = alert.evidence
    assert alert.ended_at is not None
    opened_s, ended_s = ((t - T0).total_seconds() for t in (ev.fixes[0].fix_at, alert.ended_at))
    seen = [s for s in violating_at if opened_s <= s <= ended_s]
    assert ev.fix_count == len(seen)
    kept = seen if len(seen) <= 40 else seen[:20] + seen[-20:]
    assert [(f.fix_at - T0).total_seconds() for f in ev.fixes] == kept
    assert ev.peak_value == max(float(int(s) % 97) for s in seen)
    assert ev.limit == next((_limit(s) for s in reversed(seen) if _limit(s) is not None), None)
    assert ev.edge_ids == tuple(dict.fromkeys(e for s in seen for e in (7, int(s) // 30 % 5)))


def _batched_as_fix_by_fix(steps, sizes, params):
    """Feed `steps` in batches of `sizes` (then the rest) and fix by fix; check that both give
    the same changes (updates coalesced per batch) and the same tracks in the same order after
    every batch; return the changes and the state."""
    state = many_state = lifecycle.LifecycleState()
    expected: list[lifecycle.AlertEvent] = []
    got: list[lifecycle.AlertEvent] = []
    start = 0
    for size in [*sizes, len(steps)]:
        batch, start = steps[start : start + size], start + size
        per_fix = []
        for fix, events in batch:
            state, out = lifecycle.step(state, fix, events, params)
            per_fix += out
        expected += as_one_batch(per_fix)
        many_state, out = lifecycle.step_many(many_state, batch, params)
        got += out
        assert list(many_state.tracks.items()) == list(state.tracks.items())
    assert got == expected
    return got, many_state


@given(
    timeline=st.lists(st.tuples(st.integers(0, 9), st.integers(0, 9)), min_size=1, max_size=150),
    sizes=st.lists(st.integers(1, 60), min_size=1, max_size=10),
)
@example(timeline=[(0, 9)] * 100, sizes=[10, 60])  # one alert gains 50 fixes in a batch
def test_any_batching_gives_the_closings_and_state_of_fix_by_fix(
    timeline: list[tuple[int, int]], sizes: list[int]
) -> None:
    # A condition is present at a fix 8 times in 10, so alerts last long enough to be capped.
    steps = [
        (
            _fix(30 * i),
            tuple(_event(30 * i, key) for key, d in zip("ab", draws, strict=True) if d < 8),
        )
        for i, draws in enumerate(timeline)
    ]
    params = lifecycle.LifecycleParams(open_after_s_by_rule={"forbidden_entry": 30.0})
    got, many_state = _batched_as_fix_by_fix(steps, sizes, params)
    for closed in [*got, *lifecycle.close_all(many_state)[1]]:
        if closed.change is lifecycle.AlertChange.CLOSED:
            violating_at = [
                30.0 * i
                for i, (_, ev) in enumerate(steps)
                if any(e.key == closed.alert.key for e in ev)
            ]
            _assert_evidence_of_every_fix(closed.alert, violating_at)


@given(
    timeline=st.lists(
        st.tuples(st.integers(1, 90), st.lists(st.sampled_from("abc"), max_size=4)),
        min_size=1,
        max_size=120,
    ),
    sizes=st.lists(st.integers(1, 40), min_size=1, max_size=8),
    close_after_s=st.sampled_from([0.0, 30.0, 60.0, 95.0, 300.0]),
    close_after_fixes=st.integers(1, 5),
    open_after_s=st.sampled_from([0.0, 45.0, 120.0]),
)
@example(  # the close falls due exactly at the last fix
    timeline=[(1, ["a"]), (30, []), (30, [])],
    sizes=[3],
    close_after_s=60.0,
    close_after_fixes=1,
    open_after_s=0.0,
)
def test_irregular_fixes_and_any_hysteresis_batch_as_fix_by_fix_in_the_same_order(
    timeline: list[tuple[int, list[str]]],
    sizes: list[int],
    close_after_s: float,
    close_after_fixes: int,
    open_after_s: float,
) -> None:
    # Gaps of 1-90 s; up to three conditions, repeated or in any order at a fix.
    params = lifecycle.LifecycleParams(
        open_after_s=open_after_s, close_after_s=close_after_s, close_after_fixes=close_after_fixes
    )
    steps, s = [], 0
    for gap, keys in timeline:
        s += gap
        steps.append((_fix(s), tuple(_event(s, key) for key in keys)))
    got, many_state = _batched_as_fix_by_fix(steps, sizes, params)
    reference_changes, reference_tracks = _reference(steps, params)
    assert [
        (c.change.value, c.alert.key, c.alert.started_at, c.alert.ended_at)
        for c in got
        if c.change is not lifecycle.AlertChange.UPDATED
    ] == reference_changes
    assert [
        (key, t.first_at, t.last_at, t.clear_fixes, t.alert is not None)
        for (_, key), t in many_state.tracks.items()
    ] == reference_tracks


def _reference(steps, params):
    """The lifecycle as its docstring states it, fix by fix and plainly: the openings and
    closings as (change, key, started, ended) in order, and the tracks followed at the end."""
    tracks: dict[str, list] = {}  # key: [first_at, last_at, clear_fixes, is_open]
    changes = []
    for fix, events in steps:
        at = fix.fix_at
        present = list(dict.fromkeys(e.key for e in events))
        for key in present:
            track = tracks.setdefault(key, [at, at, 0, False])
            track[1], track[2] = at, 0
            if not track[3] and (at - track[0]).total_seconds() >= params.open_after_s:
                track[3] = True
                changes.append(("opened", key, track[0], None))
        for key in [k for k in tracks if k not in present]:
            track = tracks[key]
            track[2] += 1
            if not track[3]:
                del tracks[key]
            elif (
                track[2] >= params.close_after_fixes
                and (at - track[1]).total_seconds() >= params.close_after_s
            ):
                changes.append(("closed", key, track[0], track[1]))
                del tracks[key]
    return changes, [(key, *track) for key, track in tracks.items()]
