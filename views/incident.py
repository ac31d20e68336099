"""Incident: every field of one incident, its possible duplicates, and the past incidents most like it — why each
looks alike and what fixed it — with a "same root cause?" vote per pair, kept as labelled pairs. Deep link:
``incident?id=JSP-1001``."""

import streamlit as st

from sherlock.search.similar import SimilarFinder
from sherlock.storage.duplicates import possible_duplicates
from ui import access, resources
from ui.incident import (
    closest_ids,
    duplicates_ui,
    empty_state_ui,
    incident_fields_ui,
    not_found_ui,
    pick_incident_ui,
    similar_card_ui,
)
from ui.widgets import escape_markdown

ws = resources.workspace()
st.title("🧾 Incident")
latest, _ = ws.store.examples()
wanted = pick_incident_ui(latest or "INC-123")
if wanted is None:
    empty_state_ui(latest)
    st.stop()
incident = ws.store.get(wanted)
if incident is None:
    not_found_ui(wanted, closest_ids(wanted, ws.store.hashes()))
    st.stop()
# the URL names the incident as stored (it is found case-insensitively), and follows a link from this page to
# another incident, which Streamlit runs without updating the address bar
st.query_params["id"] = incident.id

incident_fields_ui(incident)
duplicates = possible_duplicates(ws, incident.id)
duplicates_ui(incident.id, duplicates)

k = st.sidebar.slider("Similar incidents (k)", 1, 20, 5)
response = SimilarFinder(ws).similar(incident.id, k=k)
resources.log_request("similar", response, once=(incident.id, k))
st.subheader("Similar past incidents")
weights = "/".join(f"{w:g}" for w in response.settings.get("weights", ()))
st.sidebar.caption(f"Similar incidents: weights dense/bm25/tfidf = {weights}, fusion "
                   f"{response.settings.get('method')} over {response.settings.get('norm')}.")
st.caption("Dense, BM25 and TF-IDF over this incident's own words, boosted for a shared service, shared error codes "
           "and the same kind of cause. Your yes/no votes are kept as labelled pairs that tune and evaluate this "
           "ranking.", help=f"Searched for: {escape_markdown(response.searched_for or '–')}")
if not response.results:
    st.info(escape_markdown(response.reason or "No other incident looks like this one."))
votes = st.session_state.setdefault("pair_votes", {})  # (incident, similar incident) → this session's vote
for hit in response.results:
    vote = similar_card_ui(incident.id, hit, votes.get((incident.id, hit.id)),
                           duplicate=any(hit.id in (d.id, d.of) for d in duplicates),
                           can_vote=access.allowed("feedback"))
    if vote is not None:
        access.require("feedback")
        resources.feedback_store().record_pair(incident.id, hit.id, vote, session_id=resources.session_id())
        votes[(incident.id, hit.id)] = vote
        st.toast(f"Saved: {escape_markdown(hit.id)} {'has' if vote else 'does not have'} the same root cause as "
                 f"{escape_markdown(incident.id)}.")
