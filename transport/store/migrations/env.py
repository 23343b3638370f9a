"""Alembic environment: runs on the connection `transport.store.engine.migrate` passes in."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from transport.store import models
from transport.store.engine import make_engine

config = context.config
target_metadata = models.Base.metadata


def _run(connection: Connection) -> None:
    """Configure the context on one connection and run the migrations."""
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    """Use the connection handed over in ``config.attributes``, else open one from the URL."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    try:
        with engine.begin() as new_connection:
            _run(new_connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    msg = "offline (SQL script) migrations are not supported: run `migrate(engine_url)`"
    raise RuntimeError(msg)
run_online()
