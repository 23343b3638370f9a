"""E-waybill uploads: what terminals sent in JT/T 808 0x0701, recorded from the gateways' stream.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 22:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "waybill_uploads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_key", sa.String(length=200), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("vehicle_key", sa.String(length=64), nullable=False),
        sa.Column("vehicle_id", sa.Integer(), nullable=True),
        sa.Column("carrier_id", sa.Integer(), nullable=True),
        sa.Column("waybill_id", sa.Integer(), nullable=True),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["carrier_id"], ["carriers.id"], name=op.f("fk_waybill_uploads_carrier_id_carriers")
        ),
        sa.ForeignKeyConstraint(
            ["vehicle_id"], ["vehicles.id"], name=op.f("fk_waybill_uploads_vehicle_id_vehicles")
        ),
        sa.ForeignKeyConstraint(
            ["waybill_id"], ["waybills.id"], name=op.f("fk_waybill_uploads_waybill_id_waybills")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waybill_uploads")),
        sa.UniqueConstraint("source_key", name=op.f("uq_waybill_uploads_source_key")),
    )
    with op.batch_alter_table("waybill_uploads", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_waybill_uploads_carrier_id"), ["carrier_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_waybill_uploads_vehicle_key"), ["vehicle_key"], unique=False
        )


def downgrade() -> None:
    """Revert this revision; the recorded uploads are dropped with their table."""
    with op.batch_alter_table("waybill_uploads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_waybill_uploads_vehicle_key"))
        batch_op.drop_index(batch_op.f("ix_waybill_uploads_carrier_id"))
    op.drop_table("waybill_uploads")
