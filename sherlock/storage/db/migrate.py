"""The schema of a shared store, kept by Alembic migrations that ship inside the package.

    status = schema_status(engine)        # SchemaStatus(store='postgresql+psycopg://u:***@db:5432/s', current=None,
                                          #              head='0001')
    upgrade(engine)                       # (None, '0001'): created every table; a second call returns ('0001', '0001')
    check_schema(engine)                  # raises SchemaOutdatedError unless the store is at this Sherlock's head

Alembic is configured here, in code, from the ``migrations`` folder beside this module (``env.py`` and
``versions/NNNN_*.py``): no ``alembic.ini`` is read at run time. The migrations run on a connection this module hands
to ``env.py``, inside one transaction that first takes a lock — ``pg_advisory_xact_lock`` on PostgreSQL, ``BEGIN
IMMEDIATE`` on SQLite — so two processes upgrading at once migrate once: the second waits, then finds nothing to do.
PostgreSQL's DDL is transactional, so a failed migration leaves the schema as it was.

A new migration is a file ``versions/NNNN_what.py`` whose ``down_revision`` is the previous head's ``revision``; write
its ``upgrade()`` with ``alembic.op`` and change :mod:`sherlock.storage.db.tables` to match (a test compares the two).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

from sherlock.storage.db.engine import StoreError, describe, write_transaction

#: The migration scripts (``env.py``, ``versions/``), shipped as package data.
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: The PostgreSQL advisory lock held while migrating ("sherlock" in ASCII, as a signed 64-bit key).
MIGRATION_LOCK_KEY = int.from_bytes(b"sherlock", "big") >> 1
UPGRADE_HINT = "run `sherlock db upgrade`"


class SchemaOutdatedError(StoreError):
    """The store's schema is not the one this Sherlock was written for."""


@dataclass(frozen=True)
class SchemaStatus:
    """Where a store's schema stands: its revision (None: never migrated) and the newest this Sherlock knows."""

    store: str
    current: str | None
    head: str

    @property
    def outdated(self) -> bool:
        """Whether the store needs ``sherlock db upgrade`` (or is ahead of this Sherlock)."""
        return self.current != self.head

    def as_dict(self) -> dict[str, object]:
        """The ``sherlock db status --json`` contract."""
        return {"store": self.store, "current": self.current, "head": self.head, "outdated": self.outdated}


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration, in code: the packaged migrations, and the connection ``env.py`` migrates."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision among the packaged migrations: the schema this Sherlock reads and writes."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package ships its migrations
        raise StoreError(f"{MIGRATIONS / 'versions'}: no migrations found; reinstall Sherlock")
    return head


def current_revision(connection: Connection) -> str | None:
    """The revision recorded in the store's ``alembic_version`` table; None when it was never migrated."""
    return MigrationContext.configure(connection).get_current_revision()


def schema_status(engine: Engine) -> SchemaStatus:
    """The store's revision beside this Sherlock's head (connects; a store that cannot be reached raises
    :class:`~sherlock.storage.db.engine.StoreUnavailableError`)."""
    with engine.connect() as connection:
        current = current_revision(connection)
    return SchemaStatus(describe(engine), current, head_revision())


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Migrate the store to the head revision; returns ``(from, to)``, equal when there was nothing to do."""
    with write_transaction(engine) as connection:
        MIGRATION_LOCKS[connection.dialect.name](connection)
        before = current_revision(connection)
        command.upgrade(alembic_config(connection), "head")
        after = current_revision(connection)
    if after is None:  # pragma: no cover - Alembic records the head it reached
        raise StoreError(f"{describe(engine)}: the migrations ran but recorded no revision; report this as a bug")
    return before, after


def check_schema(engine: Engine) -> SchemaStatus:
    """The store's status when it is at this Sherlock's head; otherwise :class:`SchemaOutdatedError` saying what to
    do. The app and the CLI call it when they open a shared store, before reading or writing anything."""
    status = schema_status(engine)
    if not status.outdated:
        return status
    if status.current is None:
        raise SchemaOutdatedError(f"the store at {status.store} has no Sherlock tables yet (schema revision none); "
                                  f"this Sherlock needs {status.head}: {UPGRADE_HINT}")
    known = {script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()}
    if status.current not in known:
        raise SchemaOutdatedError(f"the store at {status.store} is at schema revision {status.current}, which this "
                                  f"Sherlock does not know (a newer Sherlock migrated it; this one needs "
                                  f"{status.head}): upgrade Sherlock on this machine")
    raise SchemaOutdatedError(f"the store at {status.store} is at schema revision {status.current}; this Sherlock "
                              f"needs {status.head}: {UPGRADE_HINT}")


def _lock_postgresql(connection: Connection) -> None:
    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})


def _lock_sqlite(connection: Connection) -> None:
    return None  # write_transaction began with BEGIN IMMEDIATE: the database's write lock is held already


#: How each backend keeps a second migrating process waiting until the first has committed.
MIGRATION_LOCKS = {"postgresql": _lock_postgresql, "sqlite": _lock_sqlite}
