"""Incident analytics against values worked by hand on small frames, the demo corpus's injected spikes, and the real
postmortem data sets in ../shared/data/postmortems (read there, never copied)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sherlock.analytics import frame as analytics
from sherlock.analytics import themes
from sherlock.analytics.patterns import analysed_frame, patterns_report
from sherlock.analytics.spikes import find_spikes
from sherlock.cli.reports import patterns_text
from sherlock.schema import Incident
from sherlock.storage.demo import active_spikes, load_demo_incidents
from tools.demo.generator import IST


def make(number: int, created, resolved=None, title: str | None = None, **fields) -> Incident:
    return Incident(id=f"T-{number}", title=title or f"incident {number}", created_at=created, resolved_at=resolved,
                    **fields)


def resolved_after(number: int, created: datetime, minutes: float | None, **fields) -> Incident:
    return make(number, created, None if minutes is None else created + timedelta(minutes=minutes), **fields)


@pytest.fixture(scope="module")
def demo_frame() -> pd.DataFrame:
    frame, _ = analysed_frame(load_demo_incidents())
    return frame


# -- the frame: time zones ----------------------------------------------------------------------------------------

def test_mixed_dates_datetimes_and_zones_become_utc():
    incidents = [
        make(1, datetime(2024, 3, 1, 2, 0, tzinfo=IST), datetime(2024, 3, 1, 3, 30, tzinfo=UTC)),  # 20:30 UTC, Feb 29
        make(2, datetime(2024, 3, 1, 12, 0)),                                # naive: taken as UTC
        make(3, date(2024, 3, 2), date(2024, 3, 3)),                           # dates: midnight UTC
        make(4, "2024-03-02T10:00:00Z", "2024-03-02T09:00:00+00:00"),           # resolved before created: a data error
        make(5, None),
    ]
    frame = analytics.incidents_frame(incidents)
    assert str(frame["created"].dtype) == "datetime64[us, UTC]"
    assert frame["created"].tolist()[:4] == [pd.Timestamp("2024-02-29 20:30", tz=UTC),
                                             pd.Timestamp("2024-03-01 12:00", tz=UTC),
                                             pd.Timestamp("2024-03-02", tz=UTC),
                                             pd.Timestamp("2024-03-02 10:00", tz=UTC)]
    assert pd.isna(frame["created"].iloc[4])
    minutes = frame["minutes_to_resolve"].tolist()
    assert minutes[0] == 7 * 60  # 2024-02-29 20:30 → 2024-03-01 03:30 (UTC)
    assert minutes[2] == 24 * 60 and np.isnan(minutes[1]) and np.isnan(minutes[3])
    assert analytics.mttr_summary(frame)["unresolved"] == 2  # 2 and 5 have no resolved_at; 4 is neither


def test_labels_default_to_none_and_entities_come_from_extra():
    frame = analytics.incidents_frame([make(1, date(2024, 1, 1), extra={"bank": "hdfc", "family": "upi"}),
                                       make(2, date(2024, 1, 1), service="api", tags=["UPI", "Game-Day"])])
    assert frame["service"].tolist() == ["(none)", "api"] and frame["family"].tolist() == ["upi", "(none)"]
    assert frame["bank"].tolist()[0] == "hdfc" and pd.isna(frame["bank"].iloc[1])
    assert frame["tags"].iloc[1] == ("upi", "game-day")


def test_exclusion_rules_are_parameters():
    frame = analytics.incidents_frame([
        make(1, date(2024, 1, 1)), make(2, date(2024, 1, 1), tags=["game-day"]),
        make(3, date(2024, 1, 1), status="Duplicate"), make(4, None), make(5, date(2024, 1, 1), tags=["Test"])])
    kept, excluded = analytics.exclude(frame)
    assert kept["id"].tolist() == ["T-1"]
    assert excluded == {"no created_at": 1, "status:duplicate": 1, "tag:game-day": 1, "tag:test": 1}
    kept, excluded = analytics.exclude(frame, statuses=(), tags=("game-day",))
    assert kept["id"].tolist() == ["T-1", "T-3", "T-5"] and excluded == {"no created_at": 1, "tag:game-day": 1}


# -- volume -------------------------------------------------------------------------------------------------------

def test_monthly_counts_include_empty_months():
    frame = analytics.incidents_frame([make(1, date(2024, 1, 5)), make(2, date(2024, 1, 31)),
                                       make(3, datetime(2024, 3, 1, 1, 0, tzinfo=IST)),  # still February in UTC
                                       make(4, date(2024, 4, 30))])
    counts = analytics.volume(frame, "M")
    assert counts[["period", "count"]].to_dict("records") == [
        {"period": "2024-01", "count": 2}, {"period": "2024-02", "count": 1}, {"period": "2024-03", "count": 0},
        {"period": "2024-04", "count": 1}]


def test_weeks_start_on_monday_and_days_are_utc():
    frame = analytics.incidents_frame([make(1, datetime(2020, 6, 10, 9)), make(2, datetime(2020, 6, 14, 23)),
                                       make(3, datetime(2020, 6, 15, 0, 30)), make(4, date(2020, 6, 29))])
    weekly = analytics.volume(frame, "W")
    assert weekly[["period", "count"]].values.tolist() == [["2020-06-08", 2], ["2020-06-15", 1], ["2020-06-22", 0],
                                                           ["2020-06-29", 1]]
    daily = analytics.volume(frame, "D")
    assert len(daily) == 20 and daily["count"].sum() == 4 and daily["period"].iloc[0] == "2020-06-10"


def test_volume_by_group_is_zero_filled():
    frame = analytics.incidents_frame([make(1, date(2024, 1, 1), service="a"), make(2, date(2024, 2, 1), service="b"),
                                       make(3, date(2024, 2, 2), service="b")])
    counts = analytics.volume(frame, "M", by="service")
    assert counts[["period", "service", "count"]].values.tolist() == [
        ["2024-01", "a", 1], ["2024-01", "b", 0], ["2024-02", "a", 0], ["2024-02", "b", 2]]
    with pytest.raises(ValueError, match="cannot group by 'colour'; use one of service"):
        analytics.volume(frame, "M", by="colour")
    with pytest.raises(ValueError, match="unknown frequency 'Q'"):
        analytics.volume(frame, "Q")


# -- time to resolve ----------------------------------------------------------------------------------------------

@pytest.fixture
def mttr_frame() -> pd.DataFrame:
    """January: 10, 20, 30, 40 and 100 minutes plus two unresolved (api, api, db, db, db, api, db);
    February: 60 and 120 minutes."""
    jan, feb = datetime(2024, 1, 10, tzinfo=UTC), datetime(2024, 2, 10, tzinfo=UTC)
    minutes = [(jan, 10, "api"), (jan, 20, "api"), (jan, 30, "db"), (jan, 40, "db"), (jan, 100, "db"),
               (jan, None, "api"), (jan, None, "db"), (feb, 60, "api"), (feb, 120, "db")]
    return analytics.incidents_frame([resolved_after(i, when, m, service=s) for i, (when, m, s) in enumerate(minutes)])


def test_mttr_median_p90_mean_leave_unresolved_out(mttr_frame):
    january = analytics.between(mttr_frame, date(2024, 1, 1), date(2024, 1, 31))
    summary = analytics.mttr_summary(january)
    # sorted 10, 20, 30, 40, 100: p90 at rank 0.9 × 4 = 3.6 → 40 + 0.6 × (100 − 40) = 76
    assert summary == {"incidents": 7, "resolved": 5, "unresolved": 2, "median": 30.0, "p90": 76.0, "mean": 40.0}
    assert summary["p90"] == pytest.approx(np.percentile([10, 20, 30, 40, 100], 90))  # numpy's default, as documented


def test_mttr_by_group(mttr_frame):
    table = analytics.mttr(analytics.between(mttr_frame, date(2024, 1, 1), date(2024, 1, 31)), "service")
    assert table.to_dict("records") == [
        {"service": "db", "incidents": 4, "resolved": 3, "unresolved": 1, "median": 40.0, "p90": 88.0, "mean": 56.7},
        {"service": "api", "incidents": 3, "resolved": 2, "unresolved": 1, "median": 15.0, "p90": 19.0, "mean": 15.0}]


def test_change_against_the_previous_period(mttr_frame):
    # February (29 days) against the 29 days before it: 2024-01-03 .. 2024-01-31, which holds all of January's
    change = analytics.compare_windows(mttr_frame, date(2024, 2, 1), date(2024, 2, 29))
    assert change["count"] == {"current": 2, "previous": 7, "change": -5}
    assert change["mttr_median"] == {"current": 90.0, "previous": 30.0, "change": 60.0}
    assert change["mttr_p90"] == {"current": 114.0, "previous": 76.0, "change": 38.0}
    assert change["unresolved"]["change"] == -2
    assert analytics.previous_window(date(2024, 2, 1), date(2024, 2, 29)) == (date(2024, 1, 3), date(2024, 1, 31))
    table = analytics.mttr_change(mttr_frame, date(2024, 2, 1), date(2024, 2, 29), "service").set_index("service")
    assert table.loc["db", ["median", "previous_median", "change_median"]].tolist() == [120.0, 40.0, 80.0]
    assert table.loc["db", "resolved"] == 1 and table.loc["db", "previous_resolved"] == 3  # the n of each median
    assert table.loc["api", "change_mean"] == 45.0


def test_before_the_first_incident_there_is_nothing_to_compare_with(mttr_frame):
    change = analytics.compare_windows(mttr_frame, date(2024, 1, 1), date(2024, 2, 29))  # all of the history
    assert change["count"] == {"current": 9, "previous": None, "change": None}
    quiet = analytics.compare_windows(mttr_frame, date(2024, 2, 11), date(2024, 2, 20))  # against Feb 1 .. Feb 10
    assert quiet["count"] == {"current": 0, "previous": 2, "change": -2}  # a quiet window is a real 0


def test_comparison_windows():
    frame = analytics.incidents_frame([make(1, date(2024, 1, 5)), make(2, date(2024, 3, 20))])
    # the data end on Wednesday 2024-03-20: March and that week are partial, so the last complete ones are compared
    assert analytics.comparison_windows(frame, "M") == ((date(2024, 2, 1), date(2024, 2, 29)),
                                                        (date(2024, 1, 1), date(2024, 1, 31)))
    assert analytics.comparison_windows(frame, "W") == ((date(2024, 3, 11), date(2024, 3, 17)),
                                                        (date(2024, 3, 4), date(2024, 3, 10)))
    assert analytics.comparison_windows(frame, "D") == ((date(2024, 3, 20), date(2024, 3, 20)),
                                                        (date(2024, 3, 19), date(2024, 3, 19)))
    assert analytics.comparison_windows(frame, "M", until=date(2024, 3, 31)) == (  # data up to the month's end
        (date(2024, 3, 1), date(2024, 3, 31)), (date(2024, 2, 1), date(2024, 2, 29)))
    assert analytics.comparison_windows(frame, "M", since=date(2024, 3, 11)) == (  # a range: as many days before
        (date(2024, 3, 11), date(2024, 3, 20)), (date(2024, 3, 1), date(2024, 3, 10)))
    assert analytics.comparison_windows(frame.iloc[:0], "M") is None


def test_partial_period():
    frame = analytics.incidents_frame([make(1, date(2024, 1, 5)), make(2, datetime(2024, 3, 20, 23, 59))])
    assert analytics.partial_period(frame, "M") == (date(2024, 3, 1), date(2024, 3, 20))
    assert analytics.partial_period(frame, "W") == (date(2024, 3, 18), date(2024, 3, 20))  # Monday .. Wednesday
    assert analytics.partial_period(frame, "D") is None  # a day with data is a whole day
    assert analytics.partial_period(frame, "W", until=date(2024, 3, 24)) is None  # up to Sunday: complete
    assert analytics.partial_period(frame, "M", until=date(2024, 2, 29)) is None  # leap day ends February
    assert analytics.period_bounds(date(2023, 2, 14), "M") == (date(2023, 2, 1), date(2023, 2, 28))


def test_a_partial_last_week_is_not_compared_with_a_whole_one():
    """Issue #11: with volume per week the tiles compared the 3 days of the last week with a whole week before."""
    def week(monday: date, per_day: int, minutes: float) -> list[Incident]:
        return [resolved_after(100 * monday.toordinal() + 10 * d + k,
                               datetime.combine(monday + timedelta(days=d), datetime.min.time(), UTC), minutes)
                for d in range(7) for k in range(per_day)]

    incidents = (week(date(2024, 6, 3), 1, 60) + week(date(2024, 6, 10), 2, 120)
                 + [resolved_after(9, datetime(2024, 6, 17 + d, tzinfo=UTC), 30) for d in range(3)])  # Mon .. Wed
    frame = analytics.incidents_frame(incidents)
    (current, previous) = analytics.comparison_windows(frame, "W")
    assert (current, previous) == ((date(2024, 6, 10), date(2024, 6, 16)), (date(2024, 6, 3), date(2024, 6, 9)))
    change = analytics.compare_windows(frame, *current, previous)
    assert change["count"] == {"current": 14, "previous": 7, "change": 7}  # 7 days against 7 days, not 3 against 7
    assert change["mttr_median"] == {"current": 120.0, "previous": 60.0, "change": 60.0}
    assert change["resolved"] == {"current": 14, "previous": 7, "change": 7}  # the n of the MTTR figures
    report = patterns_report(frame, freq="W")
    assert report["change"]["partial"] == {"from": "2024-06-17", "to": "2024-06-19", "days": 3, "period_days": 7}
    assert report["change"]["current"] == {"from": "2024-06-10", "to": "2024-06-16"}
    text = patterns_text(report)
    assert "the week of 2024-06-17 has 3 of its 7 days so far and is left out" in text
    assert "MTTR median  2 h vs 1 h (+1 h; n = 14 vs 7 resolved)" in text
    assert "incidents    14 vs 7 (+7 incidents, +100.0%)" in text


def test_when_the_data_start_in_the_last_period_that_period_is_compared():
    frame = analytics.incidents_frame([make(1, date(2024, 3, 19)), make(2, date(2024, 3, 20))])
    assert analytics.comparison_windows(frame, "W") == ((date(2024, 3, 18), date(2024, 3, 20)),
                                                        (date(2024, 3, 11), date(2024, 3, 17)))
    report = patterns_report(frame, freq="W")
    assert report["change"]["partial"] is None  # nothing was left out
    assert report["change"]["metrics"]["count"] == {"current": 2, "previous": None, "change": None}


# -- group order --------------------------------------------------------------------------------------------------

def test_severities_keep_their_order_and_other_groups_go_largest_first():
    labels = pd.Series(["SEV3", "SEV10", "(none)", "SEV1", "SEV3", "SEV2", "SEV3"])
    assert analytics.group_order(labels, "severity") == ["SEV1", "SEV2", "SEV3", "SEV10", "(none)"]
    services = pd.Series(["db", "api", "api", "web", "db", "cache"])
    assert analytics.group_order(services, "service") == ["api", "db", "cache", "web"]  # 2, 2, 1, 1: ties by name
    weighted = analytics.group_order(pd.Series(["a", "b", "a"]), "service", weights=pd.Series([1, 5, 1]))
    assert weighted == ["b", "a"]
    frame = analytics.incidents_frame([resolved_after(i, datetime(2024, 1, 1, tzinfo=UTC), 10 * (i + 1),
                                                      severity=severity)
                                       for i, severity in enumerate(["SEV4", "SEV2", "SEV4", "SEV1", "SEV4"])])
    assert analytics.mttr(frame, "severity")["severity"].tolist() == ["SEV1", "SEV2", "SEV4"]  # not 3, 1, 1


# -- spikes -------------------------------------------------------------------------------------------------------

def weekly_incidents(counts: list[int], service: str = "api", first: date = date(2024, 1, 1)) -> list[Incident]:
    """``counts[w]`` incidents in week ``w`` (spread over its days)."""
    out = []
    for week, count in enumerate(counts):
        for k in range(count):
            when = datetime.combine(first + timedelta(weeks=week, days=k % 7), datetime.min.time(), UTC)
            out.append(make(len(out), when + timedelta(hours=k % 24), service=service))
    return out


@pytest.mark.parametrize("counts", [[4] * 20, list(range(1, 21)), [3, 4, 5, 4, 3, 4, 5, 4] * 3])
def test_flat_trending_and_steady_series_have_no_spike(counts):
    assert find_spikes(analytics.incidents_frame(weekly_incidents(counts))).empty


def test_an_injected_spike_is_found_with_its_incidents():
    counts = [3, 4, 5, 4, 3, 4, 5, 4, 3, 4, 18, 4, 3, 4]
    frame = analytics.incidents_frame(weekly_incidents(counts) + weekly_incidents([1] * 14, service="db"))
    found = find_spikes(frame, by="service")
    assert found[["period", "group", "count", "expected"]].values.tolist() == [["2024-03-11", "api", 18, 4.0]]
    spike_week = frame[(frame["service"] == "api") & (frame["created"] >= pd.Timestamp("2024-03-11", tz=UTC))
                       & (frame["created"] < pd.Timestamp("2024-03-18", tz=UTC))]
    assert found["incident_ids"].iloc[0] == sorted(spike_week["id"])


def test_the_demo_corpus_injected_spikes_are_found(demo_frame):
    by_family = find_spikes(demo_frame, by="family")
    found = set(zip(by_family["period"], by_family["group"], strict=True))
    for spike in active_spikes():
        assert (spike.week_start.isoformat(), spike.family) in found
    assert len(found) == len(active_spikes())  # and nothing else at the family level
    by_category = set(find_spikes(demo_frame, by="category")["period"])
    assert {s.week_start.isoformat() for s in active_spikes()} <= by_category


# -- themes and repeats -------------------------------------------------------------------------------------------

TEMPLATES = {  # title | description
    "disk": "Disk full on {host} | log rotation stopped and /var filled up; cleared old logs and fixed logrotate",
    "cert": "TLS certificate expired on {host} | the renewal cron failed silently; renewed, added an expiry alert",
    "kafka": "Kafka consumer lag on {host} | rebalancing storm after a deploy; pinned partitions, raised timeouts",
}


def templated(number: int, name: str, created, host: str = "db-1", **fields) -> Incident:
    title, description = TEMPLATES[name].format(host=host).split(" | ")
    return make(number, created, title=title, description=description, tags=[name], **fields)


def test_themes_group_near_identical_incidents():
    incidents = [templated(10 * i + k, name, datetime(2024, 1, 1 + 3 * k, i, tzinfo=UTC), host=f"host-{k}")
                 for i, name in enumerate(TEMPLATES) for k in range(5)]
    frame = themes.assign_themes(analytics.incidents_frame(incidents))
    for name in TEMPLATES:
        members = frame[frame["tags"].apply(lambda tags, n=name: n in tags)]
        assert members["theme"].nunique() == 1 and members["theme"].iloc[0] >= 0
    assert frame["theme"].nunique() == 3
    summary = themes.theme_summary(frame)
    assert summary["size"].tolist() == [5, 5, 5]
    cert = summary[summary["label"].str.contains("certificate")].iloc[0]  # labelled by title terms
    assert cert["incident_ids"][0] == "T-14" and cert["days_since_last"] == 0.0  # newest first; the newest overall
    assert cert["weeks_active"] == 2 and cert["median_days_between"] == 3.0  # Jan 1, 4, 7 | Jan 10, 13


def test_repeats_are_near_duplicates_earlier_within_the_window():
    incidents = [templated(1, "disk", datetime(2024, 1, 1, tzinfo=UTC)),
                 templated(2, "disk", datetime(2024, 1, 10, tzinfo=UTC)),      # 9 days later
                 templated(3, "disk", datetime(2024, 3, 1, tzinfo=UTC)),       # 51 days later
                 templated(4, "cert", datetime(2024, 1, 11, tzinfo=UTC)),
                 templated(5, "kafka", datetime(2024, 1, 12, tzinfo=UTC))]
    frame = themes.mark_repeats(analytics.incidents_frame(incidents), window_days=30, threshold=0.6)
    assert frame["repeat_of"].fillna("-").tolist() == ["-", "T-1", "-", "-", "-"]
    assert frame["repeat_similarity"].iloc[1] == pytest.approx(1.0, abs=1e-3)
    assert themes.repeat_rate(frame) == 0.2
    wider = themes.mark_repeats(analytics.incidents_frame(incidents), window_days=60)
    assert wider["repeat_of"].fillna("-").tolist()[:3] == ["-", "T-1", "T-2"]  # as similar as T-1, and later


def test_demo_themes_follow_the_generators_families(demo_frame):
    purity = demo_frame.groupby("theme")["family"].agg(lambda f: f.value_counts().iloc[0] / len(f))
    assert (demo_frame["theme"] >= 0).all() and purity.min() > 0.9
    assert 0.3 < themes.repeat_rate(demo_frame) < 0.8


# -- entities -----------------------------------------------------------------------------------------------------

def test_top_entities_per_period_from_extra_fields():
    frame = analytics.incidents_frame([
        make(1, date(2024, 1, 2), extra={"bank": "hdfc", "gateway": "razorpay"}),
        make(2, date(2024, 1, 3), extra={"bank": "hdfc"}), make(3, date(2024, 2, 3), extra={"bank": "axis"}),
        make(4, date(2024, 2, 4), extra={"bank": "hdfc"})])
    top = analytics.top_entities(frame, "M", k=2)  # hdfc (3), then axis and razorpay (1 each): axis by name
    assert top[["period", "entity", "count"]].values.tolist() == [["2024-01", "hdfc", 2], ["2024-02", "axis", 1],
                                                                   ["2024-02", "hdfc", 1]]
    assert set(analytics.top_entities(frame, "M", k=5, kinds=["bank"])["entity"]) == {"hdfc", "axis"}


def test_top_entities_from_the_entity_index():
    from sherlock.search.entities import EntityIndex
    incidents = [make(1, date(2024, 1, 2), title="Razorpay timeouts on HDFC netbanking"),
                 make(2, date(2024, 1, 9), title="HDFC UPI collect failures")]
    top = analytics.top_entities(analytics.incidents_frame(incidents), "M", entity_index=EntityIndex().fit(incidents))
    counts = dict(zip(top["entity"], top["count"], strict=True))
    assert counts["hdfc"] == 2 and counts["razorpay"] == 1


def test_entity_names_are_shown_as_the_incidents_write_them():
    """Issue #11: the entity chart said ``refunds_api`` (the index's normalised name) next to the ``refunds-api``
    service; names the incidents never spell out read with hyphens too."""
    from sherlock.search.entities import EntityIndex
    incidents = [make(1, date(2024, 1, 2), title="Refund webhooks delayed", service="refunds-api",
                      extra={"bank": "Yes Bank"}),
                 make(2, date(2024, 1, 9), title="Yes Bank and IDFC First netbanking down", service="refunds-api")]
    frame = analytics.incidents_frame(incidents)
    assert analytics.entity_spellings(frame) == {"refunds_api": "refunds-api", "yes_bank": "Yes Bank"}
    top = analytics.top_entities(frame, "M", entity_index=EntityIndex().fit(incidents))
    counts = top.groupby("entity")["count"].sum().to_dict()
    assert counts == {"refunds-api": 2, "Yes Bank": 2, "idfc-first": 1}


# -- the report ---------------------------------------------------------------------------------------------------

def test_report_is_json_and_periods_are_iso(mttr_frame):
    report = patterns_report(mttr_frame, freq="M", by="service")
    json.dumps(report)  # plain JSON types only
    assert [v["period"] for v in report["volume"]] == ["2024-01", "2024-02"]
    assert report["mttr_minutes"] == {"median": 40.0, "p90": 108.0, "mean": 54.3, "resolved": 7, "unresolved": 2}
    # February's data end on the 10th: January, the latest complete month, against December (nothing recorded yet)
    assert report["change"]["current"] == {"from": "2024-01-01", "to": "2024-01-31"}
    assert report["change"]["previous"] == {"from": "2023-12-01", "to": "2023-12-31"}
    assert report["change"]["partial"] == {"from": "2024-02-01", "to": "2024-02-10", "days": 10, "period_days": 29}
    assert report["change"]["metrics"]["count"] == {"current": 7, "previous": None, "change": None}
    assert {g["group"] for g in report["by_group"]} == {"api", "db"}
    weekly = patterns_report(mttr_frame, freq="W", since=date(2024, 2, 1))
    assert weekly["volume"] == [{"period": "2024-02-05", "count": 2}] and weekly["incidents"] == 2
    assert set(report["definitions"]) >= {"volume", "mttr", "repeat_rate", "theme", "spike"}
    assert "MTTR median" in patterns_text(report)


# -- real postmortems (../shared/data/postmortems) ----------------------------------------------------------------

@pytest.fixture(scope="module")
def postmortems(shared_data) -> Path:
    return shared_data / "postmortems"


def postmortem_incidents(path: Path) -> list[Incident]:
    """Map one real data set to incidents: dates (a bare month is its 1st), durations (→ resolved_at), services."""
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    out = []
    for r in records:
        when = r.get("date")
        if when and len(when) == 7:  # "2018-08"
            when += "-01"
        minutes = r.get("duration_min", r.get("time_to_recovery_min"))
        resolved = (datetime.fromisoformat(when) + timedelta(minutes=float(minutes))).isoformat() \
            if when and minutes not in (None, "") else None
        services = r.get("services") or ([r["company"]] if r.get("company") else [])
        out.append(Incident.from_record({
            "id": r["id"], "title": r["title"][:200], "description": r.get("summary") or "",
            "root_cause": r.get("root_cause") or r.get("contributing_factors") or "",
            "resolution": r.get("mitigation") or r.get("action_items") or "",
            "service": services[0] if services else None, "category": r.get("category"),
            "created_at": when, "resolved_at": resolved, "tags": r.get("root_cause_labels") or [],
            "provider": r.get("provider")}))
    return out


@pytest.mark.parametrize("name", ["idds_cloud_incidents.jsonl", "dfds_postmortems.jsonl",
                                  "danluu_post_mortems.jsonl"])
def test_real_postmortems_go_through(postmortems, name):
    incidents = postmortem_incidents(postmortems / name)
    report = patterns_report(incidents, freq="M", by="service")
    json.dumps(report)
    undated = sum(1 for i in incidents if i.created_at is None)
    assert report["incidents"] + undated == len(incidents)
    assert report["excluded"].get("no created_at", 0) == undated
    assert sum(v["count"] for v in report["volume"]) == report["incidents"]
    if name != "danluu_post_mortems.jsonl":  # danluu has no durations
        assert report["mttr_minutes"]["resolved"] > 0 and report["mttr_minutes"]["median"] > 0
    for freq in ("W", "D"):
        assert patterns_report(incidents, freq=freq, by="category")["volume"]


def test_real_cloud_incident_durations_match_the_data(postmortems):
    incidents = postmortem_incidents(postmortems / "idds_cloud_incidents.jsonl")
    frame = analytics.incidents_frame(incidents)
    raw = [json.loads(line)["duration_min"] for line in (postmortems / "idds_cloud_incidents.jsonl").open()]
    expected = [float(m) for m in raw if m not in (None, "")]
    assert analytics.mttr_summary(frame)["median"] == pytest.approx(np.median(expected), abs=0.1)
