"""Store fixes as track points and read them back: live positions and a vehicle's track.

Points are idempotent by (vehicle id of the fix, fix time). Each point carries the registry
vehicle and carrier it resolved to when stored, so tenant scope is a plain column filter.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, cast

from sqlalchemy import Select, func, or_, select

from transport import registry
from transport.store import models, registries
from transport.store.engine import dialect_insert
from transport.store.scope import check_scope, scoped
from transport.store.vehicle_keys import keys_of_vehicle, resolve_vehicle_keys

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy import Table
    from sqlalchemy.orm import Session

    from transport.store.vehicle_keys import VehicleResolver

__all__ = [
    "MAX_TRACK_POINTS",
    "FixLike",
    "TrackPoint",
    "latest_positions",
    "read_track",
    "read_track_of_key",
    "record_positions",
]

logger = logging.getLogger(__name__)

MAX_TRACK_POINTS = 20_000


class FixLike(Protocol):
    """What a stored point is made of: a `Fix` or a `MatchedFix`."""

    @property
    def vehicle_id(self) -> str: ...
    @property
    def fix_at(self) -> datetime: ...
    @property
    def lon(self) -> float: ...
    @property
    def lat(self) -> float: ...
    @property
    def speed_kmh(self) -> float: ...
    @property
    def heading_deg(self) -> float: ...


@dataclass(frozen=True)
class TrackPoint:
    """A stored fix with the registry vehicle and carrier it belongs to (None: unregistered)."""

    vehicle_key: str
    fix_at: datetime
    lon: float
    lat: float
    speed_kmh: float
    heading_deg: float
    vehicle_id: int | None
    carrier_id: int | None


def _to_point(row: models.TrackPointRow) -> TrackPoint:
    """Return the point of a row."""
    return TrackPoint(
        row.vehicle_key, row.fix_at, row.lon, row.lat, row.speed_kmh, row.heading_deg,
        row.vehicle_id, row.carrier_id,
    )  # fmt: skip


def record_positions(
    session: Session,
    fixes: Sequence[FixLike],
    *,
    all_carriers: bool,
    resolve: VehicleResolver = resolve_vehicle_keys,
) -> list[TrackPoint]:
    """Store fixes as track points and return those that were new, in input order.

    The pipeline stores every vehicle's fixes, so the scope must be ``all_carriers=True``.
    A (vehicle, fix time) stored already is skipped, also under concurrent writers. `resolve`
    finds the fixes' registry vehicles (a worker passes its `VehicleKeyCache`).
    """
    check_scope(None, all_carriers)
    if not fixes:
        return []
    refs = resolve(session, {fix.vehicle_id for fix in fixes})
    unique = {(fix.vehicle_id, fix.fix_at): fix for fix in fixes}
    points = {
        key: TrackPoint(
            fix.vehicle_id,
            fix.fix_at,
            fix.lon,
            fix.lat,
            fix.speed_kmh,
            fix.heading_deg,
            refs[fix.vehicle_id].vehicle_id,
            refs[fix.vehicle_id].carrier_id,
        )
        for key, fix in unique.items()
    }
    table = cast("Table", models.TrackPointRow.__table__)
    # One Core statement (the ORM's bulk path costs more per row), compiled once and cached,
    # run as an executemany: the rows a conflict skipped are absent from RETURNING, so what
    # comes back is exactly what was new.
    statement = (
        dialect_insert(session)(table)
        .on_conflict_do_nothing()
        .returning(table.c.vehicle_key, table.c.fix_at)
    )
    inserted = session.execute(statement, [vars(point) for point in points.values()])
    new = {(key, fix_at) for key, fix_at in inserted}
    return [point for key, point in points.items() if key in new]


def latest_positions(
    session: Session,
    *,
    carrier_id: int | None = None,
    all_carriers: bool = False,
    since: datetime | None = None,
) -> list[TrackPoint]:
    """Return the newest point of every vehicle in scope (fixed at or after `since`), by key."""
    table = models.TrackPointRow
    grouped: Select[Any] = select(  # type: ignore[assignment]
        table.vehicle_key, func.max(table.fix_at).label("fix_at")
    ).group_by(table.vehicle_key)
    newest = scoped(
        grouped,
        table,
        carrier_id=carrier_id,
        all_carriers=all_carriers,
    )
    if since is not None:
        newest = newest.where(table.fix_at >= since)
    latest = newest.subquery()
    statement = (
        select(table)
        .join(
            latest,
            (table.vehicle_key == latest.c.vehicle_key) & (table.fix_at == latest.c.fix_at),
        )
        .order_by(table.vehicle_key)
    )
    return [_to_point(row) for row in session.scalars(statement)]


def read_track(
    session: Session,
    *,
    vehicle_id: int,
    since: datetime,
    until: datetime,
    carrier_id: int | None = None,
    all_carriers: bool = False,
    max_points: int = MAX_TRACK_POINTS,
) -> list[TrackPoint] | None:
    """Return a registry vehicle's points from `since` to `until` (both included), in time order.

    None when the vehicle is unknown or not in scope. Points stored before the vehicle was
    registered are found by its plate or terminal phone. At most `max_points`, the earliest.
    """
    vehicle = registries.get_record(
        session,
        registry.Vehicle,
        record_id=vehicle_id,
        carrier_id=carrier_id,
        all_carriers=all_carriers,
    )
    if vehicle is None:
        return None
    table = models.TrackPointRow
    keys = keys_of_vehicle(vehicle.plate, vehicle.terminal_phone)
    statement = (
        select(table)
        .where(or_(table.vehicle_id == vehicle_id, table.vehicle_key.in_(keys)))
        .where(table.fix_at >= since, table.fix_at <= until)
        .order_by(table.fix_at)
        .limit(max_points)
    )
    return [_to_point(row) for row in session.scalars(statement)]


def read_track_of_key(
    session: Session,
    *,
    vehicle_key: str,
    since: datetime,
    until: datetime,
    carrier_id: int | None = None,
    all_carriers: bool = False,
    max_points: int = MAX_TRACK_POINTS,
) -> list[TrackPoint]:
    """Return the points in scope of one vehicle id of the fixes (registered or not), in order."""
    table = models.TrackPointRow
    statement = scoped(
        select(table)
        .where(table.vehicle_key == vehicle_key, table.fix_at >= since, table.fix_at <= until)
        .order_by(table.fix_at)
        .limit(max_points),
        table,
        carrier_id=carrier_id,
        all_carriers=all_carriers,
    )
    return [_to_point(row) for row in session.scalars(statement)]
