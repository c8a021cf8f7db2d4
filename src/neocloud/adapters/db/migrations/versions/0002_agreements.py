"""agreements and invoices

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

import neocloud.adapters.db.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agreements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=63), nullable=False),
        sa.Column("operator", sa.String(length=63), nullable=False),
        sa.Column("tenant", sa.String(length=63), nullable=False),
        sa.Column("site", sa.String(length=63), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("notice_given_by", sa.String(length=20), nullable=True),
        sa.Column("notice_given_at", neocloud.adapters.db.types.UTCDateTime(), nullable=True),
        sa.Column("notice_effective_at", neocloud.adapters.db.types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agreements")),
        sa.UniqueConstraint("key", name=op.f("uq_agreements_key")),
    )
    op.create_table(
        "availability",
        sa.Column("agreement_key", sa.String(length=63), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("availability_ratio", neocloud.adapters.db.types.ExactDecimal(), nullable=False),
        sa.Column("recorded_at", neocloud.adapters.db.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("agreement_key", "period", name=op.f("pk_availability")),
    )
    op.create_table(
        "capacity_releases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agreement_key", sa.String(length=63), nullable=False),
        sa.Column("site", sa.String(length=63), nullable=False),
        sa.Column("release_at", neocloud.adapters.db.types.UTCDateTime(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_capacity_releases")),
        sa.UniqueConstraint("agreement_key", name=op.f("uq_capacity_releases_agreement_key")),
    )
    op.create_table(
        "document_sequences",
        sa.Column("operator", sa.String(length=63), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("operator", "kind", name=op.f("pk_document_sequences")),
    )
    op.create_table(
        "invoices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("operator", sa.String(length=63), nullable=False),
        sa.Column("tenant", sa.String(length=63), nullable=False),
        sa.Column("agreement_key", sa.String(length=63), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=True),
        sa.Column("refers_to", sa.String(length=80), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("total", neocloud.adapters.db.types.ExactDecimal(), nullable=False),
        sa.Column("final", sa.Boolean(), nullable=False),
        sa.Column("issued_at", neocloud.adapters.db.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoices")),
        sa.UniqueConstraint(
            "agreement_key", "period", "kind", name=op.f("uq_invoices_agreement_key")
        ),
        sa.UniqueConstraint("number", name=op.f("uq_invoices_number")),
    )
    op.create_table(
        "agreement_status_history",
        sa.Column("agreement_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("at", neocloud.adapters.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agreement_id"],
            ["agreements.id"],
            name=op.f("fk_agreement_status_history_agreement_id_agreements"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("agreement_id", "seq", name=op.f("pk_agreement_status_history")),
    )
    op.create_table(
        "agreement_versions",
        sa.Column("agreement_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("effective_from", neocloud.adapters.db.types.UTCDateTime(), nullable=False),
        sa.Column("recorded_at", neocloud.adapters.db.types.UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("terms", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agreement_id"],
            ["agreements.id"],
            name=op.f("fk_agreement_versions_agreement_id_agreements"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("agreement_id", "number", name=op.f("pk_agreement_versions")),
    )
    op.create_table(
        "invoice_lines",
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("precise", sa.String(length=80), nullable=False),
        sa.Column("amount", neocloud.adapters.db.types.ExactDecimal(), nullable=False),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
            name=op.f("fk_invoice_lines_invoice_id_invoices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("invoice_id", "position", name=op.f("pk_invoice_lines")),
    )


def downgrade() -> None:
    op.drop_table("invoice_lines")
    op.drop_table("agreement_versions")
    op.drop_table("agreement_status_history")
    op.drop_table("invoices")
    op.drop_table("document_sequences")
    op.drop_table("capacity_releases")
    op.drop_table("availability")
    op.drop_table("agreements")
