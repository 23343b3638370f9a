"""Real test databases: a SQLite file and a fresh PostgreSQL database, both migrated.

PostgreSQL is the local server (``HAZMAT_TEST_POSTGRES_URL``, default
``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``); each test session creates its own
database next to that one and drops it afterwards. When the server is unreachable the tests
skip, except under ``CI=true`` where they fail with the reason.
"""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from transport.store.engine import migrate

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

POSTGRES_URL = os.environ.get(
    "HAZMAT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = ("sqlite", "postgresql")


def _skip_or_fail(msg: str) -> None:
    """Skip, or fail under CI=true, with the reason."""
    if os.environ.get("CI") == "true":
        pytest.fail(msg)
    pytest.skip(msg)


@contextmanager
def sqlite_database(folder: Path, *, migrated: bool = True) -> Iterator[str]:
    """Yield the URL of a new SQLite file (migrated unless told otherwise)."""
    url = f"sqlite:///{folder / f'hazmat-{uuid.uuid4().hex[:8]}.db'}"
    if migrated:
        migrate(url)
    yield url


@contextmanager
def postgres_database(*, migrated: bool = True) -> Iterator[str]:
    """Yield the URL of a fresh PostgreSQL database, dropped afterwards."""
    admin = create_engine(
        POSTGRES_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}
    )
    name = f"hazmat_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as err:
        admin.dispose()
        _skip_or_fail(f"PostgreSQL is not reachable at {POSTGRES_URL}: {err.orig}")
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    try:
        if migrated:
            migrate(url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def database(backend: str, folder: Path, *, migrated: bool = True) -> Iterator[str]:
    """Yield the URL of a new database of one backend."""
    if backend == "sqlite":
        with sqlite_database(folder, migrated=migrated) as url:
            yield url
    else:
        with postgres_database(migrated=migrated) as url:
            yield url
