"""Alembic's environment for Sherlock's store of record. It runs only through
:func:`sherlock.storage.db.migrate.upgrade` (``sherlock db upgrade``), which passes the connection to migrate — inside
a transaction that holds the migration lock — in ``config.attributes["connection"]``."""

from __future__ import annotations

from alembic import context

from sherlock.storage.db.tables import METADATA

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("Sherlock's migrations run on the connection `sherlock db upgrade` opens; run that command "
                       "(with SHERLOCK_STORE_URL set) instead of the alembic command line")

# SQLite cannot ALTER most of a table: batch mode copies it instead, so later migrations work on both backends
context.configure(connection=connection, target_metadata=METADATA, compare_type=True,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
