"""Sign-in for real: ``streamlit run app.py`` with an ``[auth]`` table pointing at a real OIDC provider on localhost
(``oidc-provider-mock``, run as its own server), driven through the whole login flow in headless Chromium. An admin
signs in and sees every page; a viewer sees the reading pages only and is refused the Fusion tuning, Data and
Experiments pages at their own addresses; a member of an admin group is admin; an account the role mapping does not
name is refused; signing out ends the session.

The secrets file is written to a temporary folder and given to Streamlit with ``--secrets.files`` (the repository's
``.streamlit/secrets.toml`` is never read or written), the role mapping comes from ``SHERLOCK_AUTH_ROLES``. With
``SHERLOCK_UPDATE_SCREENSHOTS=1`` the sign-in screen and a viewer's app are copied to ``docs/sign-in.png`` and
``docs/viewer.png``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.app.test_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    TIMEOUT_MS,
    app_shell,
    ask,
    assert_no_exception,
    save_screenshot,
    wait_until_idle,
)

ROOT = Path(__file__).resolve().parents[2]
#: The accounts the provider knows (its login form offers each), with the claims it vouches for.
ACCOUNTS = [
    {"sub": "alice@acme.com", "email": "alice@acme.com", "email_verified": True, "name": "Alice"},
    {"sub": "vera@acme.com", "email": "vera@acme.com", "email_verified": True, "name": "Vera"},
    {"sub": "sam@partner.example", "email": "sam@partner.example", "email_verified": True, "groups": ["sre"]},
]
ROLES = {"alice@acme.com": "admin", "@acme.com": "editor", "vera@acme.com": "viewer", "group:sre": "admin"}
ALL_PAGES = ["Overview", "Chat search", "Incident", "Fusion tuning", "Experiments", "Incident patterns", "Monitoring",
             "Data"]
VIEWER_PAGES = ["Overview", "Chat search", "Incident", "Incident patterns", "Monitoring"]

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture(scope="module")
def oidc_provider(start_server, tmp_path_factory) -> Iterator[str]:
    """``oidc-provider-mock`` on a free localhost port, knowing :data:`ACCOUNTS`; yields its issuer URL."""
    log = tmp_path_factory.mktemp("oidc") / "provider.log"
    claims = [argument for account in ACCOUNTS for argument in ("--user-claims", json.dumps(account))]

    def command(port: int) -> list[str]:
        return [sys.executable, "-m", "oidc_provider_mock", "--port", str(port), *claims]

    with start_server(command, log, dict(os.environ), health="/.well-known/openid-configuration") as url:
        yield url


@pytest.fixture(scope="module")
def home(tmp_path_factory, models_seed, juspay_issues) -> Path:
    """A workspace with the original SherlockAI incidents, written by a process that exits before the app opens it."""
    home = tmp_path_factory.mktemp("login-home")
    shutil.copytree(models_seed, home / "models", copy_function=os.link)
    script = ("import sys; from sherlock.config import load_settings; "
              "from sherlock.storage.workspace import Workspace; "
              "Workspace(load_settings(home=sys.argv[1], demo=False)).ingest(sys.argv[2:])")
    subprocess.run([sys.executable, "-c", script, str(home), str(juspay_issues)], cwd=ROOT, check=True, timeout=600)
    return home


@pytest.fixture(scope="module")
def app_url(home, oidc_provider, start_server, tmp_path_factory) -> Iterator[str]:
    """``streamlit run app.py`` over ``home`` with sign-in through ``oidc_provider``: its ``[auth]`` table in a
    temporary secrets file (``{port}`` is Streamlit's own port), the role mapping :data:`ROLES`. Its log holds no
    warning once the tests are done."""
    folder = tmp_path_factory.mktemp("streamlit-login")
    secrets, log = folder / "secrets.toml", folder / "server.log"
    secrets.write_text(f"""[auth]
redirect_uri = "http://127.0.0.1:{{port}}/oauth2callback"
cookie_secret = "a-long-random-string-only-for-this-test"
client_id = "sherlock"
client_secret = "any-secret-the-mock-accepts"
server_metadata_url = "{oidc_provider}/.well-known/openid-configuration"
""", encoding="utf-8")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SHERLOCK_") and k not in ("GEMINI_API_KEY", "GOOGLE_API_KEY")}  # offline answers
    env.update(SHERLOCK_HOME=str(home), SHERLOCK_DEMO="false", SHERLOCK_AUTH_ROLES=json.dumps(ROLES),
               PYTHONUNBUFFERED="1")

    def command(port: int) -> list[str]:
        return [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                "--server.address", "127.0.0.1", "--server.headless", "true", "--server.fileWatcherType", "none",
                "--browser.gatherUsageStats", "false", "--secrets.files", str(secrets)]

    with start_server(command, log, env, health="/_stcore/health", cwd=ROOT) as url:
        yield url
    warnings = [line for line in log.read_text(errors="replace").splitlines()
                if "deprecat" in line.lower() or "warning" in line.lower() or "error" in line.lower()]
    assert not warnings, "\n".join(warnings[:20])


@pytest.fixture(scope="module")
def chromium_browser():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: install it with `apt-get install -y chromium` (as root), then run the "
                    "tests again.", pytrace=False)
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium_browser):
    """A page in a fresh browser context: no cookie, nobody signed in."""
    context = chromium_browser.new_context(viewport={"width": 1400, "height": 900}, device_scale_factor=1)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("login-screenshots")


def sign_in_screen(page, url: str) -> None:  # noqa: ANN001 - playwright.sync_api.Page
    page.goto(url)
    page.get_by_role("button", name="Sign in").wait_for()
    wait_until_idle(page)
    assert_no_exception(page)


def sign_in(page, url: str, account: str) -> None:  # noqa: ANN001
    """The whole flow: Sherlock's sign-in button, the provider's login form, back to the app, signed in."""
    sign_in_screen(page, url)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/oauth2/authorize**")  # the provider's page
    page.get_by_placeholder("sub").fill(account)
    page.get_by_role("button", name="Authorize", exact=True).click()
    page.wait_for_url(f"{url}/")  # Streamlit's /oauth2callback set its cookie and sent the browser home
    page.get_by_test_id("stSidebarContent").get_by_text("Signed in as").wait_for()
    wait_until_idle(page)
    assert_no_exception(page)


def open_page(page, url: str, heading: str) -> str:  # noqa: ANN001
    """Go to ``url``; returns the main block's text once the page (headed ``heading``) has run."""
    page.goto(url)
    page.locator("h1").filter(has_text=heading).first.wait_for()
    wait_until_idle(page)
    assert_no_exception(page)
    return page.get_by_test_id("stMainBlockContainer").inner_text()


def nav(page) -> list[str]:  # noqa: ANN001
    return [(text.splitlines() or [""])[-1] for text in app_shell(page)["nav"]]  # icon, then title


def test_an_admin_signs_in_through_the_provider_and_sees_every_page(page, app_url, screenshots):
    sign_in_screen(page, f"{app_url}/tuning")  # a deep link before signing in: the sign-in screen, nothing else
    assert page.get_by_test_id("stSidebarNav").count() == 0 and page.get_by_test_id("stMetric").count() == 0
    save_screenshot(page, "sign-in", screenshots)
    sign_in(page, app_url, "alice@acme.com")
    assert nav(page) == ALL_PAGES
    sidebar = page.get_by_test_id("stSidebarContent").inner_text()
    assert "Signed in as alice@acme.com · role admin" in " ".join(sidebar.split()), sidebar
    assert "77" in " ".join(page.get_by_test_id("stMetric").all_inner_texts())
    assert "Run tuning" in open_page(page, f"{app_url}/tuning", "Fusion tuning")
    data = open_page(page, f"{app_url}/data", "Data")
    assert "Reindex (rebuild vectors" in data and "Delete incidents" in data and "Audit log" in data, data[:1000]


def test_a_viewer_reads_and_is_refused_the_pages_that_change_things(page, app_url, screenshots):
    sign_in(page, app_url, "vera@acme.com")
    assert nav(page) == VIEWER_PAGES
    sidebar = " ".join(page.get_by_test_id("stSidebarContent").inner_text().split())
    assert "Signed in as vera@acme.com · role viewer" in sidebar, sidebar
    home = page.get_by_test_id("stMainBlockContainer").inner_text()
    assert "Chat search — ask" in home and "Fusion tuning —" not in home and "Data —" not in home
    save_screenshot(page, "viewer", screenshots)
    for path, title, refused_action in (("tuning", "Fusion tuning", "run fusion tunings"),
                                        ("data", "Data", "add incidents from files or the demo corpus"),
                                        ("experiments", "Experiments", "run offline A/B tests")):
        shown = open_page(page, f"{app_url}/{path}", title)  # the page's own address, typed in
        assert f"Refused: this page is for those who may {refused_action}" in shown, shown
        assert ": you need the editor role; vera@acme.com is viewer" in shown, shown
        assert page.get_by_role("button").filter(has_text="Run").count() == 0  # Run tuning, Run A/B: absent
        assert nav(page) == VIEWER_PAGES
    page.screenshot(path=str(screenshots / "viewer-refused.png"))  # the test's folder only, not docs/
    open_page(page, f"{app_url}/chat", "Chat search")
    answer = ask(page, "IRCTC webhook delivery failing")
    assert "JSP-1017" in answer.get_by_test_id("stMarkdownContainer").first.inner_text()
    assert page.get_by_role("button", name="Send", exact=True).count() == 0  # no feedback for a viewer


def test_a_member_of_an_admin_group_is_admin_and_signing_out_ends_the_session(page, app_url):
    sign_in(page, app_url, "sam@partner.example")  # no address or domain named: the groups claim says sre
    assert nav(page) == ALL_PAGES
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/oauth2/end_session**")  # Streamlit ends the provider's session too (RP-initiated logout)
    page.get_by_role("button", name="End session").click()
    page.wait_for_url(f"{app_url}/**")
    page.get_by_role("button", name="Sign in").wait_for()
    wait_until_idle(page)
    assert page.get_by_test_id("stSidebarNav").count() == 0
    page.goto(f"{app_url}/data")  # the cookie is gone: a deep link is the sign-in screen again
    page.get_by_role("button", name="Sign in").wait_for()
    assert page.get_by_text("Delete incidents").count() == 0


def test_an_account_the_mapping_does_not_name_is_refused(page, app_url):
    sign_in_screen(page, app_url)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/oauth2/authorize**")
    page.get_by_placeholder("sub").fill("zed@elsewhere.org")  # an account the provider vouches for, nobody mapped
    page.get_by_role("button", name="Authorize", exact=True).click()
    page.get_by_text("is signed in but has no role in this Sherlock").wait_for()
    wait_until_idle(page)
    assert page.get_by_test_id("stSidebarNav").count() == 0 and page.get_by_test_id("stMetric").count() == 0
    assert page.get_by_role("button", name="Sign out").count() == 1
