"""One SQLite file shared by the threads of a process: the incident store, the feedback store, the embedding cache.

Each opens its file the same way: a 30 s busy timeout (another process may be writing), the WAL journal (readers
never block the writer), ``synchronous=NORMAL`` (safe with WAL: a power cut may lose the last commits, never corrupt
the file), one connection usable from any thread behind a re-entrant lock, the schema created if missing, and an
error that names the file and says what to do when it is not a usable database.

    db = SQLiteFile(path, SCHEMA, what="feedback store", remedy="move it aside to start a new one")
    with db.connection() as connection, connection:   # the lock, then a transaction
        connection.execute("INSERT ...")
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

#: How long a statement waits for another process's write lock before failing, in seconds.
BUSY_TIMEOUT_S = 30.0


class SQLiteFile:
    """A lazily opened SQLite connection to ``path`` with the settings above.

    ``schema`` is a script of ``CREATE ... IF NOT EXISTS`` statements run on open; ``migrate(connection)`` runs
    after it (to add columns to files written by older versions). ``what`` and ``remedy`` word the error raised,
    as ``error`` (default ``RuntimeError``), when the file cannot be opened: ``"<path>: cannot open the <what>
    (<reason>); <remedy>"``. ``autocommit=True`` opens the connection with ``isolation_level=None``, for callers
    that issue their own ``BEGIN``."""

    def __init__(self, path: str | Path, schema: str = "", *, what: str, remedy: str,
                 error: Callable[[str], Exception] = RuntimeError, autocommit: bool = False,
                 migrate: Callable[[sqlite3.Connection], None] | None = None) -> None:
        self.path = Path(path)
        self.schema = schema
        self.what = what
        self.remedy = remedy
        self.error = error
        self.autocommit = autocommit
        self.migrate = migrate
        #: Held around every use of the connection; re-entrant, so a holder may call :meth:`connect` again.
        self.lock = threading.RLock()
        self._connection: sqlite3.Connection | None = None

    def connect(self) -> sqlite3.Connection:
        """The connection, opened (parent folder and schema created) on the first call. Use it holding
        :attr:`lock`, or through :meth:`connection`."""
        with self.lock:
            if self._connection is None:
                self._connection = self._open()
            return self._connection

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        """The connection, with :attr:`lock` held for the block (nest ``with connection:`` for a transaction)."""
        with self.lock:
            yield self.connect()

    def close(self) -> None:
        """Close the connection; the next :meth:`connect` opens a new one."""
        with self.lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def _open(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.autocommit:
                connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, check_same_thread=False,
                                             isolation_level=None)
            else:
                connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, check_same_thread=False)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            if self.schema:
                connection.executescript(self.schema)
            if self.migrate is not None:
                self.migrate(connection)
        except sqlite3.DatabaseError as exc:
            if connection is not None:
                connection.close()
            raise self.error(f"{self.path}: cannot open the {self.what} ({exc}); {self.remedy}") from None
        return connection
