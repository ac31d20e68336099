"""Store URLs: which ones Sherlock accepts, the driver each is opened with, and how they are shown without a password.

    url = store_url("postgresql://sherlock:s3cret@db.internal/sherlock")
    url.drivername                        # 'postgresql+psycopg' (psycopg 3, the only PostgreSQL driver installed)
    redact(url)                           # 'postgresql+psycopg://sherlock:***@db.internal/sherlock'
    location(url)                         # 'db.internal:5432'

Every message, log line and ``repr`` that names a store goes through :func:`redact` (or :func:`scrub` for text that
may quote the URL), so a password written in ``SHERLOCK_STORE_URL`` is never printed.
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

#: The URL schemes a store URL may have, and the SQLAlchemy driver each is opened with.
DRIVERS = {
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",  # the short form some hosting services hand out
    "postgresql+psycopg": "postgresql+psycopg",
    "sqlite": "sqlite",  # one SQLite file holding every table (``sqlite:////abs/path.sqlite``)
}
#: What a store URL looks like, for error messages.
EXAMPLE = "postgresql://sherlock:PASSWORD@localhost:5432/sherlock"
#: PostgreSQL's port when the URL names none.
POSTGRESQL_PORT = 5432

_USERINFO = re.compile(r"(://[^:/@\s]*:)\S*@")  # to the last @: a password may hold an unescaped one


def store_url(text: str | URL) -> URL:
    """``text`` parsed and normalised to the driver Sherlock opens it with (see :data:`DRIVERS`). A string that is
    not a URL, or one of another database, raises ``ValueError`` saying what to write instead (password hidden)."""
    if isinstance(text, URL):
        url = text
    else:
        try:
            url = make_url(text.strip())
        except ArgumentError:
            # not echoed: a libpq "host=... password=..." string would show its password
            raise ValueError(f"store_url is not a database URL; write one like {EXAMPLE}") from None
    driver = DRIVERS.get(url.drivername)
    if driver is None:
        raise ValueError(f"store_url {redact(url)!r}: Sherlock cannot store its records in {url.drivername!r}; use "
                         f"PostgreSQL ({EXAMPLE}, or postgresql+psycopg://...) or leave SHERLOCK_STORE_URL unset "
                         "for the SQLite files in the workspace")
    if driver == "sqlite" and url.database in (None, "", ":memory:"):
        raise ValueError(f"store_url {redact(url)!r}: an in-memory SQLite database is lost when the process ends; "
                         "name a file, e.g. sqlite:////srv/sherlock/store.sqlite")
    return url.set(drivername=driver)


def sqlite_url(path: str | Path) -> URL:
    """The URL of one SQLite file."""
    return URL.create("sqlite", database=str(Path(path)))


def redact(url: str | URL) -> str:
    """``url`` with its password replaced by ``***`` (also when it does not parse)."""
    if isinstance(url, URL):
        return url.render_as_string(hide_password=True)
    return _USERINFO.sub(r"\1***@", url)


def scrub(text: str, url: URL) -> str:
    """``text`` (an error's message, say) with any copy of ``url``'s password replaced by ``***``."""
    text = _USERINFO.sub(r"\1***@", text)
    return text.replace(url.password, "***") if url.password else text


def location(url: URL) -> str:
    """Where the store is, for messages: ``host:port`` for a server (the socket folder when it has no host), the
    file's path for SQLite."""
    if url.get_backend_name() == "sqlite":
        return str(url.database)
    host = url.host or url.query.get("host") or "localhost"
    if isinstance(host, tuple):  # ?host=a&host=b: libpq tries each in turn
        host = ",".join(host)
    return f"{host}:{url.port or POSTGRESQL_PORT}"
