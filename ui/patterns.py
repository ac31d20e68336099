"""Incident patterns' helpers: the exclusion rules and filters in the sidebar, and the KPI tiles."""

from __future__ import annotations

import streamlit as st


def exclusion_rules_ui() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Sidebar: which statuses and tags leave an incident out of every metric (comma-separated)."""
    from sherlock.analytics.frame import DEFINITIONS, EXCLUDED_STATUSES, EXCLUDED_TAGS
    with st.sidebar.expander("Exclusion rules"):
        st.caption(DEFINITIONS["excluded"])
        statuses = st.text_input("Statuses", ", ".join(EXCLUDED_STATUSES))
        tags = st.text_input("Tags", ", ".join(EXCLUDED_TAGS))
    return _comma_list(statuses), _comma_list(tags)


def _comma_list(text: str) -> tuple[str, ...]:
    return tuple(sorted({part.strip().lower() for part in text.split(",") if part.strip()}))


def patterns_filters_ui(frame):  # noqa: ANN001, ANN201 - pandas.DataFrame in, (DataFrame, date, date, str, str) out
    """Sidebar filters: created date range, service, severity, category, period and grouping. Returns the frame
    filtered by the facets only (the previous window for the deltas needs the dates before the range), the range,
    the frequency and the group column."""
    import pandas as pd
    first, last = frame["created"].min().date(), frame["created"].max().date()
    keep = pd.Series(True, index=frame.index)
    with st.sidebar:
        st.header("Filters")
        chosen = st.date_input("Created between", (first, last), min_value=first, max_value=last)
        start, end = chosen if isinstance(chosen, tuple) and len(chosen) == 2 else (first, last)
        for column in ("service", "severity", "category"):
            picked = st.multiselect(column.capitalize(), sorted(frame[column].unique()), key=f"patterns-{column}")
            if picked:
                keep &= frame[column].isin(picked)
        freq = st.radio("Volume per", ["M", "W", "D"], horizontal=True,
                        format_func={"M": "month", "W": "week", "D": "day"}.get)
        by = st.selectbox("Group by", ["service", "severity", "category"])
    return frame[keep], start, end, freq, by


#: The KPI tiles: label, metric of ``compare_windows``, value format, delta format, definition.
KPI_TILES = (("Incidents", "count", "{:,.0f}".format, "{:+,.0f}".format, "volume"),
             ("MTTR median", "mttr_median", "{:,.0f} min".format, "{:+,.0f} min".format, "mttr"),
             ("MTTR p90", "mttr_p90", "{:,.0f} min".format, "{:+,.0f} min".format, "mttr"),
             ("Repeat rate", "repeat_rate", "{:.1%}".format, lambda change: f"{100 * change:+.1f} pts", "repeat_rate"))


def kpi_tiles(change: dict) -> None:
    """One metric tile per ``KPI_TILES`` entry from :func:`sherlock.analytics.frame.compare_windows`, the change against
    the previous window as its delta (lower is better for all of them) and the definition as its help."""
    from sherlock.analytics.frame import DEFINITIONS
    for column, (label, key, value_format, delta_format, definition) in zip(st.columns(len(KPI_TILES)), KPI_TILES,
                                                                             strict=True):
        value, delta = change[key]["current"], change[key]["change"]
        column.metric(label, "–" if value is None else value_format(value),
                      None if delta is None else delta_format(delta), delta_color="inverse",
                      help=f"{DEFINITIONS[definition]} Delta: {DEFINITIONS['change']}")
