"""``sherlock ask`` and ``sherlock feedback``: the --json contracts and the human output."""


import pytest

from sherlock.config import load_settings
from sherlock.evaluation.query_sets import read_labelled_queries, read_qrels
from sherlock.storage.feedback import FeedbackStore, query_id


@pytest.fixture
def offline_env(monkeypatch):
    """No Gemini key can leak in from the developer's environment: these tests never reach the network."""
    for name in ("GEMINI_API_KEY", "GOOGLE_API_KEY", "SHERLOCK_GEMINI_API_KEY", "SHERLOCK_ANSWER_PROVIDER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SHERLOCK_DEMO", "false")


@pytest.fixture
def home(juspay_workspace, offline_env):
    return str(juspay_workspace.settings.home)



def test_ask_json_contract(home, cli):
    data = cli.json("--home", home, "ask", "UPI payment failed with error 5003", "--json")
    assert {"answer", "citations", "abstained", "provider", "took_ms", "note", "removed_citations",
            "results"} <= set(data)
    assert data["citations"][0] == "JSP-1001" and data["abstained"] is False and data["provider"] == "extractive"
    assert data["took_ms"] > 0 and len(data["results"]) == 5 and data["removed_citations"] == []
    assert set(data["citations"]) <= {hit["id"] for hit in data["results"]}
    assert data["answer"].endswith("[JSP-1001].")


def test_ask_abstains_honestly(home, cli):
    data = cli.json("--home", home, "ask", "what is the capital of Australia", "-k", "3", "--json")
    assert data["abstained"] is True and data["citations"] == [] and data["answer"].startswith(
        "No matching past incident.")
    assert len(data["results"]) == 3 and all(hit["nearest_miss"] for hit in data["results"])


def test_ask_human_output_and_filters(home, cli):
    code, out, _ = cli("--home", home, "ask", "JSP-1052")
    assert code == 0 and out.startswith('JSP-1052 is "Pinelabs Online Gateway') and "  [JSP-1052] Pinelabs" in out
    code, _, err = cli("--home", home, "ask", "refund failed", "--filter", "colour=red")
    assert code == 2 and "key one of" in err


def test_feedback_export_to_the_workspace(make_home, offline_env, cli):
    home = make_home()
    store = FeedbackStore(load_settings(home=home).feedback_path)
    store.record("refund stuck", ["JSP-1022", "JSP-1018"], False, right_id="JSP-1059")
    store.record("UPI error 5003", ["JSP-1001"], True)
    store.record_pair("JSP-1055", "JSP-2001", True, session_id="s1")
    store.record_pair("JSP-1055", "JSP-1001", False, session_id="s1")
    store.close()
    data = cli.json("--home", home, "feedback", "export", "--json")
    assert (data["records"], data["queries"], data["judgements"], data["pairs"]) == (2, 2, 4, 2)
    assert read_qrels(data["pairs_path"]) == {"JSP-1055": {"JSP-2001": 1, "JSP-1001": 0}}
    assert data["queries_path"] == str(home / "feedback" / "feedback_queries.jsonl")
    _, qrels = read_labelled_queries(data["queries_path"])
    assert qrels == read_qrels(data["qrels_path"]) == {
        query_id("refund stuck"): {"JSP-1022": 0, "JSP-1018": 0, "JSP-1059": 2},
        query_id("UPI error 5003"): {"JSP-1001": 1}}
    stats = cli.json("--home", home, "feedback", "stats", "--json")
    assert (stats["records"], stats["queries"]) == (2, 2) and "queries_path" not in stats
    code, out, _ = cli("--home", home, "feedback", "export", "--out", home / "elsewhere")
    assert code == 0 and "2 labelled queries" in out and (home / "elsewhere" / "feedback_qrels.tsv").exists()
