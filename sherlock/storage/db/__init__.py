"""The store of record through SQLAlchemy 2: one schema for SQLite and PostgreSQL, migrated by Alembic.

How a store chooses its backend (:func:`~sherlock.storage.db.stores.open_store`): when ``store_url`` is unset (the
default, one person on one machine) each store keeps its own SQLite file in the workspace, as it always has, and
creates its tables there if they are missing; when ``SHERLOCK_STORE_URL=postgresql://...`` is set, every store of the
process shares one engine on that database, whose schema ``sherlock db upgrade`` keeps at this Sherlock's head — a
store refuses to open on an outdated schema (:func:`~sherlock.storage.db.migrate.check_schema`).

- :mod:`~sherlock.storage.db.tables`: every table, declared once (SQLAlchemy Core).
- :mod:`~sherlock.storage.db.urls`: accepted URLs, the psycopg 3 driver, passwords hidden in every message.
- :mod:`~sherlock.storage.db.engine`: engines with a connect timeout, pre-ping and actionable connection errors.
- :mod:`~sherlock.storage.db.migrate`: Alembic configured in code (``migrations/`` ships with the package).
- :mod:`~sherlock.storage.db.stores`: the backend a store opens, and statements that differ between backends.
"""
