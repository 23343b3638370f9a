"""The databases a pipeline bench run records into: each run its own copy of the seeded one.

SQLite (the embedded default): the seeded file copied per run. PostgreSQL (production): a
database made per run from the seeded one as its template, on the server at the given URL;
every database the bench made is dropped at the end.
"""

from __future__ import annotations

import shutil
import uuid
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["BenchDatabases", "PostgresDatabases", "SqliteDatabases", "count_alerts"]


class BenchDatabases(Protocol):
    """The seeded database and its copies."""

    seed_url: str

    def copy(self, name: str) -> str:
        """Return the URL of a new database holding what the seed holds."""
        ...

    def close(self) -> None:
        """Remove what was made."""
        ...


class SqliteDatabases:
    """SQLite files in a scratch folder (removed with it)."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.seed_url = f"sqlite:///{work / 'seed.db'}"

    def copy(self, name: str) -> str:
        """Copy the seeded file."""
        target = self.work / f"{name}.db"
        shutil.copy(self.work / "seed.db", target)
        return f"sqlite:///{target}"

    def close(self) -> None:
        """Nothing to do: the scratch folder goes."""


class PostgresDatabases:
    """Databases on a PostgreSQL server, copied from the seeded one as a template."""

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url
        self.admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
        self.names: list[str] = []
        self.seed = self._create(f"hazmat_bench_{uuid.uuid4().hex[:8]}", template=None)
        self.seed_url = self._url(self.seed)

    def copy(self, name: str) -> str:
        """Create a database from the seeded one (nobody may be connected to the seed)."""
        return self._url(self._create(f"{self.seed}_{name}", template=self.seed))

    def close(self) -> None:
        """Drop every database made, the copies first."""
        with self.admin.connect() as connection:
            for name in reversed(self.names):
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()

    def _create(self, name: str, *, template: str | None) -> str:
        """Create a database; return its name."""
        clause = f' TEMPLATE "{template}"' if template else ""
        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"{clause}'))
        self.names.append(name)
        return name

    def _url(self, name: str) -> str:
        """The URL of a database on the server."""
        return make_url(self.server_url).set(database=name).render_as_string(hide_password=False)


def count_alerts(url: str) -> int:
    """Return how many alerts a database holds."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM alerts")).scalar_one())
    finally:
        engine.dispose()
