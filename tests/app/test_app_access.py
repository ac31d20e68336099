"""Sign-in and roles in the app with AppTest (the whole app, app.py): the sign-in screen, what a viewer, an editor
and an admin see on each page, actions refused where they happen, and the audit log of what an admin did.

Who is signed in is set the way Streamlit's AppTest offers: ``app.secrets["auth"]`` (sign-in configured: an
``[auth]`` table) and ``app.user`` (the claims of the signed-in account, ``is_logged_in`` among them) — the app reads
nothing else. Roles come from ``SHERLOCK_AUTH_ROLES`` as a team would set them. tests/app/test_browser_login.py runs
the real sign-in through a real OIDC provider in Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from sherlock.audit import entries
from sherlock.config import load_settings
from sherlock.storage.workspace import Workspace
from ui.access import PAGE_ACTIONS

ROOT = Path(__file__).resolve().parents[2]
#: An [auth] table as .streamlit/secrets.toml holds it (the provider is never called here).
AUTH = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "a-long-random-string-for-tests",
        "client_id": "sherlock", "client_secret": "not-a-secret",
        "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration"}
ROLES = '{"alice@acme.com": "admin", "@acme.com": "editor", "vera@acme.com": "viewer"}'
VIEWER = {"is_logged_in": True, "email": "vera@acme.com", "email_verified": True, "name": "Vera"}
EDITOR = {"is_logged_in": True, "email": "carol@acme.com", "name": "Carol"}
ADMIN = {"is_logged_in": True, "email": "alice@acme.com", "name": "Alice"}


@pytest.fixture(autouse=True)
def _fresh(fresh_caches):
    """Each test opens its own workspace, with its own settings (``fresh_caches`` in conftest.py)."""


@pytest.fixture
def home(make_home, juspay_issues, monkeypatch) -> Path:
    """A workspace of its own with the original SherlockAI incidents (their vectors come from the seeded cache), and
    the team's role mapping."""
    home = make_home()
    Workspace(load_settings(home=home)).ingest([juspay_issues])
    monkeypatch.setenv("SHERLOCK_HOME", str(home))
    monkeypatch.setenv("SHERLOCK_AUTH_ROLES", ROLES)
    return home


def open_app(user: dict | None, page: str | None = None) -> AppTest:
    """app.py with sign-in configured and ``user`` signed in (``None``: sign-in not configured), on ``page``."""
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    if user is not None:
        app.secrets["auth"] = AUTH
        app.user = user
    app.run()
    if page:
        app.switch_page(page).run()
    assert not app.exception, app.exception
    return app


def texts(elements) -> str:  # noqa: ANN001 - an AppTest ElementList
    return " ".join(str(element.value) for element in elements)


def labels(app: AppTest) -> list[str]:
    return [button.label for button in app.button]


def test_every_view_is_assigned_a_role():
    views = {path.stem for path in (ROOT / "views").glob("*.py")}
    assert views <= set(PAGE_ACTIONS), f"views without a role in ui/access.py PAGE_ACTIONS: {views - set(PAGE_ACTIONS)}"


def test_the_sign_in_screen_until_someone_signs_in(home):
    app = open_app({"is_logged_in": False})
    assert labels(app) == ["Sign in"]
    assert app.title[0].value == "🔎 Sherlock" and not app.metric  # the Overview page did not run


def test_one_button_per_named_provider(home):
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    app.secrets["auth"] = {"redirect_uri": AUTH["redirect_uri"], "cookie_secret": AUTH["cookie_secret"],
                           "google": {key: AUTH[key] for key in ("client_id", "client_secret",
                                                                 "server_metadata_url")},
                           "okta": {key: AUTH[key] for key in ("client_id", "client_secret", "server_metadata_url")}}
    app.user = {"is_logged_in": False}
    app.run()
    assert labels(app) == ["Sign in with google", "Sign in with okta"]


def test_a_viewer_reads_but_sees_no_page_or_button_that_changes_anything(home):
    app = open_app(VIEWER)
    assert app.metric[0].value == "77"
    assert "Signed in as **`vera@acme.com`** · role **viewer**" in texts(app.sidebar.caption)
    assert "Sign out" in labels(app)
    assert [link.value.split(" — ")[0] for link in app.get("page_link")] == ["Chat search", "Incident",
                                                                              "Incident patterns"]
    for page in ("views/data.py", "views/tuning.py", "views/experiments.py"):  # not in a viewer's app at all
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            app.switch_page(page)
    app.switch_page("views/chat.py").run()
    app.chat_input[0].set_value("IRCTC webhook delivery failing").run()
    assert not app.exception and "JSP\\-1017" in app.chat_message[1].markdown[0].value
    assert "Send" not in labels(app) and not app.get("feedback")  # no feedback widgets for a viewer
    app.switch_page("views/incident.py").run()
    app.text_input(key="incident-pick").set_value("JSP-1017").run()
    assert "**Fix:**" in texts(app.markdown)  # the similar incidents are shown…
    assert "Same root cause" not in texts(app.markdown) and "Yes" not in labels(app)  # …without the vote


def test_a_guarded_action_is_refused_where_it_happens(home):
    """The guard every action's code path calls, reached by a viewer (as if its hidden button had been pressed)."""
    def script() -> None:
        import streamlit as st

        from ui import access
        access.require(st.session_state.get("action", "apply_weights"))
        st.write("done")

    app = AppTest.from_function(script, default_timeout=60)
    app.secrets["auth"] = AUTH
    app.user = VIEWER
    app.run()
    assert [error.value for error in app.error] == [
        "Refused. To apply tuned weights to the workspace you need the **admin** role; `vera@acme.com` is "
        "**viewer**. An admin can change that in `auth_roles`."]
    assert "done" not in texts(app.markdown)
    app.user = EDITOR
    app.session_state["action"] = "tune"
    app.run()
    assert not app.error and texts(app.markdown) == "done"


def test_an_editor_adds_data_and_runs_but_does_not_apply_or_run_experiments_live(home):
    app = open_app(EDITOR, "views/data.py")
    assert "Validate and ingest" in labels(app) and "Reindex (rebuild vectors and lexical indexes from the store)" \
        in labels(app)
    assert "Delete incidents" not in labels(app) and not any("Audit log" in e.label for e in app.expander)
    app.file_uploader[0].set_value([("dns.csv", b"id,title\nD-1,DNS resolver timeouts\n", "text/csv")]).run()
    next(button for button in app.button if button.label == "Validate and ingest").click().run()
    assert not app.exception and "Stored 1 incident(s)." in texts(app.success)
    assert [(e.actor, e.action, e.target) for e in entries(load_settings(home=home))] == [
        ("carol@acme.com", "ingest", "dns.csv")]
    app.switch_page("views/experiments.py").run()
    assert "Run A/B" in labels(app) and "Start the experiment" not in labels(app)
    assert "To start and stop online experiments you need the **admin** role" in texts(app.caption)
    app.switch_page("views/chat.py").run()
    app.chat_input[0].set_value("IRCTC webhook delivery failing").run()
    assert "Send" in labels(app)  # editors give feedback


def test_an_admin_deletes_incidents_and_the_audit_log_says_who(home):
    app = open_app(ADMIN, "views/data.py")
    assert "Signed in as **`alice@acme.com`** · role **admin**" in texts(app.sidebar.caption)
    app.text_area(key="delete-ids").set_value("JSP-1017, NOPE-1").run()
    assert "1 of 2 stored; not stored: NOPE\\-1" in texts(app.caption)
    delete = next(button for button in app.button if button.label == "Delete incidents")
    assert delete.disabled  # not confirmed yet
    app.checkbox(key="delete-sure").check().run()
    next(button for button in app.button if button.label == "Delete incidents").click().run()
    assert not app.exception, app.exception
    assert "Deleted 1 incident(s): JSP\\-1017." in texts(app.success)
    settings = load_settings(home=home)
    assert Workspace(settings).store.get("JSP-1017") is None
    [entry] = entries(settings)
    assert (entry.actor, entry.action, entry.target, entry.source) == ("alice@acme.com", "delete_incidents",
                                                                       "JSP-1017", "app")
    log = next(frame.value for frame in app.dataframe if "actor" in frame.value.columns)
    assert log[["actor", "action", "target"]].values.tolist() == [["alice@acme.com", "delete_incidents", "JSP-1017"]]


def test_an_admin_starts_and_stops_the_online_experiment_on_record(home):
    app = open_app(ADMIN, "views/experiments.py")
    app.button(key="online-start").click().run()
    assert not app.exception and "Started **" in texts(app.success)
    app.button(key="online-stop").click().run()
    assert not app.exception and "Stopped the online experiment" in texts(app.success)
    assert [(e.actor, e.action, e.target) for e in entries(load_settings(home=home))] == [
        ("alice@acme.com", "online_experiment", "stop fusion-online"),
        ("alice@acme.com", "online_experiment", "start fusion-online")]


def test_signing_out_returns_to_the_sign_in_screen(home):
    app = open_app(EDITOR)
    app.button(key="sign-out").click().run()
    assert not app.exception and labels(app) == ["Sign in"]


def test_an_account_without_a_role_is_refused_and_may_sign_out(home):
    app = open_app({"is_logged_in": True, "email": "zed@elsewhere.org"})
    assert not app.metric
    assert "`zed@elsewhere.org` is signed in but has no role in this Sherlock" in app.error[0].value
    assert labels(app) == ["Sign out"]


def test_an_unverified_address_gets_no_role_from_it(home):
    app = open_app({"is_logged_in": True, "email": "alice@acme.com", "email_verified": False, "sub": "alice-1"})
    assert "`alice-1` is signed in but has no role" in app.error[0].value


def test_without_sign_in_the_app_is_single_user_and_says_so(home):
    app = open_app(None, "views/tuning.py")
    assert "Single-user: sign-in is not configured, so whoever opens this app is admin" in texts(app.sidebar.caption)
    assert "without sign-in" not in texts(app.warning)  # served on localhost (.streamlit/config.toml)
    assert "Sign out" not in labels(app) and "Run tuning" in labels(app)
    app.switch_page("views/experiments.py").run()
    app.button(key="online-start").click().run()
    assert [(e.actor, e.action) for e in entries(load_settings(home=home))] == [("local", "online_experiment")]


def serve_on(monkeypatch, address: str) -> None:  # noqa: ANN001
    """The app as if started with ``--server.address address``."""
    import streamlit as st
    real = st.get_option
    monkeypatch.setattr(st, "get_option", lambda key: address if key == "server.address" else real(key))


@pytest.mark.parametrize("address", ["0.0.0.0", "", "10.0.0.7", "::"])
def test_served_beyond_this_machine_without_sign_in_every_page_warns(home, monkeypatch, address):
    serve_on(monkeypatch, address)
    app = open_app(None)
    assert "without sign-in: anyone who reaches it can read every incident" in app.warning[0].value
    app.switch_page("views/patterns.py").run()
    assert "without sign-in" in app.warning[0].value
    assert "without sign-in" not in texts(open_app(VIEWER).warning)  # sign-in configured: no warning


@pytest.mark.parametrize("address", ["127.0.0.1", "localhost", "::1"])
def test_on_this_machine_only_there_is_no_warning(home, monkeypatch, address):
    serve_on(monkeypatch, address)
    assert "without sign-in" not in texts(open_app(None).warning)
