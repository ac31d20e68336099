"""Plotly figures for incident patterns, shared by the patterns page and the notebooks (no streamlit here).

Each function takes the frames of :mod:`sherlock.analytics.frame` / :mod:`sherlock.analytics.themes` and returns a
``plotly.graph_objects.Figure``; none computes a metric itself.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

SEVERITY_COLOURS = {"SEV1": "#b2182b", "SEV2": "#ef8a62", "SEV3": "#67a9cf", "SEV4": "#2166ac"}


def volume_chart(counts: pd.DataFrame, by: str | None = None, spikes: pd.DataFrame | None = None,
                 max_spikes: int = 12) -> go.Figure:
    """Stacked bars of :func:`~sherlock.analytics.frame.volume` (one colour per group), with the largest ``spikes``
    (from :func:`~sherlock.analytics.spikes.find_spikes`) as dotted lines at their week and a marker above the bars
    whose
    hover says which group spiked, by how much."""
    figure = px.bar(counts, x="start", y="count", color=by, labels={"start": "", "count": "incidents"},
                    hover_data={"period": True, "start": False})
    figure.update_layout(barmode="stack", legend_title_text=by or "", margin={"t": 30, "b": 10})
    if spikes is not None and len(spikes):
        top = spikes.assign(excess=spikes["count"] - spikes["expected"]).nlargest(max_spikes, "excess")
        height = 1.08 * (counts.groupby("start")["count"].sum().max() if len(counts) else 1)
        for start in top["start"].unique():
            figure.add_vline(x=pd.Timestamp(start), line_dash="dot", line_color="crimson", opacity=0.5)
        figure.add_trace(go.Scatter(
            x=pd.to_datetime(top["start"]), y=[height] * len(top), mode="markers", name="spike (week)",
            marker={"symbol": "triangle-down", "size": 11, "color": "crimson"},
            hovertext=[f"spike in the week of {row.period}: {row.group} {row.count} vs {row.expected:g} expected"
                       for row in top.itertuples()], hoverinfo="text"))
    return figure


def mttr_box(frame: pd.DataFrame, by: str, max_groups: int = 15) -> go.Figure:
    """Time to resolve per group as box plots (log scale), drawn from precomputed quartiles so 100k incidents
    do not travel to the browser; whiskers at the 5th and 95th percentiles."""
    minutes = frame.dropna(subset=["minutes_to_resolve"])
    groups = minutes[by].value_counts().head(max_groups).index
    figure = go.Figure()
    for group in groups:
        values = minutes.loc[minutes[by] == group, "minutes_to_resolve"].to_numpy()
        q = np.percentile(values, [5, 25, 50, 75, 95])
        figure.add_trace(go.Box(name=str(group), q1=[q[1]], median=[q[2]], q3=[q[3]], lowerfence=[q[0]],
                                upperfence=[q[4]], mean=[values.mean()], boxpoints=False, showlegend=False))
    figure.update_yaxes(type="log", title="minutes to resolve (log)")
    figure.update_layout(margin={"t": 30, "b": 10})
    return figure


def severity_mix(frame: pd.DataFrame, freq: str = "M") -> go.Figure:
    """Share of each severity per period (100 % stacked bars)."""
    from sherlock.analytics.frame import volume
    counts = volume(frame, freq, "severity")
    figure = px.bar(counts, x="start", y="count", color="severity", labels={"start": "", "count": "incidents"},
                    color_discrete_map=SEVERITY_COLOURS, category_orders={"severity": sorted(SEVERITY_COLOURS)})
    figure.update_layout(barmode="stack", barnorm="percent", yaxis_title="% of incidents", margin={"t": 30, "b": 10})
    return figure


def themes_chart(summary: pd.DataFrame, max_themes: int = 30) -> go.Figure:
    """A treemap of :func:`~sherlock.analytics.themes.theme_summary`: area = size, colour = days since the last
    incident."""
    top = summary[summary["theme"] >= 0].head(max_themes)
    figure = px.treemap(top, path=[px.Constant("themes"), "label"], values="size", color="days_since_last",
                        color_continuous_scale="RdYlBu", hover_data=["weeks_active", "mttr_median_minutes"])
    figure.update_layout(margin={"t": 30, "l": 0, "r": 0, "b": 0}, coloraxis_colorbar_title="days since last")
    return figure


def heatmap(counts: pd.DataFrame, by: str, max_groups: int = 20) -> go.Figure:
    """Groups × periods of :func:`~sherlock.analytics.frame.volume` (weekly counts make the service × week view)."""
    wide = counts.pivot(index=by, columns="start", values="count").fillna(0)
    wide = wide.loc[wide.sum(axis=1).sort_values(ascending=False).index[:max_groups]]
    figure = px.imshow(wide, aspect="auto", color_continuous_scale="Reds", labels={"x": "", "y": by,
                                                                                    "color": "incidents"})
    figure.update_layout(margin={"t": 30, "b": 10})
    return figure


def entities_chart(top: pd.DataFrame) -> go.Figure:
    """Mentions per period of the top entities (from :func:`~sherlock.analytics.frame.top_entities`)."""
    figure = px.line(top, x="start", y="count", color="entity", markers=True, hover_data=["kind", "period"],
                     labels={"start": "", "count": "incidents"})
    figure.update_layout(margin={"t": 30, "b": 10})
    return figure
