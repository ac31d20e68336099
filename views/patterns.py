"""Incident patterns: how much breaks, how long recovery takes, which causes keep coming back, and when something
spikes — each metric next to its definition, each table downloadable as CSV."""

import pandas as pd
import streamlit as st

from sherlock.analytics import frame as analytics
from sherlock.analytics.frame import DEFINITIONS
from sherlock.analytics.spikes import find_spikes
from sherlock.analytics.themes import theme_summary
from sherlock.plots import patterns as charts
from ui import resources
from ui.patterns import exclusion_rules_ui, kpi_tiles, patterns_filters_ui
from ui.widgets import escape_markdown, table_with_download

ws = resources.workspace()
st.title("📈 Incident patterns")
statuses, tags = exclusion_rules_ui()
frame, excluded = resources.patterns_frame(str(ws.settings.home), ws.store.revision(), statuses, tags)
if frame.empty:
    st.info("No incidents to analyse: add yours or load the demo corpus on the **Data** page.")
    st.stop()
facets, start, end, freq, by = patterns_filters_ui(frame)
view = analytics.between(facets, start, end)
left_out = ", ".join(f"{reason} {count}" for reason, count in excluded.items()) or "none"
st.caption(f"{len(view):,} incidents created {start} … {end} (UTC) · excluded: {escape_markdown(left_out)}")

windows = analytics.comparison_windows(facets, freq, None if start <= frame["created"].min().date() else start, end)
if view.empty or windows is None:
    st.info("No incident matches these filters: widen the date range or clear a filter.")
    st.stop()
(current_from, current_to), previous = windows
kpi_tiles(analytics.compare_windows(facets, current_from, current_to, previous))
st.caption(f"Tiles and the MTTR table: {current_from} … {current_to} against {previous[0]} … {previous[1]} "
           "(the latest period when the whole history is shown, else the chosen range and as many days before).")

spikes = find_spikes(facets, by=by, freq="W")
spikes = spikes[spikes["start"].between(pd.Timestamp(start), pd.Timestamp(end))]
volume_tab, mttr_tab, themes_tab, spikes_tab, entities_tab = st.tabs(
    ["Volume", "Time to resolve", "Themes", "Spikes", "Entities"])

with volume_tab:
    st.caption(DEFINITIONS["volume"] + " Dotted lines: " + DEFINITIONS["spike"])
    counts = analytics.volume(view, freq, by)
    st.plotly_chart(charts.volume_chart(counts, by, spikes), key="volume")
    st.plotly_chart(charts.severity_mix(view, freq), key="severity")
    table_with_download(counts.pivot(index="period", columns=by, values="count").reset_index(), "volume")

with mttr_tab:
    st.caption(f"{DEFINITIONS['mttr']} {DEFINITIONS['unresolved']} Change: {DEFINITIONS['change']}")
    st.plotly_chart(charts.mttr_box(view, by), key="mttr")
    table_with_download(analytics.mttr_change(facets, current_from, current_to, by, previous), "mttr")

with themes_tab:
    st.caption(f"{DEFINITIONS['theme']} {DEFINITIONS['recurrence']}")
    summary = theme_summary(view)
    st.plotly_chart(charts.themes_chart(summary), key="themes")
    table_with_download(summary.assign(incident_ids=summary["incident_ids"].map(" ".join)), "themes")
    choices = {f"{row.label} ({row.size})": row.theme for row in summary.itertuples()}
    picked = st.selectbox("Drill down into a theme", list(choices))
    members = view[view["theme"] == choices.get(picked)].sort_values("created", ascending=False)
    table_with_download(members[["id", "title", "service", "severity", "status", "created", "minutes_to_resolve",
                                 "repeat_of"]], "theme-incidents")
    if st.button("🔎 Search similar incidents in Chat search", disabled=members.empty,
                 help="Asks the chat page about the newest incident of this theme"):
        st.session_state["pending_question"] = members["title"].iloc[0]
        st.switch_page("views/chat.py")

with spikes_tab:
    st.caption(DEFINITIONS["spike"])
    st.plotly_chart(charts.heatmap(analytics.volume(view, "W", by), by), key="heatmap")
    table_with_download(spikes.drop(columns="start").assign(incident_ids=spikes["incident_ids"].map(" ".join)),
                        "spikes")

with entities_tab:
    st.caption("Gateways, banks, merchants, services and error codes named by incidents (the search entity index: "
               "dictionary plus names mined from the corpus), per period.")
    top = analytics.top_entities(view, freq, k=8, entity_index=ws.lexical().entities,
                                 kinds=["gateways", "banks", "merchants", "error_codes", "services"])
    st.plotly_chart(charts.entities_chart(top), key="entities")
    table_with_download(top, "entities")
