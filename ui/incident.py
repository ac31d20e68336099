"""The Incident page's helpers: links into the page (``incident?id=JSP-1001``), picking an incident, its fields, its
possible duplicates, and one card per similar past incident with why it looks alike and a "same root cause?" vote."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

import streamlit as st
from streamlit.errors import StreamlitPageNotFoundError

from sherlock.analytics.units import duration
from sherlock.schema import Incident
from sherlock.search.searcher import Hit
from sherlock.storage.duplicates import Duplicate
from ui.widgets import escape_markdown

#: The page script, as ``st.navigation`` in app.py knows it; its URL path is the file's stem, ``incident``.
INCIDENT_PAGE = "views/incident.py"
#: The widget that types an id to open (emptied once the id is opened).
_PICK_KEY = "incident-pick"


def incident_url(incident_id: str) -> str:
    """The deep link to an incident's page, relative to the page linking to it: ``incident?id=JSP-1001``."""
    return "incident?" + urlencode({"id": incident_id})


def incident_link(incident_id: str, label: str | None = None, help: str | None = None) -> None:
    """A link to ``incident_id``'s page: ``st.page_link`` in the app (same tab, the session and its chat kept), a
    markdown link when a view runs on its own (an AppTest of one page has no navigation to link into).
    ``label`` is markdown (escape incident text in it); the default is "Open incident X"."""
    label = label or f"Open incident {escape_markdown(incident_id)}"
    try:
        st.page_link(INCIDENT_PAGE, label=label, icon="🧾", help=help, query_params={"id": incident_id})
    except StreamlitPageNotFoundError:
        st.markdown(f"🧾 [{label}]({incident_url(incident_id)})")


def _open(incident_id: str) -> None:
    st.query_params["id"] = incident_id


def _open_typed() -> None:
    typed = st.session_state.get(_PICK_KEY, "").strip()
    if typed:
        _open(typed)
    st.session_state[_PICK_KEY] = ""


def pick_incident_ui(example: str) -> str | None:
    """The incident asked for in the URL (``?id=``), and a box to open another one by id (the URL follows, so the
    page stays a deep link); ``None`` when no id is given."""
    wanted = st.query_params.get("id", "").strip() or None
    st.text_input("Open another incident by id" if wanted else "Incident id", key=_PICK_KEY, on_change=_open_typed,
                  placeholder=f"e.g. {example} — then Enter")
    return wanted


def empty_state_ui(example: str | None) -> None:
    """What the page offers before an id is picked: what it shows, and the latest resolved incident to start with."""
    st.info("Type an incident's id above, or open one from Chat search or Incident patterns: this page shows all "
            "its fields, its possible duplicates, and the past incidents most like it — why each looks alike and "
            "what fixed it.")
    if example:
        st.button(f"Open {example}, the latest resolved incident", on_click=_open, args=(example,), type="primary")


def closest_ids(wanted: str, ids: Iterable[str], n: int = 5) -> list[str]:
    """The stored ids that read most like ``wanted`` (a typo, a missing digit), best first, case ignored."""
    by_folded = {incident_id.casefold(): incident_id for incident_id in ids}
    matches = difflib.get_close_matches(wanted.casefold(), list(by_folded), n=n, cutoff=0.6)
    return [by_folded[match] for match in matches]


def not_found_ui(wanted: str, closest: list[str]) -> None:
    """An honest "no such incident", with the closest stored ids as links."""
    st.error(f"No incident {escape_markdown(wanted)} in this workspace.")
    if closest:
        st.caption("Closest ids in this workspace:")
        for incident_id in closest:
            incident_link(incident_id, label=escape_markdown(incident_id))


def _when(value: date | datetime | None) -> str:
    """``2024-03-01 10:00 UTC``, ``2024-03-01`` for a date, ``–`` when missing."""
    if value is None:
        return "–"
    if not isinstance(value, datetime):
        return value.isoformat()
    offset = value.utcoffset()
    zone = "" if offset is None else " UTC" if not offset else f" {value:%z}"
    return f"{value:%Y-%m-%d %H:%M}{zone}"


def time_to_resolve(incident: Incident) -> str | None:
    """How long the incident took to resolve, in human units; whole days when only dates are known."""
    minutes = incident.minutes_to_resolve()
    if minutes is not None:
        return duration(minutes)
    created, resolved = incident.created_date(), incident.resolved_at
    resolved_day = resolved.date() if isinstance(resolved, datetime) else resolved
    if created and resolved_day and resolved_day >= created:
        days = (resolved_day - created).days
        return "the same day" if days == 0 else f"{days} d (dates only)"
    return None


def _people(value: str | list[str] | None) -> str:
    return ", ".join(value) if isinstance(value, list) else (value or "–")


def _text_block(label: str, text: str) -> None:
    st.markdown(f"**{label}**  \n{escape_markdown(text)}" if text else f"**{label}**  \n*not recorded*")


def incident_fields_ui(incident: Incident) -> None:
    """Every field of the incident: its labels, when it was created and resolved and how long that took, who
    resolved it, description, root cause, resolution, tags, and the source's other fields in an expander."""
    st.subheader(f"{escape_markdown(incident.id)} · {escape_markdown(incident.title)}")
    for column, (label, value) in zip(st.columns(4), (("Service", incident.service), ("Severity", incident.severity),
                                                      ("Status", incident.status), ("Category", incident.category)),
                                      strict=True):
        column.markdown(f"**{label}**  \n{escape_markdown(value or '–')}")
    took = time_to_resolve(incident)
    timeline = [f"created {_when(incident.created_at)}",
                f"resolved {_when(incident.resolved_at)}" if incident.resolved_at
                else "resolution date not recorded" if incident.resolution or incident.resolved_by else "not resolved",
                f"time to resolve {took}" if took else None,
                f"resolved by {_people(incident.resolved_by)}" if incident.resolved_by else None]
    st.caption(" · ".join(escape_markdown(part) for part in timeline if part))
    _text_block("Description", incident.description)
    _text_block("Root cause", incident.root_cause)
    _text_block("Resolution", incident.resolution)
    if incident.tags:
        st.markdown("**Tags** " + " ".join(f"`{tag.replace('`', '')}`" for tag in incident.tags))
    with st.expander(f"Other fields from the source ({len(incident.extra)})"):
        if incident.extra:
            st.json(incident.extra, expanded=True)
        else:
            st.caption("None: every field of this incident is shown above.")


def duplicates_ui(incident_id: str, duplicates: list[Duplicate]) -> None:
    """The incidents that may be this one filed again (:func:`sherlock.storage.duplicates.possible_duplicates`),
    each with its similarity and why, linked to its page."""
    if not duplicates:
        return
    st.warning(f"**Possible duplicates** ({len(duplicates)}): the same incident may be filed under another id.")
    for duplicate in duplicates:
        other = duplicate.of if duplicate.id.casefold() == incident_id.casefold() else duplicate.id
        left, right = st.columns([2, 5])
        with left:
            incident_link(other, label=f"{escape_markdown(other)} · similarity {duplicate.similarity:.2f}")
        right.caption(escape_markdown(duplicate.reason))


def why_parts(why: dict[str, Any] | None) -> list[str]:
    """Why a past incident looks like this one, as markdown phrases: shared service, category, error codes and
    entities, cause classes, terms."""
    why = why or {}
    parts = []
    if why.get("service"):
        parts.append(f"same service **{escape_markdown(why['service'])}**")
    if why.get("category"):
        parts.append(f"same category **{escape_markdown(why['category'])}**")
    for key, label in (("entities", "shared error codes and names"), ("causes", "same kind of cause"),
                       ("terms", "shared terms")):
        if why.get(key):
            parts.append(f"{label}: " + ", ".join(f"`{str(value).replace('`', '')}`" for value in why[key]))
    return parts


def _days_apart(days: float | None) -> str | None:
    if days is None:
        return None
    return "the same day" if days < 1 else f"{days:,.0f} day{'s' * (round(days) != 1)} apart"


def similar_card_ui(incident_id: str, hit: Hit, vote: bool | None, duplicate: bool = False,
                    can_vote: bool = True) -> bool | None:
    """One similar past incident: its title linking to its own page, score, labels (``duplicate``: flagged as a
    possible duplicate of this incident), why it looks alike, its root cause and fix, and the "same root cause?"
    buttons (``vote``: this session's earlier vote on the pair; none unless ``can_vote``). Returns ``True``/``False``
    when a button was pressed now, else ``None``."""
    why = hit.why or {}
    with st.container(border=True):
        title, score = st.columns([6, 1])
        with title:
            incident_link(hit.id, label=f"**{escape_markdown(hit.id)}** · {escape_markdown(hit.title)}")
        score.markdown(f"score **{hit.score:.3f}**", help="fused dense, BM25 and TF-IDF score, times the boosts for a "
                       "shared service, shared error codes and the same kind of cause")
        labels = ["⚠️ possible duplicate" if duplicate else None, hit.service, hit.severity, hit.category,
                  (hit.created_at or "")[:10] or None, _days_apart(why.get("days_apart"))]
        st.caption(" · ".join(escape_markdown(label) for label in labels if label) or "no labels")
        parts = why_parts(why)
        st.markdown("**Why:** " + ("; ".join(parts) if parts else "close in meaning (no shared labels or terms)"))
        if why.get("root_cause"):
            st.markdown("**Root cause:** " + escape_markdown(why["root_cause"]))
        st.markdown("**Fix:** " + (escape_markdown(why["resolution"]) if why.get("resolution") else "*not recorded*"))
        if not can_vote:
            return None
        ask, yes, no, said = st.columns([2, 1, 1, 5], vertical_alignment="center")
        ask.markdown("**Same root cause?**")
        key = f"same-{incident_id}-{hit.id}"
        said_yes, said_no = yes.button("Yes", key=f"{key}-yes"), no.button("No", key=f"{key}-no")
        clicked = True if said_yes else False if said_no else None
        shown = vote if clicked is None else clicked
        if shown is not None:
            said.caption(("✓ You said: the same root cause" if shown else "✗ You said: a different root cause")
                         + " — kept as a labelled pair. Press the other button to change your vote.")
    return clicked
