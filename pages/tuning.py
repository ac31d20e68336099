"""Fusion tuning: score a labelled query set once, evaluate every dense/BM25/TF-IDF weight triple with
cross-validation, see the metric over the weight simplex, and apply the best weights to search."""

import hashlib
import json

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

import ui
from sherlock.evaluation import tuning as tune

METRICS = ("ndcg@10", "mrr@10", "recall@10", "recall@100", "map")
DEFINITIONS = {
    "nDCG@10": "graded gain of the top 10, discounted by log2 of the rank, over the ideal ordering (1 = perfect).",
    "MRR@10": "1 / rank of the first relevant incident in the top 10 (0 when none is there).",
    "Recall@10 / @100": "share of the incidents judged relevant that appear in the top 10 / 100.",
    "MAP": "mean over relevant incidents of the precision at each one's rank (rewards putting all of them first).",
}
#: (symbol, colour, size) per marked point; the default is a wide ring so a current setting on it stays visible
MARKS = {"default": ("circle-open", "black", 28), "current": ("diamond", "orange", 16), "best": ("star", "red", 20)}


def ternary_figure(surface: pd.DataFrame, metric: str, step: float, marks: dict) -> go.Figure:
    """The metric over the weight simplex as a ternary heatmap, with labelled points ``{name: (label, weights)}``."""
    fig = px.scatter_ternary(surface, a="dense", b="bm25", c="tfidf", color="score", labels={"score": metric},
                             color_continuous_scale="Viridis", height=560)
    fig.update_traces(marker={"size": max(5.0, 320 * step), "symbol": "hexagon", "line": {"width": 0}})
    for name, (label, weights) in marks.items():
        symbol, colour, size = MARKS[name]
        fig.add_trace(go.Scatterternary(a=[weights[0]], b=[weights[1]], c=[weights[2]], mode="markers", name=label,
                                        marker={"symbol": symbol, "color": colour, "size": size,
                                                "line": {"width": 3 if name == "default" else 1.5, "color": "black"}}))
    fig.update_layout(legend={"orientation": "h", "y": -0.08}, margin={"t": 30})
    return fig


def weight_slices(surface: pd.DataFrame, best: tuple, step: float) -> pd.DataFrame:
    """The metric against each weight with the other two kept in their ratio at the best point (on the grid)."""
    n = round(1 / step)
    score = {tuple(round(w * n) for w in row[:3]): row[3]
             for row in surface[["dense", "bm25", "tfidf", "score"]].itertuples(index=False)}
    rows = []
    for i, name in enumerate(tune.RETRIEVERS):
        j, k = (x for x in range(3) if x != i)
        ratio = best[j] / (best[j] + best[k]) if best[j] + best[k] > 0 else 0.5
        for v in range(n + 1):
            point = [0, 0, 0]
            point[i], point[j] = v, round((n - v) * ratio)
            point[k] = n - v - point[j]
            if tuple(point) in score:
                rows.append({"retriever": name, "weight": v / n, "score": score[tuple(point)]})
    return pd.DataFrame(rows)


def bootstrap_ci(values: pd.DataFrame, n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Mean of each column and its 95% percentile-bootstrap interval (queries resampled with replacement)."""
    data = values.to_numpy(dtype=float)
    index = np.random.default_rng(seed).integers(0, len(data), size=(n_boot, len(data)))
    means = np.stack([data[index, c].mean(axis=1) for c in range(data.shape[1])], axis=1)
    low, high = np.percentile(means, [2.5, 97.5], axis=0)
    return pd.DataFrame({"setting": values.columns, "mean": data.mean(axis=0), "low": low, "high": high})


def ranking_frame(ranking: list, judged: dict, titles: dict) -> pd.DataFrame:
    """A top-10 list as a table: rank, id, the query's grade for it (blank: unjudged), fused score, title."""
    return pd.DataFrame([{"rank": r, "id": d, "grade": judged.get(d), "score": round(s, 4),
                          "title": titles[d].title if d in titles else ""} for r, (d, s) in enumerate(ranking, 1)])


ws = ui.workspace()
settings = ws.settings
current = (tuple(settings.weights), settings.fusion, settings.norm)
st.title("🎛️ Fusion tuning")
st.caption("How should dense, BM25 and TF-IDF scores combine on *your* incidents? Each query is scored once; then "
           "every weight triple on the simplex is evaluated, and the reported score is k-fold cross-validated.")
if not ws.store.count():
    st.info("The workspace is empty: load the demo corpus or your incidents on the **Data** page first.")
    st.stop()
chosen = ui.query_set_ui(ws)
cols = st.columns([1.3, 1, 3, 1.2, 0.9])
metric = cols[0].selectbox("Metric", METRICS)
fusion = cols[1].selectbox("Fusion", tune.FUSIONS)
norms = cols[2].multiselect("Normalisations", tune.NORMS, default=["minmax", "zscore", "rank"],
                            disabled=fusion in tune.NORM_FREE, help="RRF and DBSF ignore it")
step = cols[3].select_slider("Grid step", [0.1, 0.05, 0.025], value=0.05)
folds = cols[4].number_input("CV folds", 2, 10, 5)
st.caption(" · ".join(f"**{name}**: {text}" for name, text in DEFINITIONS.items()))

if st.button("Run tuning", type="primary", disabled=chosen is None or not (norms or fusion in tune.NORM_FREE)):
    name, queries, qrels = chosen
    key = (name, hashlib.sha1(json.dumps(queries, sort_keys=True).encode()).hexdigest(), ws.store.revision())
    if st.session_state.get("tuning_pool", (None,))[0] != key:
        update = ui.progress_callback(bar := st.progress(0.0, text="Scoring each query once…"))
        pool = tune.score_candidates(ui.searcher(), queries, progress=lambda done, total: update("Scoring queries",
                                                                                              done, total))
        st.session_state.tuning_pool = (key, pool)
        bar.empty()
    pool = st.session_state.tuning_pool[1]
    try:
        with st.spinner("Evaluating the weight simplex…"):
            result = tune.tune(pool, qrels, metric=metric, fusion=fusion, norms=tuple(norms) or ("minmax",), step=step,
                               folds=min(int(folds), len(qrels)), current=current)
    except ValueError as error:
        st.error(f"Tuning failed: {error}")
        st.stop()
    try:
        result.mlflow_run_id = tune.log_to_mlflow(result, settings, query_set=name)
    except Exception as error:  # noqa: BLE001 - tracking is a record of the run, never a reason to lose it
        st.warning(f"The run could not be logged to MLflow ({error}); the results below are still valid.")
    st.session_state.tuning = {"result": result, "pool": pool, "qrels": qrels, "set": name, "step": step,
                                "current": current}

if "tuning" not in st.session_state:
    st.stop()
state = st.session_state.tuning
result, pool, qrels, current = state["result"], state["pool"], state["qrels"], state["current"]
best = (tuple(result.weights), result.fusion, result.norm)
st.divider()
st.subheader(f"{result.metric} on {ui.escape_markdown(state['set'])} ({len(result.per_query):,} queries)")
cols = st.columns(4)
cols[0].metric(f"Tuned (CV, ± {result.cv_std:.3f})", f"{result.cv_mean:.3f}",
               f"{result.cv_mean - result.default_score:+.3f} vs default", help=f"held-out mean ± sd over "
               f"{len(result.cv_folds)} folds, weights chosen on the other folds; in-sample best {result.score:.3f}")
cols[1].metric("Default 0.6/0.3/0.1", f"{result.default_score:.3f}", help="wsum over minmax (the original SherlockAI)")
cols[2].metric("Current setting", f"{result.current_score:.3f}",
               help=f"{'/'.join(f'{w:g}' for w in current[0])}, {current[1]} over {current[2]}")
cols[3].metric(f"Best single: {max(result.single, key=result.single.get)}", f"{max(result.single.values()):.3f}")
weights_text = " · ".join(f"{n} {w:.2f}" for n, w in zip(tune.RETRIEVERS, result.weights, strict=True))
st.markdown(f"**Best:** {weights_text}, {result.fusion} over {result.norm} · MLflow run "
            f"`{result.mlflow_run_id or 'not logged'}`")
if st.button("Apply these weights", help="Write them to the workspace's sherlock.toml; chat search and the CLI use "
             "them from now on"):
    path = tune.apply_result(settings, result)
    ui.reload_settings()
    st.success(f"Applied {weights_text}, {result.fusion} over {result.norm} — saved to `{path}`; search uses them now. "
               "(A `SHERLOCK_WEIGHTS`/`_FUSION`/`_NORM` environment variable would still override the file.)")

simplex, slices, bars, queries_tab = st.tabs(["Weight simplex", "One-weight slices", "Single vs fused", "Per query"])
surface = result.surface[result.surface["fusion"] == result.fusion]
with simplex:
    shown = st.selectbox("Normalisation shown", sorted(surface["norm"].unique()),
                         index=sorted(surface["norm"].unique()).index(result.norm))
    marks = {"default": ("default 0.6/0.3/0.1 (minmax)", tune.DEFAULT[0]),
             "current": (f"current ({current[1]}, {current[2]})", current[0]),
             "best": (f"best ({result.norm})", result.weights)}
    st.plotly_chart(ternary_figure(surface[surface["norm"] == shown], result.metric, state["step"], marks))
with slices:
    frame = weight_slices(surface[surface["norm"] == result.norm], result.weights, state["step"])
    st.plotly_chart(px.line(frame, x="weight", y="score", color="retriever", markers=True,
                            labels={"score": result.metric, "weight": "weight of that retriever"}))
    st.caption("Each line varies one retriever's weight; the other two keep their ratio at the best point.")
with bars:
    values = result.single_per_query.merge(result.per_query, on="qid")
    columns = ["dense", "bm25", "tfidf", "default", "current", "best"]
    ci = bootstrap_ci(values[columns].rename(columns={"best": "tuned"}))
    st.plotly_chart(px.bar(ci, x="setting", y="mean", color=["single"] * 3 + ["fused"] * 3,
                           error_y=ci["high"] - ci["mean"], error_y_minus=ci["mean"] - ci["low"],
                           labels={"mean": result.metric, "color": ""}))
    st.caption("Error bars: 95% bootstrap intervals over queries (2,000 resamples, seed 0). *tuned* is the best "
               "setting scored on the queries it was chosen on; the cross-validated score above is the honest one.")
with queries_tab:
    delta = result.per_query["delta"]
    cols = st.columns(3)
    for col, label, count in zip(cols, ("wins", "losses", "ties"), ((delta > 1e-9).sum(), (delta < -1e-9).sum(),
                                                                     (delta.abs() <= 1e-9).sum()), strict=True):
        col.metric(f"Tuned vs current: {label}", f"{count:,}")
    st.plotly_chart(px.histogram(result.per_query, x="delta", nbins=30,
                                 labels={"delta": f"{result.metric}: tuned − current"}))
    worst = result.per_query.sort_values(["delta", "best"]).head(10).rename(columns={"best": "tuned"})
    st.caption("Worst queries for the tuned setting — select one to compare its top 10.")
    picked = st.dataframe(worst, hide_index=True, on_select="rerun", selection_mode="single-row", key="worst",
                          column_order=["query", "current", "tuned", "delta"])
    selected = [row for row in picked.selection.rows if row < len(worst)]  # a new run may have fewer rows
    qid = worst["qid"].iloc[selected[0] if selected else 0]
    rankings = {label: pool.ranking(qid, weights, fusion=method, norm=norm, k=10)
                for label, (weights, method, norm) in (("Current", current), ("Tuned", best))}
    titles = ws.store.get_many(doc for ranking in rankings.values() for doc, _ in ranking)
    for col, (label, ranking) in zip(st.columns(2), rankings.items(), strict=True):
        col.markdown(f"**{label}** · {ui.escape_markdown(pool.queries[qid])}")
        col.dataframe(ranking_frame(ranking, qrels.get(qid, {}), titles), hide_index=True)
