"""Who each vehicle is on its current trip: the vehicle context the rules read.

The worker asks a `VehicleDirectory` for a vehicle's context (cargo, waybill, approved corridor)
when it first sees the vehicle and whenever the directory says the trip changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from transport.rules.base import VehicleContext

__all__ = ["StaticDirectory", "VehicleDirectory"]


class VehicleDirectory(Protocol):
    """Source of vehicle contexts (in memory for the demo; the waybill store in production)."""

    def context_of(self, vehicle_id: str) -> VehicleContext:
        """The vehicle's context; an unknown vehicle is an empty vehicle (no cargo).

        Asked once per batch for each vehicle in it: the same object back means nothing
        changed, so a directory should answer from memory and return a new context only when
        the vehicle's trip changed.
        """
        ...


class StaticDirectory:
    """A fixed mapping of vehicle contexts."""

    def __init__(self, contexts: Mapping[str, VehicleContext]) -> None:
        self.contexts = dict(contexts)

    def context_of(self, vehicle_id: str) -> VehicleContext:
        """The vehicle's context, or an empty vehicle when it is not listed."""
        context = self.contexts.get(vehicle_id)
        if context is None:
            context = self.contexts[vehicle_id] = VehicleContext(vehicle_id)
        return context
