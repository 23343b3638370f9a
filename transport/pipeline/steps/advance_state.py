"""Step `advance_state`: fold each processed fix into its vehicle's monitor state.

The state is saved by the `store` step and written at the runner's commit, so a worker that
dies before then leaves the old state and the replacement processes the fixes again.
"""

from __future__ import annotations

import dataclasses

from transport.pipeline.batch import Batch, VehicleState

__all__ = ["AdvanceState"]


class AdvanceState:
    """Record every fix of the batch in its vehicle's state (last time, recent times, counts)."""

    def __call__(self, batch: Batch) -> Batch:
        """Return the batch with its states advanced; fixes pass unchanged."""
        states = dict(batch.states)
        for fix in batch.fixes:
            state = states.get(fix.vehicle_id) or VehicleState(fix.vehicle_id)
            states[fix.vehicle_id] = state.after(fix)
        return dataclasses.replace(batch, states=states)
