"""Which schema revision a database is at, read with one query (no Alembic import: that costs
0.15 s, and every command checks the database before it runs)."""

from __future__ import annotations

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

HEAD_REVISION = "0005"
"""The newest migration in ``migrations/versions`` (a test checks it against Alembic's head)."""
KNOWN_REVISIONS = ("0001", "0002", "0003", "0004", "0005")


def schema_revision(engine: Engine) -> str | None:
    """The database's Alembic revision; None when it has no neocloud schema at all."""
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except DBAPIError as exc:  # no such table / relation "alembic_version" does not exist
        if "alembic_version" in str(exc.orig):
            return None
        raise
