"""Migrations: the schema they build is the models' schema, and they run down and up again."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect, text
from sqlalchemy.exc import IntegrityError

from tests.transport.store import databases
from transport.alerts import handling
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


def _insert_action(connection: Connection, action: str) -> None:
    connection.execute(
        text(
            "INSERT INTO alert_actions (alert_id, action, actor, acted_at) "
            "VALUES (1, :action, 'system', :at)"
        ),
        {"action": action, "at": datetime(2025, 6, 10, tzinfo=UTC)},
    )


def test_0003_keeps_the_history_and_accepts_every_action(empty_url: str) -> None:
    migrate(empty_url, revision="0002")
    engine = make_engine(empty_url)
    at = datetime(2025, 6, 10, tzinfo=UTC)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO alerts (id, alert_key, vehicle_key, rule_id, condition_key, "
                "severity, is_active, started_at, last_at, state) VALUES (1, 'a-1', '粤B1', "
                "'speed', 'k', 'violation', true, :at, :at, 'new')"
            ),
            {"at": at},
        )
        _insert_action(connection, "opened")
    migrate(empty_url)
    with engine.begin() as connection:
        for action in handling.AlertAction:
            _insert_action(connection, action.value)
        kept = connection.scalar(text("SELECT count(*) FROM alert_actions"))
    with pytest.raises(IntegrityError), engine.begin() as connection:
        _insert_action(connection, "bogus")
    engine.dispose()
    assert kept == 1 + len(handling.AlertAction)
