"""Monitoring: how search does in real use — traffic and abstentions, latency, what users found helpful under each
settings version, the questions the incident memory cannot answer, whether queries drift, and the alerts that fired;
each figure next to its definition, each table downloadable as CSV."""

import streamlit as st

from sherlock.plots import monitoring as charts
from ui import resources
from ui.monitoring import (
    alerts_ui,
    downloads_ui,
    drift_sentence,
    empty_state_ui,
    gaps_ui,
    kpi_tiles,
    logged_days,
    monitoring_filters_ui,
    open_log,
    report_ui,
    settings_versions_ui,
)

settings = resources.workspace().settings
st.title("📡 Monitoring")
log = open_log(settings)
days = None if log is None else logged_days(log.where, log.revision(), log)
if days is None:
    empty_state_ui(settings)
    st.stop()
if not settings.query_log:
    st.warning("Query logging is off (`query_log = false`): this is what was logged before; nothing new arrives.")
freq, since, until = monitoring_filters_ui(*days)
report = report_ui(settings, log, since, until, freq)
define = report["definitions"]

alerts_ui(report)
kpi_tiles(report)

traffic, latency = st.columns(2)
with traffic:
    st.subheader("Traffic and abstentions")
    st.caption(f"{define['queries']} {define['abstain_rate']}")
    st.plotly_chart(charts.traffic_chart(report["by_period"], settings.monitor_alert_abstain_rate), key="traffic")
with latency:
    st.subheader("Latency")
    st.caption(define["latency_ms"])
    st.plotly_chart(charts.latency_chart(report["by_period"], settings.monitor_alert_p95_ms), key="latency")

st.subheader("Helpful rate by settings version")
st.caption(f"{define['by_settings']} {define['helpful']}")
settings_versions_ui(report)
st.plotly_chart(charts.settings_chart(report["by_settings"]), key="settings")

st.subheader("Gaps: what the incident memory cannot answer")
st.caption(define["gaps"])
gaps_ui(report)

st.subheader("Drift")
st.caption(f"{define['out_of_corpus_rate']} {define['mmd2']} {define['p_value']}")
st.markdown(drift_sentence(report))
st.plotly_chart(charts.drift_chart(report["drift"]), key="drift")

downloads_ui(report)
