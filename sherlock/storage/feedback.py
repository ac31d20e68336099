"""User feedback on search answers, kept in the workspace (``settings.feedback_path``) and exported as labelled queries.

Each :meth:`FeedbackStore.record` call keeps one row as given. :meth:`FeedbackStore.judgements` turns all rows into
relevance grades, one labelled query per *normalised* query text (case, Unicode form, spacing and surrounding
punctuation folded: "Why do refunds fail?" and "why do refunds fail" are one query):

- "the right incident was X" (``right_id``) → X is graded **2**;
- thumbs up (``helpful=True``) → the first shown id is graded **1** (unless it is the right id, graded 2);
- thumbs down (``helpful=False``) → every shown id is graded **0**, judged not relevant (unless named right);
- repeated feedback on the same query merges by taking each document's highest grade, so positive evidence is never
  erased by a later thumbs down and the merge does not depend on the order of the rows.

:meth:`FeedbackStore.export` writes ``feedback_queries.jsonl`` (``{"id", "query", "relevant": {doc_id: grade}}``,
read by :func:`sherlock.evaluation.metrics.read_labelled_queries`) and ``feedback_qrels.tsv`` (BEIR: header
``query-id corpus-id score``, read by :func:`sherlock.evaluation.metrics.read_qrels`). Query ids are ``fb-`` plus a
hash of the normalised text, so they are stable across exports; the query text is the first wording seen.

**Pair feedback** comes from the incident page: for an incident (the *anchor*) and one of its similar incidents
(the *other*), "same root cause: yes / no". :meth:`FeedbackStore.record_pair` keeps every vote as a row (nothing is
overwritten, so the history stays auditable); :meth:`FeedbackStore.pair_qrels` counts each session's **latest** vote
on a pair once (a person who changes their mind replaces their vote; votes without a session id count one each) and
grades the pair by majority: **1** when more votes say yes than no, else **0** (a tie is not evidence of the same
cause). Pairs are directed — ``{anchor_id: {other_id: grade}}`` is a labelled set for the similar-incidents mode, the
anchor being the query — and :meth:`FeedbackStore.export_pairs` writes it like ``feedback_qrels.tsv``.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sherlock.run import Qrels
from sherlock.storage.sqlite import SQLiteFile

QUERIES_FILE = "feedback_queries.jsonl"
QRELS_FILE = "feedback_qrels.tsv"
PAIR_QRELS_FILE = "pair_qrels.tsv"
#: The header of the exported qrels files (BEIR's, which :func:`sherlock.evaluation.query_sets.read_qrels` reads).
QRELS_HEADER = "query-id\tcorpus-id\tscore\n"

SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    query      TEXT NOT NULL,
    query_key  TEXT NOT NULL,
    shown_ids  TEXT NOT NULL,
    helpful    INTEGER,
    right_id   TEXT,
    settings   TEXT NOT NULL DEFAULT '{}',
    provider   TEXT,
    session_id TEXT,
    variant    TEXT,
    experiment TEXT,
    log_id     INTEGER
);
CREATE INDEX IF NOT EXISTS feedback_query_key ON feedback (query_key);
CREATE TABLE IF NOT EXISTS pair_feedback (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at      TEXT NOT NULL,
    anchor_id       TEXT NOT NULL,
    other_id        TEXT NOT NULL,
    same_root_cause INTEGER NOT NULL,
    session_id      TEXT
);
CREATE INDEX IF NOT EXISTS pair_feedback_pair ON pair_feedback (anchor_id, other_id);
"""
#: Nullable columns added after the first release: a store created before them gets them on open.
ADDED_COLUMNS = {"session_id": "TEXT", "variant": "TEXT", "experiment": "TEXT", "log_id": "INTEGER"}


@dataclass(frozen=True)
class FeedbackRecord:
    """One piece of feedback as recorded; ``timestamp`` is ISO 8601 UTC."""

    id: int
    timestamp: str
    query: str
    shown_ids: list[str]
    helpful: bool | None
    right_id: str | None
    settings: dict[str, Any]
    provider: str | None
    session_id: str | None
    variant: str | None
    experiment: str | None = None
    #: the query log row of the answer voted on (:mod:`sherlock.monitoring.querylog`), when the caller had one
    log_id: int | None = None


@dataclass(frozen=True)
class PairRecord:
    """One "same root cause?" vote on the incident page as recorded; ``timestamp`` is ISO 8601 UTC."""

    id: int
    timestamp: str
    anchor_id: str
    other_id: str
    same_root_cause: bool
    session_id: str | None


def normalise_query(query: str) -> str:
    """The merge key of a query: NFKC, case-folded, single-spaced, without surrounding punctuation."""
    folded = " ".join(unicodedata.normalize("NFKC", query).casefold().split())
    return folded.strip(" .,;:!?¿¡'\"“”‘’()[]")


def query_id(query: str) -> str:
    """The stable exported id of a query: ``fb-`` and 12 hex digits of the SHA-1 of its normalised text."""
    return "fb-" + hashlib.sha1(normalise_query(query).encode("utf-8")).hexdigest()[:12]


class FeedbackStore:
    """Feedback rows in SQLite (WAL; one connection behind a lock, so one instance can serve many threads)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._file = SQLiteFile(self.path, SCHEMA, what="feedback store", remedy="move it aside to start a new one",
                                migrate=add_missing_columns)

    def record(self, query: str, shown_ids: list[str], helpful: bool | None, right_id: str | None = None,
               settings: dict | None = None, provider: str | None = None, session_id: str | None = None,
               variant: str | None = None, experiment: str | None = None, log_id: int | None = None) -> int:
        """Store one piece of feedback and return its row id. ``helpful`` is thumbs up/down (``None``: no vote);
        ``right_id`` names the incident that answers the query. Needs a query and a vote or a right id.
        ``variant`` and ``experiment`` name the A/B arm and online experiment that served the answer; ``log_id`` its
        query log row (what the search logged), which joins the vote to the query for monitoring."""
        if not isinstance(query, str) or not normalise_query(query):
            raise ValueError("feedback needs the query text it is about")
        if isinstance(shown_ids, str) or not all(isinstance(i, str) for i in shown_ids):
            raise ValueError(f"shown_ids must be a list of incident ids, got {shown_ids!r}")
        right_id = right_id.strip() if isinstance(right_id, str) and right_id.strip() else None
        if helpful is None and right_id is None:
            raise ValueError("feedback needs helpful=True/False or right_id (the incident that answers the query)")
        row = (datetime.now(UTC).isoformat(timespec="milliseconds"), query.strip(), normalise_query(query),
               json.dumps(list(shown_ids)), None if helpful is None else int(bool(helpful)), right_id,
               json.dumps(settings or {}, default=str, sort_keys=True), provider, session_id, variant,
               experiment, None if log_id is None else int(log_id))
        with self._file.connection() as connection, connection:
            cursor = connection.execute(
                "INSERT INTO feedback (created_at, query, query_key, shown_ids, helpful, right_id, settings, "
                "provider, session_id, variant, experiment, log_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
        return int(cursor.lastrowid or 0)

    def records(self) -> list[FeedbackRecord]:
        """Every row, oldest first."""
        with self._file.connection() as connection:
            rows = connection.execute(
                "SELECT id, created_at, query, shown_ids, helpful, right_id, settings, provider, session_id, "
                "variant, experiment, log_id FROM feedback ORDER BY id").fetchall()
        return [FeedbackRecord(row[0], row[1], row[2], json.loads(row[3]), None if row[4] is None else bool(row[4]),
                               row[5], json.loads(row[6]), row[7], row[8], row[9], row[10], row[11]) for row in rows]

    def votes(self) -> list[tuple[str, bool, int | None, str, str | None]]:
        """The thumbs votes (rows with ``helpful`` set), oldest first, as ``(timestamp ISO, helpful, log_id, query,
        session_id)``: what the monitoring report joins to the query log, read without decoding the JSON columns
        that :meth:`records` decodes (a million-query log has tens of thousands of votes)."""
        with self._file.connection() as connection:
            rows = connection.execute("SELECT created_at, helpful, log_id, query, session_id FROM feedback "
                                      "WHERE helpful IS NOT NULL ORDER BY id").fetchall()
        return [(row[0], bool(row[1]), row[2], row[3], row[4]) for row in rows]

    def count(self) -> int:
        """How many rows are stored."""
        with self._file.connection() as connection:
            return int(connection.execute("SELECT COUNT(*) FROM feedback").fetchone()[0])

    def judgements(self) -> tuple[dict[str, str], Qrels]:
        """``({query_id: query}, {query_id: {doc_id: grade}})`` after the grading and merge rules of this module;
        queries whose feedback grades nothing (a thumbs up on an empty result list) are left out."""
        queries: dict[str, str] = {}
        qrels: Qrels = {}
        for record in self.records():
            grades = grade(record)
            if not grades:
                continue
            qid = query_id(record.query)
            queries.setdefault(qid, record.query)
            merged = qrels.setdefault(qid, {})
            for doc_id, value in grades.items():
                merged[doc_id] = max(value, merged.get(doc_id, value))
        return queries, qrels

    def export(self, out_dir: str | Path) -> tuple[Path, Path]:
        """Write ``feedback_queries.jsonl`` and ``feedback_qrels.tsv`` into ``out_dir`` (created if needed)."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        queries, qrels = self.judgements()
        queries_path, qrels_path = out / QUERIES_FILE, out / QRELS_FILE
        with queries_path.open("w", encoding="utf-8") as handle:
            for qid, text in queries.items():
                handle.write(json.dumps({"id": qid, "query": text, "relevant": qrels[qid]}, ensure_ascii=False)
                             + "\n")
        with qrels_path.open("w", encoding="utf-8") as handle:
            handle.write(QRELS_HEADER)
            for qid, judged in qrels.items():
                handle.writelines(f"{qid}\t{doc_id}\t{value}\n" for doc_id, value in judged.items())
        return queries_path, qrels_path

    def record_pair(self, anchor_id: str, other_id: str, same_root_cause: bool, session_id: str | None = None,
                    ) -> int:
        """Store one "same root cause?" vote on ``other_id`` shown as similar to ``anchor_id``; returns its row id.
        Every vote is kept; :meth:`pair_qrels` counts a session's latest vote on a pair once."""
        anchor, other = (value.strip() if isinstance(value, str) else "" for value in (anchor_id, other_id))
        if not anchor or not other:
            raise ValueError(f"a pair needs two incident ids, got {anchor_id!r} and {other_id!r}")
        if anchor.casefold() == other.casefold():
            raise ValueError(f"a pair needs two different incidents, got {anchor_id!r} twice")
        if not isinstance(same_root_cause, bool):
            raise ValueError(f"same_root_cause must be True or False, got {same_root_cause!r}")
        row = (datetime.now(UTC).isoformat(timespec="milliseconds"), anchor, other, int(same_root_cause), session_id)
        with self._file.connection() as connection, connection:
            cursor = connection.execute("INSERT INTO pair_feedback (created_at, anchor_id, other_id, same_root_cause, "
                                        "session_id) VALUES (?, ?, ?, ?, ?)", row)
        return int(cursor.lastrowid or 0)

    def pairs(self) -> list[PairRecord]:
        """Every pair vote, oldest first."""
        with self._file.connection() as connection:
            rows = connection.execute("SELECT id, created_at, anchor_id, other_id, same_root_cause, session_id "
                                      "FROM pair_feedback ORDER BY id").fetchall()
        return [PairRecord(row[0], row[1], row[2], row[3], bool(row[4]), row[5]) for row in rows]

    def pair_qrels(self) -> Qrels:
        """``{anchor_id: {other_id: 1 or 0}}``: each pair graded by the majority of its votes (a session's latest
        vote counted once; a tie grades 0), in the order the pairs were first voted on."""
        votes: dict[tuple[str, str], dict[object, bool]] = {}
        for number, pair in enumerate(self.pairs()):
            voter = pair.session_id if pair.session_id is not None else ("no session", number)
            votes.setdefault((pair.anchor_id, pair.other_id), {})[voter] = pair.same_root_cause
        qrels: Qrels = {}
        for (anchor, other), by_voter in votes.items():
            yes = sum(by_voter.values())
            qrels.setdefault(anchor, {})[other] = int(yes > len(by_voter) - yes)
        return qrels

    def export_pairs(self, path: str | Path) -> Path:
        """Write :meth:`pair_qrels` to ``path`` (parent folders created) as ``feedback_qrels.tsv`` is written —
        tab-separated, BEIR header ``query-id corpus-id score``, one ``anchor other grade`` line per pair — and
        return the path; :func:`sherlock.evaluation.query_sets.read_qrels` reads it back."""
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("w", encoding="utf-8") as handle:
            handle.write(QRELS_HEADER)
            for anchor, judged in self.pair_qrels().items():
                handle.writelines(f"{anchor}\t{other}\t{grade}\n" for other, grade in judged.items())
        return out

    def close(self) -> None:
        """Close the SQLite connection (it reopens on the next call)."""
        self._file.close()

    def columns(self) -> list[str]:
        """The columns of the ``feedback`` table, in order (after any migration of an older file)."""
        with self._file.connection() as connection:
            return [row[1] for row in connection.execute("PRAGMA table_info(feedback)")]


def add_missing_columns(connection: sqlite3.Connection) -> None:
    """Migrate a store written before :data:`ADDED_COLUMNS` existed (old rows read ``NULL`` there)."""
    present = {row[1] for row in connection.execute("PRAGMA table_info(feedback)")}
    for column, kind in ADDED_COLUMNS.items():
        if column not in present:
            try:
                with connection:
                    connection.execute(f"ALTER TABLE feedback ADD COLUMN {column} {kind}")
            except sqlite3.OperationalError as exc:  # another process migrated it a moment ago
                if "duplicate column" not in str(exc):
                    raise


def grade(record: FeedbackRecord) -> dict[str, int]:
    """The grades one piece of feedback gives (see the module docstring)."""
    grades: dict[str, int] = {}
    if record.helpful is False:
        grades.update(dict.fromkeys(record.shown_ids, 0))
    elif record.helpful is True and record.shown_ids:
        grades[record.shown_ids[0]] = 1
    if record.right_id:
        grades[record.right_id] = 2
    return grades
