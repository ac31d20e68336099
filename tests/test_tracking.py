"""Tests for sherlock.tracking: where runs go (local store or server), a run's lifecycle (FINISHED, or FAILED when the
block raises; parent tag; params, metrics and artifacts of each kind), and the reading side (paging, missing runs,
never creating a store). A temporary SQLite store each; the real ``mlflow server`` is in
tests/evaluation/test_offline_ab_mlflow.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import pytest

import sherlock.tracking as tracking
from sherlock.config import PROJECT_ROOT, load_settings
from sherlock.tracking import (
    experiment_id,
    get_run,
    git_revision,
    local_store,
    metric_key,
    mlflow_client,
    search_runs,
    start_run,
    store_exists,
)

#: The kind the MLflow UI's experiment-type picker writes for "Machine learning" (``mlflow.experimentKind``).
KIND = "custom_model_development"


@pytest.fixture
def store(tmp_path):
    """(settings, client, experiment id) of a fresh workspace's SQLite store."""
    settings = load_settings(home=tmp_path / "home", demo=False)
    client = mlflow_client(settings)
    return settings, client, experiment_id(client, settings, "t")


def test_mlflow_is_imported_only_when_used():
    code = ("import sys, sherlock.tracking, sherlock.plots.experiments, sherlock.evaluation.tuning_mlflow, "
            "sherlock.evaluation.offline_ab_mlflow, sherlock.evaluation.online_ab_mlflow; "
            "print('mlflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize(("metric", "key"), [("ndcg@10", "ndcg_at_10"), ("hit_rate@1", "hit_rate_at_1"),
                                             ("map", "map"), ("recall@100", "recall_at_100")])
def test_metric_keys_are_valid_mlflow_names(metric, key):
    assert metric_key(metric) == key


def test_git_revision_of_a_checkout_and_of_anything_else(tmp_path, monkeypatch):
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True).stdout
    revision = git_revision()
    assert revision.removesuffix("+dirty") == head.strip() and len(head.strip()) == 40
    assert git_revision(tmp_path) == "unknown"  # not a git checkout
    monkeypatch.setenv("PATH", str(tmp_path))  # no git at all
    assert git_revision() == "unknown"


@pytest.mark.parametrize(("uri", "local"), [("sqlite:////tmp/home/mlflow.db", True), ("sqlite:///mlflow.db", True),
                                            ("file:///tmp/mlruns", True), ("/tmp/mlruns", True),
                                            ("http://127.0.0.1:5000", False), ("https://mlflow.example.com", False)])
def test_only_a_local_store_gets_the_workspace_artifact_folder(uri, local):
    assert local_store(uri) is local


def test_a_server_experiment_leaves_artifacts_to_the_server(tmp_path):
    created = {}

    class Client:  # records what experiment_id asks of the client
        def get_experiment_by_name(self, name):
            return None

        def create_experiment(self, name, artifact_location=None, tags=None):
            created.update(name=name, artifact_location=artifact_location, tags=tags)
            return "1"

    settings = load_settings(home=tmp_path / "home", demo=False, mlflow_tracking_uri="http://127.0.0.1:5000")
    assert experiment_id(Client(), settings, "x") == "1"
    assert created == {"name": "x", "artifact_location": None, "tags": {"mlflow.experimentKind": KIND}}
    assert not settings.artifacts_path.exists()


def test_a_new_experiment_is_a_model_training_one_and_an_old_one_is_left_as_it_is(store):
    settings, client, experiment = store
    assert client.get_experiment(experiment).tags["mlflow.experimentKind"] == KIND
    old = client.create_experiment("made elsewhere")  # e.g. by an older Sherlock: found by name, not touched
    assert experiment_id(client, settings, "made elsewhere") == old
    assert "mlflow.experimentKind" not in client.get_experiment(old).tags


def test_store_exists_only_once_created(store, tmp_path):
    settings, _, _ = store
    assert store_exists(settings.tracking_uri) and (settings.home / "mlflow.db").is_file()
    assert not store_exists(f"sqlite:///{(tmp_path / 'none.db').as_posix()}")
    assert not store_exists((tmp_path / "mlruns").as_uri()) and store_exists("http://127.0.0.1:1")


def test_a_run_with_everything_ends_finished(store, tmp_path):
    settings, client, experiment = store
    frame = pd.DataFrame({"qid": ["q1", "q2"], "ndcg@10": [0.5, 1.0]})
    with start_run(client, experiment, "parent", {"sherlock.kind": "x"}) as parent:
        parent.log({"score": 1, "ndcg_at_10.diff": 0.25}, {"seed": 0, "weights": (0.6, 0.4)}, {"sherlock.more": "y"})
        with start_run(client, experiment, "child", parent=parent.run_id) as child:
            child.log_frame(frame, "per_query.csv")
            child.log_frame(frame, "tables/again.csv")
        (folder := tmp_path / "folder").mkdir()
        (folder / "a.txt").write_text("a")
        parent.log_artifacts(folder)
        parent.log_text(json.dumps({"x": 1}), "result.json")
        parent.log_figure(go.Figure(go.Bar(x=["a"], y=[1]), layout={"title": "my plot"}), "plots/bar.html")
    run, kid = get_run(client, parent.run_id), get_run(client, child.run_id)
    assert (run.info.status, kid.info.status, run.info.run_name, kid.info.run_name) == (
        "FINISHED", "FINISHED", "parent", "child")
    assert run.data.metrics == {"score": 1.0, "ndcg_at_10.diff": 0.25}
    assert run.data.params == {"seed": "0", "weights": "(0.6, 0.4)"}
    assert {"sherlock.kind": "x", "sherlock.more": "y"}.items() <= run.data.tags.items()
    assert "mlflow.parentRunId" not in run.data.tags and kid.data.tags["mlflow.parentRunId"] == parent.run_id
    folder = settings.artifacts_path / parent.run_id / "artifacts"  # under the workspace
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.*")) == [
        "a.txt", "plots/bar.html", "result.json"]
    assert "my plot" in (folder / "plots" / "bar.html").read_text()
    saved = Path(client.download_artifacts(child.run_id, "tables/again.csv", str(tmp_path)))
    pd.testing.assert_frame_equal(pd.read_csv(saved), frame)


def test_a_run_whose_block_raises_ends_failed_and_the_error_goes_on(store):
    _, client, experiment = store
    with pytest.raises(KeyboardInterrupt), start_run(client, experiment, "broken") as run:
        run.log({"score": 1})
        raise KeyboardInterrupt
    assert get_run(client, run.run_id).info.status == "FAILED"


def test_runs_are_read_newest_first_page_by_page(store, monkeypatch):
    settings, client, experiment = store
    ids = []
    for i in range(5):
        with start_run(client, experiment, f"run {i}") as run:
            ids.append(run.run_id)
    monkeypatch.setattr(tracking, "PAGE_SIZE", 2)
    assert [run.info.run_id for run in search_runs(settings, "t")] == ids[::-1]
    assert [run.info.run_id for run in search_runs(settings, "t", max_results=3)] == ids[::-1][:3]
    assert search_runs(settings, "no such experiment") == []


def test_reading_never_creates_a_store_and_a_missing_run_is_a_value_error(store, tmp_path):
    home = tmp_path / "never-used"
    assert search_runs(load_settings(home=home, demo=False), "t") == [] and not home.exists()
    _, client, _ = store
    with pytest.raises(ValueError, match=r"no MLflow run 'f00' in sqlite:///.*mlflow\.db"):
        get_run(client, "f00")
