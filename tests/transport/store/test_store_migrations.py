"""Migrations: the schema they build is the models' schema, and they run down and up again."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from tests.transport.store import databases
from transport.store import models
from transport.store.engine import alembic_config, make_engine, migrate


@pytest.fixture(params=databases.BACKENDS)
def empty_url(request, tmp_path):
    with databases.database(request.param, tmp_path, migrated=False) as url:
        yield url


def test_migrations_build_the_models_schema(empty_url: str) -> None:
    migrate(empty_url)
    engine = make_engine(empty_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, models.Base.metadata)
    engine.dispose()
    assert diff == []


def test_migrations_downgrade_and_upgrade_again(empty_url: str) -> None:
    from alembic import command

    migrate(empty_url)
    engine = make_engine(empty_url)
    config = alembic_config(empty_url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate(empty_url)
    assert "waybills" in inspect(engine).get_table_names()
    engine.dispose()
