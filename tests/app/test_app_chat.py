"""The chat page with AppTest on the original SherlockAI incidents: cited answers, honest no-matches, feedback."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def chat(juspay_workspace, monkeypatch):
    monkeypatch.setenv("SHERLOCK_HOME", str(juspay_workspace.settings.home))
    monkeypatch.setenv("SHERLOCK_DEMO", "false")
    return AppTest.from_file(str(ROOT / "views" / "chat.py"), default_timeout=60).run()


def ask(app: AppTest, question: str) -> str:
    app.chat_input[0].set_value(question).run()
    assert not app.exception
    return "\n".join(block.value for block in app.markdown)


def test_a_question_is_answered_citing_the_right_incident(chat):
    text = ask(chat, "IRCTC webhook delivery failing")
    assert "JSP\\-1017" in text  # ids are rendered through escape_markdown
    assert any("JSP-1017" in expander.label.replace("\\", "") for expander in chat.expander)


def test_an_unknown_ticket_id_says_so(chat):
    text = ask(chat, "JIRA-9999 not working")
    assert "No matching past incident" in text or "not in this workspace" in text
    assert not chat.expander  # no look-alike shown as an answer


def test_an_off_topic_question_abstains(chat):
    text = ask(chat, "what is the capital of Australia")
    assert "No matching past incident" in text
    assert all("nearest miss" in expander.label for expander in chat.expander)


def test_a_ticket_id_opens_the_incident(chat):
    ask(chat, "JSP-1052")
    assert any("snapdeal" in block.value.lower() for block in chat.markdown)


def test_feedback_is_saved_with_the_query_and_shown_ids(chat, juspay_workspace):
    from sherlock.storage.feedback import FeedbackStore
    store = FeedbackStore(juspay_workspace.settings.feedback_path)
    before = store.count()
    ask(chat, "refund failed insufficient funds 2C2P")
    chat.selectbox[0].set_value("JSP-1018").run()
    chat.button[0].click().run()
    assert not chat.exception and store.count() == before + 1
    record = store.records()[-1]
    assert record.query == "refund failed insufficient funds 2C2P" and record.right_id == "JSP-1018"
    assert "JSP-1018" in record.shown_ids
    # the answer was logged for monitoring, once, and the vote names its row
    from sherlock.monitoring.querylog import QueryLog, query_log
    assert query_log(juspay_workspace.settings).flush()
    rows = QueryLog(juspay_workspace.settings.query_log_path, b"").frame().set_index("id")
    row = rows.loc[record.log_id]
    assert (row["channel"], row["kind"], row["session"]) == ("app", "ask", record.session_id)
    assert (rows["session"] == record.session_id).sum() == 1  # the reruns after the vote logged nothing more


def test_the_answer_is_a_short_list_whose_citations_link_to_their_cards(chat, juspay_workspace):
    text = ask(chat, "IRCTC webhook delivery failing")
    answer = next(block.value for block in chat.markdown if block.value.startswith("Most likely"))
    assert "\n- Cause\\: " in answer or "\n- What happened\\: " in answer
    assert "](#incident-jsp-1017)" in answer  # the citation is a link to the card's anchor
    assert '<span id="incident-jsp-1017"></span>' in text  # and the card carries it
    incident = juspay_workspace.store.get("JSP-1017")
    card = next(e for e in chat.expander if "JSP-1017" in e.label.replace("\\", ""))
    caption = " ".join(c.value for c in card.caption)
    assert incident.resolved_by == ["engineer17@example.com", "engineer18@example.com"]  # a list, read as people
    assert "resolved by engineer17@example.com, engineer18@example.com" in caption.replace("\\", "")


def test_examples_come_from_the_workspace(chat, juspay_workspace):
    ticket, _ = juspay_workspace.store.examples()
    assert juspay_workspace.store.get(ticket) is not None
    hint = " ".join(block.value for block in chat.info)
    assert ticket.replace("-", "\\-") in hint and "JSP\\-1052" not in hint.replace(ticket.replace("-", "\\-"), "")
    assert chat.chat_input[0].placeholder.endswith(f", or {ticket}")
