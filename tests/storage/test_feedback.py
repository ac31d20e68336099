"""Feedback: recorded as given, merged per normalised query by the documented grading rules, exported as labelled
queries and BEIR qrels that the evaluation readers read back — on both backends of the store of record (a SQLite
database and a real PostgreSQL server, through ``store_url``), and by default in the workspace's own
``feedback.sqlite``, where files of older releases keep working."""

import json
import sqlite3
import threading
from datetime import datetime

import pytest

from sherlock.config import Settings
from sherlock.evaluation.query_sets import read_labelled_queries, read_qrels
from sherlock.storage.feedback import FeedbackStore, feedback_exists, normalise_query, open_feedback, query_id


@pytest.fixture
def settings(migrated_url, tmp_path):
    """A workspace whose store of record is an empty, migrated database (SQLite or PostgreSQL)."""
    return Settings(home=tmp_path / "home", store_url=migrated_url)


@pytest.fixture
def store(settings):
    store = open_feedback(settings)
    yield store
    store.close()


def test_record_and_read_back(store, settings):
    row = store.record("UPI error 5003", ["JSP-1001", "JSP-1015"], True, settings={"weights": (0.6, 0.3, 0.1)},
                       provider="extractive", session_id="s1", variant="B")
    (record,) = store.records()
    assert record.id == row and store.count() == 1
    assert (record.query, record.shown_ids, record.helpful, record.right_id) == (
        "UPI error 5003", ["JSP-1001", "JSP-1015"], True, None)
    assert (record.settings, record.provider, record.session_id, record.variant) == (
        {"weights": [0.6, 0.3, 0.1]}, "extractive", "s1", "B")
    assert datetime.fromisoformat(record.timestamp).tzinfo is not None
    again = open_feedback(settings)  # another handle (another process) reads what was stored
    assert again.records() == [record] and again.votes() == [(record.timestamp, True, None, "UPI error 5003", "s1")]
    again.close()
    assert not settings.feedback_path.exists()  # with store_url set, no feedback.sqlite is written


def test_merge_and_export_round_trip(store, tmp_path):
    store.record("Why do refunds fail?", ["A", "B", "C"], True)                 # A:1
    store.record("  why do REFUNDS fail ", ["A", "B", "C"], False, right_id="D")  # A,B,C:0, D:2 -> A stays 1
    store.record("UPI error 5003", ["X", "Y"], True, right_id="X")             # X:2 (right beats thumbs up)
    store.record("UPI error 5003", ["Y"], None, right_id="Z")                  # Z:2
    store.record("capital of australia", ["P", "Q"], False)                    # P,Q:0 (judged not relevant)
    store.record("nothing shown", [], True)                                    # grades nothing: left out
    refunds, upi, capital = (query_id(q) for q in ("why do refunds fail", "UPI error 5003", "capital of australia"))
    expected = {refunds: {"A": 1, "B": 0, "C": 0, "D": 2}, upi: {"X": 2, "Z": 2}, capital: {"P": 0, "Q": 0}}

    queries_path, qrels_path = store.export(tmp_path / "out")
    assert (queries_path.name, qrels_path.name) == ("feedback_queries.jsonl", "feedback_qrels.tsv")
    queries, qrels = read_labelled_queries(queries_path)
    assert qrels == expected and read_qrels(qrels_path) == expected
    assert queries == {refunds: "Why do refunds fail?", upi: "UPI error 5003", capital: "capital of australia"}
    assert qrels_path.read_text().splitlines()[:2] == ["query-id\tcorpus-id\tscore", f"{refunds}\tA\t1"]
    assert json.loads(queries_path.read_text().splitlines()[0])["relevant"] == expected[refunds]
    assert store.export(tmp_path / "again")[0].read_text() == queries_path.read_text()  # stable ids and order


def test_merge_does_not_depend_on_order(tmp_path):
    rows = [("q", ["A", "B"], False, None), ("q", ["A"], True, None), ("q", ["B"], None, "B")]
    exported = []
    for name, order in (("forward", rows), ("backward", rows[::-1])):
        store = FeedbackStore(tmp_path / f"{name}.sqlite")
        for row in order:
            store.record(*row)
        exported.append(store.judgements()[1])
    assert exported[0] == exported[1] == {query_id("q"): {"A": 1, "B": 2}}


@pytest.mark.parametrize(("query", "shown", "helpful", "right_id", "message"), [
    ("  ", ["A"], True, None, "needs the query text"),
    ("q", ["A"], None, None, "needs helpful=True/False or right_id"),
    ("q", ["A"], None, "  ", "needs helpful=True/False or right_id"),
    ("q", "A", True, None, "must be a list of incident ids"),
])
def test_record_validates(store, query, shown, helpful, right_id, message):
    with pytest.raises(ValueError, match=message):
        store.record(query, shown, helpful, right_id)
    assert store.count() == 0


def test_normalised_queries():
    assert normalise_query(" Why do  REFUNDS fail?? ") == normalise_query("why do refunds fail") == \
        "why do refunds fail"
    assert query_id("Why do refunds fail?") == query_id("why do refunds fail") != query_id("why do refunds work")


def test_one_store_serves_many_threads(store):
    def work(n):
        for i in range(25):
            store.record(f"query {n}-{i}", [f"D-{i}"], i % 2 == 0)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.count() == 200 and len({r.id for r in store.records()}) == 200


RECORD_MANY = """
import sys
from sherlock.config import Settings
from sherlock.storage.feedback import open_feedback
url, home, rows, number = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
store = open_feedback(Settings(home=home, store_url=url))
store.count()  # connected (and the schema checked) before the start
# go
ids = [store.record(f"query {number}-{i}", [f"D-{i}"], i % 2 == 0, session_id=number) for i in range(rows)]
pairs = [store.record_pair(f"A-{number}", f"B-{i}", True, session_id=number) for i in range(rows)]
print(" ".join(map(str, ids + pairs)))
"""


def test_two_processes_record_at_once(settings, run_together):
    """Two API workers (or app servers) voting into one store at the same moment: every vote is kept, once."""
    outputs = run_together(RECORD_MANY, settings.store_url, settings.home, 60)
    returned = [int(row_id) for out in outputs for row_id in out.split()]
    store = open_feedback(settings)
    try:
        records, pairs = store.records(), store.pairs()
        assert store.count() == len(records) == len(pairs) == len(store.votes()) == 120
        assert sum(helpful for _, helpful, *_ in store.votes()) == 60
        assert sorted(returned) == sorted([r.id for r in records] + [p.id for p in pairs])
        assert len({r.id for r in records}) == len({p.id for p in pairs}) == 120
        for number in "01":  # each process's rows in the order it wrote them
            mine = [r.query for r in records if r.session_id == number]
            assert mine == [f"query {number}-{i}" for i in range(60)]
    finally:
        store.close()


def test_pair_votes_are_kept_and_graded_by_majority(store, settings, tmp_path):
    store.record_pair("A", "B", True, session_id="s1")
    store.record_pair("A", "B", False, session_id="s2")
    store.record_pair("A", "B", True, session_id="s3")   # A→B: 2 yes, 1 no → 1
    store.record_pair("A", "C", True, session_id="s1")
    store.record_pair("A", "C", False, session_id="s2")  # A→C: a tie → 0
    store.record_pair("D", "A", True, session_id="s1")
    store.record_pair("D", "A", False, session_id="s1")  # s1 changed its mind: only the latest vote counts → 0
    store.record_pair(" E ", "F", True)
    store.record_pair("E", "F", True)
    store.record_pair("E", "F", False)                   # no session: each vote counts → 2 yes, 1 no → 1
    assert len(store.pairs()) == 10 and store.count() == 0  # every vote kept, apart from the query feedback
    first = store.pairs()[0]
    assert (first.anchor_id, first.other_id, first.same_root_cause, first.session_id) == ("A", "B", True, "s1")
    assert datetime.fromisoformat(first.timestamp).tzinfo is not None
    assert store.pairs()[7].anchor_id == "E"  # ids stripped
    assert store.pair_qrels() == {"A": {"B": 1, "C": 0}, "D": {"A": 0}, "E": {"F": 1}}  # directed pairs

    path = store.export_pairs(tmp_path / "out" / "pair_qrels.tsv")
    assert path.read_text().splitlines() == ["query-id\tcorpus-id\tscore", "A\tB\t1", "A\tC\t0", "D\tA\t0", "E\tF\t1"]
    assert read_qrels(path) == store.pair_qrels()
    again = open_feedback(settings)
    assert again.pairs() == store.pairs()  # what another handle reads
    again.close()


def test_no_pairs_export_an_empty_qrels_file(store, tmp_path):
    assert store.pairs() == [] and store.pair_qrels() == {}
    assert read_qrels(store.export_pairs(tmp_path / "pairs.tsv")) == {}


@pytest.mark.parametrize(("anchor", "other", "same", "message"), [
    ("A", " ", True, "needs two incident ids"),
    (None, "B", True, "needs two incident ids"),
    ("JSP-1", "jsp-1", True, "two different incidents"),
    ("A", "B", 1, "must be True or False"),
])
def test_record_pair_validates(store, anchor, other, same, message):
    with pytest.raises(ValueError, match=message):
        store.record_pair(anchor, other, same)
    assert store.pairs() == []


# -- by default: the workspace's own feedback.sqlite -------------------------------------------------------------------

def test_by_default_the_rows_are_kept_in_the_workspace_file(tmp_path):
    settings = Settings(home=tmp_path / "home")
    assert not feedback_exists(settings)  # a reader need not create the file
    store = open_feedback(settings)
    store.record("UPI error 5003", ["JSP-1001"], True, session_id="s1")
    store.close()
    assert feedback_exists(settings) and store.location == str(settings.feedback_path)
    with sqlite3.connect(settings.feedback_path) as raw:  # a plain SQLite file another tool can read
        assert raw.execute("SELECT query, helpful, session_id FROM feedback").fetchall() == [
            ("UPI error 5003", 1, "s1")]
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    raw.close()
    assert FeedbackStore(settings.feedback_path).count() == 1


OLD_COLUMNS = ("id INTEGER PRIMARY KEY AUTOINCREMENT, created_at TEXT NOT NULL, query TEXT NOT NULL, "
               "query_key TEXT NOT NULL, shown_ids TEXT NOT NULL, helpful INTEGER, right_id TEXT, "
               "settings TEXT NOT NULL DEFAULT '{}', provider TEXT")


def _old_store(path, schema: str):
    """A feedback file as an older release wrote it: its ``feedback`` table with ``schema`` and one row."""
    import sqlite3
    old = sqlite3.connect(path)
    with old:
        old.execute(f"CREATE TABLE feedback ({schema})")
        old.execute("INSERT INTO feedback (created_at, query, query_key, shown_ids, helpful) VALUES "
                    "('2025-01-01T00:00:00.000+00:00', 'UPI error', 'upi error', '[\"A\"]', 1)")
    old.close()
    return path


@pytest.mark.parametrize("old_schema", [OLD_COLUMNS, OLD_COLUMNS + ", session_id TEXT, variant TEXT"],
                         ids=["first release", "before online experiments"])
def test_an_old_store_gains_the_new_columns(tmp_path, old_schema):
    path = _old_store(tmp_path / "old.sqlite", old_schema)
    store = FeedbackStore(path)
    store.record("refund failed", ["B"], False, session_id="s1", variant="rrf", experiment="fusion-online",
                 log_id=7)
    first, second = store.records()
    assert (first.query, first.shown_ids, first.helpful, first.session_id, first.variant, first.experiment) == (
        "UPI error", ["A"], True, None, None, None)
    assert (second.session_id, second.variant, second.experiment, second.log_id) == ("s1", "rrf", "fusion-online", 7)
    assert first.log_id is None
    store.close()
    again = FeedbackStore(path)  # a migrated store opens as it is
    assert again.records() == [first, second]
    assert again.columns()[-4:] == ["session_id", "variant", "experiment", "log_id"]
    again.close()


def test_a_corrupt_store_gives_an_actionable_error(tmp_path):
    path = tmp_path / "feedback.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(RuntimeError, match=r"feedback\.sqlite: cannot open the feedback store.*move it aside"):
        FeedbackStore(path).count()


def test_an_old_store_gains_the_pair_table(tmp_path):
    store = FeedbackStore(_old_store(tmp_path / "old.sqlite", OLD_COLUMNS))
    store.record_pair("A", "B", True, session_id="s1")
    assert store.count() == 1 and store.pair_qrels() == {"A": {"B": 1}}
    store.close()
