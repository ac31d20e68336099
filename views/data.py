"""Data: add incident files (with a validation report and a field mapping), load the demo corpus, browse and reindex
the corpus."""

import streamlit as st

from sherlock.config import DEMO_DIR
from sherlock.storage.ingest import READERS
from ui import resources
from ui.data import corpus_filter_ui, corpus_table, facet_charts, field_mapping_ui, ingest_report_ui, run_ingest
from ui.widgets import progress_callback, save_uploads

ws = resources.workspace()
store = ws.store
st.title("🗂️ Data")

with st.expander("Add incidents", expanded=store.count() == 0):
    files = st.file_uploader("Incident files: canonical JSON, JSONL or CSV, the original SherlockAI issues.json, "
                             "a BEIR corpus.jsonl, or an incident tool's export (PagerDuty, Jira, ServiceNow, "
                             "incident.io, Opsgenie, Rootly, Statuspage, GitHub issues)",
                             type=["json", "jsonl", "csv", "md", "txt"], accept_multiple_files=True)
    cols = st.columns(2)
    fmt = cols[0].selectbox("Format", ["auto", *READERS],
                            help="auto: from the extension and the content (a tool's JSON is recognised by its "
                            "shape; a .jsonl with _id and text is a BEIR corpus)")
    strict = cols[1].checkbox("Strict: store nothing from a file with a bad record")
    if st.button("Validate and ingest", type="primary", disabled=not files):
        run_ingest(ws, save_uploads(files, ws.settings.home / "uploads"), fmt, strict=strict)
    if st.button("Load the demo corpus (2,000 generated incidents)"):
        run_ingest(ws, [DEMO_DIR / "incidents.jsonl"], remappable=False)

if report := st.session_state.get("ingest_report"):
    request = st.session_state.get("ingest_request")
    ingest_report_ui(report, request["mapping"] if request else None)
    if request and (mapping := field_mapping_ui(report, request["mapping"])) is not None:
        run_ingest(ws, request["paths"], request["fmt"], mapping, request["strict"])
        st.rerun()

st.subheader(f"Corpus · {store.count():,} incidents")
if not store.count():
    st.info("The workspace is empty: upload files above or load the demo corpus.")
    st.stop()
shown = corpus_filter_ui(resources.corpus_frame(str(ws.settings.home), store.revision()))
st.dataframe(corpus_table(shown), hide_index=True, height=320)
st.download_button("Download as CSV", shown.to_csv(index=False), "incidents.csv", "text/csv")
facet_charts(store)
if st.button("Reindex (rebuild vectors and lexical indexes from the store)"):
    result = ws.reindex(progress=progress_callback(st.progress(0.0)))
    st.success(f"Reindexed {store.count():,} incidents in {result.seconds:.1f} s.")
