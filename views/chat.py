"""Chat search: ask by symptom or ticket id; answers cite past incidents, or say honestly that none matches."""

import streamlit as st

from ui import access, resources
from ui.chat import answer_ui, online_ui, search_sidebar_ui
from ui.widgets import escape_markdown, stream_words

ws = resources.workspace()
filters, k = search_sidebar_ui(ws)
answerer, served = resources.served_answerer()
online_ui(served)
ticket, question_example = resources.examples(str(ws.settings.home), ws.store.revision())
st.title("💬 Chat search")
st.caption(f"Describe a symptom, paste an error or a stack trace, or give a ticket id such as {ticket}. "
           "Every claim cites an incident.")
history = st.session_state.setdefault("chat_history", [])
arms = st.session_state.setdefault("chat_arms", {})  # answer index → (experiment, arm) that served it
log_ids = st.session_state.setdefault("chat_log_ids", {})  # answer index → its query log row (joins feedback)

for index, answer in enumerate(history):
    with st.chat_message("user"):
        st.text(answer.question)
    with st.chat_message("assistant"):
        if sent := answer_ui(answer, ws, key=str(index), feedback=access.allowed("feedback")):
            access.require("feedback")
            response = answer.search
            experiment, arm = arms.get(index, (None, None))
            resources.feedback_store().record(
                answer.question, [h.id for h in response.results] if response else [], sent["helpful"],
                sent["right_id"], settings=response.settings if response else None, provider=answer.provider,
                session_id=resources.session_id(), variant=arm, experiment=experiment, log_id=log_ids.get(index))
            st.toast("Thanks — feedback saved to the workspace.")

# another page (Incident patterns' "search similar") may leave a question to ask on arrival
pending = st.session_state.pop("pending_question", None)
if question := st.chat_input(f"e.g. {question_example.lower()}, or {ticket}") or pending:
    with st.chat_message("user"):
        st.text(question)
    with st.chat_message("assistant"):
        with st.spinner("Searching past incidents…"):
            answer = answerer.ask(question, k=k, filters=filters)
        st.write_stream(stream_words(escape_markdown(answer.answer)))
        arms[len(history)] = (served.experiment, served.arm)
        log_ids[len(history)] = resources.log_request("ask", answer, answerer.settings, experiment=served.experiment,
                                                      arm=served.arm)
        history.append(answer)
        st.rerun()
elif not history:
    st.info(f"Try: *{escape_markdown(question_example.lower())}* · *{escape_markdown(ticket)}* · "
            "*why do refunds fail?* · a pasted stack trace · *what is the capital of Australia* (an honest no-match)")
