"""Resolve the vehicle ids fixes carry (plate, or ``jt808:<phone>``) to registry vehicles."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import or_, select

from transport.store import models

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

__all__ = [
    "JT808_PREFIX",
    "VehicleKeyCache",
    "VehicleRef",
    "VehicleResolver",
    "keys_of_vehicle",
    "resolve_vehicle_keys",
]

JT808_PREFIX = "jt808:"


@dataclass(frozen=True)
class VehicleRef:
    """The registry vehicle and carrier a fix's vehicle id names (None when unregistered)."""

    vehicle_id: int | None
    carrier_id: int | None


def resolve_vehicle_keys(session: Session, keys: Iterable[str]) -> dict[str, VehicleRef]:
    """Return the registry vehicle of each key, in one query; unknown keys map to no vehicle.

    A key is a plate (the first vehicle registered with it wins when plate colours differ) or
    ``jt808:<terminal phone>``.
    """
    keys = set(keys)
    phones = {k.removeprefix(JT808_PREFIX) for k in keys if k.startswith(JT808_PREFIX)}
    plates = keys - {JT808_PREFIX + p for p in phones}
    found: dict[str, VehicleRef] = {}
    if keys:
        row = models.VehicleRow
        statement = (
            select(row.id, row.carrier_id, row.plate, row.terminal_phone)
            .where(or_(row.plate.in_(plates), row.terminal_phone.in_(phones)))
            .order_by(row.id.desc())
        )
        for vehicle_id, carrier_id, plate, phone in session.execute(statement):
            ref = VehicleRef(vehicle_id, carrier_id)
            if plate in plates:
                found[plate] = ref
            if phone in phones:
                found[JT808_PREFIX + phone] = ref
    return {key: found.get(key, VehicleRef(None, None)) for key in keys}


VehicleResolver = Callable[["Session", Iterable[str]], dict[str, VehicleRef]]


class VehicleKeyCache:
    """`resolve_vehicle_keys` remembered for `ttl_s` per key (unknown keys too): a worker's
    sinks resolve the same vehicles every batch, and registrations change rarely.

    A vehicle registered, re-registered or moved to another carrier is seen after at most
    `ttl_s`, as the waybill contexts (`pipeline.store_directory.StoreDirectory`) are.
    """

    def __init__(self, *, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.clock = clock
        self._refs: dict[str, tuple[VehicleRef, float]] = {}

    def __call__(self, session: Session, keys: Iterable[str]) -> dict[str, VehicleRef]:
        """Return the registry vehicle of each key; look up only those not fresh here."""
        now, keys = self.clock(), set(keys)
        fresh = {k: held[0] for k in keys if (held := self._refs.get(k)) and now < held[1]}
        missing = keys - fresh.keys()
        if missing:
            resolved = resolve_vehicle_keys(session, missing)
            self._refs.update((k, (ref, now + self.ttl_s)) for k, ref in resolved.items())
            fresh |= resolved
        return fresh


def keys_of_vehicle(plate: str, terminal_phone: str | None) -> tuple[str, ...]:
    """Return the ids a registry vehicle's fixes may carry."""
    return (plate,) if terminal_phone is None else (plate, JT808_PREFIX + terminal_phone)
