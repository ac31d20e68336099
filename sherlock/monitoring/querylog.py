"""The query log: every interactive search, ask and similar-incident request, kept for ``sherlock monitor`` and the
Monitoring page in the ``queries`` and ``settings_versions`` tables of the store of record (:mod:`sherlock.storage.db`):
by default the workspace's own SQLite file ``<home>/query_log.sqlite``, as it always was; with ``SHERLOCK_STORE_URL``
set, that shared PostgreSQL database, where every process of a team logs (each through its own writer thread) and
the report reads them all.

Logging never slows or fails a query. :meth:`QueryLog.record` only gives the request an id and puts it on a queue;
one writer thread per process builds the rows (projection, redaction, hashing) and inserts whatever piled up over
:data:`BATCH_INTERVAL_S` in one transaction, so a busy server commits a few times a second, not once per query.
SQLite runs in WAL mode with ``synchronous=NORMAL``, so a commit does not wait for the disk either. The store is
opened on first use, so a log that cannot be opened (an unwritable folder, a PostgreSQL server that is down) fails
on the writer thread too. Any error on the way is counted in :attr:`QueryLog.dropped` and logged as a warning, never
raised. A process killed with ``kill -9`` loses at most the rows still queued; the file stays usable (WAL).

Each row holds (see :mod:`sherlock.monitoring.events` for the pieces): its id — time-ordered, so a period is a range
scan of the primary key, and known before the row is written, so feedback joins its query by it; the time; the
channel (``app``, ``cli``, ``api``); the kind (``search``, ``ask``, ``similar``); the session (a browser session, or
the API token's name); the query text (none with ``query_log_text=hash``) and a keyed hash of its normalised text
(HMAC-SHA256: identical questions group without the text being kept); the strategy, whether it abstained, the
confidence and its evidence (the top dense similarity and the term coverage); the top result ids; the latency; the
version of the resolved ranking settings (the settings themselves once per version, in ``settings_versions``); the
online experiment and arm; the answer's provider; and a 32-number random projection of the query embedding for the
drift statistic.

Readers (:mod:`sherlock.monitoring.logreads`) take a connection with :meth:`QueryLog.read` and query the tables of
:mod:`sherlock.storage.db.tables` with SQLAlchemy Core; a reader of many rows iterates
:func:`~sherlock.storage.db.reads.driver_rows`, the driver's own tuples.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from sqlalchemy import Connection, Engine, delete

from sherlock.config import Settings
from sherlock.monitoring.events import (
    TOP_IDS,
    QueryEvent,
    hash_key,
    id_at,
    new_id,
    project,
    query_key,
)
from sherlock.monitoring.logreads import QueryLogReads
from sherlock.storage.db.engine import write_transaction
from sherlock.storage.db.stores import insert, open_store
from sherlock.storage.db.tables import STORE_TABLES, queries, settings_versions
from sherlock.storage.db.urls import redact as hide_password

log = logging.getLogger("sherlock.monitoring")

#: How long the writer lets rows pile up before a commit: one transaction per interval keeps the writer's CPU (and its
#: hold on the interpreter lock) off the searches it logs; a crash loses at most this long of rows.
BATCH_INTERVAL_S = 0.2
#: The columns of a ``queries`` row (:data:`sherlock.storage.db.tables.queries`), in the order the writer builds them.
COLUMNS = ("id", "ts", "channel", "kind", "session", "query", "query_key", "strategy", "abstained", "confidence",
           "dense_top", "coverage", "top_ids", "n_results", "latency_ms", "settings_hash", "experiment", "arm",
           "provider", "vector")
#: What to do with a SQLite log file that cannot be used.
REMEDY = "move it aside (a new log starts; nothing else depends on it)"



class QueryLog(QueryLogReads):
    """The query log of one workspace: in the SQLite file ``path`` (created if missing), or — given ``settings``
    with a ``store_url`` — in that shared database (its schema checked, see
    :func:`sherlock.storage.db.stores.open_store`); either is opened on first use. Thread-safe; one writer thread
    per instance (see :func:`query_log` for the process-wide instance). ``keep_text=False`` stores only the keyed
    hash of each query; ``redact`` (a function of the text) runs on the text before it is stored."""

    def __init__(self, path: str | Path, key: bytes, keep_text: bool = True,
                 redact: Callable[[str], str] | None = None, retention_days: int | None = None,
                 batch_interval_s: float = BATCH_INTERVAL_S, settings: Settings | None = None) -> None:
        self.path = Path(path)
        self.key = key
        self.keep_text = keep_text
        self.redact = redact
        self.retention_days = retention_days
        self.batch_interval_s = batch_interval_s
        self.settings = settings
        #: where the rows go, for messages: the file, or the shared store's URL without its password
        self.where = hide_password(settings.store_url) if settings is not None and settings.store_url else \
            str(self.path)
        #: rows that could not be written (each also logged as a warning)
        self.dropped = 0
        self._engine: Engine | None = None
        self._shared = False
        self._opening = threading.Lock()
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._start = threading.Lock()
        self._known_settings: set[str] = set()
        self._closed = False

    @property
    def engine(self) -> Engine:
        """The store's engine, opened on first use: a log that cannot be opened fails where it is used — on the
        writer thread as dropped rows, in a reader as the error that names the file or the server."""
        engine = self._engine
        if engine is None:
            with self._opening:
                if self._engine is None:
                    self._engine, self._shared = open_store(self.settings, STORE_TABLES["query_log"], self.path,
                                                            what="query log", remedy=REMEDY)
                engine = self._engine
        return engine

    # -- writing -----------------------------------------------------------------------------------------------

    def record(self, event: QueryEvent) -> int | None:
        """Queue one request for the writer and return its row id (give it to feedback on this answer); ``None`` if
        even that failed. Never raises, never waits for the disk, does next to nothing on the query path: the row is
        built, redacted, hashed and written by the writer thread (:meth:`_row`), where a bad event is dropped."""
        try:
            row_id = new_id(event.ts)
            self._ensure_writer()
            self._queue.put((row_id, event))
            return row_id
        except Exception:  # noqa: BLE001 - a failure to log never fails a query
            self._drop(1, "could not queue a query log row")
            return None

    def record_many(self, events: Iterable[QueryEvent]) -> list[int | None]:
        """:meth:`record` for each event (generated traffic, imports)."""
        return [self.record(event) for event in events]

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every row queued so far is written (or dropped); ``False`` if that took over ``timeout`` s."""
        if self._writer is None or not self._writer.is_alive():
            return True
        done = threading.Event()
        self._queue.put(done)
        return done.wait(timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued (waiting at most ``timeout`` s), stop the writer and release the SQLite file's
        connections (a shared store's engine stays open for the process's other stores); a later use reopens."""
        if self._closed:
            return
        self.flush(timeout)
        self._closed = True
        if self._writer is not None and self._writer.is_alive():
            self._queue.put(None)
            self._writer.join(timeout)
        # not under the opening lock: a writer stuck connecting to a server that is down must not hold up the exit
        engine, self._engine = self._engine, None
        if engine is not None and not self._shared:
            engine.dispose()

    def _ensure_writer(self) -> None:
        if self._writer is not None and self._writer.is_alive():
            return
        with self._start:
            if self._writer is None or not self._writer.is_alive():
                self._closed = False
                self._writer = threading.Thread(target=self._write_loop, name="sherlock-query-log", daemon=True)
                self._writer.start()
                atexit.register(self.close, 2.0)  # a CLI query is written before the process ends

    def _write_loop(self) -> None:
        if self.retention_days:
            self._prune_quietly()
        stopping = False
        while not stopping:
            items = [self._queue.get()]
            if isinstance(items[0], tuple):  # let a batch pile up: one commit per interval, not one per query
                time.sleep(self.batch_interval_s)
            while True:
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            stopping = any(item is None for item in items)
            events = [item for item in items if isinstance(item, tuple)]
            if events:
                self._write(events)
            for marker in items:
                if isinstance(marker, threading.Event):
                    marker.set()

    def _row(self, row_id: int, event: QueryEvent) -> tuple[dict[str, Any], str, str]:
        """The ``queries`` row of one event, with its settings version and their JSON. The text is redacted (and
        kept only in text mode) and hashed after redaction — a card number is few enough guesses to find from its
        hash and the key."""
        if not isinstance(event.query, str):
            raise TypeError(f"query must be text, got {type(event.query).__name__}")
        text = self.redact(event.query) if self.redact else event.query
        settings = json.dumps(event.settings, sort_keys=True, default=str)
        version = hashlib.sha1(settings.encode("utf-8")).hexdigest()[:10]
        vector = None if event.vector is None else project(event.vector).astype(np.float16).tobytes()
        values = (row_id, float(event.ts), event.channel, event.kind, event.session,
                  text if self.keep_text else None, query_key(text, self.key), event.strategy,
                  int(bool(event.abstained)), _number(event.confidence), _number(event.dense_top),
                  _number(event.coverage), json.dumps(list(event.top_ids)[:TOP_IDS]), int(event.n_results),
                  float(event.latency_ms), version, event.experiment, event.arm, event.provider, vector)
        return dict(zip(COLUMNS, values, strict=True)), version, settings

    def _write(self, events: list[tuple[int, QueryEvent]]) -> None:
        rows = []
        for row_id, event in events:
            try:
                rows.append(self._row(row_id, event))
            except Exception:  # noqa: BLE001 - one bad event is dropped, the batch is written
                self._drop(1, "could not build a query log row")
        if not rows:
            return
        # each version not known to be stored, first seen at its earliest row; in hash order, so that two writers
        # of one PostgreSQL store take the rows' locks in the same order
        fresh: dict[str, dict[str, Any]] = {}
        for row, version, settings in rows:
            if version not in self._known_settings and (version not in fresh or
                                                        row["ts"] < fresh[version]["first_seen"]):
                fresh[version] = {"hash": version, "settings": settings, "first_seen": row["ts"]}
        try:
            with write_transaction(self.engine) as connection:
                writes = _writes(connection)
                if fresh:
                    connection.execute(writes.version, [fresh[version] for version in sorted(fresh)])
                connection.exec_driver_sql(writes.rows, [writes.parameters(row) for row, _, _ in rows])
            self._known_settings.update(fresh)
        except Exception:  # noqa: BLE001 - the log is best effort; the queries it records have been answered
            self._drop(len(rows), f"could not write {len(rows)} row(s) to {self.where}")

    def _drop(self, n: int, why: str) -> None:
        self.dropped += n
        log.warning("query log: %s (%d dropped so far); searches are unaffected", why, self.dropped, exc_info=True)

    def _prune_quietly(self) -> None:
        try:
            self.prune()
        except Exception:
            log.warning("query log: pruning %s failed", self.where, exc_info=True)

    # -- pruning (the readers: sherlock.monitoring.logreads) ---------------------------------------------------

    def prune(self, older_than_days: int | None = None) -> int:
        """Delete rows older than ``older_than_days`` (default: the retention); return how many went."""
        days = older_than_days or self.retention_days
        if not days:
            return 0
        cutoff = id_at((datetime.now(UTC) - timedelta(days=days)).timestamp())
        with write_transaction(self.engine) as connection:
            return int(connection.execute(delete(queries).where(queries.c.id < cutoff)).rowcount)

class _Writes(NamedTuple):
    """The writer's statements on one backend: a settings version's ``INSERT`` (nothing if it is stored), and the
    rows' as the driver's own SQL with a function from a row to its parameters in the driver's style."""

    version: Any
    rows: str
    parameters: Callable[[dict[str, Any]], Any]


_WRITES: dict[str, _Writes] = {}


def _writes(connection: Connection) -> _Writes:
    """:class:`_Writes` for the connection's backend, made once. A row replaces one of the same id (two processes'
    ids meet only by chance, :func:`sherlock.monitoring.events.new_id`: the later row wins). The rows go straight to
    the driver's ``executemany``: SQLAlchemy's handling of each row's parameters would double the writer's cost
    per row, which it takes from the searches it logs (the interpreter lock)."""
    found = _WRITES.get(connection.dialect.name)
    if found is None:
        row = insert(connection, queries)
        compiled = row.on_conflict_do_update(
            index_elements=[queries.c.id], set_={name: row.excluded[name] for name in COLUMNS[1:]},
        ).compile(dialect=connection.dialect)
        # positional placeholders (SQLite's ?) take a tuple in their order; named ones (psycopg's) the row itself
        order = compiled.positiontup
        parameters: Callable[[dict[str, Any]], Any] = itemgetter(*order) if order else dict
        found = _WRITES[connection.dialect.name] = _Writes(
            insert(connection, settings_versions).on_conflict_do_nothing(), compiled.string, parameters)
    return found


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def log_location(settings: Settings) -> str:
    """Where a workspace's query log lives, for messages: the shared store (password hidden), else its file."""
    return hide_password(settings.store_url) if settings.store_url else str(settings.query_log_path)


_LOGS: dict[tuple[Path, str | None, bool], QueryLog] = {}
_LOGS_LOCK = threading.Lock()


def query_log(settings: Settings) -> QueryLog | None:
    """The process-wide query log of a workspace (one writer thread however many sessions, threads or searchers log
    to it) on the backend its settings choose (``store_url``, else ``<home>/query_log.sqlite``), or ``None`` when
    the ``query_log`` setting is off. Query text is redacted by the workspace's redaction rules
    (:func:`sherlock.redaction.redact_query`) before it is stored."""
    if not settings.query_log:
        return None
    keep_text = settings.query_log_text == "text"
    given = (settings.query_log_path, settings.store_url, keep_text)
    found = _LOGS.get(given)  # as given: no file system call on the query path
    if found is not None:
        return found
    from sherlock.redaction import redact_query
    with _LOGS_LOCK:
        resolved = (settings.query_log_path.resolve(), settings.store_url, keep_text)
        found = _LOGS.get(resolved)
        if found is None:
            found = _LOGS[resolved] = QueryLog(resolved[0], hash_key(settings), keep_text=keep_text,
                                               redact=redact_query(settings),
                                               retention_days=settings.query_log_retention_days, settings=settings)
        _LOGS[given] = found
        return found
