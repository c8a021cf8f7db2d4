"""audit entries carry two times: recorded_at (the system clock: when the entry was written)
and business_at (the business clock then, NEOCLOUD_NOW in a demo)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

Before this revision the one column ``at`` held the business clock's time; it becomes
``recorded_at`` and is copied into ``business_at``, so old entries keep the only time they
had in both (their true system time was never recorded).
"""

import sqlalchemy as sa
from alembic import op

import neocloud.adapters.db.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


STORED = sa.DateTime(timezone=True)  # how UTCDateTime is stored


def upgrade() -> None:
    # RENAME COLUMN: PostgreSQL, and SQLite since 3.25 (batch mode trips on the renamed
    # column's type decorator)
    op.execute("ALTER TABLE audit_log RENAME COLUMN at TO recorded_at")
    op.add_column(
        "audit_log",
        sa.Column("business_at", neocloud.adapters.db.types.UTCDateTime(), nullable=True),
    )
    op.execute("UPDATE audit_log SET business_at = recorded_at")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.alter_column("business_at", existing_type=STORED, nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_column("business_at")
    op.execute("ALTER TABLE audit_log RENAME COLUMN recorded_at TO at")
