"""Tests for the pipeline steps and their order: duplicates, late fixes, store and checkpoint."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests.transport.bus.fixtures import START_AT, make_fix
from transport.pipeline import batch as batch_module
from transport.pipeline import chain
from transport.pipeline.batch import Batch, VehicleState, epoch_us
from transport.pipeline.checkpoint import MemoryCheckpointStore
from transport.pipeline.fix_store import SqliteFixStore
from transport.pipeline.steps import advance_state, deduplicate, order, store


@pytest.fixture
def fix_store(tmp_path: Path) -> Iterator[SqliteFixStore]:
    store = SqliteFixStore(tmp_path / "fixes.sqlite")
    yield store
    store.close()


def run_chain(steps: chain.Chain, fixes: list, checkpoints: MemoryCheckpointStore) -> Batch:
    """Run a chain as the runner does: load states, then every step in order."""
    batch = Batch(tuple(fixes), checkpoints.load_states({f.vehicle_id for f in fixes}))
    for step in steps:
        batch = step(batch)
    return batch


def test_chain_order_is_the_data_flow(fix_store: SqliteFixStore) -> None:
    steps = chain.build_chain(fix_store=fix_store, checkpoints=MemoryCheckpointStore())
    assert [type(s).__name__ for s in steps] == ["Deduplicate", "Order", "AdvanceState", "Store"]


@pytest.mark.parametrize(
    "make_step",
    [
        lambda s: deduplicate.Deduplicate(s),
        lambda s: order.Order(),
        lambda s: advance_state.AdvanceState(),
        lambda s: store.Store(s, MemoryCheckpointStore()),
    ],
    ids=["deduplicate", "order", "advance_state", "store"],
)
def test_every_step_keeps_or_explains_every_fix(make_step, fix_store: SqliteFixStore) -> None:
    fixes = [make_fix(step=i) for i in (3, 1, 2, 1)] + [make_fix("V2", step=0)]
    state = VehicleState("粤B12345").after(make_fix(step=2))
    out = make_step(fix_store)(Batch(tuple(fixes), {"粤B12345": state}))
    assert len(out.fixes) + len(out.dropped) == len(fixes)
    assert {f.key for f in out.fixes} | {f.key for _, f in out.dropped} == {f.key for f in fixes}


def test_duplicate_fix_changes_nothing(fix_store: SqliteFixStore) -> None:
    checkpoints = MemoryCheckpointStore()
    steps = chain.build_chain(fix_store=fix_store, checkpoints=checkpoints)
    fixes = [make_fix(step=i) for i in range(5)]
    run_chain(steps, fixes, checkpoints)
    state_before = checkpoints.load_states(["粤B12345"])
    again = run_chain(steps, [fixes[2], fixes[4], fixes[2]], checkpoints)
    assert again.fixes == ()
    assert [reason for reason, _ in again.dropped] == ["duplicate"] * 3
    assert checkpoints.load_states(["粤B12345"]) == state_before
    assert fix_store.count_fixes() == 5


def test_duplicate_older_than_the_state_window_is_found_in_the_store(
    fix_store: SqliteFixStore,
) -> None:
    checkpoints = MemoryCheckpointStore()
    steps = chain.build_chain(fix_store=fix_store, checkpoints=checkpoints)
    n = batch_module.RECENT_FIXES_KEPT + 10
    run_chain(steps, [make_fix(step=i) for i in range(n)], checkpoints)
    (state,) = checkpoints.load_states(["粤B12345"]).values()
    assert state.has_seen(epoch_us(make_fix(step=0).fix_at)) is None  # beyond the window
    again = run_chain(steps, [make_fix(step=0), make_fix(step=n)], checkpoints)
    assert [f.fix_at for f in again.fixes] == [make_fix(step=n).fix_at]
    assert checkpoints.load_states(["粤B12345"])["粤B12345"].fixes_seen == n + 1


def test_lost_state_still_finds_duplicates_in_the_store(fix_store: SqliteFixStore) -> None:
    first = MemoryCheckpointStore()
    run_chain(chain.build_chain(fix_store=fix_store, checkpoints=first), [make_fix()], first)
    lost = MemoryCheckpointStore()  # e.g. Redis restarted without persistence
    again = run_chain(chain.build_chain(fix_store=fix_store, checkpoints=lost), [make_fix()], lost)
    assert again.fixes == () and fix_store.count_fixes() == 1


def test_late_fix_is_kept_in_order_and_flagged_backfill(fix_store: SqliteFixStore) -> None:
    checkpoints = MemoryCheckpointStore()
    steps = chain.build_chain(fix_store=fix_store, checkpoints=checkpoints)
    run_chain(steps, [make_fix(step=10)], checkpoints)
    out = run_chain(steps, [make_fix(step=12), make_fix(step=4), make_fix(step=11)], checkpoints)
    assert [(f.fix_at, f.is_backfill) for f in out.fixes] == [
        (START_AT + timedelta(seconds=120), True),
        (START_AT + timedelta(seconds=330), False),
        (START_AT + timedelta(seconds=360), False),
    ]
    state = checkpoints.load_states(["粤B12345"])["粤B12345"]
    assert (state.fixes_seen, state.backfill_seen) == (4, 1)
    assert state.last_fix_us == epoch_us(START_AT + timedelta(seconds=360))
    stored = fix_store.read_fixes("粤B12345")
    assert [f.is_backfill for f in stored] == [True, False, False, False]


def test_terminal_backfill_stays_flagged_even_when_newest(fix_store: SqliteFixStore) -> None:
    out = order.Order()(Batch((make_fix(step=3, is_backfill=True),), {}))
    assert out.fixes[0].is_backfill


def test_stored_fix_reads_back_equal(fix_store: SqliteFixStore) -> None:
    fix = make_fix(alarm_bits=1 << 18, extras={"terminal_alarm_daily_driving_overtime": 1.0})
    assert fix_store.add_fixes([fix, fix]) == 1
    assert fix_store.read_fixes(fix.vehicle_id) == [fix]
