"""The query log: every interactive search, ask and similar-incident request, kept in ``<home>/query_log.sqlite``
for ``sherlock monitor`` and the Monitoring page.

Logging never slows or fails a query. :meth:`QueryLog.record` only gives the request an id and puts it on a queue;
one writer thread per process builds the rows (projection, redaction, hashing) and inserts whatever piled up over
:data:`BATCH_INTERVAL_S` in one transaction, so a busy server commits a few times a second, not once per query.
SQLite runs in WAL mode with ``synchronous=NORMAL``, so a commit does not wait for the disk either. Any error on the
way is counted in :attr:`QueryLog.dropped` and logged as a warning, never raised. A process killed with ``kill -9``
loses at most the rows still queued; the file stays usable (WAL).

Each row holds (see :mod:`sherlock.monitoring.events` for the pieces): its id — time-ordered, so a period is a range
scan of the primary key, and known before the row is written, so feedback joins its query by it; the time; the
channel (``app``, ``cli``, ``api``); the kind (``search``, ``ask``, ``similar``); the session (a browser session, or
the API token's name); the query text (none with ``query_log_text=hash``) and a keyed hash of its normalised text
(HMAC-SHA256: identical questions group without the text being kept); the strategy, whether it abstained, the
confidence and its evidence (the top dense similarity and the term coverage); the top result ids; the latency; the
version of the resolved ranking settings (the settings themselves once per version, in ``settings_versions``); the
online experiment and arm; the answer's provider; and a 32-number random projection of the query embedding for the
drift statistic.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from sherlock.config import Settings
from sherlock.monitoring.events import (
    PROJECTED_DIM,
    TOP_IDS,
    QueryEvent,
    hash_key,
    id_at,
    new_id,
    project,
    query_key,
    timestamp,
)
from sherlock.storage.sqlite import SQLiteFile

log = logging.getLogger("sherlock.monitoring")

#: How long the writer lets rows pile up before a commit: one transaction per interval keeps the writer's CPU (and its
#: hold on the interpreter lock) off the searches it logs; a crash loses at most this long of rows.
BATCH_INTERVAL_S = 0.2

SCHEMA = """
CREATE TABLE IF NOT EXISTS queries (
    id            INTEGER PRIMARY KEY,
    ts            REAL NOT NULL,
    channel       TEXT NOT NULL,
    kind          TEXT NOT NULL,
    session       TEXT,
    query         TEXT,
    query_key     TEXT NOT NULL,
    strategy      TEXT NOT NULL,
    abstained     INTEGER NOT NULL,
    confidence    REAL,
    dense_top     REAL,
    coverage      REAL,
    top_ids       TEXT NOT NULL,
    n_results     INTEGER NOT NULL,
    latency_ms    REAL NOT NULL,
    settings_hash TEXT NOT NULL,
    experiment    TEXT,
    arm           TEXT,
    provider      TEXT,
    vector        BLOB
);
CREATE TABLE IF NOT EXISTS settings_versions (
    hash       TEXT PRIMARY KEY,
    settings   TEXT NOT NULL,
    first_seen REAL NOT NULL
);
"""
COLUMNS = ("id", "ts", "channel", "kind", "session", "query", "query_key", "strategy", "abstained", "confidence",
           "dense_top", "coverage", "top_ids", "n_results", "latency_ms", "settings_hash", "experiment", "arm",
           "provider", "vector")
#: What :meth:`QueryLog.frame` loads (the text, result ids and vectors have their own readers: they are large).
FRAME_COLUMNS = ("id", "ts", "channel", "kind", "session", "query_key", "strategy", "abstained", "confidence",
                 "dense_top", "coverage", "n_results", "latency_ms", "settings_hash", "experiment", "arm", "provider")
class QueryLog:
    """The query log of one workspace. Thread-safe; one writer thread per instance (see :func:`query_log` for the
    process-wide instance). ``keep_text=False`` stores only the keyed hash of each query; ``redact`` (a function of
    the text) runs on the text before it is stored."""

    def __init__(self, path: str | Path, key: bytes, keep_text: bool = True,
                 redact: Callable[[str], str] | None = None, retention_days: int | None = None,
                 batch_interval_s: float = BATCH_INTERVAL_S) -> None:
        self.path = Path(path)
        self.key = key
        self.keep_text = keep_text
        self.redact = redact
        self.retention_days = retention_days
        self.batch_interval_s = batch_interval_s
        #: rows that could not be written (each also logged as a warning)
        self.dropped = 0
        self._file = SQLiteFile(self.path, SCHEMA, what="query log",
                                remedy="move it aside (a new log starts; nothing else depends on it)")
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._start = threading.Lock()
        self._known_settings: set[str] = set()
        self._closed = False

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
        """Write what is queued (waiting at most ``timeout`` s), stop the writer and close the file."""
        if self._closed:
            return
        self.flush(timeout)
        self._closed = True
        if self._writer is not None and self._writer.is_alive():
            self._queue.put(None)
            self._writer.join(timeout)
        self._file.close()

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

    def _row(self, row_id: int, event: QueryEvent) -> tuple[tuple, str, str]:
        """The ``queries`` row of one event, with its settings version and their JSON. The text is redacted (and
        kept only in text mode) and hashed after redaction — a card number is few enough guesses to find from its
        hash and the key."""
        if not isinstance(event.query, str):
            raise TypeError(f"query must be text, got {type(event.query).__name__}")
        text = self.redact(event.query) if self.redact else event.query
        settings = json.dumps(event.settings, sort_keys=True, default=str)
        version = hashlib.sha1(settings.encode("utf-8")).hexdigest()[:10]
        vector = None if event.vector is None else project(event.vector).astype(np.float16).tobytes()
        return ((row_id, event.ts, event.channel, event.kind, event.session, text if self.keep_text else None,
                 query_key(text, self.key), event.strategy, int(bool(event.abstained)), _number(event.confidence),
                 _number(event.dense_top), _number(event.coverage), json.dumps(list(event.top_ids)[:TOP_IDS]),
                 int(event.n_results), float(event.latency_ms), version, event.experiment, event.arm, event.provider,
                 vector), version, settings)

    def _write(self, events: list[tuple[int, QueryEvent]]) -> None:
        rows = []
        for row_id, event in events:
            try:
                rows.append(self._row(row_id, event))
            except Exception:  # noqa: BLE001 - one bad event is dropped, the batch is written
                self._drop(1, "could not build a query log row")
        if not rows:
            return
        try:
            with self._file.connection() as connection, connection:
                fresh = {(version, settings, row[1]) for row, version, settings in rows
                         if version not in self._known_settings}
                connection.executemany("INSERT OR IGNORE INTO settings_versions (hash, settings, first_seen) "
                                       "VALUES (?, ?, ?)", sorted(fresh))
                connection.executemany(f"INSERT OR REPLACE INTO queries ({', '.join(COLUMNS)}) "
                                       f"VALUES ({', '.join('?' * len(COLUMNS))})", [row for row, _, _ in rows])
            self._known_settings.update(version for _, version, _ in rows)
        except Exception:  # noqa: BLE001 - the log is best effort; the queries it records have been answered
            self._drop(len(rows), f"could not write {len(rows)} row(s) to {self.path}")

    def _drop(self, n: int, why: str) -> None:
        self.dropped += n
        log.warning("query log: %s (%d dropped so far); searches are unaffected", why, self.dropped, exc_info=True)

    def _prune_quietly(self) -> None:
        try:
            self.prune()
        except Exception:
            log.warning("query log: pruning %s failed", self.path, exc_info=True)

    # -- reading -----------------------------------------------------------------------------------------------

    def prune(self, older_than_days: int | None = None) -> int:
        """Delete rows older than ``older_than_days`` (default: the retention); return how many went."""
        days = older_than_days or self.retention_days
        if not days:
            return 0
        cutoff = id_at((datetime.now(UTC) - timedelta(days=days)).timestamp())
        with self._file.connection() as connection, connection:
            return int(connection.execute("DELETE FROM queries WHERE id < ?", (cutoff,)).rowcount)

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """The log's connection for a block of reads (aggregations in SQL over the ``queries`` table: see
        :data:`SCHEMA`; select a time range with ``id >= id_at(since)``)."""
        with self._file.connection() as connection:
            yield connection

    def count(self) -> int:
        """How many rows are written."""
        with self._file.connection() as connection:
            return int(connection.execute("SELECT COUNT(*) FROM queries").fetchone()[0])

    def revision(self) -> tuple[int, int]:
        """``(rows, newest id)``: changes whenever a row is written or pruned (a cache key for readers)."""
        with self._file.connection() as connection:
            count, newest = connection.execute("SELECT COUNT(*), MAX(id) FROM queries").fetchone()
        return int(count), int(newest or 0)

    def frame(self, since: float | date | datetime | None = None, until: float | date | datetime | None = None,
              ) -> Any:
        """The rows logged in ``[since, until)`` as a pandas DataFrame of :data:`FRAME_COLUMNS`, oldest first;
        ``ts`` as naive UTC datetimes, ``abstained`` as bool."""
        import pandas as pd
        where, params = _range(since, until)
        with self._file.connection() as connection:
            rows = connection.execute(f"SELECT {', '.join(FRAME_COLUMNS)} FROM queries {where} ORDER BY id",
                                      params).fetchall()
        frame = pd.DataFrame.from_records(rows, columns=list(FRAME_COLUMNS))
        frame["ts"] = pd.to_datetime(frame["ts"].astype("float64"), unit="s")
        frame["abstained"] = frame["abstained"].astype(bool)
        for column in ("confidence", "dense_top", "coverage", "latency_ms"):
            frame[column] = frame[column].astype("float64")
        frame["id"] = frame["id"].astype("int64")
        frame["n_results"] = frame["n_results"].astype("int64")
        return frame

    def texts(self, ids: Sequence[int]) -> dict[int, str]:
        """The query text of each of ``ids`` that has one (none in hash mode)."""
        found: dict[int, str] = {}
        wanted = [int(i) for i in ids]
        with self._file.connection() as connection:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start:start + 500]
                found.update(connection.execute(
                    f"SELECT id, query FROM queries WHERE query IS NOT NULL AND id IN ({', '.join('?' * len(chunk))})",
                    chunk).fetchall())
        return found

    def top_ids(self, ids: Sequence[int]) -> dict[int, list[str]]:
        """The result ids logged for each of ``ids``."""
        found: dict[int, list[str]] = {}
        wanted = [int(i) for i in ids]
        with self._file.connection() as connection:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start:start + 500]
                found.update((row_id, json.loads(shown)) for row_id, shown in connection.execute(
                    f"SELECT id, top_ids FROM queries WHERE id IN ({', '.join('?' * len(chunk))})", chunk))
        return found

    def vectors(self, since: float | date | datetime | None = None, until: float | date | datetime | None = None,
                limit: int | None = None, seed: int = 0) -> np.ndarray:
        """The projected query embeddings logged in ``[since, until)`` (rows with one; at most ``limit``, a random
        sample), as a float32 matrix of :data:`PROJECTED_DIM` columns."""
        where, params = _range(since, until)
        where = f"{where} AND vector IS NOT NULL" if where else "WHERE vector IS NOT NULL"
        with self._file.connection() as connection:
            blobs = [row[0] for row in connection.execute(f"SELECT vector FROM queries {where}", params)]
        if limit is not None and len(blobs) > limit:
            chosen = np.random.default_rng(seed).choice(len(blobs), size=limit, replace=False)
            blobs = [blobs[i] for i in sorted(chosen)]
        if not blobs:
            return np.zeros((0, PROJECTED_DIM), dtype=np.float32)
        return np.frombuffer(b"".join(blobs), dtype=np.float16).reshape(len(blobs), -1).astype(np.float32)

    def settings_versions(self) -> dict[str, dict[str, Any]]:
        """``{settings hash: {"settings": {...}, "first_seen": seconds}}`` for every version logged."""
        with self._file.connection() as connection:
            rows = connection.execute("SELECT hash, settings, first_seen FROM settings_versions").fetchall()
        return {version: {"settings": json.loads(settings), "first_seen": first} for version, settings, first in rows}


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def _range(since: float | date | datetime | None, until: float | date | datetime | None) -> tuple[str, list[int]]:
    clauses, params = [], []
    if since is not None:
        clauses.append("id >= ?")
        params.append(id_at(timestamp(since) or 0.0))
    if until is not None:
        clauses.append("id < ?")
        params.append(id_at(timestamp(until) or 0.0))
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", params


_LOGS: dict[tuple[Path, bool], QueryLog] = {}
_LOGS_LOCK = threading.Lock()


def query_log(settings: Settings) -> QueryLog | None:
    """The process-wide query log of a workspace (one writer thread however many sessions, threads or searchers log
    to it), or ``None`` when the ``query_log`` setting is off. Query text is redacted by the workspace's redaction
    rules (:func:`sherlock.redaction.redact_query`) before it is stored."""
    if not settings.query_log:
        return None
    keep_text = settings.query_log_text == "text"
    found = _LOGS.get((settings.query_log_path, keep_text))  # as given: no file system call on the query path
    if found is not None:
        return found
    from sherlock.redaction import redact_query
    with _LOGS_LOCK:
        resolved = (settings.query_log_path.resolve(), keep_text)
        found = _LOGS.get(resolved)
        if found is None:
            found = _LOGS[resolved] = QueryLog(resolved[0], hash_key(settings), keep_text=keep_text,
                                               redact=redact_query(settings),
                                               retention_days=settings.query_log_retention_days)
        _LOGS[(settings.query_log_path, keep_text)] = found
        return found
