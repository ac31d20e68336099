"""Overview: what is in the workspace and where to start."""

import streamlit as st

from ui import resources
from ui.widgets import escape_markdown

st.title("🔎 Sherlock")
st.caption("Past incidents as searchable memory: ask by symptom or ticket id, tune retrieval, find patterns.")
ws = resources.workspace()
store = ws.store
first, last = store.date_span()
cols = st.columns(4)
cols[0].metric("Incidents", f"{store.count():,}")
cols[1].metric("Services", len([s for s in store.facet_counts("service") if s != "(none)"]))
cols[2].metric("From", first or "–")
cols[3].metric("To", last or "–")

query = st.text_input("Quick search", placeholder="e.g. UPI payment failed with error 5003, or JSP-1052")
if query:
    response = resources.searcher().search(query, k=5)
    if response.abstained:
        st.warning(response.reason or "No matching past incident.")
        if response.results:
            st.caption("Nearest misses — not matches:")
    for hit in response.results:
        st.text(f"{hit.id} · {hit.title} · score {hit.score:.3f}")

st.subheader("Where to start")
left, right = st.columns(2)
with left:
    st.page_link("views/chat.py", label="Chat search — ask about a symptom or a ticket id", icon="💬")
    st.page_link("views/data.py", label="Data — add your incidents, browse the corpus", icon="🗂️")
with right:
    st.page_link("views/tuning.py", label="Fusion tuning — weigh dense, BM25 and TF-IDF", icon="🎛️")
    st.page_link("views/patterns.py", label="Incident patterns — trends, MTTR, recurring causes", icon="📈")
s = ws.settings
st.caption(f"Workspace {escape_markdown(str(s.home))} · embedder {ws.embedder.name} · "
           f"fusion {s.fusion} {'/'.join(f'{w:g}' for w in s.weights)} over {s.norm}")
