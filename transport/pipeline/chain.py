"""The order of the worker's steps: reading this tuple is reading the data flow.

Still to come, each as one module in `steps/` and one line here, in this place:
``project`` and ``match`` (after `order`; the matcher in `geodata.matching`), then
``attach_context``, ``locate``, ``evaluate_rules`` and ``update_alerts`` (before
`advance_state`), and ``publish`` to the live channel after `store`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from transport.pipeline.steps import advance_state, deduplicate, order, store

if TYPE_CHECKING:
    from transport.pipeline.batch import Batch
    from transport.pipeline.checkpoint import CheckpointStore
    from transport.pipeline.fix_store import FixStore

__all__ = ["Chain", "Step", "build_chain"]


class Step(Protocol):
    """One processing step: takes a batch, returns it, explains every fix it drops."""

    def __call__(self, batch: Batch) -> Batch:
        """Process a batch."""
        ...


Chain = tuple[Step, ...]


def build_chain(*, fix_store: FixStore, checkpoints: CheckpointStore) -> Chain:
    """Return the steps a worker runs on every batch, in order."""
    return (
        deduplicate.Deduplicate(fix_store),
        order.Order(),
        advance_state.AdvanceState(),
        store.Store(fix_store, checkpoints),
    )
