"""Registries, waybills and check runs.

Revision ID: 0001
Revises:
Create Date: 2026-11-26 01:06:11.361451
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""

    op.create_table(
        "carriers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("permit_number", sa.String(length=64), nullable=False),
        sa.Column("permitted_classes", sa.JSON(), nullable=False),
        sa.Column("permit_valid_until", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carriers")),
        sa.UniqueConstraint("permit_number", name=op.f("uq_carriers_permit_number")),
    )
    op.create_table(
        "people",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("carrier_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("certificate_number", sa.String(length=64), nullable=False),
        sa.Column("permitted_classes", sa.JSON(), nullable=False),
        sa.Column("certificate_valid_until", sa.Date(), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.CheckConstraint("role IN ('driver', 'escort')", name=op.f("ck_people_role")),
        sa.ForeignKeyConstraint(
            ["carrier_id"], ["carriers.id"], name=op.f("fk_people_carrier_id_carriers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_people")),
        sa.UniqueConstraint(
            "carrier_id", "certificate_number", name=op.f("uq_people_carrier_id_certificate_number")
        ),
    )
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_people_carrier_id"), ["carrier_id"], unique=False)

    op.create_table(
        "vehicles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("carrier_id", sa.Integer(), nullable=False),
        sa.Column("plate", sa.String(length=16), nullable=False),
        sa.Column("plate_colour", sa.String(length=16), nullable=False),
        sa.Column("licence_number", sa.String(length=64), nullable=False),
        sa.Column("licence_valid_until", sa.Date(), nullable=False),
        sa.Column("operating_certificate_number", sa.String(length=64), nullable=False),
        sa.Column("operating_certificate_valid_until", sa.Date(), nullable=False),
        sa.Column("rated_load_kg", sa.Double(), nullable=False),
        sa.Column("is_tank", sa.Boolean(), nullable=False),
        sa.Column("terminal_phone", sa.String(length=20), nullable=True),
        sa.CheckConstraint(
            "plate_colour IN "
            "('black', 'blue', 'green', 'other', 'white', 'yellow', 'yellow_green')",
            name=op.f("ck_vehicles_plate_colour"),
        ),
        sa.CheckConstraint("rated_load_kg > 0", name=op.f("ck_vehicles_rated_load_kg")),
        sa.ForeignKeyConstraint(
            ["carrier_id"], ["carriers.id"], name=op.f("fk_vehicles_carrier_id_carriers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vehicles")),
        sa.UniqueConstraint("plate", "plate_colour", name=op.f("uq_vehicles_plate_plate_colour")),
    )
    with op.batch_alter_table("vehicles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_vehicles_carrier_id"), ["carrier_id"], unique=False)

    op.create_table(
        "tanks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("carrier_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("volume_m3", sa.Double(), nullable=False),
        sa.Column("inspection_valid_until", sa.Date(), nullable=False),
        sa.Column("permitted_un_numbers", sa.JSON(), nullable=False),
        sa.Column("vehicle_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("volume_m3 > 0", name=op.f("ck_tanks_volume_m3")),
        sa.ForeignKeyConstraint(
            ["carrier_id"], ["carriers.id"], name=op.f("fk_tanks_carrier_id_carriers")
        ),
        sa.ForeignKeyConstraint(
            ["vehicle_id"], ["vehicles.id"], name=op.f("fk_tanks_vehicle_id_vehicles")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tanks")),
        sa.UniqueConstraint("carrier_id", "number", name=op.f("uq_tanks_carrier_id_number")),
    )
    with op.batch_alter_table("tanks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tanks_carrier_id"), ["carrier_id"], unique=False)

    op.create_table(
        "waybills",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("carrier_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("consignor", sa.JSON(), nullable=False),
        sa.Column("consignee", sa.JSON(), nullable=False),
        sa.Column("loader", sa.JSON(), nullable=False),
        sa.Column("vehicle_id", sa.Integer(), nullable=False),
        sa.Column("trailer_plate", sa.String(length=16), nullable=True),
        sa.Column("tank_id", sa.Integer(), nullable=True),
        sa.Column("driver_id", sa.Integer(), nullable=False),
        sa.Column("escort_id", sa.Integer(), nullable=True),
        sa.Column("loading_place", sa.JSON(), nullable=False),
        sa.Column("unloading_place", sa.JSON(), nullable=False),
        sa.Column("planned_departure_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("planned_route_wkt", sa.Text(), nullable=True),
        sa.Column("emergency_contact", sa.JSON(), nullable=False),
        sa.Column("permits", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "state IN ('archived', 'arrived', 'cancelled', 'departed', 'dispatched', 'draft', "
            "'loading_checked')",
            name=op.f("ck_waybills_state"),
        ),
        sa.ForeignKeyConstraint(
            ["carrier_id"], ["carriers.id"], name=op.f("fk_waybills_carrier_id_carriers")
        ),
        sa.ForeignKeyConstraint(
            ["driver_id"], ["people.id"], name=op.f("fk_waybills_driver_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["escort_id"], ["people.id"], name=op.f("fk_waybills_escort_id_people")
        ),
        sa.ForeignKeyConstraint(["tank_id"], ["tanks.id"], name=op.f("fk_waybills_tank_id_tanks")),
        sa.ForeignKeyConstraint(
            ["vehicle_id"], ["vehicles.id"], name=op.f("fk_waybills_vehicle_id_vehicles")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waybills")),
        sa.UniqueConstraint("carrier_id", "number", name=op.f("uq_waybills_carrier_id_number")),
    )
    with op.batch_alter_table("waybills", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_waybills_carrier_id"), ["carrier_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_waybills_vehicle_id"), ["vehicle_id"], unique=False)
        batch_op.create_index(
            "uq_waybills_active_vehicle",
            ["vehicle_id"],
            unique=True,
            sqlite_where=sa.text("state IN ('departed', 'dispatched', 'loading_checked')"),
            postgresql_where=sa.text("state IN ('departed', 'dispatched', 'loading_checked')"),
        )

    op.create_table(
        "check_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("waybill_id", sa.Integer(), nullable=False),
        sa.Column("carrier_id", sa.Integer(), nullable=False),
        sa.Column("checked_by", sa.String(length=100), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("loading_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("place_name", sa.String(length=200), nullable=False),
        sa.Column("lon", sa.Double(), nullable=True),
        sa.Column("lat", sa.Double(), nullable=True),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("loaded_lines", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["carrier_id"], ["carriers.id"], name=op.f("fk_check_runs_carrier_id_carriers")
        ),
        sa.ForeignKeyConstraint(
            ["waybill_id"], ["waybills.id"], name=op.f("fk_check_runs_waybill_id_waybills")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_check_runs")),
    )
    with op.batch_alter_table("check_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_check_runs_carrier_id"), ["carrier_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_check_runs_waybill_id"), ["waybill_id"], unique=False)

    op.create_table(
        "waybill_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("waybill_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=24), nullable=False),
        sa.Column("from_state", sa.String(length=24), nullable=False),
        sa.Column("to_state", sa.String(length=24), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("event_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["waybill_id"], ["waybills.id"], name=op.f("fk_waybill_events_waybill_id_waybills")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waybill_events")),
    )
    with op.batch_alter_table("waybill_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_waybill_events_waybill_id"), ["waybill_id"], unique=False
        )

    op.create_table(
        "waybill_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("waybill_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("un_number", sa.String(length=4), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=True),
        sa.Column("hazard_class", sa.String(length=8), nullable=True),
        sa.Column("packing_group", sa.String(length=3), nullable=True),
        sa.Column("quantity", sa.Double(), nullable=False),
        sa.Column("unit", sa.String(length=4), nullable=False),
        sa.Column("carriage", sa.String(length=16), nullable=False),
        sa.Column("mass_kg", sa.Double(), nullable=True),
        sa.Column("net_explosive_mass_kg", sa.Double(), nullable=True),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_waybill_lines_quantity")),
        sa.ForeignKeyConstraint(
            ["waybill_id"],
            ["waybills.id"],
            name=op.f("fk_waybill_lines_waybill_id_waybills"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waybill_lines")),
        sa.UniqueConstraint(
            "waybill_id", "position", name=op.f("uq_waybill_lines_waybill_id_position")
        ),
    )
    op.create_table(
        "check_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("check_run_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("check_id", sa.String(length=40), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("fact", sa.Text(), nullable=False),
        sa.Column("reason_en", sa.Text(), nullable=False),
        sa.Column("reason_zh", sa.Text(), nullable=False),
        sa.Column("legal_basis", sa.String(length=200), nullable=False),
        sa.CheckConstraint(
            "outcome IN ('fail', 'not_applicable', 'pass')", name=op.f("ck_check_results_outcome")
        ),
        sa.ForeignKeyConstraint(
            ["check_run_id"],
            ["check_runs.id"],
            name=op.f("fk_check_results_check_run_id_check_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_check_results")),
        sa.UniqueConstraint(
            "check_run_id", "position", name=op.f("uq_check_results_check_run_id_position")
        ),
    )


def downgrade() -> None:
    """Revert this revision."""

    op.drop_table("check_results")
    op.drop_table("waybill_lines")
    with op.batch_alter_table("waybill_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_waybill_events_waybill_id"))

    op.drop_table("waybill_events")
    with op.batch_alter_table("check_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_check_runs_waybill_id"))
        batch_op.drop_index(batch_op.f("ix_check_runs_carrier_id"))

    op.drop_table("check_runs")
    with op.batch_alter_table("waybills", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_waybills_active_vehicle",
            sqlite_where=sa.text("state IN ('departed', 'dispatched', 'loading_checked')"),
            postgresql_where=sa.text("state IN ('departed', 'dispatched', 'loading_checked')"),
        )
        batch_op.drop_index(batch_op.f("ix_waybills_vehicle_id"))
        batch_op.drop_index(batch_op.f("ix_waybills_carrier_id"))

    op.drop_table("waybills")
    with op.batch_alter_table("tanks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tanks_carrier_id"))

    op.drop_table("tanks")
    with op.batch_alter_table("vehicles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vehicles_carrier_id"))

    op.drop_table("vehicles")
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_people_carrier_id"))

    op.drop_table("people")
    op.drop_table("carriers")
