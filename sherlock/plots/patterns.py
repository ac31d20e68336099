"""Plotly figures for incident patterns, shared by the patterns page and the notebooks (no streamlit here).

Each function takes the frames of :mod:`sherlock.analytics.frame` / :mod:`sherlock.analytics.themes` and returns a
``plotly.graph_objects.Figure``; none computes a metric itself. Groups are listed in
:func:`~sherlock.analytics.frame.group_order` (severities SEV1 … SEV4, anything else largest first) and durations read
in the units of :mod:`sherlock.analytics.units` (45 min, 6.2 h, 2.4 d), as on the page and in ``sherlock patterns``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from sherlock.analytics.frame import group_order
from sherlock.analytics.units import duration

SEVERITY_COLOURS = {"SEV1": "#b2182b", "SEV2": "#ef8a62", "SEV3": "#67a9cf", "SEV4": "#2166ac"}
#: Ten colours that stay apart (Plotly's qualitative default); groups past the tenth are drawn as one grey "other".
PALETTE = tuple(px.colors.qualitative.Plotly)
OTHER_COLOUR = "#b0b0b0"
#: Where the time-to-resolve axis (log scale) puts its labels, in minutes: 1 min … 1 year.
DURATION_TICKS = (1, 5, 15, 60, 4 * 60, 12 * 60, 1440, 3 * 1440, 7 * 1440, 30 * 1440, 90 * 1440, 365 * 1440)
#: Plotly's time-period aliases for the periods of :mod:`sherlock.analytics.frame` (month starts, Monday weeks, days).
PERIOD_ALIASES = {"M": "MS", "W": "W-MON", "D": "D"}


def lump_tail(labels: pd.Series, order: Sequence[str], keep: int) -> tuple[pd.Series, list[str]]:
    """``labels`` with every group after the first ``keep`` of ``order`` renamed ``other (N groups)``, and the order
    of the names left: a chart with more groups than distinct colours shows the largest and pools the rest."""
    order = list(order)
    if len(order) <= keep:
        return labels, order
    other = f"other ({len(order) - keep} groups)"
    return labels.where(labels.isin(order[:keep]), other), [*order[:keep], other]


def group_colours(names: Sequence[str], by: str | None) -> dict[str, str]:
    """One colour per group name: the severity scale for severities, else the palette in order (never reused), and
    grey for the pooled ``other``."""
    if by == "severity":
        return {name: SEVERITY_COLOURS.get(name, OTHER_COLOUR) for name in names}
    named = [name for name in names if not name.startswith("other (")]
    return {**dict.fromkeys(names, OTHER_COLOUR), **dict(zip(named, PALETTE))}


def volume_chart(counts: pd.DataFrame, by: str | None = None, spikes: pd.DataFrame | None = None,
                 max_spikes: int = 12, max_groups: int = len(PALETTE),
                 partial: tuple[date, date] | None = None) -> go.Figure:
    """Stacked bars of :func:`~sherlock.analytics.frame.volume`, one colour per group (the ``max_groups`` largest;
    the rest pooled as "other"), with the largest ``spikes`` (from :func:`~sherlock.analytics.spikes.find_spikes`) as
    dotted lines at their week and a marker above the bars whose hover says which group spiked, by how much. A
    ``partial`` last period (see :func:`~sherlock.analytics.frame.partial_period`) is labelled as such."""
    names: list[str] = []
    if by is not None and len(counts):
        labels, names = lump_tail(counts[by].astype(str), group_order(counts[by].astype(str), by, counts["count"]),
                                  max_groups)
        counts = counts.assign(**{by: labels}).groupby(["period", "start", by], as_index=False, sort=False)["count"] \
            .sum()
    figure = px.bar(counts, x="start", y="count", color=by, labels={"start": "", "count": "incidents"},
                    hover_data={"period": True, "start": False}, color_discrete_map=group_colours(names, by),
                    category_orders={by: names} if by else None)
    figure.update_layout(barmode="stack", legend_title_text=by or "", margin={"t": 30, "b": 10})
    tallest = counts.groupby("start")["count"].sum() if len(counts) else pd.Series(dtype=float)
    if partial is not None and len(tallest):
        last = tallest.index.max()
        figure.add_annotation(x=last, y=tallest[last], text="partial", ax=0, ay=-28, arrowhead=0,
                              arrowcolor="#777", font={"size": 11, "color": "#555"},
                              hovertext=f"the data end on {partial[1]}: this period is not complete")
    if spikes is not None and len(spikes):
        top = spikes.assign(excess=spikes["count"] - spikes["expected"]).nlargest(max_spikes, "excess")
        height = 1.08 * (tallest.max() if len(tallest) else 1)
        for start in top["start"].unique():
            figure.add_vline(x=pd.Timestamp(start), line_dash="dot", line_color="crimson", opacity=0.5)
        figure.add_trace(go.Scatter(
            x=pd.to_datetime(top["start"]), y=[height] * len(top), mode="markers", name="spike (week)",
            marker={"symbol": "triangle-down", "size": 11, "color": "crimson"},
            hovertext=[f"spike in the week of {row.period}: {row.group} {row.count} vs {row.expected:g} expected"
                       for row in top.itertuples()], hoverinfo="text"))
    return figure


def mttr_box(frame: pd.DataFrame, by: str, max_groups: int = 20) -> go.Figure:
    """Time to resolve per group: one labelled box per group at its own place on the x axis (in
    :func:`~sherlock.analytics.frame.group_order`, past ``max_groups`` pooled as "other"), its n under the label.

    Boxes are drawn from precomputed quartiles so 100k incidents do not travel to the browser: box from the 25th to
    the 75th percentile, line at the median, whiskers at the 5th and 95th. The y axis is a log scale labelled in
    minutes, hours and days; hovering a box gives its figures in the same units."""
    resolved = frame.dropna(subset=["minutes_to_resolve"])
    figure = go.Figure()
    if resolved.empty:
        figure.add_annotation(text="No resolved incidents in this selection", showarrow=False)
        return figure
    present = set(resolved[by].astype(str))
    order = [name for name in group_order(frame[by].astype(str), by) if name in present]
    labels, names = lump_tail(resolved[by].astype(str), order, max_groups)
    colours = group_colours(names, by) if by == "severity" else dict.fromkeys(names, PALETTE[0])
    stats = []
    for name in names:
        values = resolved.loc[labels == name, "minutes_to_resolve"].to_numpy()
        q = np.percentile(values, [5, 25, 50, 75, 95])
        stats.append((name, len(values), q))
        figure.add_trace(go.Box(x=[name], name=name, q1=[q[1]], median=[q[2]], q3=[q[3]], lowerfence=[q[0]],
                                upperfence=[q[4]], mean=[values.mean()], boxpoints=False, showlegend=False,
                                marker_color=colours[name], hoverinfo="skip"))
    figure.add_trace(go.Scatter(  # invisible, one per box: the hover in human units that a precomputed box lacks
        x=names, y=[q[2] for _, _, q in stats], mode="markers", marker={"opacity": 0, "size": 18},
        showlegend=False, name="time to resolve", hoverinfo="text",
        hovertext=[f"{name} · n = {n:,} resolved<br>median {duration(q[2])}<br>25th – 75th percentile "
                   f"{duration(q[1])} – {duration(q[3])}<br>5th – 95th percentile {duration(q[0])} – {duration(q[4])}"
                   for name, n, q in stats]))
    low, high = min(q[0] for _, _, q in stats), max(q[4] for _, _, q in stats)
    ticks = [tick for tick in DURATION_TICKS if low / 3 <= tick <= high * 3]
    figure.update_yaxes(type="log", title="time to resolve (log scale)", tickvals=ticks,
                        ticktext=[duration(tick) for tick in ticks])
    figure.update_xaxes(type="category", categoryorder="array", categoryarray=names, tickvals=names,
                        ticktext=[f"{name}<br>n = {n:,}" for name, n, _ in stats], title=by)
    figure.update_layout(margin={"t": 30, "b": 10}, hovermode="x")
    return figure


def severity_mix(frame: pd.DataFrame, freq: str = "M") -> go.Figure:
    """Share of each severity per period (100 % stacked bars)."""
    from sherlock.analytics.frame import volume
    counts = volume(frame, freq, "severity")
    order = group_order(counts["severity"].astype(str), "severity") if len(counts) else []
    figure = px.bar(counts, x="start", y="count", color="severity", labels={"start": "", "count": "incidents"},
                    color_discrete_map=group_colours(order, "severity"), category_orders={"severity": order})
    figure.update_layout(barmode="stack", barnorm="percent", yaxis_title="% of incidents", margin={"t": 30, "b": 10})
    return figure


def themes_chart(summary: pd.DataFrame, max_themes: int = 30) -> go.Figure:
    """A treemap of :func:`~sherlock.analytics.themes.theme_summary`: area = size, colour = days since the last
    incident."""
    top = summary[summary["theme"] >= 0].head(max_themes)
    top = top.assign(mttr_median=[duration(m) for m in top["mttr_median_minutes"]])
    figure = px.treemap(top, path=[px.Constant("themes"), "label"], values="size", color="days_since_last",
                        color_continuous_scale="RdYlBu", hover_data={"weeks_active": True, "mttr_median": True},
                        labels={"mttr_median": "MTTR median", "weeks_active": "weeks active"})
    figure.update_layout(margin={"t": 30, "l": 0, "r": 0, "b": 0}, coloraxis_colorbar_title="days since last")
    return figure


def heatmap(counts: pd.DataFrame, by: str, max_groups: int = 20) -> go.Figure:
    """Groups × periods of :func:`~sherlock.analytics.frame.volume` (weekly counts make the service × week view),
    groups in :func:`~sherlock.analytics.frame.group_order`."""
    wide = counts.pivot(index=by, columns="start", values="count").fillna(0)
    order = group_order(counts[by].astype(str), by, counts["count"])[:max_groups] if len(counts) else []
    wide = wide.reindex([name for name in order if name in wide.index])
    figure = px.imshow(wide, aspect="auto", color_continuous_scale="Reds", labels={"x": "", "y": by,
                                                                                    "color": "incidents"})
    figure.update_layout(margin={"t": 30, "b": 10})
    return figure


def entities_chart(top: pd.DataFrame, freq: str = "M") -> go.Figure:
    """The top entities (from :func:`~sherlock.analytics.frame.top_entities`) as a ranked heatmap: one row per
    entity, the most mentioned on top, labelled with its kind and total; one column per ``freq`` period from the
    first to the last (periods without a mention are 0); colour = incidents that period."""
    figure = go.Figure()
    if top.empty:
        figure.add_annotation(text="No entity is named by these incidents", showarrow=False)
        return figure
    kinds = top["kind"].map(lambda kind: str(kind).removesuffix("s").replace("_", " "))
    rows = top.assign(row=top["entity"].astype(str) + " (" + kinds + ")")
    totals = rows.groupby("row")["count"].sum()
    order = sorted(totals.index, key=lambda row: (-totals[row], row))
    starts = pd.date_range(pd.Timestamp(rows["start"].min()), pd.Timestamp(rows["start"].max()),
                           freq=PERIOD_ALIASES[freq])
    wide = rows.pivot_table(index="row", columns="start", values="count", aggfunc="sum") \
        .reindex(index=order, columns=starts, fill_value=0).fillna(0)
    figure.add_trace(go.Heatmap(z=wide.to_numpy(), x=wide.columns, y=[f"{row} · {totals[row]:,}" for row in order],
                                colorscale="Blues", colorbar={"title": "incidents"},
                                hovertemplate="%{y}<br>%{x|%Y-%m-%d}: %{z} incidents<extra></extra>"))
    figure.update_yaxes(autorange="reversed")
    figure.update_layout(margin={"t": 30, "b": 10}, height=max(260, 40 * len(order) + 80))
    return figure
