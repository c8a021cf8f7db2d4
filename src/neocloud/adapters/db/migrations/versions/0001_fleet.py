"""fleet inventory and audit log

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

import neocloud.adapters.db.types

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", neocloud.adapters.db.types.UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("entity_type", sa.String(length=63), nullable=False),
        sa.Column("entity_key", sa.String(length=200), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_audit_entity", ["entity_type", "entity_key"], unique=False)

    op.create_table(
        "sites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("city", sa.String(length=100), nullable=False),
        sa.Column("region", sa.String(length=100), nullable=False),
        sa.Column("country", sa.String(length=100), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column(
            "facility_capacity_kw", neocloud.adapters.db.types.ExactDecimal(), nullable=False
        ),
        sa.Column("pue", neocloud.adapters.db.types.ExactDecimal(), nullable=False),
        sa.Column(
            "electricity_price_per_mwh", neocloud.adapters.db.types.ExactDecimal(), nullable=False
        ),
        sa.Column("electricity_currency", sa.String(length=3), nullable=False),
        sa.Column(
            "grid_carbon_kg_per_mwh", neocloud.adapters.db.types.ExactDecimal(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sites")),
        sa.UniqueConstraint("name", name=op.f("uq_sites_name")),
    )
    op.create_table(
        "halls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_halls_site_id_sites"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_halls")),
        sa.UniqueConstraint("site_id", "name", name=op.f("uq_halls_site_id")),
    )
    op.create_table(
        "site_gpu_models",
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("gpu_tdp_w", neocloud.adapters.db.types.ExactDecimal(), nullable=False),
        sa.Column("server_overhead", neocloud.adapters.db.types.ExactDecimal(), nullable=False),
        sa.Column("gpus_per_node", sa.Integer(), nullable=False),
        sa.Column("node_rated_it_kw", neocloud.adapters.db.types.ExactDecimal(), nullable=False),
        sa.Column("node_kind", sa.String(length=63), nullable=False),
        sa.Column("nodes_per_rack", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
            name=op.f("fk_site_gpu_models_site_id_sites"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("site_id", "name", name=op.f("pk_site_gpu_models")),
    )
    op.create_table(
        "racks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("hall_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("power_budget_kw", neocloud.adapters.db.types.ExactDecimal(), nullable=False),
        sa.ForeignKeyConstraint(
            ["hall_id"], ["halls.id"], name=op.f("fk_racks_hall_id_halls"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_racks_site_id_sites"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_racks")),
        sa.UniqueConstraint("site_id", "name", name=op.f("uq_racks_site_id")),
    )
    with op.batch_alter_table("racks", schema=None) as batch_op:
        batch_op.create_index("ix_racks_hall", ["hall_id"], unique=False)

    op.create_table(
        "nodes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("rack_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("gpu_model", sa.String(length=63), nullable=False),
        sa.Column("gpu_count", sa.Integer(), nullable=False),
        sa.Column("rated_it_kw", neocloud.adapters.db.types.ExactDecimal(), nullable=False),
        sa.Column("typical_it_kw", neocloud.adapters.db.types.ExactDecimal(), nullable=False),
        sa.ForeignKeyConstraint(
            ["rack_id"], ["racks.id"], name=op.f("fk_nodes_rack_id_racks"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_nodes_site_id_sites"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nodes")),
        sa.UniqueConstraint("site_id", "name", name=op.f("uq_nodes_site_id")),
    )
    with op.batch_alter_table("nodes", schema=None) as batch_op:
        batch_op.create_index("ix_nodes_rack", ["rack_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("nodes", schema=None) as batch_op:
        batch_op.drop_index("ix_nodes_rack")

    op.drop_table("nodes")
    with op.batch_alter_table("racks", schema=None) as batch_op:
        batch_op.drop_index("ix_racks_hall")

    op.drop_table("racks")
    op.drop_table("site_gpu_models")
    op.drop_table("halls")
    op.drop_table("sites")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_entity")

    op.drop_table("audit_log")
