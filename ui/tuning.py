"""Fusion tuning's helpers: the tuning options, the result's tiles, and one view per result tab (the weight simplex,
one-weight slices, single retrievers vs fused with bootstrap intervals, per-query wins and rankings)."""

from __future__ import annotations

from typing import NamedTuple

import pandas as pd
import plotly.express as px
import streamlit as st

from sherlock.evaluation import stats
from sherlock.evaluation import tuning as tune
from sherlock.plots.tuning import BOOTSTRAP_RESAMPLES, mean_ci, ternary_figure, weight_slices
from sherlock.storage.store import Store
from ui.widgets import escape_markdown

METRICS = ("ndcg@10", "mrr@10", "recall@10", "recall@100", "map")
DEFINITIONS = {
    "nDCG@10": "graded gain of the top 10, discounted by log2 of the rank, over the ideal ordering (1 = perfect).",
    "MRR@10": "1 / rank of the first relevant incident in the top 10 (0 when none is there).",
    "Recall@10 / @100": "share of the incidents judged relevant that appear in the top 10 / 100.",
    "MAP": "mean over relevant incidents of the precision at each one's rank (rewards putting all of them first).",
}

Setting = tune.Setting  # (weights, fusion, norm)


class TuningOptions(NamedTuple):
    metric: str
    fusion: str
    norms: tuple[str, ...]
    step: float
    folds: int

    @property
    def ready(self) -> bool:
        """A normalisation is picked, or the fusion needs none."""
        return bool(self.norms) or self.fusion in tune.NORM_FREE


def options_ui() -> TuningOptions:
    """Metric, fusion, normalisations, grid step and CV folds in one row, the metrics' definitions below."""
    cols = st.columns([1.3, 1, 3, 1.2, 0.9])
    metric = cols[0].selectbox("Metric", METRICS)
    fusion = cols[1].selectbox("Fusion", tune.FUSIONS)
    norms = cols[2].multiselect("Normalisations", tune.NORMS, default=["minmax", "zscore", "rank"],
                                disabled=fusion in tune.NORM_FREE, help="RRF and DBSF ignore it")
    step = cols[3].select_slider("Grid step", [0.1, 0.05, 0.025], value=0.05)
    folds = cols[4].number_input("CV folds", 2, 10, 5)
    st.caption(" · ".join(f"**{name}**: {text}" for name, text in DEFINITIONS.items()))
    return TuningOptions(metric, fusion, tuple(norms), step, int(folds))


def weights_text(weights: tuple[float, ...]) -> str:
    """``dense 0.60 · bm25 0.30 · tfidf 0.10``."""
    return " · ".join(f"{n} {w:.2f}" for n, w in zip(tune.RETRIEVERS, weights, strict=True))


def result_ui(result: tune.TuneResult, query_set: str, current: Setting, refused: str | None = None) -> bool:
    """The tuned (cross-validated), default, current and best single scores as tiles, the best setting and its MLflow
    run; returns whether "Apply these weights" was clicked. ``refused``: markdown saying why this user may not apply
    them, shown instead of the button."""
    st.subheader(f"{result.metric} on {escape_markdown(query_set)} ({len(result.per_query):,} queries)")
    cols = st.columns(4)
    cols[0].metric(f"Tuned (CV, ± {result.cv_std:.3f})", f"{result.cv_mean:.3f}",
                   f"{result.cv_mean - result.default_score:+.3f} vs default",
                   help=f"held-out mean ± sd over {len(result.cv_folds)} folds, weights chosen on the other folds; "
                   f"in-sample best {result.score:.3f}")
    cols[1].metric("Default 0.6/0.3/0.1", f"{result.default_score:.3f}",
                   help="wsum over minmax (the original SherlockAI)")
    cols[2].metric("Current setting", f"{result.current_score:.3f}",
                   help=f"{'/'.join(f'{w:g}' for w in current[0])}, {current[1]} over {current[2]}")
    cols[3].metric(f"Best single: {max(result.single, key=result.single.get)}", f"{max(result.single.values()):.3f}")
    st.markdown(f"**Best:** {weights_text(result.weights)}, {result.fusion} over {result.norm} · MLflow run "
                f"`{result.mlflow_run_id or 'not logged'}`")
    if refused:
        st.caption(refused)
        return False
    return st.button("Apply these weights", help="Write them to the workspace's sherlock.toml; chat search and the CLI "
                     "use them from now on")


def simplex_ui(surface: pd.DataFrame, result: tune.TuneResult, current: Setting, step: float) -> None:
    """The ternary heatmap for a chosen normalisation, with the default, current and best points."""
    norms = sorted(surface["norm"].unique())
    shown = st.selectbox("Normalisation shown", norms, index=norms.index(result.norm))
    marks = {"default": ("default 0.6/0.3/0.1 (minmax)", tune.DEFAULT[0]),
             "current": (f"current ({current[1]}, {current[2]})", current[0]),
             "best": (f"best ({result.norm})", result.weights)}
    st.plotly_chart(ternary_figure(surface[surface["norm"] == shown], result.metric, step, marks))


def slices_ui(surface: pd.DataFrame, result: tune.TuneResult, step: float) -> None:
    frame = weight_slices(surface[surface["norm"] == result.norm], result.weights, step)
    st.plotly_chart(px.line(frame, x="weight", y="score", color="retriever", markers=True,
                            labels={"score": result.metric, "weight": "weight of that retriever"}))
    st.caption("Each line varies one retriever's weight; the other two keep their ratio at the best point.")


def single_vs_fused_ui(result: tune.TuneResult) -> None:
    """Each retriever alone and the default, current and tuned fusions: mean per query with 95% intervals."""
    values = result.single_per_query.merge(result.per_query, on="qid")
    columns = ["dense", "bm25", "tfidf", "default", "current", "best"]
    ci = mean_ci(values[columns].rename(columns={"best": "tuned"}))
    st.plotly_chart(px.bar(ci, x="setting", y="mean", color=["single"] * 3 + ["fused"] * 3,
                           error_y=ci["high"] - ci["mean"], error_y_minus=ci["mean"] - ci["low"],
                           labels={"mean": result.metric, "color": ""}))
    st.caption(f"Error bars: 95% BCa bootstrap intervals over queries ({BOOTSTRAP_RESAMPLES:,} resamples, seed 0). "
               "*tuned* is the best setting scored on the queries it was chosen on; the cross-validated score above "
               "is the honest one.")


def ranking_frame(ranking: list, judged: dict, titles: dict) -> pd.DataFrame:
    """A top-10 list as a table: rank, id, the query's grade for it (blank: unjudged), fused score, title."""
    return pd.DataFrame([{"rank": r, "id": d, "grade": judged.get(d), "score": round(s, 4),
                          "title": titles[d].title if d in titles else ""} for r, (d, s) in enumerate(ranking, 1)])


def per_query_ui(result: tune.TuneResult, pool: tune.CandidatePool, qrels: dict, current: Setting,
                 store: Store) -> None:
    """Wins, losses and ties of the tuned setting against the current one, the per-query differences, and the worst
    queries, of which a selected one's current and tuned top 10 are shown side by side."""
    wins, ties, losses = stats.win_tie_loss(result.per_query["current"], result.per_query["best"])
    for col, label, count in zip(st.columns(3), ("wins", "losses", "ties"), (wins, losses, ties), strict=True):
        col.metric(f"Tuned vs current: {label}", f"{count:,}")
    st.plotly_chart(px.histogram(result.per_query, x="delta", nbins=30,
                                 labels={"delta": f"{result.metric}: tuned − current"}))
    worst = result.per_query.sort_values(["delta", "best"]).head(10).rename(columns={"best": "tuned"})
    st.caption("Worst queries for the tuned setting — select one to compare its top 10.")
    picked = st.dataframe(worst, hide_index=True, on_select="rerun", selection_mode="single-row", key="worst",
                          column_order=["query", "current", "tuned", "delta"])
    selected = [row for row in picked.selection.rows if row < len(worst)]  # a new run may have fewer rows
    qid = worst["qid"].iloc[selected[0] if selected else 0]
    best = (tuple(result.weights), result.fusion, result.norm)
    rankings = {label: pool.ranking(qid, weights, fusion=method, norm=norm, k=10)
                for label, (weights, method, norm) in (("Current", current), ("Tuned", best))}
    titles = store.get_many(doc for ranking in rankings.values() for doc, _ in ranking)
    for col, (label, ranking) in zip(st.columns(2), rankings.items(), strict=True):
        col.markdown(f"**{label}** · {escape_markdown(pool.queries[qid])}")
        col.dataframe(ranking_frame(ranking, qrels.get(qid, {}), titles), hide_index=True)
