"""The fusion tuning page with AppTest on the original SherlockAI incidents: the demo set is refused politely, and a
query set derived from chat feedback is tuned end to end (scoring, simplex, charts, per-query rankings)."""

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def page(juspay_workspace, monkeypatch):
    monkeypatch.setenv("SHERLOCK_HOME", str(juspay_workspace.settings.home))
    monkeypatch.setenv("SHERLOCK_DEMO", "false")
    return AppTest.from_file(str(ROOT / "views" / "tuning.py"), default_timeout=120)


def charts(app: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]


def test_the_demo_set_is_refused_on_a_workspace_without_the_demo_corpus(page):
    app = page.run()
    assert not app.exception
    assert app.radio(key="query_set_source").value == "Demo labelled set"
    assert any("demo corpus" in warning.value for warning in app.warning)
    run = next(button for button in app.button if button.label == "Run tuning")
    assert run.disabled


def tile(app: AppTest, label: str) -> str:
    return next(metric.value for metric in app.metric if metric.label == label)


def run_tuning(app: AppTest) -> AppTest:
    next(button for button in app.button if button.label == "Run tuning").click().run()
    assert not app.exception, app.exception
    assert not app.error
    return app


def tuned_on_feedback(page: AppTest) -> AppTest:
    app = page.run()
    app.radio(key="query_set_source").set_value("Chat feedback").run()
    assert not app.exception and not app.warning
    assert "5 of 5 queries usable" in " ".join(caption.value for caption in app.caption)
    app.number_input[0].set_value(2)
    return run_tuning(app)


def test_tuning_on_the_feedback_set(page, with_feedback, juspay_workspace):
    settings_file = juspay_workspace.settings.home / "sherlock.toml"
    before = settings_file.read_bytes() if settings_file.exists() else None
    app = tuned_on_feedback(page)
    specs = charts(app)
    assert any(trace["type"] == "scatterternary" for spec in specs for trace in spec["data"])
    marked = {trace.get("name", "") for spec in specs for trace in spec["data"]}
    assert {"default", "current", "best"} <= {name.split(" ")[0] for name in marked}
    bars = [spec for spec in specs if any(trace["type"] == "bar" for trace in spec["data"])]
    assert bars and all("error_y" in trace for trace in bars[0]["data"])
    assert {"dense", "bm25", "tfidf", "default", "current", "tuned"} == {x for trace in bars[0]["data"]
                                                                          for x in trace["x"]}
    assert any(metric.label.startswith("Tuned (CV") for metric in app.metric)
    assert any(trace["type"] == "histogram" for spec in specs for trace in spec["data"])
    assert len(app.dataframe) == 3  # the worst queries, then the current and tuned top 10 of the first one
    assert "JSP-" in app.dataframe[1].value["id"].iloc[0]
    assert "MLflow run `" in app.markdown[0].value and "not logged" not in app.markdown[0].value
    # Another metric re-evaluates the surface without scoring the queries again.
    pool = app.session_state["tuning_pool"]
    app.selectbox[0].set_value("mrr@10").run()
    run_tuning(app)
    assert app.session_state["tuning_pool"] is pool
    assert app.session_state["tuning_search"]["result"].metric == "mrr@10"
    assert (settings_file.read_bytes() if settings_file.exists() else None) == before  # nothing applied


def tuned_on_upload(page: AppTest, queries: dict, qrels: dict) -> AppTest:
    """Tuned on the original SherlockAI's labelled cases, uploaded as a labelled JSONL (on the five feedback queries
    every setting scores 1.0, so an applied setting could not show)."""
    app = page.run()
    app.radio(key="query_set_source").set_value("Upload").run()
    text = "".join(json.dumps({"id": qid, "query": query, "relevant": qrels[qid]}) + "\n"
                   for qid, query in queries.items())
    app.file_uploader[0].set_value([("labelled.jsonl", text.encode(), "application/octet-stream")]).run()
    app.number_input[0].set_value(2)
    return run_tuning(app)


def test_apply_writes_the_tuned_setting_and_search_reloads_it(settings_file, page, juspay_workspace, juspay_queries,
                                                               juspay_qrels):
    from sherlock.config import read_settings_file
    from ui import resources
    home = juspay_workspace.settings.home
    settings_file.write_text("weights = [0.0, 0.0, 1.0]\n")  # TF-IDF alone: a current setting tuning improves on
    resources.reload_settings()
    app = tuned_on_upload(page, juspay_queries, juspay_qrels)
    result = app.session_state["tuning_search"]["result"]
    assert app.session_state["tuning_search"]["current"] == ((0.0, 0.0, 1.0), "wsum", "minmax")
    assert tile(app, "Current setting") == f"{result.current_score:.3f}" != f"{result.score:.3f}"
    stale = resources.searcher()
    next(button for button in app.button if button.label == "Apply these weights").click().run()
    assert not app.exception and app.success and "sherlock.toml" in app.success[0].value
    # the current setting is now the tuned one, and its tile, mark and per-query scores say so at once
    assert tile(app, "Current setting") == f"{result.score:.3f}"
    applied = app.session_state["tuning_search"]
    assert applied["current"] == (tuple(result.weights), result.fusion, result.norm)
    assert (applied["result"].per_query["current"] == result.per_query["best"]).all()
    assert (applied["result"].per_query["delta"] == 0).all()
    current = [trace for spec in charts(app) for trace in spec["data"]
               if trace.get("name", "").startswith("current")]
    assert [(current[0]["a"][0], current[0]["b"][0], current[0]["c"][0])] == [tuple(result.weights)]
    assert read_settings_file(home) | {"weights": list(result.weights), "fusion": result.fusion,
                                       "norm": result.norm} == read_settings_file(home)
    assert resources.searcher() is not stale
    assert resources.searcher().settings.weights == tuple(result.weights)


def test_similar_mode_tunes_on_pair_votes_and_applies_its_own_weights(settings_file, page, juspay_workspace):
    """"Same root cause" votes from the incident page are the labelled pairs of the similar-incidents mode; applying
    writes its own similar_* settings and leaves search's weights alone."""
    from sherlock.config import read_settings_file
    from sherlock.storage.feedback import FeedbackStore
    store = FeedbackStore(juspay_workspace.settings.feedback_path)
    for anchor, other in [("JSP-1055", "JSP-2001"), ("JSP-2001", "JSP-1055"), ("JSP-1052", "JSP-1053")]:
        store.record_pair(anchor, other, True, session_id="tuning-test")
    store.close()
    app = page.run()
    app.radio(key="tuning_mode").set_value("similar").run()
    assert not app.exception and "anchor incidents usable" in " ".join(caption.value for caption in app.caption)
    app.number_input[0].set_value(2)
    run_tuning(app)
    result = app.session_state["tuning_similar"]["result"]
    assert 0 < result.score <= 1 and "tuning_search" not in app.session_state
    next(button for button in app.button if button.label == "Apply these weights").click().run()
    assert not app.exception and "similar incidents use them now" in app.success[0].value
    saved = read_settings_file(juspay_workspace.settings.home)
    assert saved["similar_weights"] == list(result.weights) and "weights" not in saved
