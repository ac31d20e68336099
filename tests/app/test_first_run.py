"""The first run: on an empty home the workspace opens in a background thread while every page shows how far it has
got (real counts from the real embedding of a small demo corpus), two sessions share that one opening, and the page's
content appears once it is ready. Also the progress report's own arithmetic, worked by hand."""

import threading
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from sherlock.config import DEMO_DIR
from ui import resources, widgets

ROOT = Path(__file__).resolve().parents[2]
DEMO_SUBSET = 150  # three model batches of 64: 64, 128, 150


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_time_left_is_the_stage_pace_so_far_counted_down_between_reports():
    clock = Clock()
    log = widgets.ProgressLog(clock=clock)
    assert log.latest() == ("opening", 0, 0, None) and log.latest().describe() == "Opening the workspace…"
    log("embedding", 0, 2000)  # the stage starts at t=100
    assert log.latest().seconds_left is None and log.latest().describe() == "Embedding incidents 0 / 2,000"
    clock.now = 116.0
    log("embedding", 640, 2000)  # 640 in 16 s: 40 a second, 1,360 left → 34 s
    assert log.latest().seconds_left == pytest.approx(34.0)
    assert log.latest().describe() == "Embedding incidents 640 / 2,000 · about 34 s left"
    clock.now = 120.0  # no report for 4 s: the estimate counts down
    assert log.latest().seconds_left == pytest.approx(30.0) and log.latest().fraction == pytest.approx(0.32)
    clock.now = 150.0
    assert log.latest().describe() == "Embedding incidents 640 / 2,000 · a few seconds left"  # never below zero
    log("lexical index", 1, 3)  # a new stage: its pace starts again
    assert log.latest() == ("lexical index", 1, 3, None)
    assert log.latest().describe() == "Building the lexical index 1 / 3"


@pytest.mark.parametrize(("seconds", "text"), [(4.9, "a few seconds left"), (40.4, "about 40 s left"),
                                               (89, "about 89 s left"), (150, "about 2 min left")])
def test_time_left_reads_in_seconds_then_minutes(seconds, text):
    assert widgets.ProgressReport("embedding", 1, 2, seconds).describe() == f"Embedding incidents 1 / 2 · {text}"


def join_openings() -> None:
    """Wait for the app's opening threads, so none still writes to a home when the test deletes it."""
    for thread in threading.enumerate():
        if thread.name == "sherlock-open-workspace":
            thread.join(120)


class Gate:
    """Wraps the real ``ProgressLog.__call__``: records every report, and holds the reporting thread at the first
    report of embedded incidents (after the log has it) until released — so a page can be caught mid-way."""

    def __init__(self, report) -> None:  # noqa: ANN001 - the original method
        self.reports: list[tuple[str, int, int]] = []
        self.reached, self.release = threading.Event(), threading.Event()

        def gated(log, stage, done, total) -> None:  # noqa: ANN001
            report(log, stage, done, total)
            self.reports.append((stage, done, total))
            if stage == "embedding" and done and not self.reached.is_set():
                self.reached.set()
                self.release.wait(120)

        self.method = gated


@pytest.fixture
def first_run(make_home, tmp_path, monkeypatch):
    """An empty home whose demo corpus is the first 150 incidents of the shipped one (auto-loaded: SHERLOCK_DEMO on),
    the opening's progress reports gated, and no cached app resources before or after."""
    from sherlock.storage import workspace
    demo = tmp_path / "demo"
    demo.mkdir()
    lines = (DEMO_DIR / "incidents.jsonl").read_text(encoding="utf-8").splitlines()[:DEMO_SUBSET]
    (demo / "incidents.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.setattr(workspace, "DEMO_DIR", demo)
    monkeypatch.setenv("SHERLOCK_HOME", str(make_home("first-run")))
    monkeypatch.setenv("SHERLOCK_DEMO", "true")
    gate = Gate(widgets.ProgressLog.__call__)
    monkeypatch.setattr(widgets.ProgressLog, "__call__", gate.method)
    st.cache_resource.clear()
    st.cache_data.clear()
    yield gate
    gate.release.set()
    join_openings()
    st.cache_resource.clear()
    st.cache_data.clear()


def test_pages_show_real_progress_while_the_first_run_embeds_then_their_content(first_run):
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not app.exception and len(app.progress) == 1 and not app.metric  # the opening has started
    assert first_run.reached.wait(120), f"no incident was embedded; the opening reported {first_run.reports}"

    app.run()  # caught after the first model batch of the real embedding
    assert not app.exception and not app.metric
    assert app.progress[0].text.startswith(f"Embedding incidents 64 / {DEMO_SUBSET} · ")
    assert app.progress[0].text.endswith(" left") and app.progress[0].value == 64 * 100 // DEMO_SUBSET
    other_tab = AppTest.from_file(str(ROOT / "views/data.py"), default_timeout=60).run()
    assert not other_tab.exception and other_tab.progress[0].text.startswith(f"Embedding incidents 64 / {DEMO_SUBSET}")

    first_run.release.set()
    resources.opening().wait()
    app.run()
    other_tab.run()
    assert not app.exception and not app.progress and app.metric[0].value == f"{DEMO_SUBSET}"
    assert not other_tab.exception and not other_tab.progress and other_tab.title[0].value == "🗂️ Data"
    assert first_run.reports[0] == ("loading the demo corpus", 0, 0)
    embedding = [report for report in first_run.reports if report[0] == "embedding"]
    assert embedding == [("embedding", done, DEMO_SUBSET) for done in (0, 64, 128, DEMO_SUBSET)]  # one opening
    assert resources.searcher().search("INC-10004").results[0].id == "INC-10004"  # the app's searcher, ready


def test_a_prepared_workspace_opens_at_once_without_a_thread(juspay_workspace, monkeypatch):
    monkeypatch.setenv("SHERLOCK_HOME", str(juspay_workspace.settings.home))
    monkeypatch.setenv("SHERLOCK_DEMO", "false")
    resources.reload_settings()
    try:
        opening = resources.opening()
        assert opening.finished() and opening.wait().store.count() == 78
        assert "sherlock-open-workspace" not in [thread.name for thread in threading.enumerate()]
    finally:
        resources.reload_settings()


@pytest.fixture
def empty_home(make_home, monkeypatch):
    """An empty home (demo off), with no cached app resources before or after."""
    monkeypatch.setenv("SHERLOCK_HOME", str(make_home("empty")))
    for name in ("SHERLOCK_GEMINI_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    st.cache_resource.clear()
    yield
    join_openings()
    st.cache_resource.clear()


def test_a_workspace_that_cannot_open_says_why_and_opens_on_try_again(empty_home, monkeypatch):
    monkeypatch.setenv("SHERLOCK_EMBEDDER", "gemini")  # without a key
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not app.exception and not app.progress and not app.metric
    assert "could not be opened" in app.error[0].value and r"SHERLOCK\_EMBEDDER\=minilm" in app.error[0].value
    monkeypatch.delenv("SHERLOCK_EMBEDDER")
    app.button[0].click().run()  # "Try again": a new opening, with the settings as they are now
    resources.opening().wait()
    app.run()
    assert not app.exception and not app.error and app.metric[0].value == "0"


def test_invalid_settings_are_named_on_the_page(empty_home, monkeypatch):
    monkeypatch.setenv("SHERLOCK_FUSION", "nope")
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not app.exception and "settings are invalid" in app.error[0].value and "fusion" in app.error[0].value


def test_a_home_that_cannot_be_created_is_named_on_the_page(empty_home, tmp_path, monkeypatch):
    (tmp_path / "a-file").write_text("not a folder")
    monkeypatch.setenv("SHERLOCK_HOME", str(tmp_path / "a-file" / "home"))
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not app.exception and "folder cannot be used" in app.error[0].value


def test_a_shared_store_behind_this_sherlock_says_run_db_upgrade_then_opens(empty_home, backend_url, monkeypatch):
    """The app refuses a shared store (SHERLOCK_STORE_URL) whose schema is behind, saying what to run; once upgraded,
    "Try again" opens it."""
    from sherlock.storage.db.engine import open_url
    from sherlock.storage.db.migrate import upgrade
    monkeypatch.setenv("SHERLOCK_STORE_URL", backend_url)
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not app.exception and "could not be opened" in app.error[0].value
    assert "has no Sherlock tables yet" in app.error[0].value and r"run \`sherlock db upgrade\`" in app.error[0].value
    engine = open_url(backend_url)
    upgrade(engine)
    engine.dispose()
    app.button[0].click().run()  # "Try again"
    resources.opening().wait()
    app.run()
    assert not app.exception and not app.error and app.metric[0].value == "0"
