"""SQLite with several writers: with the write lock taken at begin, a writer waits its turn;
with the write-ahead log, a reader holds back no writer."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import exc, text

from transport.store.engine import make_engine

if TYPE_CHECKING:
    from pathlib import Path

HOLD_S = 0.3


def _read_then_write_while_another_commits(path: Path, *, lock_on_begin: bool) -> None:
    """Writer A holds the write lock for a while, then commits; B reads, then writes."""
    url = f"sqlite:///{path}"
    setup = make_engine(url)
    with setup.begin() as connection:
        connection.execute(text("CREATE TABLE t (k INTEGER)"))
    setup.dispose()
    a, b = make_engine(url, lock_on_begin=True), make_engine(url, lock_on_begin=lock_on_begin)
    a_holds = threading.Event()

    def writer_a() -> None:
        with a.begin() as connection:
            connection.execute(text("INSERT INTO t VALUES (1)"))
            a_holds.set()
            time.sleep(HOLD_S)

    thread = threading.Thread(target=writer_a)
    thread.start()
    try:
        a_holds.wait(5)
        with b.begin() as connection:
            connection.execute(text("SELECT count(*) FROM t")).scalar_one()
            connection.execute(text("INSERT INTO t VALUES (2)"))
    finally:
        thread.join()
        a.dispose()
        b.dispose()
    check = make_engine(url)
    with check.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM t")).scalar_one() == 2
    check.dispose()


def test_writers_that_lock_on_begin_wait_their_turn(tmp_path: Path) -> None:
    _read_then_write_while_another_commits(tmp_path / "a.db", lock_on_begin=True)


def test_a_reading_transaction_that_writes_later_is_refused(tmp_path: Path) -> None:
    """Why the workers lock on begin: the plain BEGIN fails here without waiting."""
    with pytest.raises(exc.OperationalError, match="database is locked"):
        _read_then_write_while_another_commits(tmp_path / "b.db", lock_on_begin=False)


def test_a_writer_commits_while_a_reader_is_in_a_transaction(tmp_path: Path) -> None:
    """The file is in write-ahead-log mode: a long read (the API's) does not hold back a
    worker's commit, and the reader keeps the snapshot it began with."""
    url = f"sqlite:///{tmp_path / 'c.db'}"
    reader, writer = make_engine(url), make_engine(url, lock_on_begin=True)
    try:
        with writer.begin() as connection:
            connection.execute(text("CREATE TABLE t (k INTEGER)"))
            assert connection.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
        with reader.begin() as reading:
            assert reading.execute(text("SELECT count(*) FROM t")).scalar_one() == 0
            with writer.begin() as connection:  # journal mode: "database is locked"
                connection.execute(text("INSERT INTO t VALUES (1)"))
            assert reading.execute(text("SELECT count(*) FROM t")).scalar_one() == 0
        with reader.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM t")).scalar_one() == 1
    finally:
        reader.dispose()
        writer.dispose()
