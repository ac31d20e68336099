"""The Monitoring page with AppTest over a query log written here row by row: the empty state, the KPI tiles against
an independent pandas computation over the rows, an alert, the gap examples that open in Chat search, and a
workspace that keeps only hashes of its queries."""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
PAGE = str(ROOT / "views" / "monitoring.py")
DAY = 86_400.0
#: Off-topic questions (no incident answers them): they abstain, and make the gap themes.
OFF_TOPIC = ["what is the capital of australia", "capital city of australia", "weather in sydney tomorrow",
             "best pizza dough recipe", "pizza recipe for dinner"]
ON_TOPIC = ["IRCTC webhook delivery failing", "refund failed insufficient funds", "card tokenization failing",
            "UPI collect request timeout", "payout stuck in pending"]


def monday(weeks_ago: int) -> datetime:
    """Midnight (UTC) of the Monday ``weeks_ago`` weeks before this week's."""
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - timedelta(days=today.weekday(), weeks=weeks_ago)


def week_of_rows(start: datetime, n: int, abstaining: int, version: dict, seed: int) -> list[dict]:
    """``n`` searches spread over the week from ``start`` (Monday to Sunday noon): of every five, the first
    ``abstaining`` an off-topic question that abstains, the rest on topic; latencies drawn from a log-normal."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        abstained = i % 5 < abstaining
        rows.append({"ts": start.timestamp() + i * 6.5 * DAY / n, "abstained": abstained,
                     "query": (OFF_TOPIC if abstained else ON_TOPIC)[i % 5], "settings": version,
                     "latency_ms": float(np.round(rng.lognormal(4.0, 0.8), 1)), "dense_top": 0.2 if abstained else 0.7})
    return rows


VERSION_A = {"weights": [0.5, 0.3, 0.2], "fusion": "wsum", "norm": "zscore"}
VERSION_B = {"weights": [0.7, 0.2, 0.1], "fusion": "rrf", "norm": "minmax"}


@pytest.fixture(scope="module")
def traffic() -> pd.DataFrame:
    """Two complete weeks before this one: 30 searches (1 in 5 abstaining) under settings A, then 40 (3 in 5, above
    the 50% alert) under settings B."""
    return pd.DataFrame(week_of_rows(monday(2), 30, 1, VERSION_A, seed=1)
                        + week_of_rows(monday(1), 40, 3, VERSION_B, seed=2))


def fill_log(home: Path, frame: pd.DataFrame, votes: dict[int, bool]) -> None:
    """Write ``frame``'s rows to the home's query log, and a vote on the rows of ``votes`` (row index → helpful)
    joined by their log id."""
    from sherlock.config import load_settings
    from sherlock.monitoring.events import QueryEvent, hash_key
    from sherlock.monitoring.querylog import QueryLog
    from sherlock.storage.feedback import FeedbackStore
    settings = load_settings(home=home, demo=False)
    log = QueryLog(settings.query_log_path, hash_key(settings))
    rng = np.random.default_rng(0)
    ids = log.record_many(QueryEvent(
        channel="app", kind="search", query=row.query, strategy="hybrid", abstained=bool(row.abstained),
        latency_ms=row.latency_ms, settings=row.settings, dense_top=row.dense_top, session=f"s{i % 7}",
        vector=rng.standard_normal(384).astype(np.float32), ts=row.ts) for i, row in enumerate(frame.itertuples()))
    assert log.flush()
    log.close()
    store = FeedbackStore(settings.feedback_path)
    for index, helpful in votes.items():
        store.record(frame["query"][index], [], helpful, log_id=ids[index])
    store.close()


#: Week A: 8 votes, 2 helpful; week B: 10 votes, 7 helpful.
VOTES = {**{1 + i: i < 2 for i in range(8)}, **{30 + 3 * i: i < 7 for i in range(10)}}


def prepared_home(tmp_path_factory, models_seed, name: str) -> Path:
    """An empty workspace, ready to search (the model hard-linked)."""
    from sherlock.config import load_settings
    from sherlock.storage.workspace import Workspace
    home = tmp_path_factory.mktemp(name)
    shutil.copytree(models_seed, home / "models", copy_function=os.link)
    Workspace(load_settings(home=home, demo=False)).prepare()
    return home


@pytest.fixture(scope="module")
def logged_home(tmp_path_factory, models_seed, traffic) -> Path:
    home = prepared_home(tmp_path_factory, models_seed, "monitoring-home")
    fill_log(home, traffic, VOTES)
    return home


@pytest.fixture(autouse=True)
def _fresh(fresh_caches):
    """Every test here starts and ends with Streamlit's caches empty (``fresh_caches`` in conftest.py)."""


def open_page(home: Path, monkeypatch, path: str = PAGE) -> AppTest:
    monkeypatch.setenv("SHERLOCK_HOME", str(home))
    monkeypatch.setenv("SHERLOCK_DEMO", "false")
    app = AppTest.from_file(path, default_timeout=90).run()
    assert not app.exception, app.exception
    return app


def test_nothing_logged_says_how_traffic_arrives(tmp_path_factory, models_seed, monkeypatch):
    app = open_page(prepared_home(tmp_path_factory, models_seed, "monitoring-empty"), monkeypatch)
    (info,) = app.info
    assert info.value.startswith("No query logged yet")
    assert "Chat search" in info.value and "sherlock search" in info.value and "/search" in info.value
    assert not app.metric and not app.get("plotly_chart")


def test_tiles_show_the_latest_week_against_the_one_before(logged_home, traffic, monkeypatch):
    app = open_page(logged_home, monkeypatch)
    week_a, week_b = traffic[:30], traffic[30:]
    tiles = {metric.label: metric for metric in app.metric}
    assert tiles["Queries"].value == "40" and tiles["Queries"].delta == "+10"
    assert tiles["Abstain rate"].value == f"{week_b['abstained'].mean():.1%}" == "60.0%"
    assert tiles["Abstain rate"].delta == "+40.0 pts"  # week A: 6 of 30
    p95_b, p95_a = week_b["latency_ms"].quantile(0.95), week_a["latency_ms"].quantile(0.95)
    assert tiles["p95 latency"].value == f"{p95_b:,.0f} ms"
    assert tiles["p95 latency"].delta == f"{p95_b - p95_a:+,.0f} ms"
    assert tiles["Helpful rate"].value == "70.0% (n=10)" and tiles["Helpful rate"].delta == "+45.0 pts"  # 2 of 8
    caption = next(c.value for c in app.caption if c.value.startswith("Tiles:"))
    assert f"the week of {monday(1).date()}, the latest with queries, against the week of {monday(2).date()}" in caption
    # the charts carry the same numbers
    traffic_chart = json.loads(app.get("plotly_chart")[0].proto.spec)["data"]
    bars = next(trace for trace in traffic_chart if trace["type"] == "bar")
    assert bars["y"][:2] == [30, 40]


def test_the_abstain_alert_fires_on_the_latest_week(logged_home, monkeypatch):
    app = open_page(logged_home, monkeypatch)
    (warning,) = app.warning
    assert "abstain" in warning.value.lower() and "60" in warning.value
    assert not app.success


def test_a_gap_example_opens_in_chat_search(logged_home, traffic, tmp_path, monkeypatch):
    home = tmp_path / "home"  # a copy: the chat logs the question it asks, which the other tests would count
    shutil.copytree(logged_home, home, ignore=shutil.ignore_patterns("models"))
    shutil.copytree(logged_home / "models", home / "models", copy_function=os.link)
    monkeypatch.setenv("SHERLOCK_HOME", str(home))
    monkeypatch.setenv("SHERLOCK_DEMO", "false")
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90).run()
    app.switch_page("views/monitoring.py").run()
    assert not app.exception
    examples = [button for button in app.button if button.key and button.key.startswith("gap-")]
    voted_down = {traffic["query"][index] for index, helpful in VOTES.items() if not helpful}
    labels = [button.label.replace("\\", "") for button in examples]  # shown through escape_markdown
    assert examples and set(labels) <= set(OFF_TOPIC) | voted_down  # the unanswered questions
    question = labels[0]
    examples[0].click().run()
    assert not app.exception
    assert question in [block.value for block in app.text]  # the chat page echoes the question with st.text
    assert any("No matching past incident" in block.value for block in app.markdown)


def test_hashed_queries_leave_no_gap_themes_and_say_why(logged_home, monkeypatch):
    monkeypatch.setenv("SHERLOCK_QUERY_LOG_TEXT", "hash")
    app = open_page(logged_home, monkeypatch)
    assert any(box.value.startswith("Gap themes are unavailable") for box in app.info)
    assert not [button for button in app.button if button.key and button.key.startswith("gap-")]
    assert {metric.label: metric.value for metric in app.metric}["Queries"] == "40"  # the rest is unchanged
