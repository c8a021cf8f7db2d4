"""Which schema revision a database is at, read with a catalog lookup and one query (no
Alembic import: that costs 0.15 s, and every command checks the database before it runs)."""

from __future__ import annotations

from sqlalchemy import Engine, text

HEAD_REVISION = "0007"
"""The newest migration in ``migrations/versions`` (a test checks it against Alembic's head)."""
KNOWN_REVISIONS = ("0001", "0002", "0003", "0004", "0005", "0006", "0007")

_HAS_VERSION_TABLE = {
    "sqlite": "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'",
    "postgresql": "SELECT to_regclass('alembic_version')",
}


def schema_revision(engine: Engine) -> str | None:
    """The database's Alembic revision; None when it has no neocloud schema at all."""
    with engine.connect() as conn:
        if conn.execute(text(_HAS_VERSION_TABLE[conn.dialect.name])).scalar() is None:
            return None
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        return None if revision is None else str(revision)
