"""Generated traffic: real searches over the original SherlockAI incidents, logged over a week with an office-hours
rhythm, two settings versions, votes joined by log id; and the bulk replication the benchmarks use."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from sherlock.config import load_settings
from sherlock.monitoring.events import id_at
from sherlock.monitoring.querylog import QueryLog
from sherlock.monitoring.traffic import (
    HOUR_WEIGHTS,
    SHOWN,
    WEEKEND_FACTOR,
    TopicShift,
    generate_traffic,
    replicate,
    replicate_votes,
    spread_times,
)
from sherlock.storage.demo import LabelledQuery, load_demo_queries
from sherlock.storage.feedback import FeedbackStore

START = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday
DAYS, PER_DAY = 7, 60


@pytest.fixture(scope="module")
def questions(juspay_labelled) -> list[LabelledQuery]:
    return [LabelledQuery(case["id"], case["query"], {case["expected_id"]: 1}) for case in juspay_labelled]


@pytest.fixture(scope="module")
def offtopic() -> list[LabelledQuery]:
    return load_demo_queries(name="offtopic.jsonl")


def generate(workspace, folder, questions, offtopic, seed=0, **options):
    log, feedback = QueryLog(folder / "query_log.sqlite", b"test key"), FeedbackStore(folder / "feedback.sqlite")
    summary = generate_traffic(workspace, days=DAYS, queries_per_day=PER_DAY, seed=seed, start=START,
                               questions=questions, offtopic=offtopic, offtopic_share=0.15, vote_rate=0.5, log=log,
                               feedback=feedback, **options)
    return summary, log, feedback


def rows(log: QueryLog) -> pd.DataFrame:
    with log.read() as connection:
        return pd.read_sql_query("SELECT * FROM queries ORDER BY id", connection)


@pytest.fixture(scope="module")
def week(juspay_workspace, tmp_path_factory, questions, offtopic):
    summary, log, feedback = generate(juspay_workspace, tmp_path_factory.mktemp("traffic"), questions, offtopic)
    return summary, log, feedback, rows(log)


def test_counts_and_window(week, questions, offtopic):
    summary, log, _, frame = week
    assert summary.queries == len(frame) == log.count() == DAYS * PER_DAY
    assert summary.since == START and (summary.until - summary.since).days == DAYS
    assert frame["ts"].between(START.timestamp(), summary.until.timestamp(), inclusive="left").all()
    assert frame["id"].is_monotonic_increasing  # ids are time-ordered: a window is an id range
    assert (frame["id"] >= id_at(START.timestamp())).all() and (frame["id"] < id_at(summary.until.timestamp())).all()
    asked = set(frame["query"])
    assert summary.distinct == len(asked) and asked <= {q.query for q in [*questions, *offtopic]}
    assert summary.abstained == int(frame["abstained"].sum())
    assert set(frame["channel"]) == {"app", "cli", "api"} and set(frame["kind"]) == {"search", "ask"}
    # repeats: popular questions come back again and again
    assert frame["query"].value_counts().iloc[0] >= 10
    # sessions: browser sessions on the app, token names on the API, none on the CLI
    assert frame.loc[frame["channel"] == "app", "session"].str.startswith("app-").all()
    assert set(frame.loc[frame["channel"] == "api", "session"]) <= {"api-ci", "api-chatops"}
    assert frame.loc[frame["channel"] == "cli", "session"].isna().all()
    # every hybrid row carries its query's projected embedding, for drift
    assert frame.loc[frame["strategy"] == "hybrid", "vector"].notna().all()


def test_real_searches_are_reused_for_repeats(week):
    summary, _, _, frame = week
    # one real run per question, settings version and kind; every repeat logs that run's results
    groups = frame.groupby(["query", "settings_hash", "kind"])
    assert summary.searches == groups.ngroups
    assert (groups["top_ids"].nunique() == 1).all() and (groups["abstained"].nunique() == 1).all()
    assert (frame["latency_ms"] > 0).all()
    # a question's first asking pays its embedding on top of the cached-embedding search its repeats take
    first = frame.drop_duplicates("query").set_index("query")["latency_ms"]
    later = frame[frame.duplicated("query")].groupby("query")["latency_ms"].min()
    assert (first.reindex(later.index) >= later).mean() > 0.5


def test_office_hours_and_weekends(week):
    _, _, _, frame = week
    when = pd.to_datetime(frame["ts"], unit="s")
    office = when.dt.hour.between(9, 17)
    assert office.mean() > 0.5  # 9 of 24 hours hold over half the traffic
    weekday_mean = (when.dt.dayofweek < 5).sum() / 5
    weekend_mean = (when.dt.dayofweek >= 5).sum() / 2
    assert weekend_mean < weekday_mean * 0.6


def test_spread_times_follows_the_rhythm():
    since = START.timestamp()
    times = spread_times(np.random.default_rng(1), 200_000, since, since + 14 * 86400)
    assert np.all(np.diff(times) >= 0) and times[0] >= since and times[-1] < since + 14 * 86400
    when = pd.to_datetime(times, unit="s")
    observed = pd.crosstab(when.dayofweek >= 5, when.hour, normalize=True)
    # the oracle: each hour's weight, weekends scaled, normalised over the 10 weekdays and 4 weekend days
    weights = np.array(HOUR_WEIGHTS)
    total = 10 * weights.sum() + 4 * WEEKEND_FACTOR * weights.sum()
    expected = pd.DataFrame([10 * weights / total, 4 * WEEKEND_FACTOR * weights / total], index=[False, True])
    np.testing.assert_allclose(observed.to_numpy(), expected.to_numpy(), atol=0.002)


def test_deterministic_for_a_seed(week, juspay_workspace, tmp_path, questions, offtopic):
    _, _, feedback, frame = week
    _, again_log, again_feedback = generate(juspay_workspace, tmp_path / "again", questions, offtopic)
    again = rows(again_log)
    same = ["ts", "channel", "kind", "session", "query", "query_key", "abstained", "top_ids", "settings_hash"]
    pd.testing.assert_frame_equal(frame[same], again[same])
    votes = [(r.query, r.shown_ids, r.helpful, r.session_id) for r in feedback.records()]
    assert votes == [(r.query, r.shown_ids, r.helpful, r.session_id) for r in again_feedback.records()]
    _, other, _ = generate(juspay_workspace, tmp_path / "other", questions, offtopic, seed=1)
    assert not rows(other)["ts"].equals(frame["ts"])


def test_feedback_is_joined_by_log_id(week, questions, offtopic):
    summary, _, feedback, frame = week
    records = feedback.records()
    assert len(records) == summary.votes > 0 and sum(r.helpful for r in records) == summary.thumbs_up
    by_id = frame.set_index("id")
    relevant = {q.query: q.relevant for q in [*questions, *offtopic]}
    for record in records:
        row = by_id.loc[record.log_id]
        assert row["query"] == record.query and row["channel"] == "app" and row["session"] == record.session_id
        shown = json.loads(row["top_ids"])[:SHOWN]
        assert record.shown_ids == shown
        # the oracle: thumbs up exactly when a labelled relevant incident was among the results shown
        assert record.helpful == (not row["abstained"] and any(i in relevant[record.query] for i in shown))
    assert 0 < summary.thumbs_up < summary.votes  # off-topic questions collect downvotes


def test_two_settings_versions_switch_mid_week(week):
    summary, log, _, frame = week
    versions = log.settings_versions()
    assert set(versions) == set(summary.settings_hashes) and len(versions) == 2
    old, new = summary.settings_hashes
    assert versions[old]["settings"]["weights"] == [0.6, 0.3, 0.1]
    assert versions[new]["settings"]["weights"] == [0.4, 0.4, 0.2]
    switch = summary.version_starts[1].timestamp()
    assert switch == START.timestamp() + DAYS * 86400 / 2
    assert (frame.loc[frame["ts"] < switch, "settings_hash"] == old).all()
    assert (frame.loc[frame["ts"] >= switch, "settings_hash"] == new).all()


def test_offtopic_questions_abstain(week, offtopic):
    _, _, _, frame = week
    off = frame["query"].isin({q.query for q in offtopic})
    assert off.sum() > 0.05 * len(frame) and frame.loc[off, "abstained"].all()
    assert not frame.loc[~off, "abstained"].all()


def test_topic_shift(juspay_workspace, tmp_path, questions, offtopic):
    shift = TopicShift(offtopic[:4], start_day=5, share=0.6)
    _, log, _ = generate(juspay_workspace, tmp_path, questions[:10], offtopic[4:], shift=shift)
    frame = rows(log)
    day = (frame["ts"] - START.timestamp()) // 86400
    shifted = frame["query"].isin({q.query for q in shift.questions})
    assert not shifted[day < 5].any()
    assert shifted[day >= 5].mean() == pytest.approx(0.6, abs=0.12)


@pytest.fixture
def target(migrated_url, tmp_path):
    """An empty log to grow: a workspace's own file on SQLite, the shared store of ``store_url`` on PostgreSQL."""
    settings = load_settings(home=tmp_path / "target", demo=False,
                             store_url=None if migrated_url.startswith("sqlite") else migrated_url)
    log = QueryLog(settings.query_log_path, b"test key", settings=settings)
    yield log
    log.close()


def test_replicate_grows_a_log_from_a_sample(week, target, tmp_path):
    summary, log, _, frame = week
    since, until = START.timestamp(), START.timestamp() + 28 * 86400
    assert replicate(target, 20_000, since, until, seed=3, source=log) == 20_000
    big = rows(target)
    assert len(big) == 20_000 and big["id"].is_unique
    assert big["ts"].between(since, until, inclusive="left").all()
    assert ((big["id"].to_numpy() >> 20) == np.floor(big["ts"].to_numpy() * 1000).astype("int64")).all()
    # each row copies one real row's content
    content = ["channel", "kind", "query", "abstained", "top_ids", "latency_ms", "settings_hash"]
    assert big[content].merge(frame[content].drop_duplicates(), how="left", indicator=True)["_merge"].eq(
        "both").all()
    # the settings change keeps its place: the first part of the window is the old version, the last the new
    position = (big["ts"] - since) / (until - since)
    old, new = summary.settings_hashes
    assert (big.loc[position < 0.4, "settings_hash"] == old).all()
    assert (big.loc[position > 0.6, "settings_hash"] == new).all()
    assert set(target.settings_versions()) == {old, new}
    again = QueryLog(tmp_path / "again.sqlite", b"test key")  # a seed copies alike, into either backend
    replicate(again, 20_000, since, until, seed=3, source=log)
    pd.testing.assert_frame_equal(rows(again)[["ts", *content]], big[["ts", *content]])
    again.close()


def test_replicated_votes_are_judged_like_the_generated_ones(week, questions, offtopic, tmp_path):
    _, log, _, _ = week
    target = QueryLog(tmp_path / "big.sqlite", b"test key")
    replicate(target, 5_000, START.timestamp(), START.timestamp() + 7 * 86400, seed=4, source=log)
    store = FeedbackStore(tmp_path / "feedback.sqlite")
    votes, up = replicate_votes(target, store, 0.1, [*questions, *offtopic])
    frame = rows(target).set_index("id")
    # the oracle: the app rows whose random low id bits fall under 10%, judged from their logged results
    chosen = frame[(frame["channel"] == "app") & ((frame.index.to_numpy() & (2**20 - 1)) < int(0.1 * 2**20))]
    relevant = {q.query: q.relevant for q in [*questions, *offtopic]}
    expected = {row_id: not row["abstained"] and any(i in relevant[row["query"]]
                                                    for i in json.loads(row["top_ids"])[:SHOWN])
                for row_id, row in chosen.iterrows()}
    records = store.records()
    assert votes == len(records) == len(expected) and 0.05 < votes / (frame["channel"] == "app").sum() < 0.15
    assert {r.log_id: r.helpful for r in records} == expected and up == sum(expected.values())


def test_rejects_an_empty_window_and_an_empty_source(tmp_path):
    with pytest.raises(ValueError, match="empty"):
        spread_times(np.random.default_rng(0), 10, 100.0, 100.0)
    with pytest.raises(ValueError, match="generate_traffic first"):
        replicate(QueryLog(tmp_path / "empty.sqlite", b"k"), 10, 0.0, 86400.0)
