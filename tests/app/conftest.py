"""Fixtures for the Streamlit views' tests."""

import pytest

#: "The right incident was …" feedback on five queries of the original SherlockAI incidents.
FEEDBACK = {
    "IRCTC webhook delivery failing": "JSP-1017",
    "refund failed insufficient funds 2C2P": "JSP-1018",
    "snapdeal pinelabs integration": "JSP-1052",
    "Card tokenization failing for BIN 65xx": "JSP-1002",
    "Diners card tokenization volume drop": "JSP-1076",
}


@pytest.fixture
def with_feedback(juspay_workspace):
    """"The right incident was …" feedback for five queries (the workspace is shared: adding rows is harmless): the
    Chat feedback query set of the tuning and experiments pages."""
    from sherlock.storage.feedback import FeedbackStore
    store = FeedbackStore(juspay_workspace.settings.feedback_path)
    known = {record.query for record in store.records()}
    for query, right_id in FEEDBACK.items():
        if query not in known:
            store.record(query, [], None, right_id)
    store.close()
