"""maintenance windows (announced, per site and nodes) and node failures (from the failure
to the swap), which metering reads; where a recorded availability came from (manual or
metered)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

import neocloud.adapters.db.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    instant = neocloud.adapters.db.types.UTCDateTime
    op.create_table(
        "maintenance_windows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site", sa.String(length=63), nullable=False),
        sa.Column("nodes", sa.JSON(), nullable=False),
        sa.Column("starts_at", instant(), nullable=False),
        sa.Column("ends_at", instant(), nullable=False),
        sa.Column("announced_at", instant(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.CheckConstraint("starts_at < ends_at", name=op.f("ck_maintenance_windows_half_open")),
        sa.ForeignKeyConstraint(
            ["site"], ["sites.name"], name=op.f("fk_maintenance_windows_site_sites")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_maintenance_windows")),
    )
    op.create_index("ix_maintenance_site", "maintenance_windows", ["site", "starts_at"])
    op.create_table(
        "node_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site", sa.String(length=63), nullable=False),
        sa.Column("node", sa.String(length=63), nullable=False),
        sa.Column("holder_key", sa.String(length=63), nullable=False),
        sa.Column("failed_at", instant(), nullable=False),
        sa.Column("swapped_at", instant(), nullable=False),
        sa.CheckConstraint("failed_at <= swapped_at", name=op.f("ck_node_failures_ordered")),
        sa.ForeignKeyConstraint(["site"], ["sites.name"], name=op.f("fk_node_failures_site_sites")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_node_failures")),
    )
    op.create_index("ix_node_failures_holder", "node_failures", ["holder_key"])
    with op.batch_alter_table("availability", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("source", sa.String(length=20), nullable=False, server_default="manual")
        )


def downgrade() -> None:
    with op.batch_alter_table("availability", schema=None) as batch_op:
        batch_op.drop_column("source")
    op.drop_index("ix_node_failures_holder", table_name="node_failures")
    op.drop_table("node_failures")
    op.drop_index("ix_maintenance_site", table_name="maintenance_windows")
    op.drop_table("maintenance_windows")
