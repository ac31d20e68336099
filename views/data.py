"""Data: add incident files (a preview of what would be stored, then a validation report and a field mapping, saved
for the next file of the same shape), sync from incident tools, load the demo corpus, browse and reindex the
corpus."""

import hashlib
from pathlib import Path

import streamlit as st

from sherlock.config import DEMO_DIR
from sherlock.storage.ingest import READERS
from ui import access, resources
from ui.admin import admin_panels_ui
from ui.data import (
    corpus_filter_ui,
    corpus_table,
    facet_charts,
    field_mapping_ui,
    ingest_report_ui,
    mapping_store,
    preview_ui,
    run_ingest,
    save_applied_mapping,
)
from ui.sync import sync_panel_ui
from ui.widgets import HeldUpload, progress_callback, uploads_on_disk

ws = resources.workspace()
store = ws.store
mappings = mapping_store(ws)
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
    chosen = [hashlib.sha256(f.getvalue()).hexdigest() for f in files or []]
    saved = None
    if files and chosen != st.session_state.get("ingested_files"):  # once ingested, the report below says it all
        saved = preview_ui(files, fmt, mappings)
    if st.button("Validate and ingest", type="primary", disabled=not files):
        access.require("ingest")
        held = [HeldUpload(f.name, f.getvalue()) for f in files]
        with uploads_on_disk(held) as paths:  # gone once read: only redacted text is kept
            run_ingest(ws, paths, fmt, strict=strict, saved=saved)
        st.session_state.ingest_uploads = held  # to ingest again with a field mapping
        access.audit("ingest", ", ".join(f.name for f in files))
        st.session_state.ingested_files = chosen
        st.rerun()
    if st.button("Load the demo corpus (2,000 generated incidents)"):
        access.require("ingest")
        run_ingest(ws, [DEMO_DIR / "incidents.jsonl"], remappable=False)
        st.session_state.pop("ingest_uploads", None)
        access.audit("ingest", "the demo corpus")

with st.expander("Sync from incident tools", expanded=store.count() == 0):
    sync_panel_ui(ws)

if report := st.session_state.get("ingest_report"):
    request = st.session_state.get("ingest_request")
    ingest_report_ui(report, request["mapping"] if request else None)
    if request and (mapping := field_mapping_ui(report, request["mapping"])) is not None:
        access.require("ingest")
        with uploads_on_disk(st.session_state.get("ingest_uploads", [])) as paths:
            again = run_ingest(ws, paths, request["fmt"], mapping, request["strict"])
        access.audit("ingest", ", ".join(Path(path).name for path in request["paths"]) + " (with a field mapping)")
        save_applied_mapping(mappings, again, mapping)
        st.rerun()

st.subheader(f"Corpus · {store.count():,} incidents")
if not store.count():
    st.info("The workspace is empty: upload files above or load the demo corpus.")
    admin_panels_ui(ws)
    st.stop()
shown = corpus_filter_ui(resources.corpus_frame(str(ws.settings.home), store.revision()))
st.dataframe(corpus_table(shown), hide_index=True, height=320)
st.download_button("Download as CSV", shown.to_csv(index=False), "incidents.csv", "text/csv")
facet_charts(store)
if st.button("Reindex (rebuild vectors and lexical indexes from the store)"):
    access.require("reindex")
    result = ws.reindex(progress=progress_callback(st.progress(0.0)))
    access.audit("reindex")
    st.success(f"Reindexed {store.count():,} incidents in {result.seconds:.1f} s.")
admin_panels_ui(ws)
