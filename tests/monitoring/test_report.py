"""The monitoring report's numbers against an independent pandas computation over the raw ``queries`` and ``feedback``
tables; the join of votes to queries (by log id, and by question hash and session); windows and periods; the same
report over a PostgreSQL log as over SQLite."""

from __future__ import annotations

import itertools
import json
import math
import sqlite3
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pytest

from sherlock.config import load_settings
from sherlock.monitoring import querylog
from sherlock.monitoring.events import QueryEvent, query_key
from sherlock.monitoring.querylog import QueryLog
from sherlock.monitoring.report import DEFINITIONS, monitor_report, open_log
from sherlock.storage.feedback import FeedbackStore

SINCE, UNTIL = date(2025, 3, 3), date(2025, 3, 30)  # a Monday, and the Sunday four weeks later (inclusive)
NOW = datetime(2025, 6, 1, tzinfo=UTC)  # long after the window: no period is partial
QUESTIONS = ["why do upi refunds fail", "card payments declined by the bank", "kafka consumer lag on orders",
             "redis timeouts at checkout", "webhook delivery failing", "JSP-1037", "settlement file missing",
             "what is the capital of australia", "recipe for banana bread"]


def seconds(day: date) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()


def set_vote_time(store: FeedbackStore, vote_id: int, ts: float) -> None:
    """FeedbackStore stamps a vote with the clock; a test needs it at a fixed time."""
    with sqlite3.connect(store.path) as connection:
        connection.execute("UPDATE feedback SET created_at = ? WHERE id = ?",
                           (datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds"), vote_id))


def log_traffic(log: QueryLog, n: int, start: float, stop: float, seed: int) -> None:
    """``n`` varied events between ``start`` and ``stop``: every channel and kind, exact-id lookups without a dense
    similarity, two settings versions (the second from the middle on), sessions, skewed latencies."""
    rng = np.random.default_rng(seed)
    middle = (start + stop) / 2
    events = []
    for ts in np.sort(rng.uniform(start, stop, n)):
        exact = rng.random() < 0.1
        dense = None if exact else float(rng.uniform(0.1, 0.9))
        events.append(QueryEvent(
            channel=str(rng.choice(["app", "cli", "api"], p=[0.6, 0.1, 0.3])),
            kind=str(rng.choice(["search", "ask", "similar"], p=[0.6, 0.3, 0.1])),
            query=QUESTIONS[rng.integers(len(QUESTIONS))], strategy="exact_id" if exact else "hybrid",
            abstained=bool(dense is not None and dense < 0.35 and rng.random() < 0.8),
            latency_ms=float(rng.lognormal(4.0, 0.8)), dense_top=dense,
            settings={"weights": [0.6, 0.3, 0.1] if ts < middle else [0.5, 0.4, 0.1], "fusion": "wsum"},
            session=f"s{rng.integers(6)}", vector=None if exact else rng.standard_normal(384).astype(np.float32),
            ts=float(ts)))
    log.record_many(events)
    assert log.flush()


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A log of 1,500 queries from 4 days before the window to 4 days after it, and 240 votes: by log id, by the
    question and session only (no log id), and on questions never logged."""
    home = tmp_path_factory.mktemp("monitor-home")
    settings = load_settings(home=home, demo=False)
    log = QueryLog(settings.query_log_path, b"report-test-key")
    log_traffic(log, 1500, seconds(SINCE) - 4 * 86400, seconds(UNTIL) + 5 * 86400, seed=1)
    store = FeedbackStore(settings.feedback_path)
    rows = pd.read_sql("SELECT id, ts, query, session FROM queries", sqlite3.connect(log.path))
    rng = np.random.default_rng(2)
    for i, row in enumerate(rows.sample(240, random_state=3).itertuples()):
        helpful = bool(rng.random() < 0.65)
        if i % 10 == 9:  # a question that was never logged: unmatched
            vote = store.record(f"never asked {i}", ["JSP-1001"], helpful, session_id=row.session)
        elif i % 3 == 0:  # no log id: joined by question and session
            vote = store.record(row.query.upper() + "?", ["JSP-1001"], helpful, session_id=row.session)
        else:
            vote = store.record(row.query, ["JSP-1001"], helpful, session_id=row.session, log_id=int(row.id))
        set_vote_time(store, vote, row.ts + float(rng.uniform(5, 900)))
    yield settings, log, store
    store.close()
    log.close()


def raw_queries(log: QueryLog) -> pd.DataFrame:
    frame = pd.read_sql("SELECT * FROM queries", sqlite3.connect(log.path))
    frame["time"] = pd.to_datetime(frame["ts"], unit="s", utc=True).dt.as_unit("ns")
    return frame


def in_window(frame: pd.DataFrame, since: date, until: date) -> pd.DataFrame:
    start, end = pd.Timestamp(since, tz=UTC), pd.Timestamp(until, tz=UTC) + pd.Timedelta(days=1)
    return frame[(frame["time"] >= start) & (frame["time"] < end)]


def joined_votes(log: QueryLog, store: FeedbackStore, queries: pd.DataFrame, since: date = SINCE,
                 until: date = UNTIL) -> tuple[pd.DataFrame, int]:
    """Each vote's query row (by log id, else the latest same-hash same-session query at or before it, from a day
    before the window on), kept when that row is in ``queries`` (the window's); and how many votes cast in the
    window reach no query, leaving out those whose query lies in another window."""
    start, end = pd.Timestamp(since, tz=UTC), pd.Timestamp(until, tz=UTC) + pd.Timedelta(days=1)
    votes = pd.read_sql("SELECT * FROM feedback WHERE helpful IS NOT NULL", sqlite3.connect(store.path)).rename(
        columns={"id": "vote_id"})
    # read_sql makes a column with NULLs float, which cannot hold a 61-bit id exactly
    votes["log_id"] = pd.Series([row[0] for row in sqlite3.connect(store.path).execute(
        "SELECT log_id FROM feedback WHERE helpful IS NOT NULL ORDER BY id")], dtype="Int64")
    votes["time"] = pd.to_datetime(votes["created_at"], utc=True, format="ISO8601").dt.as_unit("ns")
    everything = raw_queries(log)
    by_id = votes[votes["log_id"].notna()].astype({"log_id": "int64"}).merge(
        everything[["id"]], left_on="log_id", right_on="id", how="left")
    by_id["row"] = by_id["id"].astype("Int64")
    text = votes[votes["log_id"].isna()].copy()
    text["query_key"] = [query_key(q, log.key) for q in text["query"]]
    text["session"] = text["session_id"].fillna("")
    candidates = everything[everything["time"] >= start - pd.Timedelta(days=1)].assign(
        session=lambda f: f["session"].fillna(""))[["id", "time", "query_key", "session"]]
    keys = {"query_key": "str", "session": "str"}
    # ids are 61-bit: a nullable integer column keeps them exact where a float column (NaN for no match) would not
    text, candidates = text.astype(keys), candidates.astype({**keys, "id": "Int64"})
    text = pd.merge_asof(text.sort_values("time"), candidates.sort_values("time").rename(columns={"time": "logged"}),
                         left_on="time", right_on="logged", by=["query_key", "session"])
    text["row"] = text["id"]
    both = pd.concat([by_id[["row", "helpful", "time"]], text[["row", "helpful", "time"]]], ignore_index=True)
    matched = both[both["row"].isin(queries["id"])].astype({"row": "int64"})
    outside = both["row"].notna() & ~both["row"].isin(queries["id"])
    cast_inside = (both["time"] >= start) & (both["time"] < end)
    elsewhere = outside & ((both["row"] < queries["id"].min()) | (both["row"] > queries["id"].max()))
    return matched, int((cast_inside & ~both["row"].isin(queries["id"]) & ~elsewhere).sum())


def wilson(up: int, n: int) -> list[float]:
    """Wilson's score interval at 95%, by its formula (Wilson 1927)."""
    z, p = 1.959963984540054, up / n
    centre, half = (p + z * z / (2 * n)) / (1 + z * z / n), z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (
        1 + z * z / n)
    return [centre - half, centre + half]


def check_traffic(got: dict, rows: pd.DataFrame, percentiles=("p50", "p95", "p99")) -> None:
    assert got["queries"] == len(rows)
    assert got.get("abstained", int(rows["abstained"].sum())) == int(rows["abstained"].sum())
    assert got["abstain_rate"] == pytest.approx(rows["abstained"].mean(), abs=5e-5)
    for name in percentiles:
        assert got["latency_ms"][name] == pytest.approx(rows["latency_ms"].quantile(int(name[1:]) / 100), abs=5e-3)


def check_helpful(got: dict, votes: pd.DataFrame) -> None:
    up, n = int(votes["helpful"].sum()), len(votes)
    assert (got["votes"], got["up"]) == (n, up)
    assert got["rate"] == pytest.approx(up / n, abs=5e-5)
    assert got["ci95"] == pytest.approx(wilson(up, n), abs=5e-5)


@pytest.fixture(scope="module")
def weekly(workspace):
    settings, log, store = workspace
    return monitor_report(settings, SINCE, UNTIL, "W", log=log, feedback=store, now=NOW)


def test_window_totals_equal_pandas(workspace, weekly):
    _, log, store = workspace
    rows = in_window(raw_queries(log), SINCE, UNTIL)
    assert 1000 < len(rows) < 1500  # the rows before and after the window are left out
    check_traffic(weekly, rows)
    votes, unmatched = joined_votes(log, store, rows)
    assert len(votes) > 150
    check_helpful(weekly["helpful"], votes)
    assert weekly["helpful"]["unmatched_votes"] == unmatched > 0
    assert (weekly["since"], weekly["until"], weekly["freq"], weekly["text_kept"]) == (
        "2025-03-03", "2025-03-30", "W", True)


@pytest.mark.parametrize("freq, since, until, rule", [("W", SINCE, UNTIL, "W-SUN"), ("D", date(2025, 3, 10),
                         date(2025, 3, 16), "D"), ("M", date(2025, 2, 20), date(2025, 4, 2), "M")])
def test_each_period_equals_pandas(workspace, freq, since, until, rule):
    settings, log, store = workspace
    report = monitor_report(settings, since, until, freq, log=log, feedback=store, now=NOW)
    rows = in_window(raw_queries(log), since, until)
    rows = rows.assign(start=rows["time"].dt.tz_convert(None).dt.to_period(rule).dt.start_time)
    votes, _ = joined_votes(log, store, rows, since, until)
    votes = votes.merge(rows[["id", "start"]], left_on="row", right_on="id")
    starts = pd.period_range(pd.Timestamp(since).to_period(rule), pd.Timestamp(until).to_period(rule), freq=rule)
    assert [p["start"] for p in report["by_period"]] == [str(p.start_time.date()) for p in starts]
    for period, start in zip(report["by_period"], starts, strict=True):
        assert period["period"] == (start.strftime("%Y-%m") if freq == "M" else str(start.start_time.date()))
        part = rows[rows["start"] == start.start_time]
        check_traffic(period, part)
        voted = votes[votes["start"] == start.start_time]
        if len(voted):
            check_helpful(period["helpful"], voted)
        else:
            assert period["helpful"] == {"votes": 0, "up": 0, "rate": None, "ci95": None}
        hybrid = part[part["dense_top"].notna()]
        assert period["out_of_corpus_rate"] == pytest.approx((hybrid["dense_top"] < settings.abstain_min_dense)
                                                             .mean(), abs=5e-5)
    # a window that starts or ends inside a month cuts it: those months are partial, the whole one is not
    assert [p["partial"] for p in report["by_period"]] == ([True, False, True] if freq == "M" else
                                                           [False] * len(starts))


def test_by_channel_kind_and_settings_equal_pandas(workspace, weekly):
    _, log, store = workspace
    rows = in_window(raw_queries(log), SINCE, UNTIL)
    for name, group in rows.groupby("channel"):
        check_traffic(weekly["by_channel"][name], group, ("p50", "p95"))
    for name, group in rows.groupby("kind"):
        check_traffic(weekly["by_kind"][name], group, ("p50", "p95"))
    assert set(weekly["by_channel"]) == {"app", "cli", "api"} and set(weekly["by_kind"]) == {"search", "ask",
                                                                                           "similar"}
    votes, _ = joined_votes(log, store, rows)
    votes = votes.merge(rows[["id", "settings_hash"]], left_on="row", right_on="id")
    versions = rows.groupby("settings_hash")["ts"].min().sort_values(ascending=False).index.tolist()
    assert [v["settings_hash"] for v in weekly["by_settings"]] == versions and len(versions) == 2
    known = dict(sqlite3.connect(log.path).execute("SELECT hash, settings FROM settings_versions").fetchall())
    for version in weekly["by_settings"]:
        part = rows[rows["settings_hash"] == version["settings_hash"]]
        check_traffic(version, part, ())
        assert version["settings"] == json.loads(known[version["settings_hash"]])
        assert version["abstain_ci95"] == pytest.approx(wilson(int(part["abstained"].sum()), len(part)), abs=5e-5)
        assert version["first_seen"] == datetime.fromtimestamp(part["ts"].min(), UTC).isoformat(timespec="seconds")
        assert version["last_seen"] == datetime.fromtimestamp(part["ts"].max(), UTC).isoformat(timespec="seconds")
        check_helpful(version["helpful"], votes[votes["settings_hash"] == version["settings_hash"]])
    assert weekly["by_settings"][0]["settings"]["weights"] == [0.5, 0.4, 0.1]  # the newest version first


def test_the_report_is_plain_json(weekly):
    assert json.loads(json.dumps(weekly)) == weekly  # no numpy types, no NaN
    assert set(weekly) == {"since", "until", "freq", "text_kept", "queries", "abstained", "abstain_rate",
                           "latency_ms", "helpful", "by_period", "by_settings", "by_channel", "by_kind", "gaps",
                           "drift", "alerts", "definitions"}
    assert weekly["definitions"] == DEFINITIONS
    assert set(weekly["drift"]) >= {"threshold", "period", "previous_period", "out_of_corpus_rate",
                                    "previous_out_of_corpus_rate", "statistic", "value", "p_value", "n",
                                    "n_previous", "shifted", "by_period"}


def test_votes_join_by_log_id_and_by_question_and_session(tmp_path):
    """Week 1 and week 2 each log "redis timeouts" in session s1; a vote without a log id goes to the latest of them
    at or before it — so its week tells which — and a vote from another session, or before any query, reaches none."""
    settings = load_settings(home=tmp_path, demo=False)
    log = QueryLog(settings.query_log_path, b"join-key")
    monday = seconds(date(2025, 3, 3))
    common = {"channel": "app", "kind": "ask", "strategy": "hybrid", "abstained": False, "latency_ms": 50.0,
              "settings": {}, "session": "s1"}
    first = log.record(QueryEvent(query="Redis timeouts at checkout", ts=monday + 3600, **common))
    second = log.record(QueryEvent(query="redis timeouts at checkout", ts=monday + 8 * 86400, **common))
    other = log.record(QueryEvent(query="kafka consumer lag", ts=monday + 2 * 86400, **common))
    log.record(QueryEvent(query="settlement file missing", ts=monday + 7 * 86400 - 600, **common))  # Sunday night
    assert log.flush()
    store = FeedbackStore(settings.feedback_path)
    votes = [("redis timeouts at checkout!", False, monday + 7200, "s1", None),  # → first (week 1)
             ("REDIS timeouts at checkout", True, monday + 9 * 86400, "s1", None),  # → second (week 2)
             ("redis timeouts at checkout", True, monday + 9 * 86400, "s2", None),  # another session: unmatched
             ("redis timeouts at checkout", True, monday + 60, "s1", None),  # before it was asked: unmatched
             ("anything at all", True, monday + 10 * 86400, None, other),  # by log id, whatever its text
             ("redis timeouts at checkout", False, monday + 8 * 86400 + 5, "s9", first),  # by log id → week 1
             ("settlement file missing", True, monday + 7 * 86400 + 300, "s1", None)]  # Monday → Sunday's: week 1
    for text, helpful, when, session, log_id in votes:
        set_vote_time(store, store.record(text, ["JSP-1001"], helpful, session_id=session, log_id=log_id), when)
    report = monitor_report(settings, date(2025, 3, 3), date(2025, 3, 16), "W", log=log, feedback=store, now=NOW)
    week1, week2 = (period["helpful"] for period in report["by_period"])
    assert (week1["votes"], week1["up"]) == (4, 2)  # first (down, down), other (up), the Sunday question (up)
    assert (week2["votes"], week2["up"]) == (1, 1)  # second (up)
    assert report["helpful"]["unmatched_votes"] == 2
    assert second is not None
    # week 2 alone: votes on week-1 queries belong to another window (neither counted nor unmatched), the Monday
    # vote on Sunday's question too; of the votes cast in week 2 only the other session's is unmatched
    late = monitor_report(settings, date(2025, 3, 10), date(2025, 3, 16), "W", log=log, feedback=store, now=NOW)
    assert (late["helpful"]["votes"], late["helpful"]["up"], late["helpful"]["unmatched_votes"]) == (1, 1, 1)
    store.close()
    log.close()


def test_an_empty_or_missing_log_gives_an_empty_report(tmp_path):
    settings = load_settings(home=tmp_path, demo=False)
    report = monitor_report(settings, SINCE, UNTIL, "W", now=NOW)
    assert not settings.query_log_path.exists()  # reading never creates the log
    assert report["queries"] == 0 and report["abstain_rate"] is None and report["latency_ms"]["p50"] is None
    assert len(report["by_period"]) == 4 and all(p["queries"] == 0 for p in report["by_period"])
    assert report["gaps"] == [] and report["by_settings"] == [] and report["alerts"] == []
    assert report["drift"]["value"] is None and report["drift"]["shifted"] is False
    assert json.loads(json.dumps(report)) == report


def test_the_default_window_starts_at_the_first_logged_period(tmp_path):
    settings = load_settings(home=tmp_path, demo=False)
    log = QueryLog(settings.query_log_path, b"key")
    log_traffic(log, 30, seconds(date(2025, 5, 14)), seconds(date(2025, 5, 28)), seed=4)
    report = monitor_report(settings, log=log, now=datetime(2025, 5, 29, 12, tzinfo=UTC))
    assert [p["period"] for p in report["by_period"]] == ["2025-05-12", "2025-05-19", "2025-05-26"]
    assert [p["partial"] for p in report["by_period"]] == [False, False, True]  # the week of "now" is under way
    assert (report["since"], report["until"], report["queries"]) == ("2025-05-12", "2025-05-29", 30)
    as_text = monitor_report(settings, "2025-05-12", "2025-05-28", log=log, now=datetime(2025, 5, 29, 12, tzinfo=UTC))
    assert as_text["queries"] == 30 and as_text["by_period"] == report["by_period"]  # ISO strings are dates too
    with pytest.raises(ValueError, match="'May 12' is not an ISO date"):
        monitor_report(settings, "May 12", log=log)
    with pytest.raises(ValueError, match="unknown period 'Q'"):
        monitor_report(settings, log=log, freq="Q")
    with pytest.raises(ValueError, match="is not before"):
        monitor_report(settings, date(2025, 5, 20), date(2025, 5, 10), log=log)
    log.close()


class Votes:
    """What the report reads of a feedback store (:meth:`sherlock.storage.feedback.FeedbackStore.votes`), given."""

    def __init__(self, votes: list[tuple[str, bool, int | None, str, str | None]]) -> None:
        self._votes = votes

    def votes(self) -> list[tuple[str, bool, int | None, str, str | None]]:
        return self._votes


def test_the_report_over_a_shared_store_equals_the_one_over_the_workspace_file(migrated_url, tmp_path,
                                                                              monkeypatch):
    """One set of events logged into the workspace's SQLite file and into the store of ``store_url`` (PostgreSQL;
    a SQLite store file on the other parameter), under the same ids: the reports are equal, number for number — the
    SQL they are read with (packed flags, gap questions, votes by question and session, drift samples) means the
    same on both backends."""
    logs: dict[str, tuple] = {}
    for name, url in (("file", None), ("store", migrated_url)):
        settings = load_settings(home=tmp_path / name, demo=False, store_url=url)
        counter = itertools.count()  # ids as new_id makes them, with a counter that is the same for both logs
        monkeypatch.setattr(querylog, "new_id", lambda ts, counter=counter: (int(ts * 1000) << 20) | next(counter))
        log = QueryLog(settings.query_log_path, b"same-key", settings=settings)
        log_traffic(log, 1200, seconds(SINCE) - 3 * 86400, seconds(UNTIL) + 2 * 86400, seed=5)
        logs[name] = settings, log
    frame = logs["file"][1].frame()
    assert frame.equals(logs["store"][1].frame()) and len(frame) == 1200
    texts = logs["file"][1].texts(list(frame["id"]))
    votes = []  # by log id, by question and session (no log id), and on a question never logged
    for i, row in enumerate(frame.itertuples()):
        when = (row.ts + pd.Timedelta(minutes=5)).tz_localize(UTC).isoformat(timespec="milliseconds")
        if i % 5 == 0:
            votes.append((when, i % 3 != 0, int(row.id), texts[row.id], row.session))
        elif i % 7 == 0:
            votes.append((when, i % 2 == 0, None, texts[row.id].upper() + "?", row.session))
        elif i % 97 == 0:
            votes.append((when, True, None, "never asked", row.session))
    reports = {name: [monitor_report(settings, SINCE, UNTIL, freq, log=log, feedback=Votes(votes), now=NOW)
                      for freq in ("W", "D")] for name, (settings, log) in logs.items()}
    for _, log in logs.values():
        log.close()
    weekly = reports["file"][0]
    assert 1000 < weekly["queries"] < 1200 and weekly["helpful"]["votes"] > 200 and weekly["helpful"][
        "unmatched_votes"] > 0
    assert weekly["gaps"] and len(weekly["by_settings"]) == 2 and weekly["drift"]["value"] is not None
    assert reports["store"] == reports["file"]


def test_a_shared_store_with_nothing_logged_gives_an_empty_report(migrated_url, tmp_path):
    settings = load_settings(home=tmp_path, demo=False, store_url=migrated_url)
    log = open_log(settings)
    assert log is not None and log.revision() == (0, 0) and log.span() is None  # the store's log, empty
    report = monitor_report(settings, SINCE, UNTIL, "W", now=NOW)
    assert report["queries"] == 0 and report["by_settings"] == [] and report["gaps"] == []
    assert not settings.query_log_path.exists()
    log.close()
