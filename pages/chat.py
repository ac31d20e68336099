"""Chat search: ask by symptom or ticket id; answers cite past incidents, or say honestly that none matches."""

import streamlit as st

import ui

ws = ui.workspace()
filters, k = ui.search_sidebar_ui(ws)
answerer, served = ui.served_answerer()
ui.online_ui(served)
st.title("💬 Chat search")
st.caption("Describe a symptom, paste an error, or give a ticket id such as JSP-1052. Every claim cites an incident.")
history = st.session_state.setdefault("chat_history", [])
arms = st.session_state.setdefault("chat_arms", {})  # answer index → (experiment, arm) that served it


def render(answer, index: int) -> None:
    st.markdown(ui.escape_markdown(answer.answer))
    if answer.note:
        st.info(answer.note)
    response = answer.search
    results = response.results if response else []
    incidents = ws.store.get_many(hit.id for hit in results)
    if response and response.strategy == "exact_id" and results:
        ui.incident_details(incidents[results[0].id])
        results = results[1:]
        if results:
            st.caption("Related incidents")
    elif answer.abstained and results:
        st.caption("Nearest misses — shown for reference, none of them is a match:")
    for rank, hit in enumerate(results):
        ui.incident_card(hit, incidents.get(hit.id), expanded=rank == 0 and not answer.abstained
                         and response.strategy == "hybrid")
    sent = ui.feedback_ui(str(index), [hit.id for hit in (response.results if response else [])])
    if sent:
        experiment, arm = arms.get(index, (None, None))
        ui.feedback_store().record(answer.question, [h.id for h in response.results] if response else [],
                                   sent["helpful"], sent["right_id"], settings=response.settings if response else None,
                                   provider=answer.provider, session_id=ui.session_id(), variant=arm,
                                   experiment=experiment)
        st.toast("Thanks — feedback saved to the workspace.")


for index, answer in enumerate(history):
    with st.chat_message("user"):
        st.text(answer.question)
    with st.chat_message("assistant"):
        render(answer, index)

# another page (Incident patterns' "search similar") may leave a question to ask on arrival
pending = st.session_state.pop("pending_question", None)
if question := st.chat_input("e.g. UPI payments timing out at the PSP, or JSP-1052") or pending:
    with st.chat_message("user"):
        st.text(question)
    with st.chat_message("assistant"):
        with st.spinner("Searching past incidents…"):
            answer = answerer.ask(question, k=k, filters=filters)
        st.write_stream(ui.stream_words(ui.escape_markdown(answer.answer)))
        arms[len(history)] = (served.experiment, served.arm)
        history.append(answer)
        st.rerun()
elif not history:
    st.info("Try: *UPI payment failed with error 5003* · *JSP-1052* · *why do refunds fail?* · "
            "*what is the capital of Australia* (an honest no-match)")
