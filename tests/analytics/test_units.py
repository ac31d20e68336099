"""Human units for the pattern figures (sherlock.analytics.units): values worked by hand, including the unit
boundaries, and the figures of issue #11 ("3,436 min" reads 2.4 d)."""

from __future__ import annotations

import pytest

from sherlock.analytics import units


@pytest.mark.parametrize(("minutes", "text"), [
    (0, "0 min"), (0.4, "0.4 min"), (45, "45 min"), (59.4, "59 min"),
    (59.7, "1 h"),            # rounds to 60 minutes: an hour, not "60 min"
    (90, "1.5 h"), (372, "6.2 h"), (12 * 60, "12 h"),
    (1439, "1 d"),            # 23.98 h rounds to 24.0 h: a day
    (3436, "2.4 d"),          # the "3,436 min"
    (150 * 1440, "150 d"), (None, "–"), (float("nan"), "–"),
])
def test_duration(minutes, text):
    assert units.duration(minutes) == text


@pytest.mark.parametrize(("minutes", "text"), [(-205, "-3.4 h"), (62.5, "+1 h"), (-45, "-45 min"), (0, "+0 min"),
                                               (556.3, "+9.3 h"), (None, "–")])
def test_duration_change_is_signed_with_an_ascii_minus(minutes, text):
    assert units.duration_change(minutes) == text  # Streamlit's delta arrow points down only for a leading "-"


def test_every_metric_has_a_unit_for_its_value_and_its_change():
    assert units.metric_value("count", 1990) == "1,990" and units.metric_change("count", -18) == "-18"
    assert units.metric_value("mttr_median", 3436) == "2.4 d" and units.metric_change("mttr_p90", -1481.6) == "-1 d"
    assert units.metric_value("repeat_rate", 0.1667) == "16.7%"
    assert units.metric_change("repeat_rate", -0.3333) == "-33.3 pts"  # percentage points, not %
    assert units.metric_value("resolved", None) == "–"
    with pytest.raises(ValueError, match="no unit for metric 'colour'; known: count, resolved"):
        units.metric_value("colour", 1)


def test_a_window_of_one_day_is_named_once():
    from datetime import date
    assert units.span(date(2025, 12, 1), date(2025, 12, 31)) == "2025-12-01 … 2025-12-31"
    assert units.span(date(2025, 12, 31), date(2025, 12, 31)) == "2025-12-31"
