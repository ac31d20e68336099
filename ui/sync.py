"""The Data page's sync panel: one row per incident tool (configured or what to set, last sync, watermark) and
"Sync now" with a progress bar and the summary (:func:`sherlock.sync.run.sync_source`)."""

from __future__ import annotations

import re

import streamlit as st

from sherlock.config import Settings
from sherlock.storage.workspace import Workspace
from sherlock.sync.http import SyncError
from sherlock.sync.run import SOURCES, SyncSummary, sync_source
from sherlock.sync.watermarks import SyncState, open_watermarks
from ui import access
from ui.widgets import escape_markdown, progress_callback

#: Rejected items listed after a sync.
SHOWN_REJECTIONS = 50


# -- the panel -------------------------------------------------------------------------------------------------

def missing_settings(ws: Workspace, source: str) -> str | None:
    """None when ``source`` can sync (its URL and credentials set), else what to set, naming the ``SHERLOCK_*``
    variables (never a value): the source's own check, by building its client (which fetches nothing). Cached by
    the settings as they dump (a secret as stars when set, None when not), since building a client takes ~20 ms."""
    return _missing_settings(source, ws.settings.model_dump_json(), ws.settings)


@st.cache_data(show_spinner=False, max_entries=64)
def _missing_settings(source: str, shown: str, _settings: Settings) -> str | None:
    try:
        SOURCES[source].connect(_settings).close()
    except ValueError as exc:
        variables = list(dict.fromkeys(re.findall(r"SHERLOCK_[A-Z_]+", str(exc))))
        return f"set {', '.join(variables)}" if variables else str(exc)
    return None


def sync_states(ws: Workspace) -> dict[str, SyncState]:
    """Each source's last sync and watermark (an empty state for one that never synced)."""
    marks = open_watermarks(ws.settings)
    try:
        known = {state.source: state for state in marks.all()}
    finally:
        marks.close()
    return {name: known.get(name, SyncState(name)) for name in SOURCES}


def sync_panel_ui(ws: Workspace) -> None:
    """One row per incident tool: configured or what to set, its last sync and watermark, and "Sync now" (disabled
    until it is configured); a run draws a progress bar, and its summary (or its error) stays below the rows."""
    states = sync_states(ws)
    missing = {name: missing_settings(ws, name) for name in SOURCES}
    if all(missing.values()):
        st.info("No source configured: set its URL and credentials, e.g. SHERLOCK\\_GITHUB\\_TOKEN and "
                "SHERLOCK\\_GITHUB\\_REPO, in the environment, in the `[sherlock]` table of "
                ".streamlit/secrets.toml or in the workspace's sherlock.toml (see the README, Settings); then "
                "restart the app.")
    for name in SOURCES:
        state, problem = states[name], missing[name]
        cols = st.columns([1, 4, 2.6, 1], vertical_alignment="center")
        cols[0].markdown(f"**{name}**")
        cols[1].markdown("configured" if not problem else f"not configured: {escape_markdown(problem)}")
        cols[2].markdown(f"last sync {_when(state.synced_at)} · watermark {_when(state.watermark)}"
                         + (" · a run to resume" if state.progress else ""))
        if cols[3].button("Sync now", key=f"sync-{name}", disabled=bool(problem)):
            run_sync(ws, name)
            st.rerun()  # the rows again, with this run's time and watermark
    if outcome := st.session_state.get("sync_outcome"):
        sync_summary_ui(*outcome)


def _when(stamp: str | None) -> str:
    return escape_markdown(stamp.replace("T", " ").replace("+00:00", " UTC")) if stamp else "never"


def run_sync(ws: Workspace, source: str) -> None:
    """Sync ``source`` with a progress bar (refused unless the user may sync; recorded in the audit log); its summary,
    or the error that stopped it, stays in the session."""
    access.require("sync")
    try:
        summary = sync_source(ws, source, progress=progress_callback(st.progress(0.0)))
    except (SyncError, ValueError) as exc:
        st.session_state.sync_outcome = (source, None, str(exc))
    else:
        st.session_state.sync_outcome = (source, summary, None)
    access.audit("sync", source)


def sync_summary_ui(source: str, summary: SyncSummary | None, error: str | None) -> None:
    """What the last "Sync now" did: the counts and the watermark, every rejected item with its reason; or why it
    stopped."""
    if error or summary is None:
        st.error(f"Sync of {source} stopped: {escape_markdown(error or 'no summary')}")
        return
    counts = (f"fetched {summary.fetched:,}, added {summary.added:,}, updated {summary.updated:,}, unchanged "
              f"{summary.unchanged:,}, rejected {len(summary.rejected):,}")
    text = f"Synced {source}: {counts}; watermark {_when(summary.watermark)} ({summary.seconds:.1f} s)."
    (st.warning if summary.rejected else st.success)(text)
    for item in summary.rejected[:SHOWN_REJECTIONS]:
        st.markdown(f"- **{escape_markdown(item['item'])}**: {escape_markdown(item['reason'])}")
