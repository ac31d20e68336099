"""Thumbs up and down joined to the logged queries they were about.

A vote (a feedback row with ``helpful`` set) counts for the logged query it is joined to, in that query's period and
settings version:

1. by ``log_id`` — the query log row id the app, the API or the CLI handed to feedback with the answer;
2. else by the keyed hash of the feedback's query text and its session (:func:`sherlock.monitoring.querylog.query_key`),
   to the latest logged query with both at or before the vote (an as-of join): feedback written before the
   log had ids, or by a caller that does not pass one.

Only queries inside the report's window count: a vote on a query of another window belongs to that window. A vote cast
inside the window that reaches no logged query at all is *unmatched*: reported, never counted (feedback from before
logging began, or on a query whose row was dropped or pruned).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import func, select

from sherlock.monitoring.aggregate import Rows, interval, rate
from sherlock.monitoring.events import id_at, query_key
from sherlock.monitoring.querylog import QueryLog
from sherlock.monitoring.window import Window
from sherlock.storage.db.reads import driver_rows
from sherlock.storage.db.tables import queries

#: Row ids carry the millisecond they were logged at above this many bits (:func:`sherlock.monitoring.querylog.new_id`).
ID_TIME_SHIFT = 20
#: How far before the window a vote without a log id looks for its question: a vote just after the window opens may
#: be on a question asked just before, which belongs to the window before (neither counted here nor unmatched).
LOOKBACK_S = 86400.0
#: (question, session) pairs looked up per scan of the log (SQLite allows 32,766 parameters a statement,
#: PostgreSQL 65,535).
PAIRS_PER_SCAN = 10_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)


@dataclass(frozen=True)
class Votes:
    """The votes joined to rows of the window: ``positions`` (indexes into :class:`Rows`), ``helpful`` (bool) and
    how many votes cast in the window reach no logged query (``unmatched``; see the module docstring)."""

    positions: np.ndarray
    helpful: np.ndarray
    unmatched: int


def read_votes(feedback: Any, log: QueryLog, rows: Rows, window: Window) -> Votes:
    """Join the votes of ``feedback`` (a :class:`sherlock.storage.feedback.FeedbackStore`, or ``None``) to ``rows``."""
    votes = [] if feedback is None else feedback.votes()
    ms = np.array([_milliseconds(vote[0]) for vote in votes], dtype=np.int64)
    up = np.array([vote[1] for vote in votes], dtype=bool)
    # the row each vote is joined to: its own log id, else the hash-and-session match (-1: none)
    row_id = np.array([-1 if vote[2] is None else vote[2] for vote in votes], dtype=np.int64)
    by_text = np.array([vote[2] is None for vote in votes], dtype=bool)
    row_id[by_text] = _by_text([(votes[i][3], votes[i][4] or "") for i in np.flatnonzero(by_text)], ms[by_text],
                               log, window)
    positions = np.searchsorted(rows.ids, row_id)
    matched = (positions < len(rows.ids)) & (rows.ids[np.minimum(positions, max(len(rows.ids) - 1, 0))] == row_id) \
        if len(rows.ids) else np.zeros(len(votes), dtype=bool)
    cast = (ms >= round(window.since * 1000)) & (ms < round(window.until * 1000))
    # a vote on a query outside the window belongs to another window: not counted, not unmatched either
    elsewhere = (row_id >= 0) & ((row_id < id_at(window.since)) | (row_id >= id_at(window.until)))
    return Votes(positions[matched].astype(np.int64), up[matched], int((cast & ~matched & ~elsewhere).sum()))


def _milliseconds(moment: str) -> int:
    """Milliseconds since the epoch of an ISO 8601 timestamp (naive: UTC), rounded down as ``pandas``' ``as_unit``
    would."""
    parsed = datetime.fromisoformat(moment)
    return ((parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)) - _EPOCH) // _MILLISECOND


def _by_text(questions: list[tuple[str, str]], ms: np.ndarray, log: QueryLog, window: Window) -> np.ndarray:
    """For votes without a log id (``questions``: each one's text and session; ``ms``: when it was cast): the id of
    the latest logged query with the same hash and session at or before each, among the queries logged from
    :data:`LOOKBACK_S` before the window's start on (-1 when there is none)."""
    found = np.full(len(questions), -1, dtype=np.int64)
    if not questions:
        return found
    # only rows of a voted question *in the voting session* are read: a popular question asked in every session
    # would otherwise bring back most of the log (the key is 16 hex digits, so "key|session" is unambiguous)
    wanted = [f"{query_key(text, log.key)}|{session}" for text, session in questions]
    pairs = sorted(set(wanted))
    # a query after the window can still be the latest before a vote: read up to the last vote (kept or not later)
    last = id_at((int(ms.max()) + 1) / 1000)
    candidates: list[tuple[int, str]] = []
    pair = queries.c.query_key + "|" + func.coalesce(queries.c.session, "")
    asked = select(queries.c.id, pair).where(queries.c.id >= id_at(window.since - LOOKBACK_S), queries.c.id < last)
    with log.read() as connection:
        for start in range(0, len(pairs), PAIRS_PER_SCAN):
            candidates += driver_rows(connection, asked.where(pair.in_(pairs[start:start + PAIRS_PER_SCAN])))
    if not candidates:
        return found
    # an as-of join: number the pairs, order the candidates by (pair, id) — ids grow with time — and find for each
    # vote the last candidate of its pair logged at or before it (a backward ``pandas.merge_asof``)
    code = {pair: i for i, pair in enumerate(pairs)}
    ids = np.array([row[0] for row in candidates], dtype=np.int64)
    codes = np.array([code[row[1]] for row in candidates], dtype=np.int64)
    order = np.lexsort((ids, codes))
    ids, codes = ids[order], codes[order]
    # (pair, millisecond) as one sortable integer: milliseconds since 1970 fit in 42 bits until the year 2109
    logged = (codes << 42) + (ids >> ID_TIME_SHIFT)
    vote_codes = np.array([code[pair] for pair in wanted], dtype=np.int64)
    latest = np.searchsorted(logged, (vote_codes << 42) + ms, side="right") - 1
    hit = (latest >= 0) & (codes[np.maximum(latest, 0)] == vote_codes)
    found[hit] = ids[latest[hit]]
    return found


def helpful(votes: Votes, select: np.ndarray | None = None) -> dict[str, Any]:
    """``{votes, up, rate, ci95}`` of the votes ``select`` picks (a mask over ``votes``; all by default)."""
    chosen = votes.helpful if select is None else votes.helpful[select]
    n, up = int(len(chosen)), int(chosen.sum())
    return {"votes": n, "up": up, "rate": rate(up, n), "ci95": interval(up, n)}
