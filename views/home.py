"""Overview: what is in the workspace and where to start."""

import streamlit as st

from ui import access, resources
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

ticket, question = resources.examples(str(ws.settings.home), store.revision())
query = st.text_input("Quick search", placeholder=f"e.g. {question.lower()}, or {ticket}")
if query:
    response = resources.searcher().search(query, k=5)
    resources.log_request("search", response, once=(query,))
    if response.abstained:
        st.warning(response.reason or "No matching past incident.")
        if response.results:
            st.caption("Nearest misses — not matches:")
    for hit in response.results:
        left_col, right_col = st.columns([5, 1])
        left_col.markdown(f"**{escape_markdown(hit.id)}** · {escape_markdown(hit.title)}")
        if right_col.button("Open in chat", key=f"open-{hit.id}", help="Ask about this incident in Chat search"):
            st.session_state["pending_question"] = hit.id
            st.switch_page("views/chat.py")

st.subheader("Where to start")  # the pages this session's role may use
left, right = st.columns(2)
with left:
    access.page_link("views/chat.py", label="Chat search — ask about a symptom or a ticket id", icon="💬")
    access.page_link("views/data.py", label="Data — add your incidents, browse the corpus", icon="🗂️")
    access.page_link("views/incident.py", label="Incident — one incident, its similar incidents and what fixed them",
                     icon="🧾")
with right:
    access.page_link("views/tuning.py", label="Fusion tuning — weigh dense, BM25 and TF-IDF", icon="🎛️")
    access.page_link("views/patterns.py", label="Incident patterns — trends, MTTR, recurring causes", icon="📈")
    access.page_link("views/experiments.py", label="Experiments — offline and online A/B tests of search settings",
                     icon="🧪")
s = ws.settings
st.caption(f"Workspace {escape_markdown(str(s.home))} · embedder {ws.embedder.name} · "
           f"fusion {s.fusion} {'/'.join(f'{w:g}' for w in s.weights)} over {s.norm}")
