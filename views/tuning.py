"""Fusion tuning: score a labelled query set (search) or labelled incident pairs (similar incidents) once, evaluate
every dense/BM25/TF-IDF weight triple with cross-validation, see the metric over the weight simplex, and apply the best
weights to that mode."""

import hashlib
import json

import streamlit as st

from sherlock.evaluation import tuning as tune
from sherlock.search.similar import SimilarFinder
from ui import access, resources
from ui.query_sets import pair_set_ui, query_set_ui
from ui.tuning import options_ui, per_query_ui, result_ui, simplex_ui, single_vs_fused_ui, slices_ui, weights_text
from ui.widgets import progress_callback

ws = resources.workspace()
settings = ws.settings
st.title("🎛️ Fusion tuning")
st.caption("How should dense, BM25 and TF-IDF scores combine on *your* incidents? Each query is scored once; then "
           "every weight triple on the simplex is evaluated, and the reported score is k-fold cross-validated.")
if not ws.store.count():
    st.info("The workspace is empty: load the demo corpus or your incidents on the **Data** page first.")
    st.stop()
mode = st.radio("Tune", ["search", "similar"], horizontal=True, key="tuning_mode", format_func={
    "search": "Search (labelled queries)", "similar": "Similar incidents (labelled incident pairs)"}.get)
similar = mode == "similar"
current = ((tuple(settings.similar_weights), settings.similar_fusion, settings.similar_norm) if similar
           else (tuple(settings.weights), settings.fusion, settings.norm))
chosen = pair_set_ui(ws) if similar else query_set_ui(ws)
options = options_ui()

if st.button("Run tuning", type="primary", disabled=chosen is None or not options.ready):
    access.require("tune")
    name, queries, qrels = chosen
    key = (mode, name, hashlib.sha1(json.dumps(sorted(queries), sort_keys=True).encode()).hexdigest(),
           ws.store.revision(), json.dumps(qrels, sort_keys=True))
    if st.session_state.get("tuning_pool", (None,))[0] != key:  # a new metric or fusion reuses the scored pool
        update = progress_callback(bar := st.progress(0.0, text="Scoring each query once…"))
        scorer = SimilarFinder(ws).score_pools if similar else resources.searcher().score_pools
        pool = scorer(queries, n=200, progress=lambda done, total: update("Scoring queries", done, total))
        st.session_state.tuning_pool = (key, pool)
        bar.empty()
    pool = st.session_state.tuning_pool[1]
    try:
        with st.spinner("Evaluating the weight simplex…"):
            result = tune.tune(pool, qrels, metric=options.metric, fusion=options.fusion,
                               norms=options.norms or ("minmax",), step=options.step,
                               folds=min(options.folds, len(qrels)), current=current)
    except ValueError as error:
        st.error(f"Tuning failed: {error}")
        st.stop()
    try:
        result.mlflow_run_id = tune.log_to_mlflow(result, settings, query_set=name)
    except Exception as error:  # noqa: BLE001 - tracking is a record of the run, never a reason to lose it
        st.warning(f"The run could not be logged to MLflow ({error}); the results below are still valid.")
    st.session_state[f"tuning_{mode}"] = {"result": result, "pool": pool, "qrels": qrels, "set": name,
                                          "step": options.step, "current": current}

if f"tuning_{mode}" not in st.session_state:
    st.stop()
state = st.session_state[f"tuning_{mode}"]
if state["current"] != current:  # the workspace's setting changed (applied below, or elsewhere): score the new one
    state.update(result=tune.with_current(state["result"], state["pool"], state["qrels"], current), current=current)
result, step = state["result"], state["step"]
st.divider()
applied = st.session_state.pop("tuning_applied", None)
refused = None if access.allowed("apply_weights") else access.needs("apply_weights")
if result_ui(result, state["set"], current, refused=refused):
    access.require("apply_weights")
    path = tune.apply_result(settings, result, mode=mode)
    access.audit("apply_weights", f"{mode}: {weights_text(result.weights)}, {result.fusion} over {result.norm}")
    resources.reload_settings()  # the rerun reads the applied setting, and the tiles score it
    st.session_state.tuning_applied = (f"Applied {weights_text(result.weights)}, {result.fusion} over {result.norm} "
                                       f"— saved to `{path}`; {'similar incidents use' if similar else 'search uses'} "
                                       "them now. (A `SHERLOCK_` environment variable would still override the file.)")
    st.rerun()
if applied:
    st.success(applied)

simplex, slices, bars, queries_tab = st.tabs(["Weight simplex", "One-weight slices", "Single vs fused", "Per query"])
surface = result.surface[result.surface["fusion"] == result.fusion]
with simplex:
    simplex_ui(surface, result, current, step)
with slices:
    slices_ui(surface, result, step)
with bars:
    single_vs_fused_ui(result)
with queries_tab:
    per_query_ui(result, state["pool"], state["qrels"], current, ws.store)
