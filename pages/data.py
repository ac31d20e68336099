"""Data: add incident files (with a validation report), load the demo corpus, browse and reindex the corpus."""

from pathlib import Path

import pandas as pd
import plotly.express as px
import streamlit as st

import ui
from sherlock.config import DEMO_DIR

ws = ui.workspace()
store = ws.store
st.title("🗂️ Data")

with st.expander("Add incidents", expanded=store.count() == 0):
    files = st.file_uploader("Incident files: the original SherlockAI issues.json, JSON, JSONL, CSV or BEIR "
                             "corpus.jsonl", type=["json", "jsonl", "csv"], accept_multiple_files=True)
    cols = st.columns(2)
    fmt = cols[0].selectbox("Format", ["auto", "sherlock", "json", "jsonl", "csv", "beir"])
    strict = cols[1].checkbox("Strict: store nothing from a file with a bad record")
    if st.button("Validate and ingest", type="primary", disabled=not files):
        upload_dir = ws.settings.home / "uploads"
        upload_dir.mkdir(parents=True, exist_ok=True)
        paths = []
        for upload in files:
            path = upload_dir / Path(upload.name).name
            path.write_bytes(upload.getvalue())
            paths.append(path)
        report = ws.ingest(paths, fmt, strict=strict, progress=ui.progress_callback(st.progress(0.0)))
        st.session_state.ingest_report = report
    if st.button("Load the demo corpus (2,000 generated incidents)"):
        ws.ingest([DEMO_DIR / "incidents.jsonl"], progress=ui.progress_callback(st.progress(0.0)))
        st.success("Demo corpus loaded.")

report = st.session_state.get("ingest_report")
if report:
    summary = pd.DataFrame([{k: v for k, v in f.as_dict().items() if k not in ("rejected", "duplicate_content")}
                            for f in report.files])
    st.dataframe(summary, hide_index=True)
    rejected = pd.DataFrame([{"file": Path(r.path).name, "line": r.line, "reason": r.reason}
                             for f in report.files for r in f.rejected])
    if len(rejected):
        st.warning(f"{len(rejected)} record(s) rejected — fix them at the line shown and upload the file again "
                   "(good records were stored; re-ingesting them changes nothing).")
        st.dataframe(rejected, hide_index=True)
    duplicates = [d for f in report.files for d in f.duplicate_content]
    if duplicates:
        st.info("Same content under two ids: " + ", ".join(f"{a} = {b}" for a, b in duplicates))

st.subheader(f"Corpus · {store.count():,} incidents")
if not store.count():
    st.info("The workspace is empty: upload files above or load the demo corpus.")
    st.stop()
frame = ui.corpus_frame(str(ws.settings.home), store.revision())
text = st.text_input("Filter by id, title or tag", placeholder="e.g. refund")
shown = frame
if text:
    needle = text.lower()
    shown = frame[frame.apply(lambda r: needle in f"{r['id']} {r['title']} {r['tags']}".lower(), axis=1)]
st.dataframe(shown, hide_index=True, height=320)
st.download_button("Download as CSV", shown.to_csv(index=False), "incidents.csv", "text/csv")
cols = st.columns(2)
for col, facet in zip(cols, ("service", "severity"), strict=True):
    counts = pd.Series(store.facet_counts(facet), name="incidents").rename_axis(facet).reset_index()
    col.plotly_chart(px.bar(counts, x=facet, y="incidents", title=f"Incidents by {facet}"), use_container_width=True)
if st.button("Reindex (rebuild vectors and lexical indexes from the store)"):
    result = ws.reindex(progress=ui.progress_callback(st.progress(0.0)))
    st.success(f"Reindexed {store.count():,} incidents in {result.seconds:.1f} s.")
