"""Reminder steps in alert history: four new actions, a wider action column, a source key.

The driver reminders' steps (queued, sent, acknowledged, undeliverable) are copied from the Redis
reminder log into ``alert_actions``; ``source_key`` names the log entry, unique, so an entry
delivered twice is recorded once. Batch mode rebuilds the table on SQLite (it cannot alter a
CHECK constraint or a column type in place) and alters it in place on PostgreSQL.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BEFORE = "('acknowledged', 'closed', 'ended', 'note', 'opened')"
_AFTER = (
    "('acknowledged', 'closed', 'ended', 'note', 'opened', 'reminder_acknowledged', "
    "'reminder_queued', 'reminder_sent', 'reminder_undeliverable')"
)


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("alert_actions", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_alert_actions_action"), type_="check")
        batch_op.alter_column(
            "action",
            existing_type=sa.String(length=16),
            type_=sa.String(length=32),
            existing_nullable=False,
        )
        batch_op.add_column(sa.Column("source_key", sa.String(length=200), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_alert_actions_source_key"), ["source_key"])
        batch_op.create_check_constraint(
            batch_op.f("ck_alert_actions_action"), sa.text(f"action IN {_AFTER}")
        )


def downgrade() -> None:
    """Revert this revision; recorded reminder steps are deleted (the old CHECK refuses them)."""
    op.execute(sa.text(f"DELETE FROM alert_actions WHERE action NOT IN {_BEFORE}"))
    with op.batch_alter_table("alert_actions", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_alert_actions_action"), type_="check")
        batch_op.drop_constraint(batch_op.f("uq_alert_actions_source_key"), type_="unique")
        batch_op.drop_column("source_key")
        batch_op.alter_column(
            "action",
            existing_type=sa.String(length=32),
            type_=sa.String(length=16),
            existing_nullable=False,
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_alert_actions_action"), sa.text(f"action IN {_BEFORE}")
        )
