"""Plotly figures for search monitoring, shared by the Monitoring page and ``notebooks/04-search-monitoring.ipynb``
(no streamlit here).

Each function takes the report of :func:`sherlock.monitoring.report.monitor_report` (or one part of it: its
``by_period``, ``by_settings``, ``drift`` or ``gaps``) and returns a ``plotly.graph_objects.Figure``; none computes a
metric itself, so a figure shows exactly the numbers of ``sherlock monitor --json``. Rates stay fractions on the
figure (the axes read them as percentages), latencies stay milliseconds.

    report = monitor_report(settings, freq="W")
    traffic_chart(report["by_period"], abstain_threshold=settings.monitor_alert_abstain_rate)
    latency_chart(report["by_period"], p95_threshold_ms=settings.monitor_alert_p95_ms)
    settings_chart(report["by_settings"])     # helpful and abstain rate per settings version, Wilson 95% intervals
    drift_chart(report["drift"])              # out-of-corpus share and MMD² per period, shifts marked
    gaps_chart(report["gaps"])                # the questions the incident memory cannot answer, by theme
    period_table(report["by_period"])         # and settings_table, gaps_table: flat frames for CSV
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from sherlock.monitoring.drift import SHIFT_P
from sherlock.plots.patterns import PALETTE

QUERIES_COLOUR = "#9ecae1"
ABSTAIN_COLOUR = "#d6604d"
HELPFUL_COLOUR = "#1a9850"
SHIFT_COLOUR = "crimson"
#: Latency percentile → (line colour, dash): the median solid, the tails lighter and dashed.
PERCENTILE_STYLES = {"p50": ("#2166ac", "solid"), "p95": ("#ef8a62", "dash"), "p99": ("#b2182b", "dot")}
MARGIN = {"t": 30, "b": 10}
#: The ticks of a rate axis (0 … 100%).
RATE_TICKS = (0, 0.25, 0.5, 0.75, 1)
#: Up to this many periods, each gets its own tick labelled as the report labels it (2026-11-23, 2026-11).
LABELLED_PERIODS = 16
#: A threshold this many times above everything drawn is named in a note, not drawn as a line: a line would squash
#: the data into the bottom of the figure.
OFF_SCALE = 1.5


def _starts(periods: Sequence[Mapping[str, Any]]) -> list[pd.Timestamp]:
    return [pd.Timestamp(period.get("start", period["period"])) for period in periods]


def _period_ticks(figure: go.Figure, periods: Sequence[Mapping[str, Any]]) -> None:
    """Ticks at the periods' starts (a week at its Monday, not the Sunday plotly would pick), when there are few
    enough to read: ``Nov 23`` for a day or a week, ``Nov`` for a month, the year under the first and under each
    January."""
    if len(periods) > LABELLED_PERIODS:
        return
    starts, texts = _starts(periods), []
    for number, start in enumerate(starts):
        text = start.strftime("%b" if len(periods[number]["period"]) == 7 else "%b %d")  # 2026-11: a month
        texts.append(f"{text}<br>{start.year}" if number == 0 or start.year != starts[number - 1].year else text)
    figure.update_xaxes(tickvals=starts, ticktext=texts)


def _threshold(figure: go.Figure, value: float, text: str, colour: str, top: float, secondary: bool = False) -> None:
    """An alert threshold as a dotted line labelled at its left end, or — when it is far above everything drawn
    (``top``) — as a note in the corner."""
    if value > OFF_SCALE * top:
        figure.add_annotation(text=f"{text}: above this scale", xref="paper", yref="paper", x=1, y=1,
                              xanchor="right", yanchor="bottom", showarrow=False, font={"size": 11, "color": colour})
        return
    figure.add_hline(y=value, line_dash="dot", line_color=colour, opacity=0.7, secondary_y=secondary or None)
    figure.add_annotation(text=text, xref="paper", yref="y2" if secondary else "y", x=0, y=value, xanchor="left",
                          yanchor="bottom", showarrow=False, font={"size": 11, "color": colour})


def _empty(text: str) -> go.Figure:
    figure = go.Figure()
    figure.add_annotation(text=text, showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5)
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False)
    figure.update_layout(margin=MARGIN, height=220)
    return figure


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _number(value: float | None) -> str:
    return "–" if value is None else f"{value:.3g}"


def traffic_chart(by_period: Sequence[Mapping[str, Any]], abstain_threshold: float | None = None) -> go.Figure:
    """Queries per period (bars, left axis) and the abstain rate (line, right axis, a percentage), with the abstain
    alert threshold as a dotted line when given. A partial period (the window ends inside it) has a paler bar."""
    if not by_period:
        return _empty("No queries logged in this window")
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    starts = _starts(by_period)
    figure.add_trace(go.Bar(
        x=starts, y=[period["queries"] for period in by_period], name="queries",
        marker={"color": QUERIES_COLOUR, "opacity": [0.45 if period["partial"] else 1.0 for period in by_period]},
        hovertext=[f"{period['period']}{' (partial)' if period['partial'] else ''}: {period['queries']:,} queries, "
                   f"{period['abstained']:,} abstained" for period in by_period], hoverinfo="text"),
        secondary_y=False)
    figure.add_trace(go.Scatter(
        x=starts, y=[period["abstain_rate"] for period in by_period], name="abstain rate", mode="lines+markers",
        line={"color": ABSTAIN_COLOUR}, hovertemplate="%{x|%Y-%m-%d}: abstain rate %{y:.1%}<extra></extra>"),
        secondary_y=True)
    if abstain_threshold is not None:
        _threshold(figure, abstain_threshold, f"abstain alert ({abstain_threshold:.0%})", ABSTAIN_COLOUR, 1.0,
                   secondary=True)
    figure.update_yaxes(title_text="queries", rangemode="tozero", secondary_y=False)
    figure.update_yaxes(title_text="abstain rate", tickformat=".0%", range=[0, 1.05], tickvals=RATE_TICKS,
                        secondary_y=True, showgrid=False)
    _period_ticks(figure, by_period)
    figure.update_layout(margin=MARGIN, hovermode="x unified", legend={"orientation": "h", "y": 1.12})
    return figure


def latency_chart(by_period: Sequence[Mapping[str, Any]], p95_threshold_ms: float | None = None) -> go.Figure:
    """The p50, p95 and p99 latency per period (ms; a period without queries is a gap in the lines), with the p95
    alert threshold as a dotted line when given."""
    if not by_period:
        return _empty("No queries logged in this window")
    figure = go.Figure()
    starts = _starts(by_period)
    for name, (colour, dash) in PERCENTILE_STYLES.items():
        figure.add_trace(go.Scatter(
            x=starts, y=[period["latency_ms"][name] for period in by_period], name=name, mode="lines+markers",
            line={"color": colour, "dash": dash},
            hovertemplate=f"%{{x|%Y-%m-%d}}: {name} %{{y:,.0f}} ms<extra></extra>"))
    if p95_threshold_ms is not None:
        drawn = [period["latency_ms"][name] for period in by_period for name in PERCENTILE_STYLES]
        _threshold(figure, p95_threshold_ms, f"p95 alert ({p95_threshold_ms:,.0f} ms)",
                   PERCENTILE_STYLES["p95"][0], max((value for value in drawn if value is not None), default=0.0))
    figure.update_yaxes(title_text="latency (ms)", rangemode="tozero")
    _period_ticks(figure, by_period)
    figure.update_layout(margin=MARGIN, hovermode="x unified", legend={"orientation": "h", "y": 1.12})
    return figure


def version_label(version: Mapping[str, Any]) -> str:
    """How a settings version is named on the figures: its hash and, under it, the day it was first seen."""
    return f"{version['settings_hash']}<br>from {str(version['first_seen'])[:10]}"


def _interval(rate: float, ci95: Sequence[float] | None) -> tuple[float, float]:
    """The distances from ``rate`` down to and up to its interval (plotly's asymmetric error bars)."""
    if ci95 is None:
        return 0.0, 0.0
    return rate - ci95[0], ci95[1] - rate


def settings_chart(by_settings: Sequence[Mapping[str, Any]]) -> go.Figure:
    """Per settings version, oldest on the left: the helpful rate (share of thumbs-up among the votes on its answers)
    and the abstain rate, each with its Wilson 95% interval (Wilson 1927) as error bars and its n in the hover. A
    version without votes has no helpful point."""
    if not by_settings:
        return _empty("No settings version logged in this window")
    versions = list(reversed(by_settings))  # the report lists the newest first; time reads left to right
    labels = [version_label(version) for version in versions]
    voted = [(label, version) for label, version in zip(labels, versions, strict=True)
             if version["helpful"]["votes"] and version["helpful"]["rate"] is not None]
    figure = go.Figure()
    if voted:
        below, above = zip(*(_interval(v["helpful"]["rate"], v["helpful"]["ci95"]) for _, v in voted), strict=True)
        figure.add_trace(go.Scatter(
            x=[label for label, _ in voted], y=[v["helpful"]["rate"] for _, v in voted], name="helpful rate",
            mode="markers", marker={"color": HELPFUL_COLOUR, "size": 11},
            error_y={"type": "data", "symmetric": False, "array": list(above), "arrayminus": list(below)},
            hovertext=[f"{label}<br>helpful {_percent(v['helpful']['rate'])} ({v['helpful']['up']:,} of "
                       f"{v['helpful']['votes']:,} votes)<br>95% interval {_percent(v['helpful']['ci95'][0])} – "
                       f"{_percent(v['helpful']['ci95'][1])}" for label, v in voted], hoverinfo="text"))
    below, above = zip(*(_interval(v["abstain_rate"], v["abstain_ci95"]) for v in versions), strict=True)
    figure.add_trace(go.Scatter(
        x=labels, y=[v["abstain_rate"] for v in versions], name="abstain rate", mode="markers",
        marker={"color": ABSTAIN_COLOUR, "size": 9, "symbol": "diamond"},
        error_y={"type": "data", "symmetric": False, "array": list(above), "arrayminus": list(below)},
        hovertext=[f"{label}<br>abstained {_percent(v['abstain_rate'])} of {v['queries']:,} queries"
                   for label, v in zip(labels, versions, strict=True)], hoverinfo="text"))
    if not voted:
        figure.add_annotation(text="No votes on these versions' answers yet", showarrow=False, xref="paper",
                              yref="paper", x=0.5, y=0.95)
    figure.update_xaxes(type="category", categoryorder="array", categoryarray=labels, title_text="settings version")
    figure.update_yaxes(tickformat=".0%", range=[0, 1.05], tickvals=RATE_TICKS, title_text="rate (95% interval)")
    figure.update_layout(margin=MARGIN, legend={"orientation": "h", "y": 1.12}, height=380)
    return figure


def drift_chart(drift: Mapping[str, Any], alpha: float = SHIFT_P) -> go.Figure:
    """How far queries sit from the corpus and from the period before, per period, in two panels over one time axis:
    above, the out-of-corpus share (hybrid queries whose best incident is below the abstention similarity); below,
    the MMD² of the period's query embeddings against the previous period's (Gretton et al. 2012, "A Kernel
    Two-Sample Test", JMLR 13), a period whose permutation p-value is below ``alpha`` (the report's own level for
    ``shifted``) starred."""
    periods = list(drift.get("by_period") or [])
    if not periods:
        return _empty("No hybrid searches with embeddings logged in this window")
    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08)
    starts = _starts(periods)
    figure.add_trace(go.Bar(
        x=starts, y=[period["out_of_corpus_rate"] for period in periods], name="out of corpus",
        marker={"color": PALETTE[0], "opacity": 0.55},
        hovertext=[f"{period['period']}: {_percent(period['out_of_corpus_rate'])} of {period['n']:,} searches out "
                   "of corpus" for period in periods], hoverinfo="text"), row=1, col=1)
    figure.add_trace(go.Scatter(
        x=starts, y=[period["mmd2"] for period in periods], name="MMD² vs previous period", mode="lines+markers",
        line={"color": "#444"},
        hovertext=[f"{period['period']}: MMD² {_number(period['mmd2'])}, p = {_number(period['p_value'])}"
                   for period in periods], hoverinfo="text"), row=2, col=1)
    shifted = [(start, period) for start, period in zip(starts, periods, strict=True)
               if period["p_value"] is not None and period["p_value"] < alpha]
    if shifted:
        figure.add_trace(go.Scatter(
            x=[start for start, _ in shifted], y=[period["mmd2"] for _, period in shifted],
            name=f"shift (p < {alpha:g})", mode="markers",
            marker={"color": SHIFT_COLOUR, "size": 14, "symbol": "star"},
            hovertext=[f"{period['period']}: queries shifted (MMD² {_number(period['mmd2'])}, "
                       f"p = {_number(period['p_value'])})" for _, period in shifted], hoverinfo="text"),
            row=2, col=1)
    figure.update_yaxes(title_text="out of corpus", tickformat=".0%", rangemode="tozero", row=1, col=1)
    # MMD² is unbiased, so it dips below 0 when two samples are alike: the zero line is "no difference"
    figure.update_yaxes(title_text="MMD²", zeroline=True, zerolinecolor="#999", tickformat=".2~g", row=2, col=1)
    _period_ticks(figure, periods)
    figure.update_xaxes(showticklabels=True, row=2, col=1)
    figure.update_xaxes(showticklabels=False, row=1, col=1)
    figure.update_layout(margin=MARGIN, legend={"orientation": "h", "y": 1.1}, height=480)
    return figure


def gaps_chart(gaps: Sequence[Mapping[str, Any]], max_themes: int = 15) -> go.Figure:
    """The gap themes as horizontal bars, the biggest on top: queries per theme (abstained or voted down), labelled
    with how many distinct questions they are; the hover lists the theme's first examples. The questions are users'
    text, which plotly would read as HTML (``<a href>``, ``<b>``): it is shown escaped."""
    if not gaps:
        return _empty("No abstained or voted-down questions in this window")
    top = list(gaps[:max_themes])
    figure = go.Figure(go.Bar(
        x=[gap["count"] for gap in top], y=[escape(gap["label"]) for gap in top], orientation="h",
        marker={"color": ABSTAIN_COLOUR, "opacity": 0.8},
        text=[f"{gap['count']:,} ({gap['distinct']:,} distinct)" for gap in top], textposition="auto",
        hovertext=[f"{escape(gap['label'])}<br>{gap['count']:,} queries: {gap['abstained']:,} abstained, "
                   f"{gap['thumbs_down']:,} voted down<br>" + "<br>".join(
                       f"· {escape(example[:80])}" for example in gap["example_queries"][:3]) for gap in top],
        hoverinfo="text"))
    figure.update_yaxes(autorange="reversed", type="category")
    figure.update_xaxes(title_text="queries", rangemode="tozero")
    figure.update_layout(margin={**MARGIN, "l": 10}, height=max(220, 34 * len(top) + 90))
    return figure


# -- tables (the page's CSV downloads, a notebook's frames): one row per period, settings version or gap theme -----

def _bounds(ci95: Sequence[float] | None) -> tuple[float | None, float | None]:
    return (None, None) if ci95 is None else (ci95[0], ci95[1])


def period_table(by_period: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """The report's ``by_period`` flattened: latencies in ms, rates as fractions, intervals as low/high columns."""
    rows = []
    for period in by_period:
        helpful = period["helpful"]
        low, high = _bounds(helpful["ci95"])
        rows.append({"period": period["period"], "start": period["start"], "partial": period["partial"],
                     "queries": period["queries"], "abstained": period["abstained"],
                     "abstain_rate": period["abstain_rate"],
                     **{f"latency_{name}_ms": period["latency_ms"][name] for name in PERCENTILE_STYLES},
                     "votes": helpful["votes"], "helpful_up": helpful["up"], "helpful_rate": helpful["rate"],
                     "helpful_low": low, "helpful_high": high, "out_of_corpus_rate": period["out_of_corpus_rate"]})
    return pd.DataFrame(rows)


#: The settings a version table shows as columns (every other one stays in the ``settings`` JSON column).
VERSION_SETTINGS = ("weights", "fusion", "norm")


def settings_table(by_settings: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """The report's ``by_settings`` flattened, newest version first: traffic, abstain and helpful rates with their
    Wilson 95% intervals, the weights, fusion and norm that tell versions apart, and every setting as JSON."""
    import json
    rows = []
    for version in by_settings:
        helpful = version["helpful"]
        abstain_low, abstain_high = _bounds(version["abstain_ci95"])
        helpful_low, helpful_high = _bounds(helpful["ci95"])
        settings = version["settings"] or {}
        rows.append({"settings_hash": version["settings_hash"], "first_seen": version["first_seen"],
                     "last_seen": version["last_seen"], "queries": version["queries"],
                     "abstain_rate": version["abstain_rate"], "abstain_low": abstain_low,
                     "abstain_high": abstain_high, "votes": helpful["votes"], "helpful_up": helpful["up"],
                     "helpful_rate": helpful["rate"], "helpful_low": helpful_low, "helpful_high": helpful_high,
                     **{name: _setting(settings.get(name)) for name in VERSION_SETTINGS},
                     "settings": json.dumps(settings, sort_keys=True)})
    return pd.DataFrame(rows)


def _setting(value: Any) -> Any:
    """Weights as ``0.5 / 0.3 / 0.2`` (a list does not sit in a CSV cell or a table column as one value)."""
    if isinstance(value, list | tuple):
        return " / ".join(f"{item:g}" if isinstance(item, float | int) else str(item) for item in value)
    return value


def gaps_table(gaps: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """The report's ``gaps``, biggest first, the examples joined by `` | ``."""
    return pd.DataFrame([{"label": gap["label"], "count": gap["count"], "distinct": gap["distinct"],
                          "abstained": gap["abstained"], "thumbs_down": gap["thumbs_down"],
                          "example_queries": " | ".join(gap["example_queries"])} for gap in gaps],
                        columns=["label", "count", "distinct", "abstained", "thumbs_down", "example_queries"])
