"""Chat search's helpers: the sidebar filters, one answer with its cited incidents and feedback widgets, and the
online A/B arm serving the session."""

from __future__ import annotations

import re
from datetime import date
from typing import TYPE_CHECKING

import streamlit as st

from sherlock.analytics.units import duration
from sherlock.schema import Incident
from sherlock.search.searcher import Hit
from sherlock.storage.store import Filters
from sherlock.storage.workspace import Workspace
from ui.incident import incident_link
from ui.widgets import escape_markdown, highlight

#: ``[INC-1]`` as :func:`ui.widgets.escape_markdown` leaves it: ``\[INC\-1\]``.
_ESCAPED_CITATION = re.compile(r"\\\[((?:[^\[\]\s\\]|\\.)+?)\\\]")

if TYPE_CHECKING:  # the answerer is imported lazily, to keep page start-up light
    from sherlock.answer.answerer import Answer


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


def online_ui(served) -> None:  # noqa: ANN001 - sherlock.evaluation.online_ab.Served
    """A sidebar caption naming the experiment and arm serving this session, or a warning when it cannot be served."""
    if served.error:
        st.warning(f"The online experiment is not served — answering with the workspace's settings. "
                   f"{escape_markdown(served.error)}")
    elif served.experiment:
        st.sidebar.caption(f"A/B experiment **{escape_markdown(served.experiment)}** · arm "
                           f"**{escape_markdown(served.arm)}** ({escape_markdown(served.description)})")


def anchor(doc_id: str) -> str:
    """The in-page anchor of an incident's card (what a citation in the answer links to)."""
    return "incident-" + re.sub(r"[^a-z0-9]+", "-", doc_id.lower()).strip("-")


def answer_markdown(text: str) -> str:
    """The answer as markdown: incident text inert, "- " lines as a list, each ``[ID]`` citation a link to its card."""
    lines = []
    for line in text.splitlines():
        bullet = line.startswith("- ")
        body = escape_markdown(line[2:] if bullet else line)
        # "[INC-1][INC-2]" stays bracketed (one link each), so adjacent citations read apart
        body = _ESCAPED_CITATION.sub(lambda m: f"[\\[{m.group(1)}\\]](#{anchor(m.group(1).replace(chr(92), ''))})",
                                     body)
        lines.append(f"- {body}" if bullet else f"{body}\n")
    return "\n".join(lines)


def incident_card(hit: Hit, incident: Incident | None, expanded: bool = False, similar: list[Hit] | None = None,
                  ) -> None:
    """One cited incident: title, labels, who resolved it, when and how long it took, root cause, resolution, tags,
    why it matched, and the near-duplicates grouped under it."""
    label = "nearest miss — not a match" if hit.nearest_miss else ("related" if hit.related else f"{hit.score:.3f}")
    more = f" · +{len(similar)} similar" if similar else ""
    # one element for every anchor of the card (each element adds a gap): a citation of any grouped id lands here
    st.markdown("".join(f'<span id="{anchor(doc_id)}"></span>' for doc_id in [hit.id, *(h.id for h in similar or [])]),
                unsafe_allow_html=True)
    with st.expander(f"**{escape_markdown(hit.id)}** · {escape_markdown(hit.title)} · {label}{more}",
                     expanded=expanded):
        meta = [hit.service, hit.severity, hit.category, (hit.created_at or "")[:10]]
        if incident is not None:
            took = incident.minutes_to_resolve()
            meta += [f"resolved in {duration(took)}" if took is not None else None,
                     f"resolved by {_people(incident.resolved_by)}" if incident.resolved_by else None]
        st.caption(" · ".join(escape_markdown(m) for m in meta if m) or "no labels")
        incident_link(hit.id, help="Every field, possible duplicates, and the past incidents most like it")
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
        if similar:
            st.caption(f"{len(similar)} similar incident{'s' * (len(similar) > 1)} with the same cause: "
                       + ", ".join(f"{escape_markdown(h.id)} ({escape_markdown(h.title)})" for h in similar))


def _people(value: object) -> str:
    """A resolver field as people read it: ``a@x.com, b@x.com`` rather than a Python list."""
    return ", ".join(str(v) for v in value) if isinstance(value, list | tuple) else str(value)


def incident_details(incident: Incident) -> None:
    """Every field of one incident (for ticket-id lookups), extra fields as JSON."""
    st.subheader(f"{escape_markdown(incident.id)} · {escape_markdown(incident.title)}")
    incident_link(incident.id, help="Every field, possible duplicates, and the past incidents most like it")
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


def answer_ui(answer: Answer, ws: Workspace, key: str, feedback: bool = True) -> dict | None:
    """One answer: its text and note, the incident itself for a ticket id, the cited incidents (or the nearest misses,
    labelled as such) as cards, and the feedback widgets (unless not ``feedback``: a role that may not send it);
    returns :func:`feedback_ui`'s feedback once it is sent."""
    st.markdown(answer_markdown(answer.answer))
    if answer.note:
        st.info(answer.note)
    response = answer.search
    if answer.abstained and response and response.reason:  # weak evidence, a missing id, filters matching nothing
        st.caption("Why: " + escape_markdown(response.reason))
    results = response.results if response else []
    if response and response.searched_for:
        searched = response.searched_for.replace("\n", " ⏎ ")
        st.caption("Read as a pasted log — searched for: " + escape_markdown(searched))
    incidents = ws.store.get_many(hit.id for hit in results)
    by_id = {hit.id: hit for hit in results}
    groups = [[by_id[i] for i in group if i in by_id] for group in answer.groups] or [[hit] for hit in results]
    groups = [group for group in groups if group]
    if response and response.strategy == "exact_id" and results:
        incident_details(incidents[results[0].id])
        groups = [[hit] for hit in results[1:]]
        if groups:
            st.caption("Related incidents")
    elif answer.abstained and results:
        st.caption("Nearest misses — shown for reference, none of them is a match:")
    for rank, (hit, *similar) in enumerate(groups):
        incident_card(hit, incidents.get(hit.id), expanded=rank == 0 and not answer.abstained
                      and response.strategy == "hybrid", similar=similar)
    if not feedback:
        return None
    return feedback_ui(key, [hit.id for hit in (response.results if response else [])])
