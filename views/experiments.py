"""Experiments: offline A/B comparisons logged in MLflow (any two arms compared again), a form that starts a new one,
and the online experiment that splits chat sessions between search settings."""

import streamlit as st

from sherlock.evaluation.offline_ab import DEFAULT_METRICS, run_offline
from sherlock.evaluation.offline_ab_mlflow import log_ab
from sherlock.plots.experiments import experiments_table, logged_metrics
from ui import access, resources
from ui.experiments import ab_comparison_ui, compare_arms_ui, mlflow_ui_text, online_experiment_ui, variant_picker_ui
from ui.query_sets import query_set_ui
from ui.widgets import escape_markdown, progress_callback, table_with_download

METRICS = (*DEFAULT_METRICS, "ndcg@5", "recall@100", "map", "precision@5", "hit_rate@1")

ws = resources.workspace()
settings = ws.settings
st.title("🧪 Experiments")
st.caption("Is a search setting really better, or is it noise? An offline A/B ranks the same labelled queries with "
           "two settings and tests the per-query differences; an online A/B splits chat sessions and compares "
           "their thumbs up/down.")
runs_tab, new_tab, online_tab = st.tabs(["Offline A/B runs", "New offline A/B", "Online experiment"])

with runs_tab:
    runs = resources.ab_runs(settings)
    if not (runs["kind"] == "ab-offline").any():
        st.info("No offline A/B has been logged in this workspace yet. Start one on the **New offline A/B** tab, or "
                "from the command line: `sherlock ab baseline rrf --demo` (the demo labelled set). Every A/B is "
                f"logged to MLflow; browse the runs with {mlflow_ui_text(settings)}.")
    else:
        metrics = logged_metrics(runs)
        metric = st.selectbox("Metric shown", metrics, key="runs-metric") if len(metrics) > 1 else metrics[0]
        table_with_download(experiments_table(runs, metric), "ab-experiments",
                            column_config={"queries": st.column_config.NumberColumn(format="%d")})
        st.caption(f"{(runs['kind'] == 'ab-offline').sum():,} A/B experiments, newest first · W/T/L: queries where "
                   f"B wins, ties, loses on the A/B's first metric · all runs: "
                   f"{mlflow_ui_text(settings, runs['experiment_id'].iloc[0])}")
        st.subheader("Compare two arms")
        compare_arms_ui(runs, settings)

with new_tab:
    chosen = query_set_ui(ws)
    left, right = st.columns(2)
    with left:
        variant_a = variant_picker_ui("Arm A (baseline)", settings, "workspace", key="new-a")
    with right:
        variant_b = variant_picker_ui("Arm B (variant)", settings, "rrf", key="new-b")
    left, right = st.columns([3, 1])
    metrics = left.multiselect("Metrics (the first one counts wins/ties/losses)", METRICS, default=DEFAULT_METRICS)
    resamples = right.number_input("Resamples", 1_000, 100_000, 10_000, step=1_000,
                                   help="bootstrap and randomisation-test resamples (seed 0)")
    ready = chosen is not None and variant_a is not None and variant_b is not None and bool(metrics)
    if st.button("Run A/B", type="primary", disabled=not ready):
        access.require("ab_run")
        name, queries, qrels = chosen
        bar = st.progress(0.0, text="Scoring the queries…")
        try:
            result = run_offline(ws, variant_a, variant_b, queries, qrels, metrics, resamples=int(resamples),
                                 query_set=name, progress=progress_callback(bar))
        except ValueError as error:
            st.error(f"The A/B cannot run: {escape_markdown(str(error))}")
        else:
            st.session_state.ab_result = result
            try:
                log_ab(result, settings)
            except Exception as error:  # noqa: BLE001 - tracking is a record of the run, never a reason to lose it
                st.warning(f"The A/B could not be logged to MLflow ({error}); the results below are still valid.")
            else:
                resources.ab_runs_frame.clear()
                st.rerun()  # the runs tab lists the new A/B and picks its arms
    if "ab_result" in st.session_state:
        result = st.session_state.ab_result
        run = result.mlflow_run_ids.get("parent")
        st.success(f"{escape_markdown(result.name)} on {result.params['queries']:,} queries of "
                   f"{escape_markdown(result.params['query_set'])}" + (f" · MLflow run `{run}`" if run else ""))
        names = (result.variants["a"].name, result.variants["b"].name)
        ab_comparison_ui(result.stats, result.per_query(), names, key="ab-new",
                         settings=(result.variants["a"].describe(), result.variants["b"].describe()))

with online_tab:
    online_experiment_ui(settings)
