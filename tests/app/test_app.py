"""Smoke tests of the Streamlit app with AppTest: every page renders without an exception on a real workspace."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
PAGES = ["views/home.py", "views/chat.py", "views/tuning.py", "views/experiments.py", "views/patterns.py",
         "views/data.py"]


@pytest.fixture
def app_home(juspay_workspace, monkeypatch):
    """The shared workspace with the original SherlockAI incidents (77 + the JSP-2001 duplicate)."""
    monkeypatch.setenv("SHERLOCK_HOME", str(juspay_workspace.settings.home))
    monkeypatch.setenv("SHERLOCK_DEMO", "false")
    return juspay_workspace.settings.home


def test_app_shell_and_overview(app_home):
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not app.exception
    assert app.metric[0].value == "78"


def test_quick_search_answers_and_abstains(app_home):
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    app.text_input[0].set_value("IRCTC webhook delivery failing").run()
    hits = [markdown.value for markdown in app.markdown if markdown.value.startswith("**")]  # **id** · title
    assert not app.exception and hits[0].startswith(r"**JSP\-1017**")
    app.text_input[0].set_value("what is the capital of Australia").run()
    assert app.warning and "no matching past incident" in app.warning[0].value


@pytest.mark.parametrize("page", PAGES[1:])
def test_every_page_renders(app_home, page):
    app = AppTest.from_file(str(ROOT / page), default_timeout=60).run()
    assert not app.exception
