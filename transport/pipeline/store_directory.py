"""Vehicle contexts from the waybill store: the active waybill of each vehicle, kept fresh.

The worker asks for the contexts of a batch's vehicles at once. A context is read from the
database the first time and again once it is older than `ttl_s`, the stale ones of a batch in
one session and two queries (so a dispatched, changed or finished waybill
reaches the rules within that time); in between it is answered from memory. A vehicle id is a
plate or ``jt808:<terminal phone>``, resolved to the registry vehicle; its active waybill gives
the load (`CargoProfile` of the goods lines and the permits valid now), the waybill id and the
planned route buffered to its corridor in the network CRS. An unknown vehicle, one without an
active waybill or one whose waybill cannot be read is an empty vehicle: no cargo, no corridor.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np
import shapely

from transport import fixes, waybills
from transport._errors import CargoError
from transport.cargo import CargoProfile
from transport.rules.base import VehicleContext
from transport.rules.route_deviation import corridor_of
from transport.store import vehicle_keys
from transport.store import waybills as waybill_store

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from geodata.network import RoadNetwork
    from transport.goods import Catalogue

__all__ = ["DEFAULT_CORRIDOR_WIDTH_M", "DEFAULT_TTL_S", "StoreDirectory"]

logger = logging.getLogger(__name__)

DEFAULT_TTL_S = 30.0
DEFAULT_CORRIDOR_WIDTH_M = 200.0


@dataclass(frozen=True)
class _Entry:
    """A context, what it was built from, and when it was read (monotonic seconds)."""

    context: VehicleContext
    source: tuple[object, ...]
    read_at_s: float


class StoreDirectory:
    """A `VehicleDirectory` over the waybill store, with a per-vehicle time-to-live cache.

    Parameters
    ----------
    session_factory
        Opens sessions on the registry and waybill database.
    network
        The worker's network: corridors are built in its metric CRS.
    ttl_s
        How long a context is answered from memory before the store is read again.
    corridor_width_m
        Width of the corridor around a planned route.
    catalogue
        Dangerous-goods catalogue for the cargo profile; None: the built-in one.
    """

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        network: RoadNetwork,
        *,
        ttl_s: float = DEFAULT_TTL_S,
        corridor_width_m: float = DEFAULT_CORRIDOR_WIDTH_M,
        catalogue: Catalogue | None = None,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = fixes.utc_now,
    ) -> None:
        if ttl_s < 0 or corridor_width_m <= 0:
            msg = "`ttl_s` must be >= 0 and `corridor_width_m` > 0"
            raise ValueError(msg)
        self.session_factory = session_factory
        self.network = network
        self.ttl_s = ttl_s
        self.corridor_width_m = corridor_width_m
        self.catalogue = catalogue
        self.clock = clock
        self.now = now
        self.reads = 0
        self._entries: dict[str, _Entry] = {}

    def context_of(self, vehicle_id: str) -> VehicleContext:
        """One vehicle's context (see `contexts_of`)."""
        return self.contexts_of([vehicle_id])[vehicle_id]

    def contexts_of(self, vehicle_ids: Collection[str]) -> dict[str, VehicleContext]:
        """The vehicles' contexts: from memory within `ttl_s`, the others read from the store.

        The same object is returned as long as the waybill it came from is unchanged, so the
        caller can tell a new trip by identity.
        """
        now_s = self.clock()
        stale = [
            vehicle_id
            for vehicle_id in vehicle_ids
            if (entry := self._entries.get(vehicle_id)) is None
            or now_s - entry.read_at_s >= self.ttl_s
        ]
        for vehicle_id, (source, build) in self._read(stale).items():
            entry = self._entries.get(vehicle_id)
            # Unchanged: keep the object (and its cached cargo key), and skip building it.
            context = entry.context if entry is not None and entry.source == source else build()
            self._entries[vehicle_id] = _Entry(context, source, now_s)
        return {vehicle_id: self._entries[vehicle_id].context for vehicle_id in vehicle_ids}

    def forget(self, vehicle_id: str | None = None) -> None:
        """Drop one cached context (None: all), so the next call reads the store."""
        if vehicle_id is None:
            self._entries.clear()
        else:
            self._entries.pop(vehicle_id, None)

    def _read(
        self, vehicle_ids: Collection[str]
    ) -> dict[str, tuple[tuple[object, ...], Callable[[], VehicleContext]]]:
        """Read the vehicles' active waybills; return what each context is built from, and how
        to build it (only done when that changed: a cargo profile costs a millisecond)."""
        if not vehicle_ids:
            return {}
        self.reads += len(vehicle_ids)
        with self.session_factory() as session:
            refs = vehicle_keys.resolve_vehicle_keys(session, vehicle_ids)
            registered = {ref.vehicle_id for ref in refs.values() if ref.vehicle_id is not None}
            active = waybill_store.find_active_waybills(
                session, vehicle_ids=registered, all_carriers=True
            )
        read: dict[str, tuple[tuple[object, ...], Callable[[], VehicleContext]]] = {}
        for vehicle_id in vehicle_ids:
            waybill = active.get(refs[vehicle_id].vehicle_id)  # type: ignore[arg-type]
            if waybill is None:
                read[vehicle_id] = ((), functools.partial(VehicleContext, vehicle_id))
                continue
            permits = tuple(sorted(_permits_in_force(waybill, self.now())))
            source = (waybill.id, waybill.lines, waybill.planned_route_wkt, permits)
            build = functools.partial(self._context, vehicle_id, waybill, permits)
            read[vehicle_id] = (source, build)
        return read

    def _context(
        self, vehicle_id: str, waybill: waybills.Waybill, permits: tuple[str, ...]
    ) -> VehicleContext:
        """Build the context of a vehicle on one waybill."""
        try:
            cargo = CargoProfile.from_lines(
                [line.to_goods_line() for line in waybill.lines], self.catalogue, permits=permits
            )
        except CargoError as err:  # a stored waybill the catalogue no longer reads
            logger.warning("waybill %s of %s: cargo unreadable (%s); treated as empty",
                           waybill.id, vehicle_id, err)  # fmt: skip
            return VehicleContext(vehicle_id, waybill_id=str(waybill.id))
        return VehicleContext(
            vehicle_id, cargo=cargo, waybill_id=str(waybill.id), corridor=self._corridor(waybill)
        )

    def _corridor(self, waybill: waybills.Waybill) -> shapely.Geometry | None:
        """The planned route in the network CRS, buffered to the corridor; None without one."""
        route = waybills.route_line(waybill)
        if route is None:
            return None
        lonlat = shapely.get_coordinates(route)
        x, y = self.network.from_lonlat.transform(lonlat[:, 0], lonlat[:, 1])
        route_m = shapely.linestrings(np.column_stack([x, y]))
        return corridor_of(route_m, width_m=self.corridor_width_m)


def _permits_in_force(waybill: waybills.Waybill, at: datetime) -> set[str]:
    """The kinds of the waybill's special permits valid at a moment (``highly_toxic`` ...)."""
    return {
        permit.kind.value
        for permit in waybill.permits
        if permit.valid_from_at <= at < permit.valid_until_at
    }
