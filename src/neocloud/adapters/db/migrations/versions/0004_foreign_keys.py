"""foreign keys where a key names a row: agreements and capacity releases name a site,
invoices, availability and capacity releases name an agreement, a credit note names the
invoice it corrects

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28

Batch mode rebuilds each table on SQLite (which cannot add a constraint to a table); the
environment turns foreign-key enforcement off meanwhile (see ``env.py``), otherwise the
rebuild of ``agreements`` and ``invoices`` would cascade into their versions, history and
lines. Rows that already name nothing are reported, not deleted: fix them, then upgrade.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# (table, column, referred table, referred column)
KEYS = (
    ("agreements", "site", "sites", "name"),
    ("availability", "agreement_key", "agreements", "key"),
    ("capacity_releases", "agreement_key", "agreements", "key"),
    ("capacity_releases", "site", "sites", "name"),
    ("invoices", "agreement_key", "agreements", "key"),
    ("invoices", "refers_to", "invoices", "number"),
)


def _name(table: str, column: str, referred: str) -> str:
    return f"fk_{table}_{column}_{referred}"


def _refuse_dangling_keys() -> None:
    bind = op.get_bind()
    dangling = []
    for table, column, referred, key in KEYS:
        count = bind.execute(
            sa.text(
                f"SELECT count(*) FROM {table} t WHERE t.{column} IS NOT NULL AND NOT EXISTS "
                f"(SELECT 1 FROM {referred} r WHERE r.{key} = t.{column})"
            )
        ).scalar_one()
        if count:
            dangling.append(f"{count} rows of {table}.{column} name no {referred}.{key}")
    if dangling:
        raise RuntimeError(
            "cannot add foreign keys: " + "; ".join(dangling) + ". Fix these rows, then upgrade."
        )


def upgrade() -> None:
    _refuse_dangling_keys()
    for table in dict.fromkeys(t for t, *_ in KEYS):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for _, column, referred, key in (k for k in KEYS if k[0] == table):
                batch_op.create_foreign_key(
                    op.f(_name(table, column, referred)), referred, [column], [key]
                )


def downgrade() -> None:
    for table in dict.fromkeys(t for t, *_ in KEYS):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for _, column, referred, _key in (k for k in KEYS if k[0] == table):
                batch_op.drop_constraint(op.f(_name(table, column, referred)), type_="foreignkey")
