"""``sherlock ab``: the --json contract and the MLflow runs behind it, A/A never significant, the human table, and
usage errors (a typo in a variant file, an unknown metric or variant) as exit 2 with a message that says where.

``--resamples 2000`` throughout: the statistics are computed exactly as with the default 10,000, five times faster;
no assertion here depends on the number of resamples.
"""

from __future__ import annotations

import json

import pytest

from sherlock.config import load_settings
from sherlock.evaluation.offline_ab_mlflow import arm_scores, list_runs

FAST = ["--resamples", "2000"]
STAT_KEYS = {"a", "b", "diff", "ci95", "p_paired_t", "p_wilcoxon", "p_permutation", "p_welch", "cohens_d", "p_holm",
             "significant", "better", "wins", "ties", "losses"}


def test_json_contract_and_the_mlflow_runs(juspay_home, query_files, cli, juspay_queries):
    data = cli.json("--home", juspay_home, "ab", "workspace", "experiments/rrf.toml",
                    "--queries", query_files["queries"], "--qrels", query_files["beir"], "--json", *FAST)
    assert set(data) == {"metrics", "wins", "ties", "losses", "primary", "variants", "arms", "queries", "params",
                         "seconds", "mlflow_run_ids"}
    assert list(data["metrics"]) == ["ndcg@10", "mrr@10", "recall@10"] and data["primary"] == "ndcg@10"
    for entry in data["metrics"].values():
        assert set(entry) == STAT_KEYS and len(entry["ci95"]) == 2
        assert entry["diff"] == pytest.approx(entry["b"] - entry["a"])
        assert all(0.0 <= entry[k] <= 1.0 for k in ("p_paired_t", "p_wilcoxon", "p_permutation", "p_welch", "p_holm"))
    assert data["variants"] == {"a": "workspace", "b": "rrf"} and data["queries"] == len(juspay_queries)
    assert data["arms"]["a"] == {"variant": "workspace", "weights": [0.6, 0.3, 0.1], "fusion": "wsum",
                                 "norm": "minmax"}
    for entry in data["metrics"].values():  # which arm a significant difference favours
        assert entry["better"] == (None if not entry["significant"] else "b" if entry["diff"] > 0 else "a")
    assert data["wins"] + data["ties"] + data["losses"] == len(juspay_queries)
    assert data["params"]["resamples"] == 2000 and data["params"]["query_set"] == "queries.jsonl+test.tsv"
    assert set(data["mlflow_run_ids"]) == {"parent", "a", "b"} and data["seconds"]["mlflow"] > 0

    settings = load_settings(home=juspay_home)
    runs = list_runs(settings).set_index("run_id")
    assert set(runs.index) >= set(data["mlflow_run_ids"].values())
    assert runs.loc[data["mlflow_run_ids"]["parent"], "kind"] == "ab-offline"
    scores, _ = arm_scores(settings, data["mlflow_run_ids"]["b"])
    assert scores["ndcg@10"].mean() == pytest.approx(data["metrics"]["ndcg@10"]["b"])
    assert (juspay_home / "mlflow.db").exists()


def test_a_against_itself_is_never_significant(juspay_home, query_files, cli, juspay_queries):
    data = cli.json("--home", juspay_home, "ab", "workspace", "workspace", "--queries", query_files["labelled"],
                    "--json", "--no-mlflow", *FAST)
    for entry in data["metrics"].values():
        assert [entry[k] for k in ("p_paired_t", "p_wilcoxon", "p_permutation", "p_welch", "p_holm")] == [1.0] * 5
        assert (entry["diff"], entry["ci95"], entry["cohens_d"], entry["significant"]) == (0.0, [0.0, 0.0], 0.0, False)
    assert (data["wins"], data["losses"], data["ties"]) == (0, 0, len(juspay_queries))
    assert data["mlflow_run_ids"] == {} and "mlflow" not in data["seconds"]


def test_the_table_names_both_variants_and_every_statistic(juspay_home, query_files, cli):
    code, out, _ = cli("--home", juspay_home, "ab", "baseline", "rrf", "--queries", query_files["labelled"],
                       "--metrics", "ndcg@10,mrr@10", *FAST)
    assert code == 0
    for text in ("A = baseline: weights=0.6,0.3,0.1, fusion=wsum, norm=minmax", "B = rrf: weights=1,1,1, fusion=rrf",
                 "B − A", "95% CI", "paired t p", "Wilcoxon p", "permutation p", "Welch p", "Cohen's d", "Holm p",
                 "ndcg@10: B wins on", "seconds: scoring", "mlflow ui --backend-store-uri sqlite:///"):
        assert text in out, text
    table = out.splitlines()
    assert any(line.startswith("ndcg@10 ") for line in table) and any(line.startswith("mrr@10 ") for line in table)
    assert not any(line.startswith("recall@10 ") for line in table)
    parent = list_runs(load_settings(home=juspay_home)).query("kind == 'ab-offline'")["run_id"].iloc[0]
    assert f"parent run {parent}" in out
    experiment = list_runs(load_settings(home=juspay_home))["experiment_id"].iloc[0]
    # MLflow's UI opens on GenAI traces: the link to the runs says which view
    assert f"runs: http://127.0.0.1:5000/#/experiments/{experiment}/runs?workflowType=machine_learning" in out


def test_after_tuning_the_workspace_arm_says_what_it_ranked_with(juspay_home, query_files, cli):
    """``workspace`` is whatever the workspace's sherlock.toml says now: text, JSON and MLflow name it."""
    settings_file = juspay_home / "sherlock.toml"
    settings_file.write_text('weights = [0.2, 0.7, 0.1]\nnorm = "zscore"\n')
    try:
        code, out, _ = cli("--home", juspay_home, "ab", "workspace", "rrf", "--queries", query_files["labelled"],
                           "--metrics", "ndcg@10", *FAST)
        data = cli.json("--home", juspay_home, "ab", "workspace", "rrf", "--queries", query_files["labelled"],
                        "--metrics", "ndcg@10", "--json", *FAST)
    finally:
        settings_file.unlink()
    assert code == 0
    assert "A = workspace: weights=0.2,0.7,0.1, fusion=wsum, norm=zscore" in out
    assert "B = rrf: weights=1,1,1, fusion=rrf, norm=zscore, rrf_k=60" in out
    assert data["arms"] == {"a": {"variant": "workspace", "weights": [0.2, 0.7, 0.1], "fusion": "wsum",
                                  "norm": "zscore"},
                            "b": {"variant": "rrf", "weights": [1.0, 1.0, 1.0], "fusion": "rrf", "norm": "zscore"}}
    from sherlock.evaluation.offline_ab_mlflow import run_params
    parent = run_params(load_settings(home=juspay_home), data["mlflow_run_ids"]["parent"])
    assert (parent["a.weights"], parent["a.norm"], parent["b.fusion"]) == ("0.2,0.7,0.1", "zscore", "rrf")


def test_an_mlflow_failure_warns_and_the_comparison_still_comes_out(juspay_home, query_files, tmp_path, cli,
                                                                     monkeypatch):
    (tmp_path / "not-a-folder").write_text("")
    monkeypatch.setenv("SHERLOCK_MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'not-a-folder' / 'm.db'}")
    code, out, err = cli("--home", juspay_home, "ab", "workspace", "rrf", "--queries", query_files["labelled"],
                         "--json", *FAST)
    assert code == 0 and "warning: the comparison was not logged to MLflow" in err
    assert json.loads(out)["mlflow_run_ids"] == {}


def test_a_typo_in_a_variant_file_names_the_file_line_and_valid_keys(juspay_home, query_files, tmp_path, cli):
    variant = tmp_path / "typo.toml"
    variant.write_text("[search]\nwieghts = [1, 1, 1]\n")
    code, _, err = cli("--home", juspay_home, "ab", "workspace", variant, "--queries", query_files["labelled"])
    assert code == 2
    assert f"{variant}:2: unknown key [search] 'wieghts'; valid keys: weights, fusion, norm" in err


@pytest.mark.parametrize(("argv", "message"), [
    (["workspace", "rrf", "--metrics", "ndgc@10"], "ndgc@10"),
    (["workspace", "nope"], "no variant 'nope'"),
    (["workspace", "rrf", "--alpha", "1.5"], "--alpha must lie strictly between 0 and 1"),
    (["workspace", "rrf", "--demo", "--queries", "x.jsonl"], "--demo uses"),
])
def test_usage_errors_exit_2(juspay_home, query_files, cli, argv, message):
    extra = [] if "--demo" in argv else ["--queries", query_files["labelled"]]
    code, _, err = cli("--home", juspay_home, "ab", *argv, *extra)
    assert code == 2 and message in err, err
    if "nope" in argv:
        assert "baseline" in err and "rrf" in err  # the variants there are
