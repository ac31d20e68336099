"""Engines for the store of record: PostgreSQL (``store_url``, through psycopg 3) or SQLite files, opened the same way
everywhere, with errors a person can act on.

    engine = make_engine(settings)            # the PostgreSQL (or SQLite) database of SHERLOCK_STORE_URL
    with write_transaction(engine) as connection:
        connection.execute(...)

PostgreSQL engines connect within ``store_connect_timeout_s`` and test a pooled connection before handing it out
(``pool_pre_ping``: a server restarted overnight costs one reconnect, not an error). SQLite engines open each file as
:mod:`sherlock.storage.sqlite` does — WAL journal, ``synchronous=NORMAL``, a 30 s busy timeout — and let SQLAlchemy
emit ``BEGIN`` itself, so a transaction covers its reads and its DDL too (the ``sqlite3`` module's legacy mode starts
one only before a write; SQLAlchemy's documented recipe, "Enabling Non-Legacy SQLite Transactional Modes").

A server that cannot be reached, refuses the login or lacks the database raises :class:`StoreUnavailableError`:
``cannot reach PostgreSQL at db.internal:5432 (Connection refused); is it running? check SHERLOCK_STORE_URL`` — never
with the password, which :func:`~sherlock.storage.db.urls.scrub` removes from every message.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, ExceptionContext

from sherlock.storage.db.urls import location, redact, scrub, store_url
from sherlock.storage.sqlite import BUSY_TIMEOUT_S

if TYPE_CHECKING:
    from sherlock.config import Settings

#: How long a connection attempt to a PostgreSQL server may take, in seconds, unless settings say otherwise.
DEFAULT_CONNECT_TIMEOUT_S = 10
#: The execution option that makes :func:`write_transaction` begin SQLite's transaction with ``BEGIN IMMEDIATE``.
BEGIN_OPTION = "sherlock_begin"


class StoreError(RuntimeError):
    """The store of record cannot be used; the message says where (password hidden) and what to do, ``reason`` the
    driver's own words (password scrubbed) for callers that word the message themselves."""

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason or message


class StoreUnavailableError(StoreError):
    """The store's server cannot be reached, or refuses the connection."""


#: libpq's reasons for a failed connection, and what to do about each (the first whose words appear wins).
POSTGRESQL_REMEDIES = {
    "password authentication failed": "check the user name and password in SHERLOCK_STORE_URL",
    'role "': "check the user name in SHERLOCK_STORE_URL, or create that role on the server",
    'database "': "create the database (createdb NAME) or check its name in SHERLOCK_STORE_URL",
    "pg_hba.conf": "allow this client in the server's pg_hba.conf, or check the host in SHERLOCK_STORE_URL",
    "resolve host": "check the host name in SHERLOCK_STORE_URL",
    "timeout": "is the server up and the host reachable from here? check SHERLOCK_STORE_URL "
               "(store_connect_timeout_s bounds the wait)",
}
UNREACHABLE_REMEDY = "is it running? check SHERLOCK_STORE_URL"


def make_engine(settings: Settings) -> Engine:
    """A new engine for ``settings.store_url`` (the shared store of a team). ``ValueError`` when it is unset: then
    each store keeps its own SQLite file in the workspace and opens it itself."""
    if not settings.store_url:
        raise ValueError(f"SHERLOCK_STORE_URL is not set, so the workspace keeps its records in SQLite files under "
                         f"{settings.home}, each of which creates its own tables; to use PostgreSQL set it, e.g. "
                         f"SHERLOCK_STORE_URL=postgresql://sherlock:PASSWORD@localhost:5432/sherlock")
    return open_url(settings.store_url, settings.store_connect_timeout_s)


def open_url(url: str | URL, connect_timeout_s: int = DEFAULT_CONNECT_TIMEOUT_S) -> Engine:
    """A new engine for ``url`` (normalised by :func:`~sherlock.storage.db.urls.store_url`), set up for its backend
    as the module docstring says. Nothing is connected until first use."""
    parsed = store_url(url)
    setup = ENGINE_SETUP[parsed.get_backend_name()]
    engine = create_engine(parsed, **setup.options(parsed, connect_timeout_s))
    setup.listen(engine)
    event.listen(engine, "handle_error", _actionable_error)
    return engine


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that commits at the end of the block (rolls back on an exception). On SQLite
    it begins with ``BEGIN IMMEDIATE``, taking the write lock first, so two writers queue on the busy timeout instead
    of one failing when it upgrades a read lock; on PostgreSQL it is an ordinary transaction."""
    with engine.connect() as connection:
        connection.execution_options(**{BEGIN_OPTION: "IMMEDIATE"})
        with connection.begin():
            yield connection


def describe(engine: Engine) -> str:
    """The engine's store for messages: its URL without the password."""
    return redact(engine.url)


# -- per backend -------------------------------------------------------------------------------------------------------

class _SQLite:
    @staticmethod
    def options(url: URL, connect_timeout_s: int) -> dict[str, Any]:
        Path(str(url.database)).expanduser().parent.mkdir(parents=True, exist_ok=True)
        return {"connect_args": {"timeout": BUSY_TIMEOUT_S}}

    @staticmethod
    def listen(engine: Engine) -> None:
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)


class _PostgreSQL:
    @staticmethod
    def options(url: URL, connect_timeout_s: int) -> dict[str, Any]:
        return {"pool_pre_ping": True, "connect_args": {"connect_timeout": connect_timeout_s}}

    @staticmethod
    def listen(engine: Engine) -> None:
        return None


#: How each backend's engine is made: its ``create_engine`` options and its event listeners.
ENGINE_SETUP: dict[str, type[_SQLite] | type[_PostgreSQL]] = {"sqlite": _SQLite, "postgresql": _PostgreSQL}


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN (see _sqlite_begin); sqlite3 must not
    dbapi_connection.execute("PRAGMA journal_mode=WAL")
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")


def _sqlite_begin(connection: Connection) -> None:
    mode = connection.get_execution_options().get(BEGIN_OPTION, "")
    connection.exec_driver_sql(f"BEGIN {mode}".strip())


# -- errors ------------------------------------------------------------------------------------------------------------

def _actionable_error(context: ExceptionContext) -> None:
    """Replace a failed connection's error by a :class:`StoreUnavailableError` naming the store and the remedy. A
    pre-ping's error is left alone: the pool reconnects on it."""
    if context.is_pre_ping or not (context.connection is None or context.is_disconnect):
        return
    url = context.engine.url if context.engine is not None else None
    if url is None:
        return
    reason = scrub(_reason(context.original_exception), url)
    raise StoreUnavailableError(unavailable_message(url, reason), reason) from None


def unavailable_message(url: URL, reason: str) -> str:
    """What a failed connection to ``url`` says: where, why (the driver's ``reason``), and what to do."""
    if url.get_backend_name() == "sqlite":
        return (f"{location(url)}: cannot open the SQLite database ({reason}); check that its folder exists and is "
                "writable, or fix SHERLOCK_STORE_URL")
    folded = reason.casefold()
    remedy = next((fix for words, fix in POSTGRESQL_REMEDIES.items() if words in folded), None)
    if remedy is None:
        return f"cannot reach PostgreSQL at {location(url)} ({reason}); {UNREACHABLE_REMEDY}"
    return f"cannot connect to PostgreSQL at {location(url)} as {url.username or 'the default user'} ({reason}); " \
           f"{remedy}"


def _reason(error: BaseException) -> str:
    """The useful part of a driver's message: libpq writes ``connection to server at "h", port 5 failed: REASON``
    then hints on further lines."""
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    first = lines[0] if lines else type(error).__name__
    reason = first.rsplit("failed: ", 1)[-1].strip() or first
    return re.sub(r"^(FATAL|ERROR):\s*", "", reason)
