"""Who each vehicle is on its current trip: the vehicle context the rules read.

The worker asks a `VehicleDirectory` for the contexts (cargo, waybill, approved corridor) of the
vehicles of each batch at once; a new object back for a vehicle means its trip changed.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Protocol

from transport.rules.base import VehicleContext

__all__ = ["StaticDirectory", "VehicleDirectory"]


class VehicleDirectory(Protocol):
    """Source of vehicle contexts (in memory for the demo; the waybill store in production)."""

    def contexts_of(self, vehicle_ids: Collection[str]) -> dict[str, VehicleContext]:
        """The vehicles' contexts; an unknown vehicle is an empty vehicle (no cargo).

        Asked once per batch for the vehicles in it: the same object back means nothing
        changed, so a directory should answer from memory and return a new context only when
        the vehicle's trip changed.
        """
        ...


class StaticDirectory:
    """A fixed mapping of vehicle contexts."""

    def __init__(self, contexts: Mapping[str, VehicleContext]) -> None:
        self.contexts = dict(contexts)

    def contexts_of(self, vehicle_ids: Collection[str]) -> dict[str, VehicleContext]:
        """The vehicles' contexts; an empty vehicle for one that is not listed."""
        for vehicle_id in vehicle_ids:
            if vehicle_id not in self.contexts:
                self.contexts[vehicle_id] = VehicleContext(vehicle_id)
        return {vehicle_id: self.contexts[vehicle_id] for vehicle_id in vehicle_ids}
