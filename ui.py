"""Streamlit-only helpers shared by the pages: cached loaders, ``*_ui()`` widgets that return plain values, and safe
rendering of incident text. The library (``sherlock/``) never imports streamlit; pages stay thin.

Safety: incident text is data. It is rendered through :func:`escape_markdown` (links, images, HTML and emphasis are
neutralised) and never with ``unsafe_allow_html``.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from datetime import date

import streamlit as st

from sherlock.config import load_settings
from sherlock.schema import Incident
from sherlock.search import Hit, Searcher
from sherlock.store import Filters
from sherlock.workspace import Workspace

_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|>~<$:=])")


# -- cached resources: one per process, shared by every session (thread-safe objects) --------------------------

@st.cache_resource(show_spinner="Opening the workspace (first run loads the demo corpus)…")
def workspace() -> Workspace:
    ws = Workspace(load_settings())
    if ws.settings.demo and not ws.store.count():
        ws.ensure_demo()
    if not ws.is_synced():
        ws.sync()
    return ws


@st.cache_resource
def searcher() -> Searcher:
    return Searcher(workspace())


def _secret(name: str) -> str | None:
    """A value from ``.streamlit/secrets.toml`` if that file exists (it is optional)."""
    try:
        value = st.secrets.get(name)
    except Exception:  # noqa: BLE001 - no secrets file is the normal, offline case
        return None
    return str(value) if value else None


@st.cache_resource
def answerer():  # noqa: ANN201 - sherlock.answer.Answerer, imported lazily to keep page start-up light
    """Offline extractive answers, or Gemini when a key is in the environment or in Streamlit secrets."""
    from pydantic import SecretStr

    from sherlock.answer import Answerer
    settings = searcher().settings
    key = _secret("GEMINI_API_KEY") or _secret("GOOGLE_API_KEY")
    if key and settings.gemini_api_key is None:
        settings = settings.model_copy(update={"gemini_api_key": SecretStr(key)})
    return Answerer(searcher(), settings=settings)


@st.cache_resource
def feedback_store():  # noqa: ANN201 - sherlock.feedback.FeedbackStore
    from sherlock.feedback import FeedbackStore
    return FeedbackStore(workspace().settings.feedback_path)


def session_id() -> str:
    """A stable random id per browser session (for feedback and, later, A/B assignment)."""
    if "session_id" not in st.session_state:
        st.session_state.session_id = uuid.uuid4().hex
    return st.session_state.session_id


# -- safe text ----------------------------------------------------------------------------------------------------

def escape_markdown(text: str) -> str:
    """Incident text as inert markdown: every markdown/HTML control character is backslash-escaped, so
    ``[x](http://evil)``, ``![img](...)``, ``<b>`` and bare ``http://`` links render as plain characters."""
    return _MARKDOWN_SPECIALS.sub(r"\\\1", text or "")


def highlight(text: str, terms: list[str]) -> str:
    """Escaped ``text`` with the matched ``terms`` in bold (whole-word, case-insensitive)."""
    escaped = escape_markdown(text)
    for term in sorted({t for t in terms if t}, key=len, reverse=True):
        pattern = re.escape(escape_markdown(term))
        escaped = re.sub(rf"(?<![\w\\])({pattern})(?!\w)", r"**\1**", escaped, flags=re.IGNORECASE)
    return escaped


def stream_words(text: str, delay: float = 0.01) -> Iterator[str]:
    """Yield ``text`` a few words at a time (for ``st.write_stream``)."""
    words = text.split(" ")
    for start in range(0, len(words), 3):
        yield " ".join(words[start:start + 3]) + " "
        time.sleep(delay)


# -- widgets that return plain values ------------------------------------------------------------------------------

def search_sidebar_ui(ws: Workspace) -> tuple[Filters, int]:
    """Sidebar filters (service, severity, category, tags, date range) and k; shows the active search settings."""
    store = ws.store
    with st.sidebar:
        st.header("Filters")
        services = st.multiselect("Service", [v for v in store.facet_counts("service") if v != "(none)"])
        severities = st.multiselect("Severity", [v for v in store.facet_counts("severity") if v != "(none)"])
        categories = st.multiselect("Category", [v for v in store.facet_counts("category") if v != "(none)"])
        tags = st.multiselect("Tags", list(store.tag_counts(300)))
        first, last = store.date_span()
        use_dates = st.checkbox("Limit the date range", value=False, disabled=not first)
        date_from = date_to = None
        if use_dates and first and last:
            chosen = st.date_input("Created between", (date.fromisoformat(first), date.fromisoformat(last)))
            if isinstance(chosen, tuple) and len(chosen) == 2:
                date_from, date_to = chosen
        k = st.slider("Results (k)", 1, 20, 5)
        s = ws.settings
        st.caption(f"Search: weights dense/bm25/tfidf = {'/'.join(f'{w:g}' for w in s.weights)}, "
                   f"fusion {s.fusion} over {s.norm}, entity boost {'on' if s.entity_boost else 'off'}, "
                   f"embedder {ws.embedder.name}.")
    filters = Filters(service=tuple(services), severity=tuple(severities), category=tuple(categories),
                      tag=tuple(tags), date_from=date_from, date_to=date_to)
    return filters, k


def incident_card(hit: Hit, incident: Incident | None, expanded: bool = False) -> None:
    """One cited incident: title, labels, root cause, resolution, tags, and why it matched."""
    label = "nearest miss — not a match" if hit.nearest_miss else ("related" if hit.related else f"{hit.score:.3f}")
    with st.expander(f"**{escape_markdown(hit.id)}** · {escape_markdown(hit.title)} · {label}", expanded=expanded):
        meta = [hit.service, hit.severity, hit.category, (hit.created_at or "")[:10]]
        st.caption(" · ".join(escape_markdown(m) for m in meta if m) or "no labels")
        if incident is not None:
            if incident.root_cause:
                st.markdown("**Root cause:** " + highlight(incident.root_cause, hit.matched_terms))
            elif incident.description:
                st.markdown("**What happened:** " + highlight(incident.description, hit.matched_terms))
            if incident.resolution:
                st.markdown("**Resolution:** " + highlight(incident.resolution, hit.matched_terms))
            if incident.tags:
                st.markdown("**Tags:** " + ", ".join(f"`{t.replace('`', '')}`" for t in incident.tags))
        if any(v is not None for v in hit.scores.values()):
            cols = st.columns(3)
            for col, name in zip(cols, ("dense", "bm25", "tfidf"), strict=True):
                raw = hit.raw_scores.get(name)
                col.metric(name, "–" if hit.scores.get(name) is None else f"{hit.scores[name]:.2f}",
                           help=f"normalised score; raw {raw:.4g}" if raw is not None else "not retrieved")
        if hit.matched_terms:
            st.caption("Matched terms: " + ", ".join(escape_markdown(t) for t in hit.matched_terms))
        if hit.entities:
            st.caption("Matched entities (boosted): " + ", ".join(escape_markdown(e) for e in hit.entities))


def incident_details(incident: Incident) -> None:
    """Every field of one incident (for ticket-id lookups), extra fields as JSON."""
    st.subheader(f"{escape_markdown(incident.id)} · {escape_markdown(incident.title)}")
    data = incident.to_json_dict()
    for key in ("description", "root_cause", "resolution"):
        if data.get(key):
            st.markdown(f"**{key.replace('_', ' ').capitalize()}:** {escape_markdown(data[key])}")
    labels = {k: data[k] for k in ("service", "category", "severity", "status", "created_at", "resolved_at",
                                   "resolved_by", "tags") if data.get(k)}
    if labels:
        st.json(labels, expanded=True)
    if data.get("extra"):
        st.json(data["extra"], expanded=False)


def coming_soon(title: str, issue: str) -> None:
    st.title(title)
    st.info(f"Coming soon — this page is built by the {issue} issue. Meanwhile, search from **Chat search** or the "
            "command line: `sherlock search \"UPI payment failed with error 5003\"`.")


def feedback_ui(key: str, shown_ids: list[str]) -> dict | None:
    """Thumbs up/down and an optional "the right incident was …"; returns the feedback once it is sent."""
    cols = st.columns([1, 3, 1])
    with cols[0]:
        thumbs = st.feedback("thumbs", key=f"thumbs-{key}")
    with cols[1]:
        right = st.selectbox("The right incident was…", [*shown_ids, "another id…"], key=f"right-{key}", index=None,
                             placeholder="The right incident was… (optional)", label_visibility="collapsed")
        if right == "another id…":
            right = st.text_input("Incident id", key=f"other-{key}", placeholder="e.g. JSP-1018").strip() or None
    with cols[2]:
        sent = st.button("Send", key=f"send-{key}", disabled=thumbs is None and right is None)
    if not sent:
        return None
    return {"helpful": None if thumbs is None else bool(thumbs), "right_id": right}


def progress_callback(bar) -> callable:  # noqa: ANN001 - a st.progress element
    """A ``progress(stage, done, total)`` callback that drives one Streamlit progress bar."""
    def update(stage: str, done: int, total: int) -> None:
        bar.progress(min(done / total, 1.0) if total else 1.0, text=f"{stage}: {done:,}/{total:,}")
    return update


@st.cache_data(show_spinner="Loading the corpus table…", max_entries=4)
def corpus_frame(home: str, revision: int):  # noqa: ANN201 - pandas.DataFrame; cached per store revision
    import pandas as pd
    rows = [{"id": i.id, "title": i.title, "service": i.service, "severity": i.severity, "category": i.category,
             "status": i.status, "created_at": i.created_date(), "tags": ", ".join(i.tags)}
            for i in workspace().store.iter_incidents()]
    return pd.DataFrame(rows, columns=["id", "title", "service", "severity", "category", "status", "created_at",
                                       "tags"])
