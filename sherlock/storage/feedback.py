"""User feedback on search answers, kept in the store of record and exported as labelled queries.

The ``feedback`` and ``pair_feedback`` tables live in the workspace's own SQLite file (``settings.feedback_path``) by
default, as they always have (a file written by an older release gains the columns added since when it is opened),
or — with ``SHERLOCK_STORE_URL`` set — in that shared database (:mod:`sherlock.storage.db`), where every app server,
API worker and CLI of a team records into one table.

    store = open_feedback(settings)                  # the backend the settings choose
    store.record("Why do refunds fail?", ["JSP-1001"], helpful=True)

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
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, func, insert, inspect, select

from sherlock.run import Qrels
from sherlock.storage.db.engine import describe, write_transaction
from sherlock.storage.db.reads import driver_rows
from sherlock.storage.db.stores import open_store, store_exists
from sherlock.storage.db.tables import STORE_TABLES, feedback, pair_feedback

if TYPE_CHECKING:
    from sherlock.config import Settings

QUERIES_FILE = "feedback_queries.jsonl"
QRELS_FILE = "feedback_qrels.tsv"
PAIR_QRELS_FILE = "pair_qrels.tsv"
#: The header of the exported qrels files (BEIR's, which :func:`sherlock.evaluation.query_sets.read_qrels` reads).
QRELS_HEADER = "query-id\tcorpus-id\tscore\n"

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


def open_feedback(settings: Settings) -> FeedbackStore:
    """The workspace's feedback store, on the backend ``settings`` choose (``store_url``, else
    ``settings.feedback_path``)."""
    return FeedbackStore(settings.feedback_path, settings)


def feedback_exists(settings: Settings) -> bool:
    """Whether there is a feedback store to read, so that a reader need not create one
    (:func:`~sherlock.storage.db.stores.store_exists`)."""
    return store_exists(settings, settings.feedback_path)


class FeedbackStore:
    """The ``feedback`` and ``pair_feedback`` tables: of the SQLite file ``path`` (created if missing; an older
    release's file gains the columns added since), or — given ``settings`` with a ``store_url`` — of that shared
    database (its schema checked, see :func:`sherlock.storage.db.stores.open_store`). Safe to share between threads
    (each call takes a pooled connection) and between processes."""

    def __init__(self, path: str | Path, settings: Settings | None = None) -> None:
        self.path = Path(path)
        self._engine, self._shared = open_store(settings, STORE_TABLES["feedback"], self.path, what="feedback store",
                                                remedy="move it aside to start a new one")
        if not self._shared:
            try:
                upgrade_sqlite_file(self._engine)
            except BaseException:
                self._engine.dispose()
                raise

    @property
    def location(self) -> str:
        """Where the rows are kept, for messages: the SQLite file, or the shared store's URL (password hidden)."""
        return describe(self._engine) if self._shared else str(self.path)

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
        row = {"created_at": datetime.now(UTC).isoformat(timespec="milliseconds"), "query": query.strip(),
               "query_key": normalise_query(query), "shown_ids": json.dumps(list(shown_ids)),
               "helpful": None if helpful is None else int(bool(helpful)), "right_id": right_id,
               "settings": json.dumps(settings or {}, default=str, sort_keys=True), "provider": provider,
               "session_id": session_id, "variant": variant, "experiment": experiment,
               "log_id": None if log_id is None else int(log_id)}
        with write_transaction(self._engine) as connection:
            key = connection.execute(insert(feedback).values(row)).inserted_primary_key
        return int(key[0]) if key is not None else 0

    def records(self) -> list[FeedbackRecord]:
        """Every row, oldest first."""
        columns = feedback.c
        with self._engine.connect() as connection:
            rows = list(driver_rows(connection, select(
                columns.id, columns.created_at, columns.query, columns.shown_ids, columns.helpful, columns.right_id,
                columns.settings, columns.provider, columns.session_id, columns.variant, columns.experiment,
                columns.log_id).order_by(columns.id)))
        return [FeedbackRecord(row[0], row[1], row[2], json.loads(row[3]), None if row[4] is None else bool(row[4]),
                               row[5], json.loads(row[6]), row[7], row[8], row[9], row[10], row[11]) for row in rows]

    def votes(self) -> list[tuple[str, bool, int | None, str, str | None]]:
        """The thumbs votes (rows with ``helpful`` set), oldest first, as ``(timestamp ISO, helpful, log_id, query,
        session_id)``: what the monitoring report joins to the query log, read without decoding the JSON columns
        that :meth:`records` decodes (a million-query log has tens of thousands of votes)."""
        columns = feedback.c
        with self._engine.connect() as connection:
            rows = list(driver_rows(connection, select(
                columns.created_at, columns.helpful, columns.log_id, columns.query, columns.session_id)
                .where(columns.helpful.is_not(None)).order_by(columns.id)))
        return [(created_at, bool(helpful), log_id, query, session_id)
                for created_at, helpful, log_id, query, session_id in rows]

    def count(self) -> int:
        """How many rows are stored."""
        with self._engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(feedback)).scalar_one())

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
        row = {"created_at": datetime.now(UTC).isoformat(timespec="milliseconds"), "anchor_id": anchor,
               "other_id": other, "same_root_cause": int(same_root_cause), "session_id": session_id}
        with write_transaction(self._engine) as connection:
            key = connection.execute(insert(pair_feedback).values(row)).inserted_primary_key
        return int(key[0]) if key is not None else 0

    def pairs(self) -> list[PairRecord]:
        """Every pair vote, oldest first."""
        columns = pair_feedback.c
        with self._engine.connect() as connection:
            rows = connection.execute(select(columns.id, columns.created_at, columns.anchor_id, columns.other_id,
                                             columns.same_root_cause, columns.session_id).order_by(columns.id)).all()
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
        """Release the SQLite file's connections (they reopen on the next call; a shared store's engine stays open
        for the process's other stores)."""
        if not self._shared:
            self._engine.dispose()

    def columns(self) -> list[str]:
        """The columns of the ``feedback`` table, in order (after any upgrade of an older file)."""
        with self._engine.connect() as connection:
            return [column["name"] for column in inspect(connection).get_columns("feedback")]


def upgrade_sqlite_file(engine: Engine) -> None:
    """Add the columns of :data:`ADDED_COLUMNS` to a ``feedback.sqlite`` written before they existed (old rows read
    ``NULL`` there). A file that has them is only read; one that lacks some is changed under SQLite's write lock,
    after looking again, so two processes opening it at once add each column once. SQLite only: a shared store's
    schema is Alembic's (``sherlock db upgrade``)."""
    if not _missing_columns(engine):
        return
    with write_transaction(engine) as connection:
        for column in _missing_columns(connection):
            connection.exec_driver_sql(f"ALTER TABLE feedback ADD COLUMN {column} {ADDED_COLUMNS[column]}")


def _missing_columns(bind: Engine | Connection) -> list[str]:
    present = {column["name"] for column in inspect(bind).get_columns("feedback")}
    return [column for column in ADDED_COLUMNS if column not in present]


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
