"""``sherlock tune``: the --json contract, the query-set formats (labelled JSONL, BEIR with CRLF, TREC), --apply
changing what ``sherlock search`` does, the MLflow run in the workspace's store, the human table and usage errors."""

from __future__ import annotations

import json

import pytest

from sherlock.evaluation.query_sets import QuerySet, load_query_set, restrict

FAST = ["--step", "0.1", "--folds", "3"]


@pytest.fixture(autouse=True)
def fresh_settings(juspay_home):
    yield
    (juspay_home / "sherlock.toml").unlink(missing_ok=True)


def test_json_contract_and_the_mlflow_run(juspay_home, query_files, cli):
    data = cli.json("--home", juspay_home, "tune", "--queries", query_files["labelled"], *FAST, "--json")
    assert set(data) == {"weights", "fusion", "norm", "metric", "score", "cv", "default_score", "single",
                         "mlflow_run_id"}
    assert len(data["weights"]) == 3 and sum(data["weights"]) == pytest.approx(1.0)
    assert (data["fusion"], data["metric"]) == ("wsum", "ndcg@10") and data["norm"] in ("minmax", "zscore", "rank")
    assert set(data["cv"]) == {"mean", "std"} and set(data["single"]) == {"dense", "bm25", "tfidf"}
    assert data["score"] >= max(data["single"].values()) and data["score"] >= data["default_score"]

    from mlflow.tracking import MlflowClient
    client = MlflowClient(tracking_uri=f"sqlite:///{(juspay_home / 'mlflow.db').as_posix()}")
    logged = client.get_run(data["mlflow_run_id"])
    assert logged.data.metrics["cv_mean"] == pytest.approx(data["cv"]["mean"])
    assert logged.data.params["step"] == "0.1" and logged.data.tags["sherlock.query_set"] == "labelled.jsonl"
    assert (juspay_home / "mlartifacts" / data["mlflow_run_id"] / "artifacts" / "surface.csv").exists()


def test_beir_and_trec_qrels_tune_the_same(juspay_home, query_files, cli):
    beir = cli.json("--home", juspay_home, "tune", "--queries", query_files["queries"], "--qrels", query_files["beir"],
                    *FAST, "--json", "--metric", "mrr@10")
    trec = cli.json("--home", juspay_home, "tune", "--queries", query_files["queries"], "--qrels", query_files["trec"],
                    *FAST, "--json", "--metric", "mrr@10")
    assert beir["mlflow_run_id"] != trec["mlflow_run_id"]
    assert {**beir, "mlflow_run_id": None} == {**trec, "mlflow_run_id": None}


def test_apply_changes_what_search_uses(juspay_home, query_files, cli):
    before = cli.json("--home", juspay_home, "search", "refund failed", "--json")["settings"]
    assert (before["weights"], before["method"]) == ([0.6, 0.3, 0.1], "wsum")
    tuned = cli.json("--home", juspay_home, "tune", "--queries", query_files["labelled"], *FAST, "--fusion", "rrf",
                     "--apply", "--json")
    after = cli.json("--home", juspay_home, "search", "refund failed", "--json")["settings"]
    assert (after["weights"], after["method"], after["norm"]) == (tuned["weights"], "rrf", tuned["norm"])
    # tuning again starts from the applied setting: its "current" is the tuned setting, scored the same
    code, out, _ = cli("--home", juspay_home, "tune", "--queries", query_files["labelled"], *FAST, "--fusion", "rrf")
    assert code == 0
    current = next(line for line in out.splitlines() if line.startswith("current (rrf)"))
    assert current.split()[-1] == f"{tuned['score']:.4f}"


def test_human_output_is_a_small_table_and_notes_what_was_ignored(juspay_home, query_files, cli):
    code, out, err = cli("--home", juspay_home, "tune", "--queries", query_files["queries"],
                         "--qrels", query_files["trec"], *FAST, "--norm", "minmax")
    assert code == 0
    for label in ("tuned, cross-validated", "tuned (wsum)", "current (wsum)", "default (wsum)", "dense only",
                  "bm25 only", "tfidf only", "MLflow: run ", "Not applied: add --apply"):
        assert label in out
    assert "±" in out and "3-fold CV" in out
    assert "1 judged query not in the query file (ignored)" in err
    assert not (juspay_home / "sherlock.toml").exists()


@pytest.mark.parametrize(("argv", "message"), [
    ([], "give --queries"),
    (["--demo", "--queries", "x.jsonl"], "--demo uses"),
    (["--queries", "x.jsonl", "--metric", "ndgc@10"], "unknown metric"),
    (["--queries", "x.jsonl", "--step", "0.3"], "step must divide 1"),
    (["--queries", "x.jsonl", "--folds", "1"], "folds must be"),
    (["--queries", "missing.jsonl"], "missing.jsonl"),
])
def test_usage_errors_exit_2_before_any_scoring(juspay_home, cli, argv, message):
    code, _, err = cli("--home", juspay_home, "tune", *argv)
    assert code == 2 and message in err


def test_a_query_set_for_another_corpus_is_an_actionable_error(juspay_home, tmp_path, cli):
    labelled = tmp_path / "other.jsonl"
    labelled.write_text(json.dumps({"id": "q1", "query": "refund failed", "relevant": {"INC-00001": 1}}) + "\n")
    code, _, err = cli("--home", juspay_home, "tune", "--queries", labelled)
    assert code == 2 and "has a relevant document" in err and "1 judged document id(s) not in this workspace" in err


def test_the_demo_set_and_restrict_counts_what_is_left_out():
    demo = load_query_set(None, None, demo=True)
    assert demo.name == "demo" and len(demo.queries) == 155 and set(demo.qrels) == set(demo.queries)
    query_set = QuerySet("set", {"a": "x", "b": "y", "c": "z"},
                         {"a": {"D1": 1, "D9": 2}, "b": {"D9": 1}, "c": {"D1": 0}, "d": {"D1": 1}})
    kept = restrict(query_set, {"D1", "D2"})
    assert kept.queries == {"a": "x"} and kept.qrels == {"a": {"D1": 1}}
    assert kept.notes == ["1 judged query not in the query file (ignored)",
                          "1 judged document id(s) not in this workspace (ignored)",
                          "2 of 3 queries have no relevant document in this workspace (left out)"]
