"""The Incident page with AppTest on the original SherlockAI incidents: a deep link (``?id=``) shows every field and
the similar incidents (never the incident itself) with why and the fix, a wrong id says so and offers the closest
ids, "same root cause?" votes become labelled pairs, and Chat search's cards link to the page."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
PAGE = str(ROOT / "views" / "incident.py")


@pytest.fixture
def home(juspay_workspace, monkeypatch):
    monkeypatch.setenv("SHERLOCK_HOME", str(juspay_workspace.settings.home))
    monkeypatch.setenv("SHERLOCK_DEMO", "false")
    return juspay_workspace


def open_incident(incident_id: str | None) -> AppTest:
    app = AppTest.from_file(PAGE, default_timeout=60)
    if incident_id is not None:
        app.query_params["id"] = incident_id
    app.run()
    assert not app.exception
    return app


def plain(text: str) -> str:
    """Markdown as read: escape_markdown's backslashes removed."""
    return text.replace("\\", "")


def similar_links(app: AppTest) -> list[str]:
    """The ids the similar-incident cards link to (a markdown link when the view runs on its own)."""
    return [block.value.split("(incident?id=")[1].rstrip(")") for block in app.markdown
            if block.value.startswith("🧾 [**")]


def test_a_deep_link_shows_every_field_and_the_similar_incidents(home):
    incident = home.store.get("JSP-1017")
    app = open_incident("JSP-1017")
    assert plain(app.subheader[0].value) == f"JSP-1017 · {incident.title}"
    text = plain(" ".join(block.value for block in app.markdown))
    assert incident.description[:60] in text and incident.resolution[:60] in text
    assert all(f"`{tag}`" in text for tag in incident.tags)
    assert "resolved by engineer17@example.com, engineer18@example.com" in plain(app.caption[0].value)
    linked = similar_links(app)
    assert len(linked) == 5 and "JSP-1017" not in linked  # k = 5 by default; never the incident itself
    assert len(set(linked)) == 5 and all(home.store.get(i) is not None for i in linked)
    why = [plain(block.value) for block in app.markdown if block.value.startswith("**Why:**")]
    fixes = [block.value for block in app.markdown if block.value.startswith("**Fix:**")]
    assert len(why) == len(fixes) == 5
    assert any("shared terms: `webhook`" in line.lower() for line in why), why
    assert [button.label for button in app.button] == ["Yes", "No"] * 5


def test_more_similar_incidents_from_the_sidebar(home):
    app = open_incident("JSP-1017")
    app.sidebar.slider[0].set_value(8).run()
    assert not app.exception and len(similar_links(app)) == 8


def test_a_wrong_id_says_so_with_the_closest_ids(home):
    app = open_incident("JSP-10177")
    assert [plain(error.value) for error in app.error] == ["No incident JSP-10177 in this workspace."]
    assert "JSP-1017" in [plain(block.value).split("[")[1].split("]")[0] for block in app.markdown]
    assert not app.subheader and not app.button  # no incident, no similar ones


def test_an_id_in_another_case_opens_the_incident_and_the_url_names_it_as_stored(home):
    app = open_incident("jsp-1052")
    assert plain(app.subheader[0].value).startswith("JSP-1052 · ")
    assert app.query_params["id"] == "JSP-1052"


def test_without_an_id_the_page_offers_the_latest_incident_and_a_box(home):
    latest, _ = home.store.examples()
    app = open_incident(None)
    assert app.info and not app.subheader
    assert app.text_input[0].placeholder.startswith(f"e.g. {latest}")
    app.button[0].click().run()  # "Open <latest>, the latest resolved incident"
    assert not app.exception and plain(app.subheader[0].value).startswith(f"{latest} · ")
    app.text_input[0].set_value("JSP-1018").run()  # typing an id opens it, and the box is emptied for the next one
    assert not app.exception and plain(app.subheader[0].value).startswith("JSP-1018 · ")
    assert app.query_params["id"] == "JSP-1018" and app.text_input[0].value == ""


def test_same_root_cause_votes_become_labelled_pairs(home):
    from sherlock.storage.feedback import FeedbackStore
    store = FeedbackStore(home.settings.feedback_path)
    app = open_incident("JSP-1018")  # an anchor no other test votes on (the workspace is shared)
    other = similar_links(app)[0]
    before = len(store.pairs())
    app.button(key=f"same-JSP-1018-{other}-yes").click().run()
    assert not app.exception and "same root cause" in app.toast[0].value
    assert any("You said: the same root cause" in caption.value for caption in app.caption)
    assert store.pair_qrels()["JSP-1018"][other] == 1
    app.button(key=f"same-JSP-1018-{other}-no").click().run()  # the session changes its mind: its latest vote counts
    assert any("You said: a different root cause" in caption.value for caption in app.caption)
    assert store.pair_qrels()["JSP-1018"][other] == 0
    votes = store.pairs()[before:]
    assert [(v.anchor_id, v.other_id, v.same_root_cause) for v in votes] == [("JSP-1018", other, True),
                                                                               ("JSP-1018", other, False)]
    assert votes[0].session_id == votes[1].session_id is not None
    store.close()
    # the similar-incidents lookup was logged once for monitoring, not on each of the reruns the votes made
    from sherlock.monitoring.querylog import QueryLog, query_log
    assert query_log(home.settings).flush()
    rows = QueryLog(home.settings.query_log_path, b"").frame()
    mine = rows[rows["session"] == votes[0].session_id]
    assert list(zip(mine["channel"], mine["kind"], strict=True)) == [("app", "similar")]


def test_in_the_app_the_page_is_in_the_navigation_and_links_with_page_links(home):
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    app.query_params["id"] = "JSP-1017"
    app.switch_page("views/incident.py").run()
    assert not app.exception and plain(app.subheader[0].value).startswith("JSP-1017 · ")
    links = app.get("page_link")
    assert len(links) == 5 and all(link.proto.page == "incident" for link in links)
    assert all(link.proto.query_string.startswith("id=") for link in links)
    assert "id=JSP-1017" not in [link.proto.query_string for link in links]


def test_chat_cards_link_to_the_incident_page(home):
    app = AppTest.from_file(str(ROOT / "views" / "chat.py"), default_timeout=60).run()
    app.chat_input[0].set_value("IRCTC webhook delivery failing").run()
    assert not app.exception
    links = [block.value for block in app.markdown if "](incident?id=" in block.value]
    assert "🧾 [Open incident JSP\\-1017](incident?id=JSP-1017)" in links
    app.chat_input[0].set_value("JSP-1052").run()  # a ticket id: the incident itself, linked too
    assert "🧾 [Open incident JSP\\-1052](incident?id=JSP-1052)" in [block.value for block in app.markdown]


def test_a_duplicate_filed_under_another_id_is_named(home):
    app = open_incident("JSP-2001")  # tps_scaling_incident.json files JSP-1055's content again
    assert "Possible duplicates" in app.warning[0].value
    assert "🧾 [JSP\\-1055 · similarity 1.00](incident?id=JSP-1055)" in [block.value for block in app.markdown]
    assert any("same text as JSP" in plain(caption.value) for caption in app.caption)
    assert "JSP-1055" in similar_links(app)  # the same text is also the most similar incident: labelled so there
    assert any(caption.value.startswith("⚠️ possible duplicate") for caption in app.caption)
