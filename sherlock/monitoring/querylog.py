"""The query log: every interactive search, ask and similar-incident request, kept in ``<home>/query_log.sqlite``
for ``sherlock monitor`` and the Monitoring page.

Logging never slows or fails a query. :meth:`QueryLog.record` only builds a row and puts it on a queue; one writer
thread per process drains the queue and inserts whatever has piled up in one transaction (batching comes from the
load itself: under heavy traffic each commit carries many rows, in quiet times each row is written within
milliseconds). SQLite runs in WAL mode with ``synchronous=NORMAL``, so a commit does not wait for the disk either.
Any error on the way is counted in :attr:`QueryLog.dropped` and logged as a warning, never raised. A process killed
with ``kill -9`` loses at most the rows still queued; the file stays usable (WAL).

Each row holds: its id (time-ordered: milliseconds since the epoch shifted left 20 bits, plus 20 bits that keep ids
of one millisecond apart, see :func:`new_id`; so ids sort by time, a period is a range scan of the primary key, and
the id is known before the row is written — callers hand it to feedback, which is joined to its query by it); the
time; the channel (``app``, ``cli``, ``api``); the kind
(``search``, ``ask``, ``similar``); the session (a browser session, or the API token's name); the query text (or, with
``query_log_text=hash``, none) and a keyed hash of its normalised text (HMAC-SHA256, so identical questions group
without the text being kept); the strategy, whether it abstained, the confidence and its evidence (the top dense
similarity and the term coverage); the top result ids; the latency; a hash of the resolved ranking settings (the
settings themselves once per version, in ``settings_versions``); the online experiment and arm; the answer's
provider; and a 32-number random projection of the query embedding (Johnson & Lindenstrauss 1984: distances between
queries are kept approximately, in 64 bytes instead of 1.5 KB) for the drift statistic.
"""

from __future__ import annotations

import atexit
import hashlib
import hmac
import itertools
import json
import logging
import os
import queue
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from sherlock.config import Settings
from sherlock.storage.feedback import normalise_query
from sherlock.storage.sqlite import SQLiteFile

log = logging.getLogger("sherlock.monitoring")

CHANNELS = ("app", "cli", "api")
KINDS = ("search", "ask", "similar")
#: How many numbers of a query embedding are kept (a random projection; see the module docstring).
PROJECTED_DIM = 32
#: How many result ids of a query are kept.
TOP_IDS = 10

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
#: The settings that decide a ranking: a change of any is a new settings version.
RANKING_SETTINGS = ("weights", "fusion", "norm", "rrf_k", "entity_boost", "entity_multiplier", "coverage_weight",
                    "candidates", "bm25_k1", "bm25_b", "abstain_min_dense", "abstain_min_lexical",
                    "abstain_lexical_alone", "abstain_dense_floor", "embedder", "similar_weights", "similar_fusion",
                    "similar_norm")


@dataclass
class QueryEvent:
    """One logged request (see the module docstring for each field); ``ts`` is seconds since the epoch, UTC."""

    channel: str
    kind: str
    query: str
    strategy: str
    abstained: bool
    latency_ms: float
    settings: dict[str, Any]
    confidence: float | None = None
    dense_top: float | None = None
    coverage: float | None = None
    top_ids: list[str] = field(default_factory=list)
    n_results: int = 0
    session: str | None = None
    experiment: str | None = None
    arm: str | None = None
    provider: str | None = None
    vector: np.ndarray | None = None
    ts: float = field(default_factory=time.time)


#: The low 20 bits of a row id: 8 random bits drawn once per process, then a 12-bit counter. Two rows of one process
#: get the same id only if 4,096 of them carry the same millisecond; two processes collide only when their random
#: bits and their counters meet in the same millisecond (a later row then replaces the earlier one).
_PROCESS_BITS = secrets.randbits(8) << 12
_counter = itertools.count(secrets.randbits(12))


def new_id(ts: float) -> int:
    """A time-ordered 61-bit row id: milliseconds since the epoch shifted left 20 bits, plus the low bits above."""
    return (int(ts * 1000) << 20) | _PROCESS_BITS | (next(_counter) & 0xFFF)


def id_at(when: float) -> int:
    """The smallest id a row logged at ``when`` (seconds since the epoch) can have: ``id >= id_at(t)`` selects the
    rows from ``t`` on."""
    return int(when * 1000) << 20


def timestamp(when: float | date | datetime | None) -> float | None:
    """Seconds since the epoch of a date (its midnight, UTC), a datetime (naive: UTC) or a number, as given."""
    if when is None or isinstance(when, int | float):
        return when
    if not isinstance(when, datetime):
        when = datetime(when.year, when.month, when.day)
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def settings_hash(settings: dict[str, Any]) -> str:
    """A short stable hash of a settings dict (the version name the reports show)."""
    return hashlib.sha1(json.dumps(settings, sort_keys=True, default=str).encode("utf-8")).hexdigest()[:10]


def ranking_settings(settings: Settings, used: dict[str, Any] | None = None) -> dict[str, Any]:
    """The settings that decided one ranking: the searcher's :data:`RANKING_SETTINGS`, with what the request itself
    chose (``used``: a response's ``settings``, whose weights, fusion and norm may be a request's own) on top. The
    result count ``k`` is left out: it does not change what ranks first."""
    resolved = {name: getattr(settings, name) for name in RANKING_SETTINGS}
    resolved.update({key: value for key, value in (used or {}).items() if key in RANKING_SETTINGS})
    resolved["weights"] = [round(float(w), 6) for w in resolved["weights"]]
    resolved["similar_weights"] = [round(float(w), 6) for w in resolved["similar_weights"]]
    return resolved


@cache
def _projection(dim: int) -> np.ndarray:
    rng = np.random.default_rng(20261129)  # fixed: every process projects alike, so periods compare
    return (rng.standard_normal((dim, PROJECTED_DIM)) / np.sqrt(PROJECTED_DIM)).astype(np.float32)


def project(vector: np.ndarray) -> np.ndarray:
    """The :data:`PROJECTED_DIM`-number random projection of one embedding (float32)."""
    vector = np.asarray(vector, dtype=np.float32).ravel()
    return vector @ _projection(vector.shape[0])


def query_key(text: str, key: bytes) -> str:
    """The keyed hash of a query's normalised text (16 hex digits of HMAC-SHA256)."""
    return hmac.new(key, normalise_query(text).encode("utf-8"), hashlib.sha256).hexdigest()[:16]


def hash_key(settings: Settings) -> bytes:
    """The query hash key: the ``query_log_key`` setting, else a random key kept in ``<home>/query_log.key``
    (created, readable by its owner only, the first time it is needed)."""
    if settings.query_log_key is not None and settings.query_log_key.get_secret_value():
        return settings.query_log_key.get_secret_value().encode("utf-8")
    path = settings.home / "query_log.key"
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it meanwhile
        return path.read_bytes().strip()
    with os.fdopen(handle, "w") as file:
        file.write(secrets.token_hex(32))
    return path.read_bytes().strip()


class QueryLog:
    """The query log of one workspace. Thread-safe; one writer thread per instance (see :func:`query_log` for the
    process-wide instance). ``keep_text=False`` stores only the keyed hash of each query; ``redact`` (a function of
    the text) runs on the text before it is stored."""

    def __init__(self, path: str | Path, key: bytes, keep_text: bool = True,
                 redact: Callable[[str], str] | None = None, retention_days: int | None = None) -> None:
        self.path = Path(path)
        self.key = key
        self.keep_text = keep_text
        self.redact = redact
        self.retention_days = retention_days
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
        the row could not even be built. Never raises, never waits for the disk."""
        try:
            text = self.redact(event.query) if self.redact else event.query
            settings = json.dumps(event.settings, sort_keys=True, default=str)
            version = hashlib.sha1(settings.encode("utf-8")).hexdigest()[:10]
            vector = None if event.vector is None else project(event.vector).astype(np.float16).tobytes()
            row_id = new_id(event.ts)
            row = (row_id, event.ts, event.channel, event.kind, event.session, text if self.keep_text else None,
                   query_key(event.query, self.key), event.strategy, int(bool(event.abstained)),
                   _number(event.confidence), _number(event.dense_top), _number(event.coverage),
                   json.dumps(list(event.top_ids)[:TOP_IDS]), int(event.n_results), float(event.latency_ms), version,
                   event.experiment, event.arm, event.provider, vector)
            self._ensure_writer()
            self._queue.put((row, version, settings))
            return row_id
        except Exception:  # noqa: BLE001 - a failure to log never fails a query
            self._drop(1, "could not build a query log row")
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
        while True:
            item = self._queue.get()
            if item is None:
                return
            rows, markers = [], []
            while True:  # drain what piled up while the last batch was written: one transaction for all of it
                if isinstance(item, threading.Event):
                    markers.append(item)
                elif item is not None:
                    rows.append(item)
                if len(rows) >= 5000:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)  # stop after this batch
                    break
            if rows:
                self._write(rows)
            for marker in markers:
                marker.set()

    def _write(self, rows: list[tuple[tuple, str, str]]) -> None:
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


_LOGS: dict[Path, QueryLog] = {}
_LOGS_LOCK = threading.Lock()


def query_log(settings: Settings) -> QueryLog | None:
    """The process-wide query log of a workspace (one writer thread however many sessions, threads or searchers log
    to it), or ``None`` when the ``query_log`` setting is off."""
    if not settings.query_log:
        return None
    path = settings.query_log_path.resolve()
    with _LOGS_LOCK:
        found = _LOGS.get(path)
        if found is None or found.keep_text != (settings.query_log_text == "text"):
            found = _LOGS[path] = QueryLog(path, hash_key(settings), keep_text=settings.query_log_text == "text",
                                           retention_days=settings.query_log_retention_days)
        return found
