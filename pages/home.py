"""Overview: what is in the workspace and where to start."""

import streamlit as st

import ui

st.title("🔎 Sherlock")
st.caption("Past incidents as searchable memory: ask by symptom or ticket id, tune retrieval, find patterns.")
ws = ui.workspace()
store = ws.store
first, last = store.date_span()
cols = st.columns(3)
cols[0].metric("Incidents", f"{store.count():,}")
cols[1].metric("Services", len(store.facet_counts("service")))
cols[2].metric("Time span", f"{first or '–'} → {last or '–'}")

query = st.text_input("Quick search", placeholder="e.g. UPI payment failed with error 5003, or JSP-1052")
if query:
    response = ui.searcher().search(query, k=5)
    if response.abstained:
        st.warning(response.reason or "No matching past incident.")
        if response.results:
            st.caption("Nearest misses — not matches:")
    for hit in response.results:
        st.text(f"{hit.id} · {hit.title} · score {hit.score:.3f}")
st.markdown("Start with **Chat search** to ask about a symptom, or **Data** to load your own incidents.")
