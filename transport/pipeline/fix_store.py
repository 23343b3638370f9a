"""Where the worker keeps fixes: a store interface, its SQLite implementation (one table), and
a buffer that holds the writes until the runner commits them.

Writing is idempotent: a (vehicle, fix time) already stored is ignored, so a fix delivered twice
is stored once. This tiny table stands in until the SQLAlchemy store of the waybill work lands.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

from transport.fixes import Fix, FixSource
from transport.pipeline.batch import EPOCH, epoch_us

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence
    from pathlib import Path

logger = logging.getLogger(__name__)

__all__ = ["BufferedFixStore", "FixStore", "SqliteFixStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS fixes (
    vehicle_id TEXT NOT NULL,
    fix_at_us INTEGER NOT NULL,
    lon REAL NOT NULL,
    lat REAL NOT NULL,
    speed_kmh REAL NOT NULL,
    heading_deg REAL NOT NULL,
    altitude_m REAL NOT NULL,
    alarm_bits INTEGER NOT NULL,
    status_bits INTEGER NOT NULL,
    source TEXT NOT NULL,
    is_backfill INTEGER NOT NULL,
    extras TEXT NOT NULL,
    PRIMARY KEY (vehicle_id, fix_at_us)
) WITHOUT ROWID
"""
_COLUMNS = (
    "vehicle_id, fix_at_us, lon, lat, speed_kmh, heading_deg, altitude_m, alarm_bits, "
    "status_bits, source, is_backfill, extras"
)
_MAX_QUERY_PARAMETERS = 900


class FixStore(Protocol):
    """What the pipeline needs of a fix store."""

    def add_fixes(self, fixes: Sequence[Fix]) -> int:
        """Store fixes in one transaction, skipping those stored; return how many were new."""
        ...

    def stored_fix_us(self, vehicle_id: str, fix_us: Iterable[int]) -> set[int]:
        """Return which of these fix times (epoch µs) of a vehicle are stored."""
        ...


class BufferedFixStore:
    """A fix store whose writes wait for `commit`: the runner writes the checkpoint of the
    batches processed since the last commit, then commits their fixes, then acknowledges them.

    A worker killed before the checkpoint has stored neither, so whoever claims its fixes
    processes them again instead of finding them stored and dropping them as duplicates.
    Lookups see the held fixes as stored, and those set aside for a commit being written.
    """

    def __init__(self, store: FixStore) -> None:
        self.store = store
        self.held: dict[tuple[str, int], Fix] = {}
        self.in_flight: dict[tuple[str, int], Fix] = {}  # set aside for the commit being written

    def add_fixes(self, fixes: Sequence[Fix]) -> int:
        """Hold fixes for the commit; return how many were not held already."""
        before = len(self.held)
        self.held.update(((fix.vehicle_id, epoch_us(fix.fix_at)), fix) for fix in fixes)
        return len(self.held) - before

    def stored_fix_us(self, vehicle_id: str, fix_us: Iterable[int]) -> set[int]:
        """Return which of these fix times of a vehicle are held, being written or stored."""
        wanted = set(fix_us)
        # `in_flight` is replaced, never changed, once stored: looked at once, it is enough
        waiting, in_flight = self.held, self.in_flight
        held = {us for us in wanted if (vehicle_id, us) in waiting or (vehicle_id, us) in in_flight}
        unheld = wanted - held
        return held | self.store.stored_fix_us(vehicle_id, unheld) if unheld else held

    def prepare_commit(self) -> Callable[[], None]:
        """Set the held fixes aside (with any a failed write left) and return the blocking
        call that stores them; lookups still see them meanwhile."""
        self.in_flight = {**self.in_flight, **self.held}
        self.held = {}
        return self._store_in_flight

    def commit(self) -> None:
        """Store the held fixes in one transaction; on failure the next commit stores them."""
        self.prepare_commit()()

    def _store_in_flight(self) -> None:
        """Store the fixes set aside in one transaction; on failure they stay set aside."""
        in_flight = self.in_flight
        if not in_flight:
            return
        fixes = list(in_flight.values())
        added = self.store.add_fixes(fixes)
        if added != len(fixes):
            logger.info("%d of %d fixes were stored already", len(fixes) - added, len(fixes))
        self.in_flight = {}


class SqliteFixStore:
    """Fixes in a SQLite file (WAL, so several worker processes may share it)."""

    def __init__(self, path: Path | str, *, busy_timeout_s: float = 30.0) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._connection = sqlite3.connect(
            path, timeout=busy_timeout_s, check_same_thread=False, isolation_level=None
        )
        with self._lock:
            self._connection.execute("PRAGMA journal_mode=WAL")
            self._connection.execute("PRAGMA synchronous=NORMAL")
            self._connection.execute(_SCHEMA)

    def add_fixes(self, fixes: Sequence[Fix]) -> int:
        """Store fixes in one transaction; a stored (vehicle, fix time) is left as it is."""
        rows = [
            (
                fix.vehicle_id, epoch_us(fix.fix_at), fix.lon, fix.lat, fix.speed_kmh,
                fix.heading_deg, fix.altitude_m, fix.alarm_bits, fix.status_bits,
                fix.source.value, int(fix.is_backfill), json.dumps(fix.extras),
            )
            for fix in fixes
        ]  # fmt: skip
        with self._lock:
            before = self._connection.total_changes
            self._connection.execute("BEGIN IMMEDIATE")
            try:
                self._connection.executemany(
                    f"INSERT OR IGNORE INTO fixes ({_COLUMNS}) VALUES ({', '.join('?' * 12)})",
                    rows,
                )
            except sqlite3.Error:
                self._connection.execute("ROLLBACK")
                raise
            self._connection.execute("COMMIT")
            return self._connection.total_changes - before

    def stored_fix_us(self, vehicle_id: str, fix_us: Iterable[int]) -> set[int]:
        """Return which of these fix times of a vehicle are stored."""
        wanted = sorted(set(fix_us))
        found: set[int] = set()
        with self._lock:
            for start in range(0, len(wanted), _MAX_QUERY_PARAMETERS):
                chunk = wanted[start : start + _MAX_QUERY_PARAMETERS]
                query = (
                    "SELECT fix_at_us FROM fixes WHERE vehicle_id = ? "
                    f"AND fix_at_us IN ({', '.join('?' * len(chunk))})"
                )
                found.update(
                    row[0] for row in self._connection.execute(query, [vehicle_id, *chunk])
                )
        return found

    def count_fixes(self) -> int:
        """Return how many fixes are stored."""
        with self._lock:
            return int(self._connection.execute("SELECT count(*) FROM fixes").fetchone()[0])

    def read_fixes(self, vehicle_id: str) -> list[Fix]:
        """Return a vehicle's stored fixes in time order."""
        with self._lock:
            rows = self._connection.execute(
                f"SELECT {_COLUMNS} FROM fixes WHERE vehicle_id = ? ORDER BY fix_at_us",
                (vehicle_id,),
            ).fetchall()
        return [_fix_of_row(row) for row in rows]

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._connection.close()


def _fix_of_row(row: tuple[Any, ...]) -> Fix:
    """Return the fix a table row holds."""
    (vehicle_id, fix_us, lon, lat, speed, heading, altitude, alarm, status, source,
     is_backfill, extras) = row  # fmt: skip
    return Fix(
        vehicle_id=str(vehicle_id),
        fix_at=EPOCH + timedelta(microseconds=int(fix_us)),
        lon=float(lon),
        lat=float(lat),
        speed_kmh=float(speed),
        heading_deg=float(heading),
        altitude_m=float(altitude),
        alarm_bits=int(alarm),
        status_bits=int(status),
        source=FixSource(source),
        is_backfill=bool(is_backfill),
        extras=json.loads(str(extras)),
    )
