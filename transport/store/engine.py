"""Open databases and bring their schema up to date: engines, sessions and `migrate`.

The SQLite file is the embedded default, PostgreSQL is production; both get the same tables
from the same Alembic migrations (``transport/store/migrations``), run without an alembic.ini.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import orjson
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

__all__ = [
    "MIGRATIONS_DIR",
    "alembic_config",
    "dialect_insert",
    "make_engine",
    "make_session_factory",
    "migrate",
]

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def dialect_insert(session: Session) -> type[sqlite.Insert] | type[postgresql.Insert]:
    """Return the session's dialect's INSERT, which can skip conflicting rows."""
    return postgresql.Insert if session.get_bind().dialect.name == "postgresql" else sqlite.Insert


def make_engine(database_url: str, *, lock_on_begin: bool = False, **kwargs: Any) -> Engine:
    """Return an engine; SQLite gets foreign keys on and real (savepoint-capable) transactions.

    An SQLite file is put in write-ahead-log mode with ``synchronous=NORMAL``: readers (the API,
    other workers) no longer wait for a writer nor it for them, and a commit appends to the log
    without an fsync (the log is synced at its checkpoints). In the rollback-journal default
    every commit synced the journal and the file, several times per worker batch. A commit
    survives a crash of the process; a power loss may take back the last commits, never corrupt
    the file (SQLite's WAL documentation). PostgreSQL, the production database, is unchanged.

    Python's sqlite3 module begins transactions on its own and breaks SAVEPOINT; the listeners
    below hand transaction control to SQLAlchemy (SQLAlchemy's documented pysqlite recipe).

    With `lock_on_begin`, an SQLite transaction takes the write lock when it begins (``BEGIN
    IMMEDIATE``), for processes that write in most transactions (the pipeline workers): two
    writers then wait their turn (``busy_timeout``). A transaction that reads first and writes
    after would instead be refused at once ("database is locked") when another writer commits
    meanwhile: SQLite does not wait where waiting could deadlock.
    """
    kwargs = {"json_serializer": _json_text, "json_deserializer": orjson.loads, **kwargs}
    if not database_url.startswith("sqlite"):
        return create_engine(database_url, pool_pre_ping=True, **kwargs)
    engine = create_engine(database_url, connect_args={"check_same_thread": False}, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA journal_mode=WAL")  # kept by the file; in memory: ignored
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    begin = "BEGIN IMMEDIATE" if lock_on_begin else "BEGIN"

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql(begin)

    return engine


def _json_text(value: Any) -> str:
    """JSON columns (alert evidence) written by orjson, several times faster than json."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Return a session factory whose objects stay readable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(database_url: str) -> Config:
    """Return an Alembic configuration built in code (no alembic.ini)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def migrate(engine_url: str, *, revision: str = "head") -> None:
    """Upgrade the database at ``engine_url`` to ``revision`` (default: the newest).

    Runs in one transaction on both databases (their DDL is transactional): a failed
    migration leaves the schema as it was.
    """
    config = alembic_config(engine_url)
    engine = make_engine(engine_url)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        engine.dispose()
    logger.info("database %s at revision %s", engine.url.render_as_string(), revision)
