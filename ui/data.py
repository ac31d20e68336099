"""Data's helpers: the ingest report (files, rejected records with their lines, duplicate content), the corpus
filter, and the counts by facet."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import plotly.express as px
import streamlit as st

from sherlock.storage.store import Store
from sherlock.storage.workspace import IngestReport


def ingest_report_ui(report: IngestReport) -> None:
    """One row per file, the rejected records as file, line and reason with what to do, and ids that share content."""
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


def corpus_filter_ui(frame: pd.DataFrame) -> pd.DataFrame:
    """A text box; the rows whose id, title or tags contain its text (case-insensitive), or all of them."""
    text = st.text_input("Filter by id, title or tag", placeholder="e.g. refund")
    if not text:
        return frame
    needle = text.lower()
    return frame[frame.apply(lambda r: needle in f"{r['id']} {r['title']} {r['tags']}".lower(), axis=1)]


def facet_charts(store: Store, facets: tuple[str, ...] = ("service", "severity")) -> None:
    """Incidents per value of each facet, as bars side by side."""
    for col, facet in zip(st.columns(len(facets)), facets, strict=True):
        counts = pd.Series(store.facet_counts(facet), name="incidents").rename_axis(facet).reset_index()
        col.plotly_chart(px.bar(counts, x=facet, y="incidents", title=f"Incidents by {facet}"),
                         use_container_width=True)
