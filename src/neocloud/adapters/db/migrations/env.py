"""Alembic environment: runs migrations on the engine handed over by ``migrate.py``.

On SQLite, batch migrations rebuild a table (copy, drop the original, rename). With
foreign keys enforced, dropping the original would delete, by ON DELETE CASCADE, the rows
that reference it (an agreement's versions, an invoice's lines). So on SQLite enforcement
is off while migrating, ``PRAGMA foreign_key_check`` must find nothing afterwards, and it
is on again before the connection goes back to the pool. (The pragma has no effect inside
a transaction, hence the commit before the migration's own transaction begins.)
"""

from alembic import context

from neocloud.adapters.db.tables import metadata

engine = context.config.attributes["engine"]
with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
    try:
        with connection.begin():
            context.configure(
                connection=connection, target_metadata=metadata, render_as_batch=sqlite
            )
            with context.begin_transaction():
                context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"the migration left rows naming nothing: {broken[:5]}")
    finally:
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()
