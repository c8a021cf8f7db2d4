"""allocations, with one holder per node at any instant enforced by the database

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

import neocloud.adapters.db.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

OVERLAP = (
    "EXISTS (SELECT 1 FROM allocations a WHERE a.node_id = NEW.node_id AND a.id IS NOT NEW.id"
    " AND (a.ends_at IS NULL OR NEW.starts_at < a.ends_at)"
    " AND (NEW.ends_at IS NULL OR a.starts_at < NEW.ends_at))"
)


def upgrade() -> None:
    op.create_table(
        "allocations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("rack_id", sa.Integer(), nullable=False),
        sa.Column("node_id", sa.Integer(), nullable=False),
        sa.Column("holder_kind", sa.String(length=20), nullable=False),
        sa.Column("holder_key", sa.String(length=63), nullable=False),
        sa.Column("starts_at", neocloud.adapters.db.types.UTCDateTime(), nullable=False),
        sa.Column("ends_at", neocloud.adapters.db.types.UTCDateTime(), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["node_id"], ["nodes.id"], name=op.f("fk_allocations_node_id_nodes")
        ),
        sa.ForeignKeyConstraint(
            ["rack_id"], ["racks.id"], name=op.f("fk_allocations_rack_id_racks")
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_allocations_site_id_sites")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_allocations")),
        sa.CheckConstraint(
            "ends_at IS NULL OR starts_at < ends_at", name=op.f("ck_allocations_half_open")
        ),
    )
    with op.batch_alter_table("allocations", schema=None) as batch_op:
        batch_op.create_index("ix_allocations_holder", ["holder_kind", "holder_key"], unique=False)
        batch_op.create_index("ix_allocations_node", ["node_id"], unique=False)
        batch_op.create_index("ix_allocations_rack", ["rack_id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        op.execute(
            "ALTER TABLE allocations ADD CONSTRAINT ex_allocations_one_holder "
            "EXCLUDE USING gist (node_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&)"
        )
    else:
        for event in ("INSERT", "UPDATE"):
            op.execute(
                f"CREATE TRIGGER allocations_one_holder_{event.lower()} BEFORE {event} ON "
                f"allocations WHEN {OVERLAP} BEGIN SELECT RAISE(ABORT, "
                "'ex_allocations_one_holder: the node already has a holder then'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        op.execute("DROP TRIGGER IF EXISTS allocations_one_holder_insert")
        op.execute("DROP TRIGGER IF EXISTS allocations_one_holder_update")
    op.drop_table("allocations")
