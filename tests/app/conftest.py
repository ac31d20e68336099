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


@pytest.fixture
def settings_file(juspay_workspace):
    """The shared workspace's ``sherlock.toml``, for a test that writes it: put back as it was afterwards (or removed
    when there was none), and the app's cached settings renewed."""
    from ui import resources
    path = juspay_workspace.settings.home / "sherlock.toml"
    before = path.read_bytes() if path.exists() else None
    yield path
    if before is None:
        path.unlink(missing_ok=True)
    else:
        path.write_bytes(before)
    resources.reload_settings()


@pytest.fixture
def fresh_caches():
    """Streamlit's caches live as long as the process: each test opens its own workspace and leaves none behind."""
    import streamlit as st
    st.cache_resource.clear()
    st.cache_data.clear()
    yield
    st.cache_resource.clear()
    st.cache_data.clear()
