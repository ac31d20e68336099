"""The Incident patterns page with AppTest: on the original SherlockAI incidents (dates only, few resolutions) and on
a small generated corpus with services, severities and resolutions; filters, drill-down, and "search similar"."""

from __future__ import annotations

import json
import os
import shutil
from datetime import date, timedelta
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
def _fresh(fresh_caches):
    """Every test here starts and ends with Streamlit's caches empty (``fresh_caches`` in conftest.py)."""


def open_page(workspace, monkeypatch, path: str = PAGE) -> AppTest:
    monkeypatch.setenv("SHERLOCK_HOME", str(workspace.settings.home))
    monkeypatch.setenv("SHERLOCK_DEMO", "false")
    app = AppTest.from_file(path, default_timeout=90).run()
    assert not app.exception, app.exception
    return app


def metrics(app: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in app.metric}


def figures(app: AppTest) -> list[list[dict]]:
    """Each plotly chart's traces, in page order, as the browser receives them."""
    return [json.loads(chart.proto.spec)["data"] for chart in app.get("plotly_chart")]


def test_renders_on_the_original_incidents(juspay_workspace, monkeypatch):
    app = open_page(juspay_workspace, monkeypatch)
    tiles = metrics(app)
    # 77 + the JSP-2001 duplicate, every one dated, none excluded. They end on 2025-09-16, so the tiles show the
    # latest complete month, August 2025 (21 incidents), not the first 16 days of September (27)
    assert any(caption.value.startswith("78 incidents created 2024-03-12") for caption in app.caption)
    assert set(tiles) == {"Incidents", "MTTR median", "MTTR p90", "Repeat rate"}
    assert tiles["Incidents"] == "21" and tiles["MTTR median"] == "–"  # none of them has a resolved_at
    caption = next(c.value for c in app.caption if c.value.startswith("Tiles:"))
    assert "the latest complete month, 2025-08-01 … 2025-08-31 (21 incidents, 0 resolved)" in caption
    assert "The month of 2025-09-01 is partial (16 days of data so far) and is left out" in caption
    assert len(app.get("plotly_chart")) == 6 and len(app.download_button) == 6
    assert any("Time to resolve = resolved_at" in caption.value for caption in app.caption)  # definitions inline


@pytest.mark.slow
def test_kpis_follow_the_analytics_and_filters(generated_workspace, monkeypatch):
    from sherlock.analytics.frame import between, compare_windows, comparison_windows
    from sherlock.analytics.patterns import analysed_frame
    from sherlock.analytics.units import duration
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
    n = expected["resolved"]["current"]
    assert metrics(app)["MTTR median"] == f"{duration(expected['mttr_median']['current'])} (n={n:,})"
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


@pytest.mark.slow
def test_weekly_tiles_compare_whole_weeks(generated_workspace, monkeypatch):
    """Issue #11: with volume per week the tiles compared the last 3 days (the data end on Wednesday 2025-12-31)
    with the whole week before, without a word; now the two latest complete weeks are compared, with their n."""
    from sherlock.analytics.patterns import analysed_frame
    app = open_page(generated_workspace, monkeypatch)
    app.sidebar.radio[0].set_value("W").run()
    assert not app.exception
    frame, _ = analysed_frame(generated_workspace.store.iter_incidents())
    days = frame["created"].dt.date

    def week(monday: date):
        return frame[(days >= monday) & (days <= monday + timedelta(days=6))]

    current, previous = week(date(2025, 12, 22)), week(date(2025, 12, 15))
    tile = next(m for m in app.metric if m.label == "Incidents")
    assert tile.value == f"{len(current):,}" and tile.delta == f"{len(current) - len(previous):+,}"
    resolved = int(current["minutes_to_resolve"].notna().sum())
    assert metrics(app)["MTTR median"].endswith(f"(n={resolved:,})")
    assert metrics(app)["Repeat rate"].endswith(f"(n={len(current):,})")
    caption = next(c.value for c in app.caption if c.value.startswith("Tiles:"))
    assert "the latest complete week, 2025-12-22 … 2025-12-28" in caption
    assert "The week of 2025-12-29 is partial (3 days of data so far) and is left out" in caption


@pytest.mark.slow
def test_time_to_resolve_box_plot_and_table_show_the_same_incidents(generated_workspace, monkeypatch):
    """Issue #11: every box sat at x = 0 without a label, and the table covered another window than the plot."""
    from sherlock.analytics.units import duration
    app = open_page(generated_workspace, monkeypatch)
    app.sidebar.selectbox[0].set_value("severity").run()
    assert not app.exception
    box_traces = next(data for data in figures(app) if any(trace["type"] == "box" for trace in data))
    boxes = [trace for trace in box_traces if trace["type"] == "box"]
    assert [box["x"] for box in boxes] == [["SEV1"], ["SEV2"], ["SEV3"], ["SEV4"]]  # one labelled place each
    table = next(t.value for t in app.dataframe if "severity" in t.value.columns and "p90" in t.value.columns)
    assert table["severity"].tolist() == ["SEV1", "SEV2", "SEV3", "SEV4"]  # the plot's order
    assert table["median"].tolist() == [duration(box["median"][0]) for box in boxes]  # the same incidents
    total = int(next(c.value for c in app.caption if "incidents created" in c.value).split()[0].replace(",", ""))
    assert table["incidents"].sum() == total  # the page's whole range, as the caption says
    assert any(c.value.startswith(f"Box plot and table: the {total:,} incidents created") for c in app.caption)
    assert all(value.endswith((" min", " h", " d")) for value in table["p90"])


@pytest.mark.slow
def test_volume_colours_and_entity_names_are_readable(generated_workspace, monkeypatch):
    """Issue #11: 15 services on a 10-colour palette; ``payments_api`` in the entities chart next to the
    ``payments-api`` service; eight tangled lines."""
    app = open_page(generated_workspace, monkeypatch)
    volume, *_, entities = figures(app)
    bars = [trace for trace in volume if trace["type"] == "bar"]
    colours = [bar["marker"]["color"] for bar in bars]
    assert len(set(colours)) == len(bars) == 11 and bars[-1]["name"] == "other (5 groups)"
    (heat,) = entities
    assert heat["type"] == "heatmap" and len(heat["y"]) == 8
    services = {label.split(" (")[0] for label in heat["y"] if "(service)" in label}
    assert services and services <= {i.service for i in generated_workspace.store.iter_incidents()}
    assert not any("_" in label for label in heat["y"])
