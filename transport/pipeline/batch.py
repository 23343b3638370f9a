"""What flows through the chain: a batch of fixes with the state of the vehicles they belong to.

A step takes a `Batch` and returns one; every fix that goes in comes out, either among `fixes`
or among `dropped` with a reason code, so nothing vanishes unexplained.
"""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from transport.alerts.lifecycle import AlertEvent
    from transport.fixes import Fix
    from transport.matched import MatchedFix
    from transport.rules.fleet_view import FleetView

__all__ = ["RECENT_FIXES_KEPT", "Batch", "VehicleState", "epoch_us"]

RECENT_FIXES_KEPT = 32
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)


def epoch_us(moment: datetime) -> int:
    """Return an aware datetime as whole microseconds since the Unix epoch (exact)."""
    return (moment - EPOCH) // _ONE_US


@dataclass(frozen=True)
class VehicleState:
    """Per-vehicle monitor state that survives a worker: checkpointed after every batch.

    `recent_fix_us` holds the latest `RECENT_FIXES_KEPT` fix times processed (epoch µs,
    ascending): a fix time inside that span is a duplicate exactly when it is listed there.
    `monitor` holds what the steps carry per vehicle (the rules' clocks and open alerts, the
    matcher's waiting fixes): plain values, or objects with a ``checkpoint_value()`` method
    whose value is what the checkpoint holds, taken only when it is written
    (`checkpoint_codec.encode_state`).
    """

    vehicle_id: str
    last_fix_us: int | None = None
    recent_fix_us: tuple[int, ...] = ()
    fixes_seen: int = 0
    backfill_seen: int = 0
    monitor: Mapping[str, Any] = field(default_factory=dict)

    def has_seen(self, fix_us: int) -> bool | None:
        """Say whether a fix time was processed: True, False, or None when only the store knows."""
        if fix_us in self.recent_fix_us:
            return True
        is_window_full = len(self.recent_fix_us) >= RECENT_FIXES_KEPT
        if is_window_full and fix_us < self.recent_fix_us[0]:
            return None
        return False

    def after(self, fix: Fix) -> VehicleState:
        """Return the state once `fix` has been processed."""
        fix_us = epoch_us(fix.fix_at)
        recent = list(self.recent_fix_us)
        bisect.insort(recent, fix_us)
        return dataclasses.replace(
            self,
            last_fix_us=fix_us if self.last_fix_us is None else max(self.last_fix_us, fix_us),
            recent_fix_us=tuple(recent[-RECENT_FIXES_KEPT:]),
            fixes_seen=self.fixes_seen + 1,
            backfill_seen=self.backfill_seen + fix.is_backfill,
        )


@dataclass(frozen=True)
class Batch:
    """Fixes being processed, the states of their vehicles, and the fixes dropped so far.

    `matched` holds the fixes the live matcher has decided (a few fixes behind `fixes`, by its
    lag) and `alert_events` the alert changes the rules made of them; `backfill_matched` holds
    the late back-fill fixes matched in their own pass, which the rules never see. `fleet`
    holds the fleet's current stops for the fleet-level parking rules, when the chain reads them.
    """

    fixes: tuple[Fix, ...]
    states: Mapping[str, VehicleState]
    dropped: tuple[tuple[str, Fix], ...] = ()
    matched: tuple[MatchedFix, ...] = ()
    alert_events: tuple[AlertEvent, ...] = ()
    backfill_matched: tuple[MatchedFix, ...] = ()
    fleet: FleetView | None = None

    def is_late(self, fix: Fix) -> bool:
        """Whether a fix is back-fill older than its vehicle's live stream (flagged by `order`)."""
        state = self.states.get(fix.vehicle_id)
        if not fix.is_backfill or state is None or state.last_fix_us is None:
            return False
        return epoch_us(fix.fix_at) < state.last_fix_us

    def state_of(self, vehicle_id: str) -> VehicleState | None:
        """Return the checkpointed state of a vehicle, None for a vehicle never seen."""
        return self.states.get(vehicle_id)

    def states_with(self, key: str, values: Mapping[str, object]) -> dict[str, VehicleState]:
        """Return the states with ``monitor[key]`` set to each vehicle's value in `values` (a
        step's part of the checkpoint; a vehicle never seen gets a new state)."""
        states = dict(self.states)
        for vehicle_id, value in values.items():
            state = states.get(vehicle_id) or VehicleState(vehicle_id)
            states[vehicle_id] = dataclasses.replace(state, monitor={**state.monitor, key: value})
        return states
