"""Accounts, alerts with evidence and history, track points, restriction layer versions and audit.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 01:19:27.341150
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "restriction_layers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("is_retired", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_restriction_layers")),
        sa.UniqueConstraint("name", name=op.f("uq_restriction_layers_name")),
    )
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("carrier_id", sa.Integer(), nullable=True),
        sa.Column("loader_site", sa.String(length=200), nullable=True),
        sa.Column("display_name", sa.String(length=100), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "role IN ('admin', 'carrier', 'loader', 'planner', 'police')",
            name=op.f("ck_accounts_role"),
        ),
        sa.ForeignKeyConstraint(
            ["carrier_id"], ["carriers.id"], name=op.f("fk_accounts_carrier_id_carriers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("username", name=op.f("uq_accounts_username")),
    )
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_accounts_carrier_id"), ["carrier_id"], unique=False)

    op.create_table(
        "restriction_layer_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("layer_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("acted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("added_ids", sa.JSON(), nullable=False),
        sa.Column("removed_ids", sa.JSON(), nullable=False),
        sa.Column("changed_ids", sa.JSON(), nullable=False),
        sa.CheckConstraint(
            "action IN ('created', 'replaced', 'retired')",
            name=op.f("ck_restriction_layer_audit_action"),
        ),
        sa.ForeignKeyConstraint(
            ["layer_id"],
            ["restriction_layers.id"],
            name=op.f("fk_restriction_layer_audit_layer_id_restriction_layers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_restriction_layer_audit")),
    )
    with op.batch_alter_table("restriction_layer_audit", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_restriction_layer_audit_layer_id"), ["layer_id"], unique=False
        )

    op.create_table(
        "restriction_layer_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("layer_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("feature_count", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["layer_id"],
            ["restriction_layers.id"],
            name=op.f("fk_restriction_layer_versions_layer_id_restriction_layers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_restriction_layer_versions")),
        sa.UniqueConstraint(
            "layer_id", "version", name=op.f("uq_restriction_layer_versions_layer_id_version")
        ),
    )
    with op.batch_alter_table("restriction_layer_versions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_restriction_layer_versions_layer_id"), ["layer_id"], unique=False
        )

    op.create_table(
        "track_points",
        sa.Column("vehicle_key", sa.String(length=64), nullable=False),
        sa.Column("fix_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("vehicle_id", sa.Integer(), nullable=True),
        sa.Column("carrier_id", sa.Integer(), nullable=True),
        sa.Column("lon", sa.Double(), nullable=False),
        sa.Column("lat", sa.Double(), nullable=False),
        sa.Column("speed_kmh", sa.Double(), nullable=False),
        sa.Column("heading_deg", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["carrier_id"], ["carriers.id"], name=op.f("fk_track_points_carrier_id_carriers")
        ),
        sa.ForeignKeyConstraint(
            ["vehicle_id"], ["vehicles.id"], name=op.f("fk_track_points_vehicle_id_vehicles")
        ),
        sa.PrimaryKeyConstraint("vehicle_key", "fix_at", name=op.f("pk_track_points")),
    )
    with op.batch_alter_table("track_points", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_track_points_carrier_id"), ["carrier_id"], unique=False
        )

    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_key", sa.String(length=64), nullable=False),
        sa.Column("vehicle_key", sa.String(length=64), nullable=False),
        sa.Column("vehicle_id", sa.Integer(), nullable=True),
        sa.Column("carrier_id", sa.Integer(), nullable=True),
        sa.Column("waybill_id", sa.Integer(), nullable=True),
        sa.Column("rule_id", sa.String(length=40), nullable=False),
        sa.Column("condition_key", sa.String(length=200), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("acknowledged_by", sa.String(length=100), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=100), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lon", sa.Double(), nullable=True),
        sa.Column("lat", sa.Double(), nullable=True),
        sa.CheckConstraint(
            "state IN ('acknowledged', 'closed', 'new')", name=op.f("ck_alerts_state")
        ),
        sa.ForeignKeyConstraint(
            ["carrier_id"], ["carriers.id"], name=op.f("fk_alerts_carrier_id_carriers")
        ),
        sa.ForeignKeyConstraint(
            ["vehicle_id"], ["vehicles.id"], name=op.f("fk_alerts_vehicle_id_vehicles")
        ),
        sa.ForeignKeyConstraint(
            ["waybill_id"], ["waybills.id"], name=op.f("fk_alerts_waybill_id_waybills")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        sa.UniqueConstraint("alert_key", name=op.f("uq_alerts_alert_key")),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_alerts_carrier_started", ["carrier_id", "started_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_alerts_vehicle_key"), ["vehicle_key"], unique=False)

    op.create_table(
        "alert_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("acted_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "action IN ('acknowledged', 'closed', 'ended', 'note', 'opened')",
            name=op.f("ck_alert_actions_action"),
        ),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alerts.id"],
            name=op.f("fk_alert_actions_alert_id_alerts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_actions")),
    )
    with op.batch_alter_table("alert_actions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_actions_alert_id"), ["alert_id"], unique=False)

    op.create_table(
        "alert_evidence",
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("matched_geojson", sa.JSON(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alerts.id"],
            name=op.f("fk_alert_evidence_alert_id_alerts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("alert_id", name=op.f("pk_alert_evidence")),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("alert_evidence")
    with op.batch_alter_table("alert_actions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_actions_alert_id"))

    op.drop_table("alert_actions")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alerts_vehicle_key"))
        batch_op.drop_index("ix_alerts_carrier_started")

    op.drop_table("alerts")
    with op.batch_alter_table("track_points", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_track_points_carrier_id"))

    op.drop_table("track_points")
    with op.batch_alter_table("restriction_layer_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_restriction_layer_versions_layer_id"))

    op.drop_table("restriction_layer_versions")
    with op.batch_alter_table("restriction_layer_audit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_restriction_layer_audit_layer_id"))

    op.drop_table("restriction_layer_audit")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_accounts_carrier_id"))

    op.drop_table("accounts")
    op.drop_table("restriction_layers")
