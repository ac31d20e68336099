"""Human units for the incident-pattern figures: durations as minutes, hours or days, rates as percentages, and
every change with its sign and unit.

One place, so the patterns page, its plots and ``sherlock patterns`` say "6.2 h" for the same number. The data stay
in their own units (minutes, fractions) in frames, CSV downloads and ``--json``; only what people read is formatted.
"""

from __future__ import annotations

import math
from collections.abc import Callable

MINUTES_PER_HOUR = 60
MINUTES_PER_DAY = 24 * MINUTES_PER_HOUR
MISSING = "–"
#: What one period of ``freq`` is called in a sentence ("the latest complete week").
PERIOD_NAMES = {"D": "day", "W": "week", "M": "month"}

#: The periods reports are cut into: a day, a week (from Monday) or a month (incident patterns and search monitoring).
FREQS = {"D": "day", "W": "week (Monday)", "M": "month"}


def _short(value: float) -> str:
    """One decimal below 100 (``6.2``, ``6`` rather than ``6.0``), none from 100 on (``130``)."""
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}".removesuffix(".0")


def duration(minutes: float | None) -> str:
    """``45 min`` under an hour, ``6.2 h`` under a day, ``2.4 d`` from a day on; ``–`` when missing.

    The unit is chosen on the rounded value, so 59.7 minutes reads ``1 h``, not ``60 min``."""
    if minutes is None or math.isnan(minutes):
        return MISSING
    size = abs(float(minutes))
    if round(size) < MINUTES_PER_HOUR:
        text = f"{size:.0f} min" if size >= 1 or size == 0 else f"{size:.1f} min"
    elif round(size / MINUTES_PER_HOUR, 1) < 24:
        text = f"{_short(size / MINUTES_PER_HOUR)} h"
    else:
        text = f"{_short(size / MINUTES_PER_DAY)} d"
    return f"-{text}" if minutes < 0 else text


def duration_change(minutes: float | None) -> str:
    """A change of time to resolve: ``+1.2 h``, ``-45 min`` (an ASCII minus, which Streamlit's delta arrows read)."""
    if minutes is None or math.isnan(minutes):
        return MISSING
    return duration(minutes) if minutes < 0 else f"+{duration(minutes)}"


def count(value: float | None) -> str:
    """``1,990``."""
    return MISSING if value is None or math.isnan(value) else f"{value:,.0f}"


def count_change(value: float | None) -> str:
    """``+3``, ``-18``."""
    return MISSING if value is None or math.isnan(value) else f"{value:+,.0f}"


def rate(value: float | None) -> str:
    """A fraction as a percentage: ``0.125`` → ``12.5%``."""
    return MISSING if value is None or math.isnan(value) else f"{100 * value:.1f}%"


def rate_change(value: float | None) -> str:
    """A change of a fraction in percentage points: ``-0.333`` → ``-33.3 pts``."""
    return MISSING if value is None or math.isnan(value) else f"{100 * value:+.1f} pts"


def span(first: object, last: object) -> str:
    """A window of days: ``2025-12-01 … 2025-12-31``, or one day alone (``2025-12-31``)."""
    return str(first) if first == last else f"{first} … {last}"


#: How each metric of :func:`sherlock.analytics.frame.window_metrics` reads: (value, change) formatters.
METRIC_FORMATS: dict[str, tuple[Callable[[float | None], str], Callable[[float | None], str]]] = {
    "count": (count, count_change), "resolved": (count, count_change), "unresolved": (count, count_change),
    "mttr_median": (duration, duration_change), "mttr_p90": (duration, duration_change),
    "mttr_mean": (duration, duration_change), "repeat_rate": (rate, rate_change),
}


def _formats(metric: str) -> tuple[Callable[[float | None], str], Callable[[float | None], str]]:
    if metric not in METRIC_FORMATS:
        raise ValueError(f"no unit for metric {metric!r}; known: {', '.join(METRIC_FORMATS)}")
    return METRIC_FORMATS[metric]


def metric_value(metric: str, value: float | None) -> str:
    """``metric``'s value in its unit (``6.2 h``, ``12.5%``, ``24``)."""
    return _formats(metric)[0](value)


def metric_change(metric: str, change: float | None) -> str:
    """``metric``'s change with its sign and unit (``+1.2 h``, ``-33.3 pts``, ``+3``)."""
    return _formats(metric)[1](change)
