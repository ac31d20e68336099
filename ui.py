"""Streamlit-only helpers: cached loaders shared by every page. The library (`sherlock/`) never imports streamlit."""

from __future__ import annotations

import streamlit as st

from sherlock.config import load_settings
from sherlock.search import Searcher
from sherlock.workspace import Workspace


@st.cache_resource(show_spinner="Opening the workspace…")
def workspace() -> Workspace:
    """One workspace per process (models, indexes and store load once; safe to share between sessions)."""
    ws = Workspace(load_settings())
    if ws.settings.demo and not ws.store.count():
        ws.ensure_demo()
    if not ws.is_synced():
        ws.sync()
    return ws


@st.cache_resource
def searcher() -> Searcher:
    return Searcher(workspace())


def coming_soon(title: str, issue: str) -> None:
    st.title(title)
    st.info(f"Coming soon — this page is built by the {issue} issue. Search is available from the command line: "
            "`sherlock search \"UPI payment failed with error 5003\"`.")
