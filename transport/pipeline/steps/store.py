"""Step `store`: save the batch's fixes, then the states of its vehicles.

Fixes first, idempotently; the states after, so a checkpoint never claims more than the store
holds. In a worker both wait for the runner's commit (`fix_store.BufferedFixStore`,
`checkpoint.CheckpointStore.commit`), which comes before the fixes are acknowledged.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from transport.pipeline.batch import Batch
    from transport.pipeline.checkpoint import CheckpointStore
    from transport.pipeline.fix_store import FixStore

__all__ = ["Store"]

logger = logging.getLogger(__name__)


class Store:
    """Persist fixes to a `FixStore` and vehicle states to a `CheckpointStore`."""

    def __init__(self, fix_store: FixStore, checkpoints: CheckpointStore) -> None:
        self.fix_store = fix_store
        self.checkpoints = checkpoints

    def __call__(self, batch: Batch) -> Batch:
        """Store the fixes and checkpoint the touched vehicles; return the batch unchanged."""
        if batch.fixes:
            added = self.fix_store.add_fixes(batch.fixes)
            if added != len(batch.fixes):
                logger.info("%d of %d fixes were stored already", len(batch.fixes) - added,
                            len(batch.fixes))  # fmt: skip
        touched = {fix.vehicle_id for fix in batch.fixes}
        self.checkpoints.save_states(
            state for vehicle_id, state in batch.states.items() if vehicle_id in touched
        )
        return batch
