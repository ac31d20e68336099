"""Reading the query log (:mod:`sherlock.monitoring.querylog`): the rows of a period as a DataFrame, the texts,
result ids and projected vectors of chosen rows, the settings versions, and a revision to cache reports by. The same
SQLAlchemy Core on SQLite and PostgreSQL; a reader of many rows iterates
:func:`~sherlock.storage.db.reads.driver_rows`, the driver's own tuples.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

import numpy as np
from sqlalchemy import ColumnElement, Connection, Engine, func, select

from sherlock.monitoring.events import PROJECTED_DIM, id_at, timestamp
from sherlock.storage.db.reads import driver_rows
from sherlock.storage.db.tables import queries, settings_versions

#: What :meth:`QueryLog.frame` loads (the text, result ids and vectors have their own readers: they are large).
FRAME_COLUMNS = ("id", "ts", "channel", "kind", "session", "query_key", "strategy", "abstained", "confidence",
                 "dense_top", "coverage", "n_results", "latency_ms", "settings_hash", "experiment", "arm", "provider")
#: How many ids one ``IN (...)`` lookup names.
IDS_PER_LOOKUP = 500
Moment = float | date | datetime | None


class QueryLogReads:
    """The readers of a query log, over :attr:`engine` (:class:`~sherlock.monitoring.querylog.QueryLog` opens it)."""

    @property
    def engine(self) -> Engine:
        """The log's engine (the subclass opens it)."""
        raise NotImplementedError

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for a block of reads: SQLAlchemy Core over :data:`sherlock.storage.db.tables.queries` and
        ``settings_versions``, the same SQL on SQLite and PostgreSQL; select a time range with
        ``queries.c.id >= id_at(since)`` (ids are time-ordered); iterate many rows with
        :func:`~sherlock.storage.db.reads.driver_rows`."""
        with self.engine.connect() as connection:
            yield connection

    def count(self) -> int:
        """How many rows are written."""
        with self.read() as connection:
            return int(connection.execute(select(func.count()).select_from(queries)).scalar_one())

    def revision(self) -> tuple[int, int]:
        """``(rows, newest id)``: changes whenever a row is written or pruned (a cache key for readers)."""
        with self.read() as connection:
            count, newest = connection.execute(select(func.count(), func.max(queries.c.id))).one()
        return int(count), int(newest or 0)

    def span(self) -> tuple[float, float] | None:
        """The times of the first and the last logged row (ids are time-ordered: two primary-key lookups);
        ``None`` while nothing is logged."""
        with self.read() as connection:
            first, last = (connection.execute(select(queries.c.ts).order_by(order).limit(1)).scalar()
                           for order in (queries.c.id.asc(), queries.c.id.desc()))
        return None if first is None or last is None else (float(first), float(last))

    def frame(self, since: Moment = None, until: Moment = None) -> Any:
        """The rows logged in ``[since, until)`` as a pandas DataFrame of :data:`FRAME_COLUMNS`, oldest first;
        ``ts`` as naive UTC datetimes, ``abstained`` as bool."""
        import pandas as pd
        statement = select(*(queries.c[name] for name in FRAME_COLUMNS)).where(*_range(since, until))
        with self.read() as connection:
            rows = list(driver_rows(connection, statement.order_by(queries.c.id)))
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
        return dict(self._by_id(ids, queries.c.query, queries.c.query.is_not(None)))

    def top_ids(self, ids: Sequence[int]) -> dict[int, list[str]]:
        """The result ids logged for each of ``ids``."""
        return {row_id: json.loads(shown) for row_id, shown in self._by_id(ids, queries.c.top_ids)}

    def vectors(self, since: Moment = None, until: Moment = None, limit: int | None = None,
                seed: int = 0) -> np.ndarray:
        """The projected query embeddings logged in ``[since, until)`` (rows with one, oldest first; at most
        ``limit``, a random sample), as a float32 matrix of :data:`PROJECTED_DIM` columns."""
        statement = select(queries.c.vector).where(*_range(since, until), queries.c.vector.is_not(None))
        with self.read() as connection:
            blobs = [row[0] for row in driver_rows(connection, statement.order_by(queries.c.id))]
        if limit is not None and len(blobs) > limit:
            chosen = np.random.default_rng(seed).choice(len(blobs), size=limit, replace=False)
            blobs = [blobs[i] for i in sorted(chosen)]
        if not blobs:
            return np.zeros((0, PROJECTED_DIM), dtype=np.float32)
        return np.frombuffer(b"".join(blobs), dtype=np.float16).reshape(len(blobs), -1).astype(np.float32)

    def settings_versions(self) -> dict[str, dict[str, Any]]:
        """``{settings hash: {"settings": {...}, "first_seen": seconds}}`` for every version logged."""
        with self.read() as connection:
            rows = connection.execute(select(settings_versions.c.hash, settings_versions.c.settings,
                                             settings_versions.c.first_seen)).all()
        return {version: {"settings": json.loads(settings), "first_seen": first} for version, settings, first in rows}

    def _by_id(self, ids: Sequence[int], column: Any, *where: ColumnElement[bool]) -> list[tuple[int, Any]]:
        """``(id, column)`` of the rows of ``ids`` (and ``where``), a few hundred ids per lookup."""
        wanted = [int(i) for i in ids]
        found: list[tuple[int, Any]] = []
        with self.read() as connection:
            for start in range(0, len(wanted), IDS_PER_LOOKUP):
                chunk = wanted[start:start + IDS_PER_LOOKUP]
                found += driver_rows(connection, select(queries.c.id, column).where(queries.c.id.in_(chunk), *where))
        return found


def _range(since: Moment, until: Moment) -> list[ColumnElement[bool]]:
    """The conditions that select the rows logged in ``[since, until)`` (either end may be open)."""
    found = []
    if since is not None:
        found.append(queries.c.id >= id_at(timestamp(since) or 0.0))
    if until is not None:
        found.append(queries.c.id < id_at(timestamp(until) or 0.0))
    return found
