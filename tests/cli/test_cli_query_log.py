"""What the command line logs for monitoring: single searches, answers and similar-incident lookups, never batch
evaluation, and nothing when the log is off."""

from __future__ import annotations

import json

import pytest

from sherlock.config import load_settings
from sherlock.monitoring.events import hash_key
from sherlock.monitoring.querylog import QueryLog, query_log


@pytest.fixture
def logged(juspay_home):
    """``logged()`` → the rows the CLI wrote to the workspace's query log since the fixture started."""
    settings = load_settings(home=juspay_home)
    start = QueryLog(settings.query_log_path, hash_key(settings)).revision()[1]

    def rows() -> list[dict]:
        writer = query_log(settings)
        assert writer is not None and writer.flush()
        frame = QueryLog(settings.query_log_path, hash_key(settings)).frame()
        return frame[frame["id"] > start].to_dict("records")

    return rows


def test_a_search_an_answer_and_a_similar_lookup_are_logged(cli, juspay_home, logged):
    home = ["--home", juspay_home]
    found = cli.json(*home, "search", "UPI payment failed with error 5003", "-k", "3", "--json")
    cli.json(*home, "ask", "what is the capital of Australia", "--json")
    cli.json(*home, "similar", "JSP-1055", "-k", "2", "--json")
    search, ask, similar = logged()
    assert (search["channel"], search["kind"], search["strategy"], search["abstained"]) == (
        "cli", "search", "hybrid", False)
    assert search["n_results"] == len(found["results"]) == 3
    assert search["dense_top"] == pytest.approx(found["evidence"]["dense_top"])
    assert (ask["kind"], ask["abstained"], ask["provider"]) == ("ask", True, "extractive")
    assert (similar["kind"], similar["strategy"]) == ("similar", "similar")
    log = QueryLog(load_settings(home=juspay_home).query_log_path, b"")
    assert log.texts([search["id"]]) == {search["id"]: "UPI payment failed with error 5003"}
    assert log.top_ids([search["id"]])[search["id"]] == [hit["id"] for hit in found["results"]]
    assert log.vectors(since=search["ts"]).shape[0] >= 2  # the search's and the question's embeddings


def test_batch_evaluation_is_not_user_traffic(cli, juspay_home, logged, tmp_path, juspay_queries):
    queries = tmp_path / "queries.jsonl"
    queries.write_text("".join(json.dumps({"id": qid, "query": text}) + "\n"
                               for qid, text in list(juspay_queries.items())[:5]))
    code, _, err = cli("--home", juspay_home, "search", "--queries", queries, "--run-out", tmp_path / "run.tsv")
    assert code == 0, err
    assert logged() == []


def test_nothing_is_logged_when_the_log_is_off(cli, juspay_home, logged, monkeypatch):
    monkeypatch.setenv("SHERLOCK_QUERY_LOG", "false")
    cli.json("--home", juspay_home, "search", "refund failed", "--json")
    assert logged() == []
