"""Tests for sherlock.evaluation.offline_ab_mlflow: an offline A/B on the original SherlockAI incidents (workspace
settings vs experiments/rrf.toml) logged to a temporary SQLite store and read back with MlflowClient — one parent and
two children, parameters, metrics and artifacts as computed (the per-query difference plots as plotly HTML);
``arm_scores`` gives back the per-query frames and ``compare_scores`` on them reproduces the statistics; ``list_runs``
never creates a store; and the same through a real ``mlflow server`` (its artifact proxy, not the workspace's folder).
The store-level helpers (sherlock.tracking) are tested in tests/test_tracking.py.

``resamples=2000`` everywhere: the bootstrap and permutation tests are exercised the same way as with 10,000, in a
fifth of the time; nothing asserted here depends on the number of resamples.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pandas as pd
import pytest

from sherlock.config import PROJECT_ROOT, load_settings
from sherlock.evaluation.offline_ab import compare_scores, run_offline
from sherlock.evaluation.offline_ab_mlflow import (
    RUN_COLUMNS,
    STATISTICS,
    arm_scores,
    list_runs,
    log_ab,
    run_params,
    runs_url,
    variant_toml,
)
from sherlock.evaluation.variants import default_variant, load_variant, parse_variant
from sherlock.tracking import git_revision, metric_key

RESAMPLES = 2000
METRICS = ["ndcg@10", "mrr@10", "recall@10"]


@pytest.fixture(scope="module")
def result(juspay_workspace, juspay_queries, juspay_qrels):
    return run_offline(juspay_workspace, default_variant(), load_variant(PROJECT_ROOT / "experiments" / "rrf.toml"),
                       juspay_queries, juspay_qrels, metrics=METRICS, resamples=RESAMPLES,
                       query_set="juspay-expectations")


@pytest.fixture(scope="module")
def logged(result, tmp_path_factory):
    """The comparison logged once to a fresh workspace's SQLite store: (settings, run ids, MlflowClient)."""
    from mlflow.tracking import MlflowClient
    settings = load_settings(home=tmp_path_factory.mktemp("ab-store"), demo=False)
    ids = log_ab(result, settings)
    return settings, ids, MlflowClient(tracking_uri=settings.tracking_uri)


def test_one_parent_run_with_a_child_per_arm(result, logged):
    settings, ids, client = logged
    assert result.mlflow_run_ids == ids and set(ids) == {"parent", "a", "b"}
    parent, a, b = (client.get_run(ids[k]) for k in ("parent", "a", "b"))
    assert parent.info.run_name == "workspace vs rrf" and (a.info.run_name, b.info.run_name) == ("workspace", "rrf")
    assert {run.info.status for run in (parent, a, b)} == {"FINISHED"}
    assert len({run.info.experiment_id for run in (parent, a, b)}) == 1
    assert client.get_experiment(parent.info.experiment_id).name == "sherlock-ab"
    shared = {"sherlock.query_set": "juspay-expectations", "sherlock.query_set_hash": result.params["query_set_hash"],
              "sherlock.corpus_revision": str(result.params["corpus_revision"]),
              "sherlock.git_revision": git_revision(), "sherlock.home": str(settings.home)}
    for run in (parent, a, b):
        assert shared.items() <= run.data.tags.items()
    assert {"sherlock.kind": "ab-offline", "sherlock.variant_a": "workspace", "sherlock.variant_b": "rrf",
            "sherlock.primary_metric": "ndcg@10"}.items() <= parent.data.tags.items()
    assert "mlflow.parentRunId" not in parent.data.tags
    for arm, run in (("a", a), ("b", b)):
        assert {"sherlock.kind": "ab-arm", "sherlock.arm": arm, "mlflow.parentRunId": ids["parent"],
                "sherlock.variant": result.variants[arm].name}.items() <= run.data.tags.items()


def test_parameters_are_the_resolved_configurations(result, logged):
    _, ids, client = logged
    for arm in ("a", "b"):
        assert client.get_run(ids[arm]).data.params == result.arm_params[arm]
    assert client.get_run(ids["b"]).data.params["search.fusion"] == "rrf"
    assert client.get_run(ids["a"]).data.params["search.weights"] == "0.6,0.3,0.1"
    # the parent names how each arm ranked, resolved: `workspace` is the workspace's 0.6/0.3/0.1 over minmax, and
    # rrf.toml, which sets no norm, gets the workspace's
    expected = {**{k: str(v) for k, v in result.params.items()}, "variant_a": "workspace", "variant_b": "rrf",
                "a.weights": "0.6,0.3,0.1", "a.fusion": "wsum", "a.norm": "minmax",
                "b.weights": "1,1,1", "b.fusion": "rrf", "b.norm": "minmax"}
    parent = client.get_run(ids["parent"])
    assert parent.data.params == expected
    assert parent.data.tags["mlflow.note.content"] == ("A = workspace: weights=0.6,0.3,0.1, fusion=wsum, norm=minmax\n"
                                                       "B = rrf: weights=1,1,1, fusion=rrf, norm=minmax")
    assert client.get_run(ids["a"]).data.tags["mlflow.note.content"] == "weights=0.6,0.3,0.1, fusion=wsum, norm=minmax"


def test_metrics_are_the_computed_statistics(result, logged, juspay_queries):
    _, ids, client = logged
    logged_metrics = client.get_run(ids["parent"]).data.metrics
    for metric in METRICS:
        entry, key = result.stats[metric], metric_key(metric)
        for name in STATISTICS:
            assert logged_metrics[f"{key}.{name}"] == pytest.approx(entry[name], rel=1e-12, abs=1e-15), name
        assert [logged_metrics[f"{key}.ci95_lo"], logged_metrics[f"{key}.ci95_hi"]] == pytest.approx(entry["ci95"])
    wins, ties, losses = result.outcome()
    assert (logged_metrics["wins"], logged_metrics["ties"], logged_metrics["losses"]) == (wins, ties, losses)
    assert logged_metrics["queries"] == len(juspay_queries) == wins + ties + losses
    assert logged_metrics["seconds_total"] == pytest.approx(result.seconds["total"])
    for arm in ("a", "b"):
        means = client.get_run(ids[arm]).data.metrics
        assert means == pytest.approx({metric_key(m): result.scores[arm][m].mean() for m in METRICS})


def test_artifacts(result, logged, tmp_path):
    settings, ids, client = logged
    names = {k: sorted(f.path for f in client.list_artifacts(ids[k])) for k in ids}
    assert names["parent"] == ["per_query.csv", "plots", "result.json"]
    plots = sorted(f.path for f in client.list_artifacts(ids["parent"], "plots"))
    assert plots == sorted(f"plots/{metric_key(m)}_{kind}.html" for m in METRICS for kind in ("histogram", "scatter"))
    assert names["a"] == names["b"] == ["per_query.csv", "variant.toml"]
    assert (settings.artifacts_path / ids["parent"] / "artifacts" / "result.json").exists()  # under the workspace
    def fetch(run: str, name: str) -> Path:
        return Path(client.download_artifacts(ids[run], name, str(tmp_path)))

    saved = json.loads(fetch("parent", "result.json").read_text())
    assert saved["mlflow_run_ids"] == ids and saved["metrics"]["ndcg@10"]["diff"] == result.stats["ndcg@10"]["diff"]
    histogram = fetch("parent", "plots/ndcg_at_10_histogram.html").read_text()
    scatter = fetch("parent", "plots/ndcg_at_10_scatter.html").read_text()
    assert "Plotly.newPlot" in histogram and "rrf − workspace per query" in histogram
    assert "ndcg@10 per query: workspace vs rrf" in scatter and "B better" in scatter
    per_query = pd.read_csv(fetch("parent", "per_query.csv"), dtype={"qid": str})
    assert list(per_query["qid"]) == list(result.scores["a"].index)
    assert per_query["ndcg@10 diff"].to_numpy() == pytest.approx(result.per_query()["ndcg@10 diff"].to_numpy())
    assert list(pd.read_csv(fetch("b", "per_query.csv")).columns) == ["qid", "query", *METRICS]
    assert fetch("b", "variant.toml").read_text() == (PROJECT_ROOT / "experiments" / "rrf.toml").read_text()


def test_a_variant_made_in_code_is_saved_as_toml_that_reads_back_the_same():
    made = parse_variant("description = 'a \"quoted\" one'\n[search]\nweights = [0.2, 0.5, 0.3]\nfusion = 'dbsf'\n"
                         "entity_boost = false\nk = 5\n[answer]\nprovider = 'extractive'\n", name="made")
    again = parse_variant(variant_toml(made))
    assert (again.name, again.description, again.overrides(), again.search.k) == (
        "made", 'a "quoted" one', made.overrides(), 5)
    assert parse_variant(variant_toml(default_variant())).overrides() == {}


def test_arm_scores_read_back_the_frames_and_reproduce_the_statistics(result, logged):
    settings, ids, _ = logged
    a, queries = arm_scores(settings, ids["a"])
    b, _ = arm_scores(settings, ids["b"])
    pd.testing.assert_frame_equal(a, result.scores["a"], check_exact=True)
    pd.testing.assert_frame_equal(b, result.scores["b"], check_exact=True)
    assert queries == result.queries
    assert compare_scores(a, b, METRICS, resamples=RESAMPLES, seed=0, alpha=0.05) == result.stats


def test_arm_scores_refuses_what_is_not_an_arm(logged):
    settings, ids, _ = logged
    with pytest.raises(ValueError, match=r"is a 'ab-offline' run .* pick an arm run"):
        arm_scores(settings, ids["parent"])
    with pytest.raises(ValueError, match="no MLflow run 'f00'"):
        arm_scores(settings, "f00")


def test_run_params_flattens_parameters_and_tags(logged):
    settings, ids, _ = logged
    b = run_params(settings, ids["b"])
    assert (b["search.fusion"], b["search.rrf_k"], b["sherlock.arm"], b["sherlock.kind"]) == (
        "rrf", "60", "b", "ab-arm")
    assert (b["run_id"], b["parent_run_id"], b["run_name"], b["status"]) == (ids["b"], ids["parent"], "rrf", "FINISHED")
    assert not any(key.startswith("mlflow.") for key in b)
    assert run_params(settings, ids["parent"])["variant_b"] == "rrf"


def test_list_runs_newest_first(result, tmp_path):
    settings = load_settings(home=tmp_path, demo=False)
    first = log_ab(result, settings)
    second = log_ab(result, settings)
    runs = list_runs(settings)
    assert list(runs.columns[:len(RUN_COLUMNS)]) == RUN_COLUMNS and len(runs) == 6
    assert runs["start_time"].is_monotonic_decreasing and str(runs["start_time"].dt.tz) == "UTC"
    assert set(runs["run_id"]) == {*first.values(), *second.values()}
    assert runs["run_id"].iloc[0] in second.values()  # the second comparison's runs were started last
    parents = runs[runs["kind"] == "ab-offline"]
    arms = runs[runs["kind"] == "ab-arm"].set_index("run_id")
    assert len(parents) == 2 and len(arms) == 4 and set(arms["parent_run_id"]) == {first["parent"], second["parent"]}
    assert arms.loc[first["b"], ["arm", "variant", "name", "status"]].tolist() == ["b", "rrf", "rrf", "FINISHED"]
    assert arms.loc[first["a"], "setting"] == "weights=0.6,0.3,0.1, fusion=wsum, norm=minmax"
    assert arms.loc[first["b"], "setting"] == "weights=1,1,1, fusion=rrf, norm=minmax"
    assert set(parents["setting"]) == {""} and runs["experiment_id"].nunique() == 1
    assert result.mlflow_experiment_id == runs["experiment_id"].iloc[0]
    assert runs_url(settings, result.mlflow_experiment_id) == (
        f"http://127.0.0.1:5000/#/experiments/{result.mlflow_experiment_id}/runs?workflowType=machine_learning")
    served = load_settings(home=tmp_path, demo=False, mlflow_tracking_uri="https://mlflow.example.com/")
    assert runs_url(served, "7") == "https://mlflow.example.com/#/experiments/7/runs?workflowType=machine_learning"
    assert arms.loc[first["a"], "ndcg_at_10"] == pytest.approx(result.scores["a"]["ndcg@10"].mean())
    parent = parents.set_index("run_id").loc[first["parent"]]
    assert parent["ndcg_at_10.p_holm"] == pytest.approx(result.stats["ndcg@10"]["p_holm"])
    assert (parent["query_set"], parent["git_revision"]) == ("juspay-expectations", git_revision())
    assert list_runs(settings, max_results=4)["run_id"].tolist() == runs["run_id"].tolist()[:4]


def test_listing_never_creates_a_store(logged, tmp_path):
    home = tmp_path / "never-used"
    empty = list_runs(load_settings(home=home, demo=False))
    assert empty.empty and list(empty.columns) == RUN_COLUMNS and not home.exists()
    settings, _, _ = logged
    assert list_runs(settings, experiment="fusion-tuning").empty  # a store without that experiment


def test_failed_logging_marks_the_runs_failed(result, tmp_path, monkeypatch):
    import sherlock.evaluation.offline_ab_mlflow as module

    def broken(*args):
        raise RuntimeError("disk full")

    settings = load_settings(home=tmp_path, demo=False)
    monkeypatch.setattr(module, "delta_figures", broken)  # the last step: both arms are logged by then
    before = dict(result.mlflow_run_ids)
    with pytest.raises(RuntimeError, match="disk full"):
        log_ab(result, settings)
    runs = list_runs(settings)
    assert len(runs) == 3 and set(runs["status"]) == {"FAILED"} and result.mlflow_run_ids == before


# -- a real tracking server ------------------------------------------------------------------------------------------

@pytest.fixture
def mlflow_server(tmp_path, start_server):
    """``mlflow server`` on a free localhost port with its own SQLite store and artifact folder (proxied)."""
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false", "MLFLOW_ENABLE_TELEMETRY": "false",
           "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "1"}

    def command(port: int) -> list[str]:
        return [str(Path(sys.executable).parent / "mlflow"), "server", "--backend-store-uri",
                f"sqlite:///{tmp_path / 's.db'}", "--artifacts-destination", str(tmp_path / "art"), "--host",
                "127.0.0.1", "--port", str(port), "--workers", "1"]

    with start_server(command, tmp_path / "mlflow-server.log", env, health="/health", timeout=90) as url:
        yield url, tmp_path / "art"


@pytest.mark.server
@pytest.mark.slow
def test_logging_to_and_reading_from_an_mlflow_server(result, mlflow_server, tmp_path, capsys):
    url, served_artifacts = mlflow_server
    settings = load_settings(home=tmp_path / "home", demo=False, mlflow_tracking_uri=url)
    ids = log_ab(result, settings)
    assert "View run" not in capsys.readouterr().out  # the client's links would corrupt `sherlock ab --json`
    runs = list_runs(settings)
    assert set(runs["run_id"]) == set(ids.values()) and set(runs["status"]) == {"FINISHED"}
    assert sorted(runs["kind"]) == ["ab-arm", "ab-arm", "ab-offline"]
    scores, queries = arm_scores(settings, ids["b"])
    pd.testing.assert_frame_equal(scores, result.scores["b"], check_exact=True)
    assert queries == result.queries and run_params(settings, ids["a"])["search.fusion"] == "wsum"
    from mlflow.tracking import MlflowClient
    client = MlflowClient(tracking_uri=url)
    assert client.get_experiment_by_name("sherlock-ab").artifact_location.startswith("mlflow-artifacts:")
    assert list(served_artifacts.rglob("per_query.csv")) and not settings.artifacts_path.exists()
