"""Alerts fire above their thresholds and not at or below them, need enough queries (votes), read the latest period
with queries; and the same from a real log through the report."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from scipy import stats

from sherlock.config import load_settings
from sherlock.monitoring.alerts import ALERTS, evaluate_alerts
from sherlock.monitoring.events import QueryEvent
from sherlock.monitoring.querylog import QueryLog
from sherlock.monitoring.report import monitor_report
from sherlock.storage.feedback import FeedbackStore


@pytest.fixture
def settings(tmp_path):
    return load_settings(home=tmp_path, demo=False, monitor_alert_abstain_rate=0.5, monitor_alert_p95_ms=2000,
                         monitor_alert_helpful_drop=0.15, monitor_min_queries=20)


def period(label: str = "2025-03-10", queries: int = 100, abstained: int = 10, p95: float | None = 500.0,
           votes: int = 0, up: int = 0) -> dict:
    """A ``by_period`` entry as the report writes it."""
    return {"period": label, "queries": queries, "abstained": abstained,
            "abstain_rate": abstained / queries if queries else None,
            "latency_ms": {"p50": None if p95 is None else p95 / 2, "p95": p95, "p99": p95},
            "helpful": {"votes": votes, "up": up, "rate": up / votes if votes else None, "ci95": None}}


def names(alerts: list[dict]) -> list[str]:
    return [alert["name"] for alert in alerts]


@pytest.mark.parametrize("abstained, fires", [(51, True), (50, False), (49, False)])
def test_abstain_rate_fires_above_its_threshold(settings, abstained, fires):
    alerts = evaluate_alerts([period("2025-03-03"), period(abstained=abstained)], settings)
    assert names(alerts) == (["abstain_rate"] if fires else [])
    if fires:
        assert alerts[0]["period"] == "2025-03-10" and alerts[0]["value"] == 0.51 and alerts[0]["threshold"] == 0.5
        assert "51.0% of 100 queries abstained" in alerts[0]["message"]


@pytest.mark.parametrize("p95, fires", [(2000.5, True), (2000.0, False), (1999.0, False)])
def test_p95_latency_fires_above_its_threshold(settings, p95, fires):
    alerts = evaluate_alerts([period(p95=p95)], settings)
    assert names(alerts) == (["p95_latency"] if fires else [])


def test_too_few_queries_say_nothing(settings):
    assert evaluate_alerts([period(queries=19, abstained=19, p95=9000.0)], settings) == []
    assert names(evaluate_alerts([period(queries=20, abstained=19, p95=9000.0)], settings)) == ["abstain_rate",
                                                                                                 "p95_latency"]


def test_the_latest_period_with_queries_is_judged(settings):
    """An empty last period (a quiet night, or a window reaching past today) does not hide the one before it; an
    earlier bad period is not judged."""
    bad, fine, empty = period("2025-03-03", abstained=90), period("2025-03-10"), period("2025-03-17", queries=0,
                                                                                     abstained=0, p95=None)
    assert evaluate_alerts([bad, fine, empty], settings) == []
    assert names(evaluate_alerts([fine, bad, empty], settings)) == ["abstain_rate"]
    assert evaluate_alerts([empty], settings) == [] and evaluate_alerts([], settings) == []


@pytest.mark.parametrize("before, now, fires", [
    ((80, 100), (60, 100), True),    # 80% → 60%: 20 points, z-test p ≈ 0.002
    ((80, 100), (65, 100), False),   # 15 points: not more than the threshold
    ((16, 20), (12, 20), False),     # 20 points but 20 votes a side: z-test p ≈ 0.17, not significant
    ((80, 100), (10, 19), False),    # too few votes in the latest period
    ((60, 100), (80, 100), False),   # a rise is not a drop
])
def test_helpful_drop_needs_size_significance_and_votes(settings, before, now, fires):
    alerts = evaluate_alerts([period("2025-03-03", votes=before[1], up=before[0]),
                              period(votes=now[1], up=now[0])], settings)
    assert names(alerts) == (["helpful_drop"] if fires else [])
    if fires:
        table = [[before[0], before[1] - before[0]], [now[0], now[1] - now[0]]]
        p = stats.chi2_contingency(table, correction=False).pvalue  # the pooled z-test's p, squared
        assert alerts[0]["value"] == pytest.approx(0.2) and f"p = {p:.3g}" in alerts[0]["message"]


def test_unknown_alerts_are_named(settings):
    with pytest.raises(ValueError, match=r"unknown alert.*latency.*known: abstain_rate, p95_latency, helpful_drop"):
        evaluate_alerts([period()], settings, names=["latency"])
    assert list(ALERTS) == ["abstain_rate", "p95_latency", "helpful_drop"]


def test_alerts_from_a_real_log(settings):
    """Week 2 abstains on 12 of 20 queries (60%) and answers slowly; half its votes are helpful, against 90% in
    week 1: all three alerts fire on week 2."""
    log = QueryLog(settings.query_log_path, b"alerts-key")
    store = FeedbackStore(settings.feedback_path)
    monday = datetime(2025, 3, 3, tzinfo=UTC).timestamp()
    for week, (abstaining, latency, helpful) in enumerate([(2, 100.0, 36), (12, 2500.0, 20)]):
        for i in range(40 if week == 0 else 20):
            row = log.record(QueryEvent(channel="api", kind="search", query=f"question {i}", strategy="hybrid",
                                        abstained=i < abstaining, latency_ms=latency + i, settings={},
                                        ts=monday + week * 7 * 86400 + 600 * i))
            for vote in range(2 if week == 1 else 1):  # 40 votes a week
                store.record(f"question {i}", ["JSP-1"], i * (2 if week else 1) + vote < helpful, log_id=row)
    assert log.flush()
    report = monitor_report(settings, date(2025, 3, 3), date(2025, 3, 16), "W", log=log, feedback=store,
                            now=datetime(2025, 6, 1, tzinfo=UTC))
    assert [p["helpful"]["votes"] for p in report["by_period"]] == [40, 40]
    assert names(report["alerts"]) == ["abstain_rate", "p95_latency", "helpful_drop"]
    assert {alert["period"] for alert in report["alerts"]} == {"2025-03-10"}
    calm = load_settings(home=settings.home, demo=False, monitor_alert_abstain_rate=0.6, monitor_alert_p95_ms=2520,
                         monitor_alert_helpful_drop=0.45)
    assert monitor_report(calm, date(2025, 3, 3), date(2025, 3, 16), "W", log=log, feedback=store)["alerts"] == []
    store.close()
    log.close()
