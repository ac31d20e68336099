"""The Incident patterns page with AppTest: on the original SherlockAI incidents (dates only, few resolutions) and on
a small generated corpus with services, severities and resolutions; filters, drill-down, and "search similar"."""

from __future__ import annotations

import os
import shutil
from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
PAGE = str(ROOT / "views" / "patterns.py")


@pytest.fixture(scope="module")
def generated_workspace(tmp_path_factory, models_seed):
    """400 generated incidents (the demo generator, spikes included), ingested and indexed once for the module."""
    from sherlock.config import load_settings
    from sherlock.storage.workspace import Workspace
    from tools.demo.generator import generate_incidents
    home = tmp_path_factory.mktemp("patterns-app-home")
    shutil.copytree(models_seed, home / "models", copy_function=os.link)
    source = home / "incidents.jsonl"
    source.write_text("".join(i.model_dump_json() + "\n" for i in generate_incidents(400, seed=11)))
    workspace = Workspace(load_settings(home=home, demo=False))
    workspace.ingest([source])
    return workspace


@pytest.fixture(autouse=True)
def fresh_caches():
    """Streamlit's caches live as long as the process: each test opens its own workspace and leaves none behind."""
    import streamlit as st
    st.cache_resource.clear()
    st.cache_data.clear()
    yield
    st.cache_resource.clear()
    st.cache_data.clear()


def open_page(workspace, monkeypatch, path: str = PAGE) -> AppTest:
    monkeypatch.setenv("SHERLOCK_HOME", str(workspace.settings.home))
    monkeypatch.setenv("SHERLOCK_DEMO", "false")
    app = AppTest.from_file(path, default_timeout=90).run()
    assert not app.exception, app.exception
    return app


def metrics(app: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in app.metric}


def test_renders_on_the_original_incidents(juspay_workspace, monkeypatch):
    app = open_page(juspay_workspace, monkeypatch)
    tiles = metrics(app)
    # 77 + the JSP-2001 duplicate, every one dated, none excluded; the tiles show the latest month (September 2025)
    assert any(caption.value.startswith("78 incidents created 2024-03-12") for caption in app.caption)
    assert set(tiles) == {"Incidents", "MTTR median", "MTTR p90", "Repeat rate"}
    assert tiles["Incidents"] == "27" and tiles["MTTR median"] == "–"  # none of them has a resolved_at
    assert len(app.get("plotly_chart")) == 6 and len(app.download_button) == 6
    assert any("Time to resolve = resolved_at" in caption.value for caption in app.caption)  # definitions inline


@pytest.mark.slow
def test_kpis_follow_the_analytics_and_filters(generated_workspace, monkeypatch):
    from sherlock.analytics.frame import between, compare_windows, comparison_windows
    from sherlock.analytics.patterns import analysed_frame
    app = open_page(generated_workspace, monkeypatch)
    frame, _ = analysed_frame(generated_workspace.store.iter_incidents())
    # the whole history is shown: the tiles compare the latest month with the month before
    current, previous = comparison_windows(frame, "M")
    expected = compare_windows(frame, *current, previous)
    assert current[0] == current[1].replace(day=1) and previous[1].day in (28, 29, 30, 31)
    assert metrics(app)["Incidents"] == f"{expected['count']['current']:,}"
    assert any(f"{len(frame):,} incidents created" in caption.value for caption in app.caption)
    # a chosen range: compared with as many days before it
    last = frame["created"].max().date()
    app.sidebar.date_input[0].set_value((date(2025, 1, 1), last)).run()
    expected = compare_windows(frame, date(2025, 1, 1), last)
    tile = next(m for m in app.metric if m.label == "Incidents")
    assert tile.value == f"{expected['count']['current']:,}" and tile.delta == f"{expected['count']['change']:+,}"
    assert metrics(app)["MTTR median"] == f"{expected['mttr_median']['current']:,.0f} min"
    app.sidebar.multiselect[1].set_value(["SEV1"]).run()  # severity
    sev1 = between(frame[frame["severity"] == "SEV1"], date(2025, 1, 1), last)
    assert not app.exception and metrics(app)["Incidents"] == f"{len(sev1):,}"


@pytest.mark.slow
def test_theme_drill_down_and_search_similar(generated_workspace, monkeypatch):
    monkeypatch.setenv("SHERLOCK_HOME", str(generated_workspace.settings.home))
    monkeypatch.setenv("SHERLOCK_DEMO", "false")
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90).run()
    app.switch_page("views/patterns.py").run()
    assert not app.exception
    theme_picker = next(box for box in app.selectbox if box.label == "Drill down into a theme")
    theme_picker.select(theme_picker.options[1]).run()
    members = next(table.value for table in app.dataframe if "title" in table.value.columns)  # newest first
    assert len(members) > 1
    newest_title = members["title"].iloc[0]
    next(b for b in app.button if "Search similar" in b.label).click().run()
    assert not app.exception
    questions = [block.value for block in app.text]  # the chat page echoes the question with st.text
    assert newest_title in questions
    cited = [e.label.replace("\\", "") for e in app.expander]  # ids are rendered through escape_markdown
    assert any(members["id"].iloc[0] in label for label in cited)  # the incident itself is found again


@pytest.mark.slow
def test_exclusion_rules_change_the_numbers(generated_workspace, monkeypatch):
    app = open_page(generated_workspace, monkeypatch)
    upi = sum("upi" in [t.lower() for t in i.tags] for i in generated_workspace.store.iter_incidents())
    total = next(c.value for c in app.caption if "incidents created" in c.value)
    tags = next(box for box in app.sidebar.text_input if box.label == "Tags")
    tags.set_value(tags.value + ", UPI").run()
    after = next(c.value for c in app.caption if "incidents created" in c.value)
    assert not app.exception and int(after.split()[0]) == int(total.split()[0]) - upi < int(total.split()[0])


@pytest.mark.slow
def test_filters_that_match_nothing_say_so(generated_workspace, monkeypatch):
    app = open_page(generated_workspace, monkeypatch)
    app.sidebar.multiselect[0].set_value(["card-vault"]).run()  # service
    app.sidebar.multiselect[2].set_value(["webhooks"]).run()  # category: card-vault never has webhook incidents
    assert not app.exception and not app.metric
    assert any("No incident matches" in box.value for box in app.info)
