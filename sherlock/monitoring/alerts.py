"""Alerts on the latest period: thresholds from settings, one small check per alert in :data:`ALERTS`.

Each check reads the latest period with queries and the period just before it (entries of the report's
``by_period``) and returns an alert or ``None``:

* ``abstain_rate`` — the abstain rate is above ``monitor_alert_abstain_rate``;
* ``p95_latency`` — the 95th percentile latency is above ``monitor_alert_p95_ms``;
* ``helpful_drop`` — the helpful rate fell by more than ``monitor_alert_helpful_drop`` (absolute) against the period
  before, and the fall is significant at 5% (:func:`sherlock.evaluation.stats.two_proportion`: Fisher's exact test or
  the pooled z-test, by Cochran's rule).

A period needs ``monitor_min_queries`` queries (and, for ``helpful_drop``, that many votes in both periods) before
anything is said about it: a rate over a handful of queries is noise. A period still under way counts as it stands.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sherlock.config import Settings
from sherlock.evaluation.stats import two_proportion

#: Significance level of the helpful-rate drop.
HELPFUL_DROP_ALPHA = 0.05

Check = Callable[[dict[str, Any], dict[str, Any] | None, Settings], dict[str, Any] | None]


def _alert(name: str, period: dict[str, Any], value: float, threshold: float, message: str) -> dict[str, Any]:
    return {"name": name, "period": period["period"], "value": round(float(value), 4),
            "threshold": float(threshold), "message": message}


def abstain_rate_alert(latest: dict[str, Any], previous: dict[str, Any] | None,
                       settings: Settings) -> dict[str, Any] | None:
    """The abstain rate above ``monitor_alert_abstain_rate``."""
    rate, threshold = latest["abstain_rate"], settings.monitor_alert_abstain_rate
    if latest["queries"] < settings.monitor_min_queries or rate is None or rate <= threshold:
        return None
    return _alert("abstain_rate", latest, rate, threshold,
                  f"{latest['period']}: {rate:.1%} of {latest['queries']:,} queries abstained (alert above "
                  f"{threshold:.0%}); see the gap themes for what the incident memory lacks")


def p95_latency_alert(latest: dict[str, Any], previous: dict[str, Any] | None,
                      settings: Settings) -> dict[str, Any] | None:
    """The 95th percentile latency above ``monitor_alert_p95_ms``."""
    p95, threshold = latest["latency_ms"]["p95"], settings.monitor_alert_p95_ms
    if latest["queries"] < settings.monitor_min_queries or p95 is None or p95 <= threshold:
        return None
    return _alert("p95_latency", latest, p95, threshold,
                  f"{latest['period']}: p95 latency {p95:,.0f} ms over {latest['queries']:,} queries (alert above "
                  f"{threshold:,.0f} ms)")


def helpful_drop_alert(latest: dict[str, Any], previous: dict[str, Any] | None,
                       settings: Settings) -> dict[str, Any] | None:
    """A significant fall of the helpful rate by more than ``monitor_alert_helpful_drop`` against the period
    before."""
    if previous is None:
        return None
    now, before = latest["helpful"], previous["helpful"]
    least = settings.monitor_min_queries
    if now["votes"] < least or before["votes"] < least:
        return None
    test = two_proportion(before["up"], before["votes"], now["up"], now["votes"])
    # rounded: 0.65 − 0.80 is −0.15000000000000002 in floating point, which is a drop of 15 points, not more
    drop, threshold = round(-test["diff"], 9), settings.monitor_alert_helpful_drop
    if drop <= threshold or test["p"] >= HELPFUL_DROP_ALPHA:
        return None
    return _alert("helpful_drop", latest, drop, threshold,
                  f"{latest['period']}: helpful rate {test['rate_b']:.1%} of {now['votes']:,} votes, down "
                  f"{100 * drop:.1f} pts from {test['rate_a']:.1%} of {before['votes']:,} in {previous['period']} "
                  f"(alert above {100 * threshold:.0f} pts; {test['test']} p = {test['p']:.3g})")


#: Every alert by name (the order they are reported in).
ALERTS: dict[str, Check] = {"abstain_rate": abstain_rate_alert, "p95_latency": p95_latency_alert,
                            "helpful_drop": helpful_drop_alert}


def latest_periods(by_period: list[dict[str, Any]]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The latest period with queries and the period just before it (``None`` where there is none)."""
    busy = [i for i, period in enumerate(by_period) if period["queries"]]
    if not busy:
        return None, None
    latest = busy[-1]
    return by_period[latest], by_period[latest - 1] if latest else None


def evaluate_alerts(by_period: list[dict[str, Any]], settings: Settings,
                    names: list[str] | None = None) -> list[dict[str, Any]]:
    """The alerts that fire on the latest period with queries (``names``: only these; default all)."""
    unknown = sorted(set(names or []) - set(ALERTS))
    if unknown:
        raise ValueError(f"unknown alert(s) {', '.join(unknown)}; known: {', '.join(ALERTS)}")
    latest, previous = latest_periods(by_period)
    if latest is None:
        return []
    fired = (ALERTS[name](latest, previous, settings) for name in (names or list(ALERTS)))
    return [alert for alert in fired if alert is not None]
