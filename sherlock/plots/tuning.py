"""Figures and tables of the fusion-tuning page: the weight simplex as a ternary heatmap, one-weight slices through
the best point, and per-setting means with bootstrap intervals."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from sherlock.evaluation import stats
from sherlock.search.fusion import RETRIEVERS

#: (symbol, colour, size) per marked point; the default is a wide ring so a current setting on it stays visible
MARKS = {"default": ("circle-open", "black", 28), "current": ("diamond", "orange", 16), "best": ("star", "red", 20)}
BOOTSTRAP_RESAMPLES = 2000


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
    for i, name in enumerate(RETRIEVERS):
        j, k = (x for x in range(3) if x != i)
        ratio = best[j] / (best[j] + best[k]) if best[j] + best[k] > 0 else 0.5
        for v in range(n + 1):
            point = [0, 0, 0]
            point[i], point[j] = v, round((n - v) * ratio)
            point[k] = n - v - point[j]
            if tuple(point) in score:
                rows.append({"retriever": name, "weight": v / n, "score": score[tuple(point)]})
    return pd.DataFrame(rows)


def mean_ci(values: pd.DataFrame, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0) -> pd.DataFrame:
    """Mean of each column (one score per query) and its 95% BCa bootstrap interval
    (:func:`sherlock.evaluation.stats.bootstrap_ci`)."""
    intervals = [stats.bootstrap_ci(values[column], resamples=resamples, seed=seed) for column in values.columns]
    return pd.DataFrame({"setting": values.columns, "mean": values.mean().to_numpy(),
                         "low": [low for low, _ in intervals], "high": [high for _, high in intervals]})
