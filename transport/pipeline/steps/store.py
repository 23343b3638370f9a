"""Step `store`: save the batch's fixes, duplicates included, and the states of its vehicles.

Storing is idempotent, so a duplicate is saved too: a fix that a checkpoint lists but the store
lacks (a worker killed between writing the two) is stored when it comes back. In a worker both
wait for the runner's commit (`checkpoint.CheckpointStore.commit`, then
`fix_store.BufferedFixStore.commit`), which comes before the fixes are acknowledged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from transport.pipeline.steps import deduplicate

if TYPE_CHECKING:
    from transport.pipeline.batch import Batch
    from transport.pipeline.checkpoint import CheckpointStore
    from transport.pipeline.fix_store import FixStore

__all__ = ["Store"]


class Store:
    """Persist fixes to a `FixStore` and vehicle states to a `CheckpointStore`."""

    def __init__(self, fix_store: FixStore, checkpoints: CheckpointStore) -> None:
        self.fix_store = fix_store
        self.checkpoints = checkpoints

    def __call__(self, batch: Batch) -> Batch:
        """Store the fixes and checkpoint the touched vehicles; return the batch unchanged."""
        duplicates = [fix for reason, fix in batch.dropped if reason == deduplicate.DUPLICATE]
        if batch.fixes or duplicates:
            self.fix_store.add_fixes([*batch.fixes, *duplicates])
        touched = {fix.vehicle_id for fix in batch.fixes}
        self.checkpoints.save_states(
            state for vehicle_id, state in batch.states.items() if vehicle_id in touched
        )
        return batch
