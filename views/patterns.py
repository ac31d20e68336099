"""Incident patterns: how much breaks, how long recovery takes, which causes keep coming back, and when something
spikes — each metric next to its definition, each table downloadable as CSV."""

import pandas as pd
import streamlit as st

from sherlock.analytics import frame as analytics
from sherlock.analytics.frame import DEFINITIONS
from sherlock.analytics.spikes import find_spikes
from sherlock.plots import patterns as charts
from ui import resources
from ui.patterns import (
    comparison_caption,
    exclusion_rules_ui,
    kpi_tiles,
    mttr_tab_ui,
    patterns_filters_ui,
    themes_tab_ui,
)
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

since = None if start <= frame["created"].min().date() else start
windows = analytics.comparison_windows(facets, freq, since, end)
if view.empty or windows is None:
    st.info("No incident matches these filters: widen the date range or clear a filter.")
    st.stop()
(current_from, current_to), previous = windows
change = analytics.compare_windows(facets, current_from, current_to, previous)
partial = analytics.partial_period(view, freq, end)
kpi_tiles(change)
st.caption(comparison_caption(windows, change, freq, since, partial))

spikes = find_spikes(facets, by=by, freq="W")
spikes = spikes[spikes["start"].between(pd.Timestamp(start), pd.Timestamp(end))]
volume_tab, mttr_tab, themes_tab, spikes_tab, entities_tab = st.tabs(
    ["Volume", "Time to resolve", "Themes", "Spikes", "Entities"])

with volume_tab:
    st.caption(DEFINITIONS["volume"] + " Dotted lines: " + DEFINITIONS["spike"])
    counts = analytics.volume(view, freq, by)
    st.plotly_chart(charts.volume_chart(counts, by, spikes, partial=partial), key="volume")
    st.plotly_chart(charts.severity_mix(view, freq), key="severity")
    table_with_download(counts.pivot(index="period", columns=by, values="count").reset_index(), "volume")

with mttr_tab:
    mttr_tab_ui(facets, view, start, end, by)

with themes_tab:
    themes_tab_ui(view)

with spikes_tab:
    st.caption(DEFINITIONS["spike"])
    st.plotly_chart(charts.heatmap(analytics.volume(view, "W", by), by), key="heatmap")
    table_with_download(spikes.drop(columns="start").assign(incident_ids=spikes["incident_ids"].map(" ".join)),
                        "spikes")

with entities_tab:
    st.caption("Gateways, banks, merchants, services and error codes named by incidents (the search entity index: "
               "dictionary plus names mined from the corpus): the 8 most named, most named on top, per period.")
    top = analytics.top_entities(view, freq, k=8, entity_index=ws.lexical().entities,
                                 kinds=["gateways", "banks", "merchants", "error_codes", "services"])
    st.plotly_chart(charts.entities_chart(top, freq), key="entities")
    table_with_download(top, "entities")
