"""Monitoring page helpers: the query log and its report (cached per log revision and vote count), the window in the
sidebar, the KPI tiles against the previous period, the alerts, and the sections under the charts — the settings
versions, the gap themes whose examples open in Chat search, the drift sentence and the CSV downloads."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import streamlit as st

from sherlock.analytics.units import MISSING, PERIOD_NAMES, rate, rate_change, span
from sherlock.config import Settings
from sherlock.storage.db.stores import store_exists
from ui.widgets import escape_markdown

#: How traffic reaches the log (the empty state says it; so does the README).
TRAFFIC_SOURCES = ("every question asked in **Chat search** (and the app's other searches); "
                   "`sherlock search \"…\"`, `sherlock ask \"…\"` and `sherlock similar ID` on the command line "
                   "(batch evaluations are not user traffic and are not logged); and the HTTP API's `/search`, "
                   "`/ask` and `/similar` (`sherlock serve`)")


@st.cache_resource(show_spinner=False, max_entries=4)
def _reader(where: str, keep_text: bool, _settings: Settings):  # noqa: ANN202 - a QueryLog
    from sherlock.monitoring.report import open_log as open_for_reading
    return open_for_reading(_settings)


def open_log(settings: Settings):  # noqa: ANN201 - sherlock.monitoring.querylog.QueryLog | None
    """The workspace's query log for reading (connections of its own, so the page never holds up the writer), kept
    for the process; ``None`` while nothing was ever logged in the workspace's file (a shared store always has a
    log, maybe empty). With logging off, what was logged before."""
    if not store_exists(settings, settings.query_log_path):
        return None
    return _reader(settings.store_url or str(settings.query_log_path), settings.query_log_text == "text", settings)


@st.cache_data(show_spinner=False, max_entries=8)
def logged_days(where: str, revision: tuple[int, int], _log) -> tuple[date, date] | None:  # noqa: ANN001
    """The first and the last UTC day with a logged query (``None``: nothing logged); ids are time-ordered, so both
    ends are one primary-key lookup."""
    found = _log.span() if revision[0] else None
    if found is None:
        return None
    first, last = (datetime.fromtimestamp(ts, UTC).date() for ts in found)
    return first, last


@st.cache_data(show_spinner="Reading the query log…", max_entries=16, ttl=300)
def monitor_report(where: str, revision: tuple[int, int], votes: int, fingerprint: str, since: date, until: date,
                   freq: str, _settings: Settings, _log) -> dict[str, Any]:  # noqa: ANN001
    """:func:`sherlock.monitoring.report.monitor_report` over the days ``since`` … ``until``, computed again when a
    query is logged or pruned (the log's revision), a vote is cast (``votes``) or a setting changes
    (``fingerprint``); the time to live renews what depends on the clock (a partial period)."""
    from sherlock.monitoring.report import monitor_report as build
    return build(_settings, since=since, until=until, freq=freq, log=_log)


def report_ui(settings: Settings, log, since: date, until: date, freq: str) -> dict[str, Any]:  # noqa: ANN001
    """The report of the chosen window (both dates included, as the date picker and the report read them)."""
    from sherlock.storage.feedback import feedback_exists, open_feedback
    votes = 0
    if feedback_exists(settings):  # a page that only reads creates no file
        store = open_feedback(settings)
        try:
            votes = store.count()
        finally:
            store.close()
    return monitor_report(log.where, log.revision(), votes, settings.model_dump_json(), since, until, freq, settings,
                          log)


def empty_state_ui(settings: Settings) -> None:
    """What the page shows before any query is logged: how traffic arrives, or how to turn logging on."""
    if not settings.query_log:
        st.info("Query logging is off in this workspace (`query_log = false`), so there is nothing to monitor. Turn "
                "it on with `query_log = true` in `sherlock.toml` or `SHERLOCK_QUERY_LOG=true`; from then on "
                f"traffic is logged here: {TRAFFIC_SOURCES}.")
        return
    st.info(f"No query logged yet. Traffic arrives as people search: {TRAFFIC_SOURCES}. Each request is logged with "
            "its time, whether it abstained, its latency, its settings version and the votes on its answer; this "
            "page fills in from the first one.")


def monitoring_filters_ui(first: date, last: date) -> tuple[str, date, date]:
    """Sidebar: the period (day, week, month) and the window of days (both ends included): by default from the first
    logged day to today (UTC), so traffic that stopped shows as empty periods rather than going unnoticed."""
    last = max(last, datetime.now(UTC).date())
    with st.sidebar:
        st.header("Window")
        freq = st.radio("Periods", ["W", "D", "M"], horizontal=True, format_func=PERIOD_NAMES.get)
        chosen = st.date_input("Logged between", (first, last), min_value=first, max_value=last)
    start, end = chosen if isinstance(chosen, tuple) and len(chosen) == 2 else (first, last)
    return freq, start, end


def _ms(value: float | None, sign: str = "") -> str:
    """Milliseconds as people read them: ``1,250 ms``, ``42 ms``, ``7.6 ms`` (a decimal below 10)."""
    if value is None:
        return MISSING
    return f"{value:{sign},.1f} ms" if abs(value) < 10 else f"{value:{sign},.0f} ms"


def kpi_tiles(report: dict[str, Any]) -> None:
    """Queries, abstain rate, p95 latency and helpful rate of the latest period with queries, each with its change
    against the period before (lower is better for the abstain rate and the latency; traffic is neither)."""
    from sherlock.monitoring.alerts import latest_periods
    current, previous = latest_periods(report["by_period"])
    if current is None:
        st.info("No query in this window: widen the dates in the sidebar.")
        return
    definitions = report["definitions"]

    def tile(column, label: str, key: str, value, show, change_text, colour: str, extra: str = "") -> None:  # noqa: ANN001
        """One tile: ``value(period)`` shown with ``show``, its change with ``change_text`` (no change without a
        previous period or a value in both), the definition and the previous value in its help."""
        now, before = value(current), value(previous) if previous else None
        change = None if now is None or before is None else change_text(now - before)
        shown_before = f" Previous period: {show(before)}." if previous else " No period before it in the window."
        column.metric(label, show(now) + extra, change, delta_color=colour, help=definitions[key] + shown_before)

    queries, abstain, latency, helpful = st.columns(4)
    tile(queries, "Queries", "queries", lambda period: period["queries"], "{:,}".format, "{:+,}".format, "off")
    tile(abstain, "Abstain rate", "abstain_rate", lambda period: period["abstain_rate"], rate, rate_change,
         "inverse")
    tile(latency, "p95 latency", "latency_ms", lambda period: period["latency_ms"]["p95"], _ms,
         lambda change: _ms(change, "+"), "inverse")
    votes = current["helpful"]["votes"]
    tile(helpful, "Helpful rate", "helpful", lambda period: period["helpful"]["rate"], rate, rate_change, "normal",
         f" (n={votes:,})" if votes else "")
    name = PERIOD_NAMES[report["freq"]]
    partial = " (partial: the window or today cuts it short)" if current["partial"] else ""
    against = f"the {name} of {previous['period']}" if previous else "nothing (the window starts there)"
    st.caption(f"Tiles: the {name} of {current['period']}{partial}, the latest with queries, against {against}. "
               f"The whole window, {span(report['since'], report['until'])}: {report['queries']:,} queries, "
               f"{rate(report['abstain_rate'])} abstained, p50 {_ms(report['latency_ms']['p50'])}, p95 "
               f"{_ms(report['latency_ms']['p95'])}, helpful {rate(report['helpful']['rate'])} of "
               f"{report['helpful']['votes']:,} votes.")


#: How loud each alert is: a slow service or a change that hurt users is an error; abstaining more often is a
#: warning (it may be off-topic traffic rather than a fault: the gap themes say which).
ALERT_BOXES = {"p95_latency": st.error, "helpful_drop": st.error, "abstain_rate": st.warning}


def alerts_ui(report: dict[str, Any]) -> None:
    """One box per fired alert, or a success line naming what was checked."""
    for alert in report["alerts"]:
        ALERT_BOXES.get(alert["name"], st.error)(escape_markdown(alert["message"]), icon="🚨")
    if not report["alerts"]:
        st.success("No alert: the latest period with queries is within every threshold.", icon="✅")


def settings_versions_ui(report: dict[str, Any]) -> None:
    """What each settings version is (weights, fusion, norm) beside its traffic and rates, newest first."""
    from sherlock.plots.monitoring import settings_table
    table = settings_table(report["by_settings"])
    if table.empty:
        return
    shown = table.assign(first_seen=table["first_seen"].str[:16].str.replace("T", " "),  # to the minute, UTC
                         last_seen=table["last_seen"].str[:16].str.replace("T", " "))
    st.dataframe(shown[["settings_hash", "weights", "fusion", "norm", "queries", "abstain_rate", "votes",
                        "helpful_rate", "first_seen", "last_seen"]],
                 hide_index=True, column_config={
                     "settings_hash": st.column_config.TextColumn("version"),
                     "abstain_rate": st.column_config.NumberColumn("abstain rate", format="percent"),
                     "helpful_rate": st.column_config.NumberColumn("helpful rate", format="percent"),
                     "first_seen": st.column_config.TextColumn("first seen (UTC)"),
                     "last_seen": st.column_config.TextColumn("last seen (UTC)")})


#: The longest example question a button shows whole (a longer one is cut; Chat search gets all of it).
EXAMPLE_CHARS = 90


def gaps_ui(report: dict[str, Any], max_themes: int = 8) -> None:
    """The gap themes' chart and, beside it, each theme's example questions as buttons that ask them in Chat
    search; or why there are none."""
    from sherlock.plots.monitoring import gaps_chart
    if not report["text_kept"]:
        st.info("Gap themes are unavailable: this workspace keeps only a keyed hash of each query "
                "(`query_log_text = \"hash\"`), so identical questions are counted together but there is no text "
                "to group into themes or to show. Set `query_log_text = \"text\"` (or "
                "`SHERLOCK_QUERY_LOG_TEXT=text`) to collect them from now on.")
        return
    chart, examples = st.columns([3, 2])
    chart.plotly_chart(gaps_chart(report["gaps"]), key="gaps")
    for number, gap in enumerate(report["gaps"][:max_themes]):
        with examples.expander(f"{escape_markdown(gap['label'])} · {gap['count']:,} queries", expanded=number == 0):
            st.caption(f"{gap['distinct']:,} distinct questions: {gap['abstained']:,} abstained, "
                       f"{gap['thumbs_down']:,} voted down. Click one to ask it in Chat search.")
            for index, example in enumerate(gap["example_queries"]):
                shown = example if len(example) <= EXAMPLE_CHARS else example[:EXAMPLE_CHARS - 1] + "…"
                if st.button(escape_markdown(shown), key=f"gap-{number}-{index}", icon="💬"):  # users' text: inert
                    st.session_state["pending_question"] = example
                    st.switch_page("views/chat.py")


def drift_sentence(report: dict[str, Any]) -> str:
    """Whether the latest period's queries shifted against the period before, in one sentence with its numbers."""
    drift, name = report["drift"], PERIOD_NAMES[report["freq"]]
    outside = (f" Out of corpus: {rate(drift['out_of_corpus_rate'])} of its searches (the {name} before: "
               f"{rate(drift['previous_out_of_corpus_rate'])}).") if drift["out_of_corpus_rate"] is not None else ""
    if drift["value"] is None or drift["previous_period"] is None:
        return (f"Not enough embedded searches to compare the {name} of {drift['period']} with the one before "
                f"(n = {drift['n']:,} and {drift['n_previous']:,}).{outside}")
    numbers = (f"MMD² = {drift['value']:.3g}, p = {drift['p_value']:.3g}; n = {drift['n']:,} against "
               f"{drift['n_previous']:,}")
    if drift["shifted"]:
        return (f"**Queries shifted**: the {name} of {drift['period']} asks about other things than the {name} of "
                f"{drift['previous_period']} ({numbers}).{outside}")
    return (f"No shift: the {name} of {drift['period']} asks about the same things as the {name} of "
            f"{drift['previous_period']} ({numbers}).{outside}")


def downloads_ui(report: dict[str, Any]) -> None:
    """The report's tables as CSV: per period, per settings version, the gap themes."""
    from sherlock.plots.monitoring import gaps_table, period_table, settings_table
    tables = {"monitoring-periods": period_table(report["by_period"]),
              "monitoring-settings": settings_table(report["by_settings"]),
              "monitoring-gaps": gaps_table(report["gaps"])}
    for column, (name, table) in zip(st.columns(len(tables)), tables.items(), strict=True):
        column.download_button(f"Download {name}.csv", table.to_csv(index=False), f"{name}.csv", "text/csv",
                               key=f"download-{name}", disabled=table.empty)
