"""Which database a store of record opens, and the statements whose SQL differs between the backends.

    engine, shared = open_store(settings, STORE_TABLES["sync"], settings.home / "sync.sqlite",
                                what="sync state", remedy="move it aside: the next sync starts from scratch")

With ``store_url`` unset, the store gets an engine of its own SQLite file (created with its tables if missing, as the
stores always did) and disposes of it on close. With ``store_url`` set, every store of the process shares one engine
on that database (one connection pool per process, not one per store); its schema is checked against this
Sherlock's migrations the first time the process opens it (:func:`~sherlock.storage.db.migrate.check_schema`), and a
forked child (``sherlock serve --workers N``) drops the parent's pooled connections instead of sharing them.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError

from sherlock.storage.db.engine import StoreError, open_url
from sherlock.storage.db.tables import METADATA
from sherlock.storage.db.urls import sqlite_url

if TYPE_CHECKING:
    from sherlock.config import Settings

#: The dialect's ``INSERT`` that has ``on_conflict_do_update`` / ``on_conflict_do_nothing`` (same API on both).
INSERTS: dict[str, Callable[[Table], Any]] = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}

_shared: dict[tuple[str, int], Engine] = {}
_shared_lock = threading.Lock()
_fork_hook: list[bool] = []


def open_store(settings: Settings | None, tables: Iterable[Table], sqlite_path: str | Path, *, what: str,
               remedy: str) -> tuple[Engine, bool]:
    """``(engine, shared)``: the process's engine on ``settings.store_url`` (``shared`` True: do not dispose of it),
    or — without settings or without a ``store_url`` — a new engine on the store's own SQLite file ``sqlite_path``
    with ``tables`` created there if missing. An unusable file raises ``RuntimeError("<path>: cannot open the <what>
    (<reason>); <remedy>")``; an outdated shared schema :class:`~sherlock.storage.db.migrate.SchemaOutdatedError`;
    an unreachable server :class:`~sherlock.storage.db.engine.StoreUnavailableError`."""
    if settings is not None and settings.store_url:
        return shared_engine(settings.store_url, settings.store_connect_timeout_s), True
    engine = open_url(sqlite_url(sqlite_path))
    tables = list(tables)
    try:
        with engine.begin() as connection:
            METADATA.create_all(connection, tables=tables, checkfirst=True)
            for index in (index for table in tables for index in table.indexes):  # on files from before an index
                index.create(connection, checkfirst=True)
    except (DBAPIError, StoreError) as exc:
        engine.dispose()
        reason = exc.orig if isinstance(exc, DBAPIError) else exc.reason
        raise RuntimeError(f"{sqlite_path}: cannot open the {what} ({reason}); {remedy}") from None
    return engine, False


def store_exists(settings: Settings, sqlite_path: str | Path) -> bool:
    """Whether a store can be read without creating it: always with a ``store_url`` (its schema holds every
    table), else once its own SQLite file ``sqlite_path`` exists — so a page or a report that only reads creates no
    file."""
    return bool(settings.store_url) or Path(sqlite_path).exists()


def shared_engine(url: str, connect_timeout_s: int) -> Engine:
    """The process's one engine on ``url``, made and schema-checked on first use."""
    from sherlock.storage.db.migrate import check_schema
    with _shared_lock:
        engine = _shared.get((url, connect_timeout_s))
        if engine is None:
            engine = open_url(url, connect_timeout_s)
            try:
                check_schema(engine)
            except BaseException:
                engine.dispose()
                raise
            _shared[(url, connect_timeout_s)] = engine
            if not _fork_hook:
                os.register_at_fork(after_in_child=_drop_inherited_connections)
                _fork_hook.append(True)
    return engine


def forget_shared_engines() -> None:
    """Dispose of every shared engine (tests, and a process that changes ``store_url``)."""
    with _shared_lock:
        for engine in _shared.values():
            engine.dispose()
        _shared.clear()


def insert(connection: Connection, table: Table) -> Any:
    """``INSERT`` into ``table`` in the connection's dialect, with ``.on_conflict_do_update(index_elements=...,
    set_=...)`` and ``.excluded`` for an upsert (SQLite and PostgreSQL spell it the same)."""
    return INSERTS[connection.dialect.name](table)


def _drop_inherited_connections() -> None:
    # SQLAlchemy's advice for multiprocessing: a child must not use its parent's sockets; close=False leaves them to
    # the parent, and the child's pool opens its own
    for engine in _shared.values():
        engine.dispose(close=False)
