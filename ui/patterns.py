"""Incident patterns' helpers: the exclusion rules and filters in the sidebar, the KPI tiles and what they compare,
tables whose durations read in human units (incidents linked to their own page), and the Time to resolve and Themes
tabs."""

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


#: The KPI tiles: label, metric of ``compare_windows``, the metric that is its n (None: it is a count), definition.
KPI_TILES = (("Incidents", "count", None, "volume"), ("MTTR median", "mttr_median", "resolved", "mttr"),
             ("MTTR p90", "mttr_p90", "resolved", "mttr"), ("Repeat rate", "repeat_rate", "count", "repeat_rate"))


def kpi_tiles(change: dict) -> None:
    """One metric tile per ``KPI_TILES`` entry from :func:`sherlock.analytics.frame.compare_windows`: the value in
    its unit with its n, the change against the previous window as its delta (with its unit; lower is better for
    all of them) and the definition and previous value as its help."""
    from sherlock.analytics.frame import DEFINITIONS
    from sherlock.analytics.units import metric_change, metric_value
    for column, (label, key, n_key, definition) in zip(st.columns(len(KPI_TILES)), KPI_TILES, strict=True):
        value, previous, delta = change[key]["current"], change[key]["previous"], change[key]["change"]
        shown, before = metric_value(key, value), metric_value(key, previous)
        if n_key is not None:
            shown += f" (n={change[n_key]['current']:,})" if value is not None else ""
            before += f" (n={change[n_key]['previous']:,})" if previous is not None else ""
        column.metric(label, shown, None if delta is None else metric_change(key, delta), delta_color="inverse",
                      help=f"{DEFINITIONS[definition]} Previous window: {before}. Delta: {DEFINITIONS['change']}")


def comparison_caption(windows: tuple, change: dict, freq: str, since: object,
                       partial: tuple | None) -> str:
    """Which windows the tiles compare, with the incidents (and resolved ones) in each, and the partial period left
    out (see :func:`sherlock.analytics.frame.comparison_windows`)."""
    from sherlock.analytics.units import PERIOD_NAMES, span
    (current_from, current_to), (previous_from, previous_to) = windows
    period = PERIOD_NAMES[freq]

    def sizes(side: str) -> str:
        count, resolved = change["count"][side], change["resolved"][side]
        return "nothing recorded yet" if count is None else f"{count:,} incidents, {resolved:,} resolved"

    if since is not None:
        days = (current_to - current_from).days + 1
        what, before = f"the chosen {days} days", f"the {days} days before"
    else:
        what = f"the latest {'complete ' if partial else ''}{period}"
        before = f"the {period} before"
    text = (f"Tiles: {what}, {span(current_from, current_to)} ({sizes('current')}), against {before}, "
            f"{span(previous_from, previous_to)} ({sizes('previous')}).")
    if partial and since is None and partial[1] != current_to:
        days_in = (partial[1] - partial[0]).days + 1
        text += (f" The {period} of {partial[0]} is partial ({days_in} day{'s' if days_in > 1 else ''} of data so "
                 f"far) and is left out, so a part of a {period} is never compared with a whole one.")
    return text


def table_with_durations(table, name: str, durations: list[str], link_ids: bool = False,  # noqa: ANN001
                         ) -> None:
    """A table whose ``durations`` columns (minutes) read 45 min / 6.2 h / 2.4 d (changes signed), and a button that
    downloads it as ``name.csv`` with those columns in minutes, named so (``median_minutes``). ``link_ids``: the
    shown table starts with a link to each row's incident page (from its ``id``; not in the CSV)."""
    from sherlock.analytics.units import duration, duration_change
    from ui.incident import incident_url

    def label(column: str) -> str:
        return column.replace("minutes_to_resolve", "time_to_resolve").removesuffix("_minutes")

    shown = table.assign(**{column: table[column].map(duration_change if column.startswith("change_") else duration)
                            for column in durations})
    links = {}
    if link_ids:
        shown.insert(0, "page", shown["id"].map(incident_url))
        links["page"] = st.column_config.LinkColumn(
            "page", display_text="🧾 open", help="Open the incident's page: every field and the incidents most like it")
    st.dataframe(shown.rename(columns={column: label(column) for column in durations}), hide_index=True,
                 column_config=links or None)
    raw = table.rename(columns={column: column if "minutes" in column else f"{column}_minutes"
                                for column in durations})
    st.download_button(f"Download {name}.csv", raw.to_csv(index=False), f"{name}.csv", "text/csv",
                       key=f"download-{name}")


def mttr_tab_ui(facets, view, start, end, by: str) -> None:  # noqa: ANN001 - the page's frames and dates
    """The Time to resolve tab: the box plot and the table over the same incidents — those created ``start`` ..
    ``end`` — in the same group order, and the change against as many days before (when there are any)."""
    from sherlock.analytics.frame import DEFINITIONS, mttr_change, previous_window
    from sherlock.analytics.units import span
    from sherlock.plots.patterns import mttr_box
    table = mttr_change(facets, start, end, by)
    compared = table["previous_resolved"].notna().any()
    if not compared:  # nothing recorded before the range (the whole history is shown): no change to speak of
        table = table.drop(columns=[c for c in table.columns if c.startswith(("previous_", "change_"))])
    resolved = int(view["minutes_to_resolve"].notna().sum())
    window = f"the {len(view):,} incidents created {span(start, end)} ({resolved:,} resolved), by {by}"
    against = f"; previous and change: {span(*previous_window(start, end))}, as many days before" if compared else ""
    st.caption(f"Box plot and table: {window}{against}. {DEFINITIONS['mttr']} {DEFINITIONS['unresolved']}")
    st.plotly_chart(mttr_box(view, by), key="mttr")
    table_with_durations(table, "mttr", [c for c in table.columns if c.split("_")[-1] in ("median", "p90", "mean")])


def themes_tab_ui(view) -> None:  # noqa: ANN001 - the page's frame of incidents in range
    """The Themes tab: the treemap and table of recurring themes, a drill-down into one theme's incidents (newest
    first), and "search similar", which asks Chat search about the newest of them."""
    from sherlock.analytics.frame import DEFINITIONS
    from sherlock.analytics.themes import theme_summary
    from sherlock.plots.patterns import themes_chart
    st.caption(f"{DEFINITIONS['theme']} {DEFINITIONS['recurrence']}")
    summary = theme_summary(view)
    st.plotly_chart(themes_chart(summary), key="themes")
    table_with_durations(summary.assign(incident_ids=summary["incident_ids"].map(" ".join)), "themes",
                         ["mttr_median_minutes"])
    choices = {f"{row.label} ({row.size})": row.theme for row in summary.itertuples()}
    picked = st.selectbox("Drill down into a theme", list(choices))
    members = view[view["theme"] == choices.get(picked)].sort_values("created", ascending=False)
    table_with_durations(members[["id", "title", "service", "severity", "status", "created", "minutes_to_resolve",
                                  "repeat_of"]], "theme-incidents", ["minutes_to_resolve"], link_ids=True)
    if st.button("🔎 Search similar incidents in Chat search", disabled=members.empty,
                 help="Asks the chat page about the newest incident of this theme"):
        st.session_state["pending_question"] = members["title"].iloc[0]
        st.switch_page("views/chat.py")
