"""The Data page's admin panels (shown to admins only): deleting incidents by id, and the audit log of who changed
the workspace."""

from __future__ import annotations

import re

import pandas as pd
import streamlit as st

from sherlock.audit import AuditEntry, entries, log_location
from sherlock.config import Settings
from sherlock.storage.workspace import Workspace
from ui import access
from ui.widgets import escape_markdown, progress_callback

#: Ids in the delete box: separated by commas, semicolons or white space.
_SEPARATORS = re.compile(r"[\s,;]+")


def parse_ids(text: str) -> list[str]:
    """The incident ids typed into the delete box, in order, each once."""
    return list(dict.fromkeys(part for part in _SEPARATORS.split(text or "") if part))


def delete_panel_ui(ws: Workspace) -> None:
    """Ids to delete (exact, as stored), how many of them are stored, a confirmation, and "Delete" — refused unless
    the user may delete incidents, and recorded in the audit log."""
    if notice := st.session_state.pop("delete-notice", None):
        st.success(notice)
    ids = parse_ids(st.text_area("Incident ids to delete (exact, as stored), one per line or comma-separated",
                                 key="delete-ids", placeholder="e.g. INC-10001, INC-10002"))
    found = ws.store.get_many(ids) if ids else {}
    stored = [incident_id for incident_id in ids if incident_id in found]
    unknown = [incident_id for incident_id in ids if incident_id not in stored]
    if ids:
        st.caption(f"{len(stored):,} of {len(ids):,} stored"
                   + (f"; not stored: {escape_markdown(', '.join(unknown[:20]))}" if unknown else ""))
    sure = st.checkbox("Delete them from the store and every index (ingest their file again to bring them back)",
                       key="delete-sure")
    if st.button("Delete incidents", type="primary", disabled=not (stored and sure)):
        access.require("delete_incidents")
        ws.delete(stored, progress=progress_callback(st.progress(0.0)))
        access.audit("delete_incidents", ", ".join(stored))
        st.session_state["delete-notice"] = (f"Deleted {len(stored):,} incident(s): "
                                             f"{escape_markdown(', '.join(stored))}.")
        st.rerun()


def audit_log_ui(settings: Settings) -> None:
    """The newest entries of the audit log (who, what, to what, when, from where), downloadable as CSV."""
    access.require("audit_log")
    rows = entries(settings)
    if not rows:
        st.caption(f"Nothing recorded yet: ingests, syncs, deletions, applied weights and online experiments are "
                   f"recorded in {escape_markdown(log_location(settings))}.")
        return
    frame = pd.DataFrame(rows, columns=list(AuditEntry._fields))
    st.dataframe(frame, hide_index=True)
    st.download_button("Download the audit log as CSV", frame.to_csv(index=False), "audit.csv", "text/csv")


def admin_panels_ui(ws: Workspace) -> None:
    """"Delete incidents" and "Audit log" as expanders, for a user who may use them; nothing for anyone else."""
    if access.allowed("delete_incidents"):
        with st.expander("Delete incidents"):
            delete_panel_ui(ws)
    if access.allowed("audit_log"):
        with st.expander("Audit log: who changed this workspace"):
            audit_log_ui(ws.settings)
