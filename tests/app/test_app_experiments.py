"""The Experiments page with AppTest on the original SherlockAI incidents, each test with its own MLflow store: the
empty state says how to start; a logged A/B shows its numbers (checked against ``ABResult.stats``); the form runs and
logs a new A/B; a broken variant file is an error, not a traceback; the online experiment is analysed and logged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "views" / "experiments.py"
EXPERIMENTS = ROOT / "experiments"


@pytest.fixture
def settings(juspay_workspace, tmp_path, monkeypatch):
    """The shared workspace's settings with an MLflow store of this test's own; the app's cached workspace is
    dropped before and after, so it reads these settings (and the next test its own)."""
    from sherlock.config import load_settings
    from ui import resources
    monkeypatch.setenv("SHERLOCK_HOME", str(juspay_workspace.settings.home))
    monkeypatch.setenv("SHERLOCK_DEMO", "false")
    monkeypatch.setenv("SHERLOCK_MLFLOW_TRACKING_URI", f"sqlite:///{(tmp_path / 'mlflow.db').as_posix()}")
    resources.reload_settings()
    resources.ab_runs_frame.clear()
    yield load_settings()
    resources.reload_settings()


@pytest.fixture
def page(settings) -> AppTest:
    return AppTest.from_file(str(PAGE), default_timeout=120)


@pytest.fixture
def logged(settings, juspay_workspace, juspay_queries, juspay_qrels):
    """baseline vs rrf on the original SherlockAI's labelled cases, logged to this test's store."""
    from sherlock.evaluation.offline_ab import run_offline
    from sherlock.evaluation.offline_ab_mlflow import log_ab
    from sherlock.evaluation.variants import load_variant
    result = run_offline(juspay_workspace, load_variant(EXPERIMENTS / "baseline.toml"),
                         load_variant(EXPERIMENTS / "rrf.toml"), juspay_queries, juspay_qrels, resamples=2000,
                         query_set="original")
    log_ab(result, settings)
    return result


def text_of(elements) -> str:  # noqa: ANN001 - a sequence of AppTest elements
    """Their text as shown (without the backslashes that escape markdown in file names and messages)."""
    return " ".join(element.value for element in elements).replace("\\", "")


def button(app: AppTest, label: str):  # noqa: ANN201 - an AppTest Button
    return next(b for b in app.button if b.label == label)


def test_the_empty_state_says_how_to_start(page, settings):
    app = page.run()
    assert not app.exception
    info = text_of(app.info)
    assert "No offline A/B" in info and "sherlock ab baseline rrf --demo" in info
    assert f"mlflow ui --backend-store-uri {settings.tracking_uri}" in info
    assert "online_experiment" in info and "fusion-online.toml" in info  # no online experiment either
    assert not app.dataframe or all("B − A" not in frame.value.columns for frame in app.dataframe)


def test_an_unreadable_store_is_an_error_not_a_traceback(page, settings, tmp_path):
    (tmp_path / "mlflow.db").write_bytes(b"not a database" * 100)
    app = page.run()
    assert not app.exception
    assert "cannot be read" in text_of(app.error) and "No offline A/B" in text_of(app.info)


def test_a_logged_ab_shows_its_numbers(page, logged, settings, juspay_queries):
    from mlflow.tracking import MlflowClient
    app = page.run()
    assert not app.exception and not app.error
    runs, table = app.dataframe[0].value, app.dataframe[1].value
    assert list(runs["name"]) == ["baseline vs rrf"] and runs["query set"].iloc[0] == "original"
    ndcg = logged.stats["ndcg@10"]
    assert runs["B − A"].iloc[0] == pytest.approx(ndcg["diff"])
    assert runs["Holm p"].iloc[0] == pytest.approx(ndcg["p_holm"])
    assert runs["W/T/L (primary)"].iloc[0] == "{}/{}/{}".format(*logged.outcome())
    # each arm with the weights, fusion and norm it ranked with, in the table and above the comparison
    assert runs["A setting"].iloc[0] == "weights=0.6,0.3,0.1, fusion=wsum, norm=minmax"
    assert runs["B setting"].iloc[0] == "weights=1,1,1, fusion=rrf, norm=minmax"
    assert any("A = baseline (weights=0.6,0.3,0.1, fusion=wsum, norm=minmax) · B = rrf (weights=1,1,1, fusion=rrf, "
               "norm=minmax)" in text_of([m]).replace("*", "") for m in app.markdown)
    # and the link that opens MLflow's UI on the runs, not on its GenAI traces
    experiment = MlflowClient(tracking_uri=settings.tracking_uri).get_experiment_by_name("sherlock-ab").experiment_id
    assert f"/#/experiments/{experiment}/runs?workflowType=machine_learning" in text_of(app.caption)
    # the default pick is the newest A/B's arms, compared again from their logged per-query scores
    assert list(table["metric"]) == logged.metrics
    for row in table.itertuples(index=False):
        entry = logged.stats[row.metric]
        assert (row.A, row.B, row[3]) == pytest.approx((entry["a"], entry["b"], entry["diff"]))
        assert row[4] == f"[{entry['ci95'][0]:+.4f}, {entry['ci95'][1]:+.4f}]"
        assert list(row[5:9]) == pytest.approx([entry[k] for k in ("p_paired_t", "p_wilcoxon", "p_permutation",
                                                                      "p_welch")])
        assert (row[9], row[10]) == pytest.approx((entry["cohens_d"], entry["p_holm"]))
        better = "B" if entry["diff"] > 0 else "A"
        assert row.significant == (f"✓ {better} better (p={entry['p_holm']:.2g})" if entry["significant"] else "–")
    wins, ties, losses = logged.outcome()
    assert [tile.value for tile in app.metric] == [f"{wins:,}", f"{ties:,}", f"{losses:,}"]
    charts = [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]
    assert any(trace["type"] == "histogram" for spec in charts for trace in spec["data"])
    scatter = [trace for spec in charts for trace in spec["data"] if trace.get("mode") == "markers"]
    assert scatter and {query for trace in scatter for _, query in trace["customdata"]} <= set(juspay_queries.values())
    per_query = app.dataframe[2].value
    assert len(per_query) == len(juspay_queries) and set(per_query["qid"]) == set(juspay_queries)


def test_two_arms_of_different_query_sets_are_compared_on_the_shared_queries(page, logged, settings, juspay_workspace,
                                                                             juspay_queries, juspay_qrels):
    from sherlock.evaluation.offline_ab import run_offline
    from sherlock.evaluation.offline_ab_mlflow import list_runs, log_ab
    from sherlock.evaluation.variants import default_variant, load_variant
    fewer = dict(list(juspay_queries.items())[:20])
    log_ab(run_offline(juspay_workspace, default_variant(), load_variant(EXPERIMENTS / "bm25-heavy.toml"), fewer,
                       juspay_qrels, resamples=1000, query_set="first 20"), settings)
    runs = list_runs(settings)
    old_rrf = runs[(runs["variant"] == "rrf")]["run_id"].iloc[0]
    app = page.run()
    app.selectbox(key=next(s.key for s in app.selectbox if s.label.startswith("Arm A"))).set_value(old_rrf).run()
    assert not app.exception and not app.error
    assert app.warning and "only the 20 queries both hold" in app.warning[0].value
    assert len(app.dataframe[2].value) == 20


def test_a_new_ab_from_the_form_is_logged(page, settings, with_feedback):
    from sherlock.evaluation.offline_ab_mlflow import list_runs
    app = page.run()
    app.radio(key="query_set_source").set_value("Chat feedback").run()
    assert [s.value for s in app.selectbox if s.label.startswith("Arm")] == ["workspace", "rrf"]
    # the workspace arm says what it ranks with, not just "the workspace's settings"
    assert "the workspace's settings: weights=0.6,0.3,0.1, fusion=wsum, norm=minmax" in [
        c.value.replace("\\", "") for c in app.caption]
    app.number_input[0].set_value(1000)
    button(app, "Run A/B").click().run()
    assert not app.exception and not app.error, (app.exception, app.error)
    runs = list_runs(settings)
    parents = runs[runs["kind"] == "ab-offline"]
    assert list(parents["name"]) == ["workspace vs rrf"] and parents["query_set"].iloc[0] == "feedback"
    assert sorted(runs[runs["kind"] == "ab-arm"]["arm"]) == ["a", "b"]
    assert app.success and parents["run_id"].iloc[0] in app.success[0].value
    assert list(app.dataframe[0].value["run_id"]) == list(parents["run_id"])  # the runs table is refreshed
    assert app.session_state["ab_result"].params["resamples"] == 1000


def test_an_ab_that_cannot_be_logged_is_still_shown(page, with_feedback, monkeypatch):
    from ui import resources
    monkeypatch.setenv("SHERLOCK_MLFLOW_TRACKING_URI", "sqlite:////proc/no-such-dir/mlflow.db")  # unwritable
    resources.reload_settings()
    app = page.run()
    app.radio(key="query_set_source").set_value("Chat feedback").run()
    app.number_input[0].set_value(1000)
    button(app, "Run A/B").click().run()
    assert not app.exception and not app.error
    assert "could not be logged to MLflow" in text_of(app.warning)
    assert "MLflow run" not in app.success[0].value and app.session_state["ab_result"].name == "workspace vs rrf"
    assert any(frame.value.columns[0] == "metric" for frame in app.dataframe)  # the comparison is drawn


def test_a_broken_variant_file_is_an_error_not_a_traceback(page, settings, tmp_path, monkeypatch):
    folder = tmp_path / "experiments"
    folder.mkdir()
    (folder / "typo.toml").write_text('name = "typo"\n\n[search]\nwieghts = [1, 1, 1]\n', encoding="utf-8")
    monkeypatch.setenv("SHERLOCK_EXPERIMENTS_DIR", str(folder))
    from ui import resources
    resources.reload_settings()
    app = page.run()
    app.selectbox(key="new-b").set_value("typo").run()
    assert not app.exception
    assert "unknown key [search] 'wieghts'" in text_of(app.error) and "typo.toml:4" in text_of(app.error)
    assert button(app, "Run A/B").disabled


def online_file(folder: Path, body: str) -> Path:
    path = folder / "t-online.toml"
    path.write_text(body, encoding="utf-8")
    return path


def test_the_online_experiment_is_analysed_and_logged(page, settings, tmp_path, monkeypatch, juspay_workspace):
    from mlflow.tracking import MlflowClient

    from sherlock.storage.feedback import FeedbackStore
    from ui import resources
    name = f"t-{tmp_path.name}"  # votes of this test's experiment only, in the shared feedback store
    path = online_file(tmp_path, f'[online]\nname = "{name}"\nholdout = 0\n[online.variants]\ncontrol = "workspace"\n'
                                 f'rrf = "{(EXPERIMENTS / "rrf.toml").as_posix()}"\n')
    store = FeedbackStore(juspay_workspace.settings.feedback_path)
    for session, arm, helpful in [("s1", "control", True), ("s2", "control", False), ("s3", "rrf", True),
                                  ("s4", "rrf", True), ("s4", "rrf", False)]:
        store.record("refund failed", [], helpful, session_id=session, variant=arm, experiment=name)
    store.close()
    monkeypatch.setenv("SHERLOCK_ONLINE_EXPERIMENT", str(path))
    resources.reload_settings()
    app = page.run()
    assert not app.exception and not app.error
    arms = next(frame.value for frame in app.dataframe if "helpful rate" in frame.value.columns)
    assert list(arms["arm"]) == ["control", "rrf", "holdout"]
    assert list(arms["votes"]) == [2, 3, 0] and list(arms["sessions"]) == [2, 2, 0]
    assert arms["helpful rate"].iloc[:2].tolist() == pytest.approx([0.5, 2 / 3])
    comparisons = next(frame.value for frame in app.dataframe if "test" in frame.value.columns)
    assert comparisons["arm"].tolist() == ["rrf"] and comparisons["test"].iloc[0] == "fisher"
    bars = [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]
    assert any(trace["type"] == "bar" and "error_y" in trace for spec in bars for trace in spec["data"])
    button(app, "Log to MLflow").click().run()
    assert not app.exception and app.success and "sherlock-ab-online" in app.success[0].value
    client = MlflowClient(tracking_uri=settings.tracking_uri)
    assert client.search_runs([client.get_experiment_by_name("sherlock-ab-online").experiment_id])
    # set by the environment, which the settings file cannot override: no Stop button, a caption saying why
    assert not any(b.label == "Stop the experiment" for b in app.button)
    assert "SHERLOCK_ONLINE_EXPERIMENT" in text_of(app.caption)


def test_a_broken_online_experiment_is_an_error(page, tmp_path, monkeypatch):
    from ui import resources
    path = online_file(tmp_path, '[online]\nname = "t"\nholdout = 1.5\n[online.variants]\na = "workspace"\n'
                                 'b = "workspace"\n')
    monkeypatch.setenv("SHERLOCK_ONLINE_EXPERIMENT", str(path))
    resources.reload_settings()
    app = page.run()
    assert not app.exception
    assert "holdout" in text_of(app.error) and "t-online.toml:3" in text_of(app.error)


def test_an_online_experiment_starts_and_stops_from_the_page(settings_file, page, settings, tmp_path, monkeypatch):
    """No TOML edit, no restart: the page writes ``online_experiment`` to the workspace's sherlock.toml (its other
    lines as they were), and the app's cached settings are renewed, so chat serves the experiment next."""
    from ui import resources
    folder = tmp_path / "experiments"
    folder.mkdir()
    (folder / "rrf.toml").write_bytes((EXPERIMENTS / "rrf.toml").read_bytes())
    name = f"t-{tmp_path.name}"
    (folder / f"{name}.toml").write_text('[online]\nholdout = 0.2\n[online.variants]\ncontrol = "workspace"\n'
                                         'rrf = "rrf.toml"\n', encoding="utf-8")
    monkeypatch.setenv("SHERLOCK_EXPERIMENTS_DIR", str(folder))
    monkeypatch.delenv("SHERLOCK_ONLINE_EXPERIMENT", raising=False)
    mine = "# kept as written\nentity_multiplier = 1.15  # the default\n"
    settings_file.write_text(mine, encoding="utf-8")
    resources.reload_settings()
    app = page.run()
    assert not app.exception and "No online experiment is running" in text_of(app.info)
    assert app.selectbox(key="online-start-name").value == name
    preview = text_of(app.caption)
    assert "holdout 20%" in preview and "control 40% (control): weights=0.6,0.3,0.1, fusion=wsum, norm=minmax" in \
        preview and "rrf 40%: weights=1,1,1, fusion=rrf, norm=minmax" in preview
    button(app, "Start the experiment").click().run()
    assert not app.exception and not app.error, (app.exception, app.error)
    assert settings_file.read_text(encoding="utf-8") == mine + f'online_experiment = "{name}"\n'
    assert resources.searcher().settings.online_experiment == name  # the cached settings were renewed
    assert "Started" in text_of(app.success) and "No online experiment" not in text_of(app.info)
    arms = next(frame.value for frame in app.dataframe if "helpful rate" in frame.value.columns)
    assert list(arms["arm"]) == ["control", "rrf", "holdout"]
    assert arms["serves"].iloc[2] == ("the workspace's settings: weights=0.6,0.3,0.1, fusion=wsum, norm=minmax "
                                      "(kept out of the comparison)")
    button(app, "Stop the experiment").click().run()
    assert not app.exception and "Stopped" in text_of(app.success)
    assert settings_file.read_text(encoding="utf-8") == mine
    assert resources.searcher().settings.online_experiment is None
    assert "No online experiment is running" in text_of(app.info)
