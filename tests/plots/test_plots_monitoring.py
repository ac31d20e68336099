"""The search-monitoring figures (sherlock.plots.monitoring) on a report worked by hand in the shape of
``sherlock monitor --json``: each trace carries exactly the report's numbers, in the report's order, and the marks
(partial periods, significant shifts, alert thresholds) sit where the report says."""

from __future__ import annotations

import pandas as pd
import pytest

from sherlock.evaluation.stats import wilson_ci
from sherlock.plots import monitoring as charts


def period(start: str, queries: int, abstained: int, p50: float | None, p95: float | None, p99: float | None,
           partial: bool = False) -> dict:
    return {"period": start, "start": start, "partial": partial, "queries": queries, "abstained": abstained,
            "abstain_rate": abstained / queries if queries else None,
            "latency_ms": {"p50": p50, "p95": p95, "p99": p99},
            "helpful": {"votes": 0, "up": 0, "rate": None, "ci95": None}, "out_of_corpus_rate": None}


BY_PERIOD = [period("2026-11-02", 120, 30, 40.0, 180.0, 410.0), period("2026-11-09", 0, 0, None, None, None),
             period("2026-11-16", 200, 90, 45.5, 2600.0, 3100.0), period("2026-11-23", 35, 7, 38.0, 150.0, 150.0,
                                                                         partial=True)]


def version(digest: str, first_seen: str, queries: int, abstained: int, votes: int, up: int) -> dict:
    return {"settings_hash": digest, "settings": {"weights": [0.5, 0.3, 0.2], "fusion": "wsum", "norm": "zscore"},
            "first_seen": first_seen, "last_seen": "2026-11-25T10:00:00", "queries": queries,
            "abstain_rate": abstained / queries, "abstain_ci95": list(wilson_ci(abstained, queries)),
            "helpful": {"votes": votes, "up": up, "rate": up / votes if votes else None,
                        "ci95": list(wilson_ci(up, votes)) if votes else None}}


BY_SETTINGS = [version("bbbbbbbbbb", "2026-11-16T09:00:00", 235, 97, 40, 31),  # newest first, as in the report
               version("cccccccccc", "2026-11-10T12:00:00", 3, 0, 0, 0),
               version("aaaaaaaaaa", "2026-11-01T08:00:00", 120, 30, 25, 12)]


def traces(figure, kind: str) -> list:
    return [trace for trace in figure.data if trace.type == kind]


def test_traffic_bars_are_the_queries_and_the_line_the_abstain_rate():
    figure = charts.traffic_chart(BY_PERIOD, abstain_threshold=0.5)
    (bars,), (line,) = traces(figure, "bar"), traces(figure, "scatter")
    assert list(bars.x) == list(pd.to_datetime(["2026-11-02", "2026-11-09", "2026-11-16", "2026-11-23"]))
    assert list(bars.y) == [120, 0, 200, 35]
    assert list(line.y) == [0.25, None, 0.45, 0.2]  # the empty week is a gap, not a zero
    assert line.yaxis == "y2" and figure.layout.yaxis2.tickformat == ".0%"
    assert list(bars.marker.opacity) == [1.0, 1.0, 1.0, 0.45]  # the partial week is paler
    assert "(partial)" in bars.hovertext[3] and "(partial)" not in bars.hovertext[2]
    (threshold,) = figure.layout.shapes
    assert threshold.y0 == threshold.y1 == 0.5 and threshold.yref == "y2"
    (label,) = figure.layout.annotations
    assert label.text == "abstain alert (50%)" and label.y == 0.5 and label.yref == "y2"  # labelled at the line
    # each week is ticked at its Monday (not plotly's Sunday), the year under the first
    assert list(figure.layout.xaxis.tickvals) == list(bars.x)
    assert list(figure.layout.xaxis.ticktext) == ["Nov 02<br>2026", "Nov 09", "Nov 16", "Nov 23"]


def test_latency_lines_are_the_three_percentiles():
    figure = charts.latency_chart(BY_PERIOD, p95_threshold_ms=2000)
    lines = {trace.name: list(trace.y) for trace in figure.data}
    assert lines == {"p50": [40.0, None, 45.5, 38.0], "p95": [180.0, None, 2600.0, 150.0],
                     "p99": [410.0, None, 3100.0, 150.0]}
    assert figure.layout.shapes[0].y0 == 2000 and figure.layout.annotations[0].text == "p95 alert (2,000 ms)"
    # a threshold far above every latency drawn is named, not drawn: a line there would flatten the lines
    fast = charts.latency_chart(BY_PERIOD[:2], p95_threshold_ms=2000)  # at most 410 ms
    assert not fast.layout.shapes and fast.layout.annotations[0].text == "p95 alert (2,000 ms): above this scale"


def test_settings_versions_oldest_first_with_wilson_intervals():
    figure = charts.settings_chart(BY_SETTINGS)
    helpful, abstain = figure.data
    assert list(abstain.x) == ["aaaaaaaaaa<br>from 2026-11-01", "cccccccccc<br>from 2026-11-10",
                               "bbbbbbbbbb<br>from 2026-11-16"]
    assert list(helpful.x) == ["aaaaaaaaaa<br>from 2026-11-01", "bbbbbbbbbb<br>from 2026-11-16"]  # c: no votes
    assert list(helpful.y) == [12 / 25, 31 / 40]
    # the error bars reach the Wilson interval: rate - low below, high - rate above
    for rate, (up, votes), below, above in zip(helpful.y, [(12, 25), (31, 40)], helpful.error_y.arrayminus,
                                               helpful.error_y.array, strict=True):
        low, high = wilson_ci(up, votes)
        assert rate - below == pytest.approx(low) and rate + above == pytest.approx(high)
    assert list(abstain.y) == [30 / 120, 0.0, 97 / 235]
    low, high = wilson_ci(0, 3)
    assert abstain.error_y.arrayminus[1] == pytest.approx(0) and abstain.error_y.array[1] == pytest.approx(high)
    assert "31 of 40 votes" in helpful.hovertext[1]


def test_settings_without_any_vote_say_so():
    figure = charts.settings_chart([BY_SETTINGS[1]])
    assert [trace.name for trace in figure.data] == ["abstain rate"]
    assert figure.layout.annotations[0].text == "No votes on these versions' answers yet"


DRIFT = {"threshold": 0.45, "period": "2026-11-23", "previous_period": "2026-11-16", "out_of_corpus_rate": 0.4,
         "previous_out_of_corpus_rate": 0.1, "statistic": "mmd2", "value": 0.21, "p_value": 0.002, "n": 35,
         "n_previous": 200, "shifted": True,
         "by_period": [{"period": "2026-11-02", "out_of_corpus_rate": 0.12, "mmd2": None, "p_value": None, "n": 120},
                       {"period": "2026-11-16", "out_of_corpus_rate": 0.1, "mmd2": 0.004, "p_value": 0.48, "n": 200},
                       {"period": "2026-11-23", "out_of_corpus_rate": 0.4, "mmd2": 0.21, "p_value": 0.002,
                        "n": 35}]}


def test_drift_bars_are_the_out_of_corpus_share_and_shifts_are_starred():
    figure = charts.drift_chart(DRIFT)
    (bars,), (mmd, shift) = traces(figure, "bar"), traces(figure, "scatter")
    assert list(bars.x) == list(pd.to_datetime(["2026-11-02", "2026-11-16", "2026-11-23"]))
    assert list(bars.y) == [0.12, 0.1, 0.4]
    assert list(mmd.y) == [None, 0.004, 0.21] and mmd.yaxis == shift.yaxis == "y2"  # the lower panel
    assert list(shift.x) == [pd.Timestamp("2026-11-23")] and list(shift.y) == [0.21]  # only p < 0.01
    assert shift.name == "shift (p < 0.01)"
    unshifted = charts.drift_chart({**DRIFT, "by_period": DRIFT["by_period"][:2]})
    assert [trace.name for trace in unshifted.data] == ["out of corpus", "MMD² vs previous period"]


def test_monthly_drift_periods_are_placed_at_the_month_start():
    figure = charts.drift_chart({**DRIFT, "by_period": [{"period": "2026-10", "out_of_corpus_rate": 0.2,
                                                         "mmd2": None, "p_value": None, "n": 9}]})
    assert list(figure.data[0].x) == [pd.Timestamp("2026-10-01")]
    assert list(figure.layout.xaxis.ticktext) == ["Oct<br>2026"]


GAPS = [{"label": "weather · australia · capital", "count": 14, "distinct": 5, "abstained": 12, "thumbs_down": 2,
         "example_queries": ["what is the capital of australia", "weather in sydney"]},
        {"label": "payroll · salary", "count": 6, "distinct": 2, "abstained": 6, "thumbs_down": 0,
         "example_queries": ["when is payroll"]}]


def test_gap_themes_are_bars_biggest_on_top():
    figure = charts.gaps_chart(GAPS)
    (bars,) = figure.data
    assert bars.orientation == "h" and list(bars.y) == ["weather · australia · capital", "payroll · salary"]
    assert list(bars.x) == [14, 6] and figure.layout.yaxis.autorange == "reversed"
    assert list(bars.text) == ["14 (5 distinct)", "6 (2 distinct)"]
    assert "12 abstained, 2 voted down" in bars.hovertext[0] and "· weather in sydney" in bars.hovertext[0]
    assert len(charts.gaps_chart(GAPS * 10, max_themes=3).data[0].y) == 3
    # users' questions are text, not plotly's HTML
    hostile = {**GAPS[1], "label": "<b>x</b>", "example_queries": ['<a href="http://evil.example">win</a>']}
    (bars,) = charts.gaps_chart([hostile]).data
    assert list(bars.y) == ["&lt;b&gt;x&lt;/b&gt;"] and "<a" not in bars.hovertext[0] and "&lt;a" in bars.hovertext[0]


@pytest.mark.parametrize(("draw", "part"), [(charts.traffic_chart, []), (charts.latency_chart, []),
                                            (charts.settings_chart, []), (charts.gaps_chart, []),
                                            (charts.drift_chart, {"by_period": []})])
def test_nothing_logged_draws_a_note_not_an_error(draw, part):
    figure = draw(part)
    assert not figure.data and figure.layout.annotations[0].text.startswith("No ")


def test_tables_flatten_the_report_for_csv():
    periods = charts.period_table(BY_PERIOD)
    assert periods["queries"].tolist() == [120, 0, 200, 35]
    assert periods["partial"].tolist() == [False, False, False, True]
    assert periods["latency_p95_ms"].tolist()[2] == 2600.0 and pd.isna(periods["latency_p95_ms"][1])
    assert periods["abstain_rate"].tolist()[0] == 0.25
    versions = charts.settings_table(BY_SETTINGS)
    assert versions["settings_hash"].tolist() == ["bbbbbbbbbb", "cccccccccc", "aaaaaaaaaa"]  # newest first, kept
    assert versions["weights"].tolist() == ["0.5 / 0.3 / 0.2"] * 3 and versions["fusion"].tolist() == ["wsum"] * 3
    assert versions["helpful_low"][0] == pytest.approx(wilson_ci(31, 40)[0]) and pd.isna(versions["helpful_rate"][1])
    assert versions["abstain_high"][2] == pytest.approx(wilson_ci(30, 120)[1])
    gaps = charts.gaps_table(GAPS)
    assert gaps["count"].tolist() == [14, 6]
    assert gaps["example_queries"][0] == "what is the capital of australia | weather in sydney"
    assert list(charts.gaps_table([]).columns) == ["label", "count", "distinct", "abstained", "thumbs_down",
                                                   "example_queries"]


def test_period_ticks_name_the_year_where_it_changes():
    weeks = [period(start, 5, 1, 30.0, 60.0, 90.0) for start in ("2026-12-21", "2026-12-28", "2027-01-04")]
    assert list(charts.latency_chart(weeks).layout.xaxis.ticktext) == ["Dec 21<br>2026", "Dec 28", "Jan 04<br>2027"]
    days = [period(f"2026-11-{day:02d}", 5, 1, 30.0, 60.0, 90.0) for day in range(1, 31)]
    assert charts.latency_chart(days).layout.xaxis.ticktext is None  # too many to label each: plotly's own ticks
