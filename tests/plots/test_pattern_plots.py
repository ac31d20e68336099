"""The incident-pattern figures (sherlock.plots.patterns) on small frames worked by hand: what each trace is, where
it sits and what it says — the checks that would have caught the bugs of issue #11 (every box at x = 0, colours
reused past the tenth group, an unreadable tangle of entity lines, durations in raw minutes)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np

from sherlock.analytics import frame as analytics
from sherlock.plots import patterns as charts
from sherlock.schema import Incident


def incident(number: int, minutes: float | None = None, day: date = date(2024, 1, 1), **fields) -> Incident:
    created = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=number % 24)
    resolved = None if minutes is None else created + timedelta(minutes=minutes)
    return Incident(id=f"T-{number}", title=f"incident {number}", created_at=created, resolved_at=resolved, **fields)


def boxes(figure):
    return [trace for trace in figure.data if trace.type == "box"]


def test_each_group_gets_its_own_labelled_box_largest_first():
    # api: 10, 20, 30 min; db: 1 h, 2 h and one unresolved; web: 3 days
    frame = analytics.incidents_frame([
        incident(1, 10, service="api"), incident(2, 20, service="api"), incident(3, 30, service="api"),
        incident(4, 60, service="db"), incident(5, 120, service="db"), incident(6, None, service="db"),
        incident(7, 3 * 1440, service="web")])
    figure = charts.mttr_box(frame, "service")
    assert [box.x for box in boxes(figure)] == [("api",), ("db",), ("web",)]  # each at its own place, not x = 0
    assert [box.median[0] for box in boxes(figure)] == [20, 90, 3 * 1440]
    assert list(figure.layout.xaxis.categoryarray) == ["api", "db", "web"]
    assert list(figure.layout.xaxis.ticktext) == ["api<br>n = 3", "db<br>n = 2", "web<br>n = 1"]  # n = resolved
    hover = next(trace for trace in figure.data if trace.type == "scatter").hovertext
    assert hover[0].startswith("api · n = 3 resolved<br>median 20 min") and "median 1.5 h" in hover[1]
    assert "median 3 d" in hover[2]
    ticks = dict(zip(figure.layout.yaxis.tickvals, figure.layout.yaxis.ticktext, strict=True))
    assert ticks[60] == "1 h" and ticks[1440] == "1 d" and ticks[15] == "15 min"  # human units on the log axis


def test_severity_boxes_keep_severity_order_and_colours():
    severities = ["SEV3"] * 5 + ["SEV2"] * 3 + ["SEV1"]  # SEV3 is the largest group, yet comes after SEV1 and SEV2
    frame = analytics.incidents_frame([incident(i, 30 * (i + 1), severity=s) for i, s in enumerate(severities)])
    figure = charts.mttr_box(frame, "severity")
    assert [box.x[0] for box in boxes(figure)] == ["SEV1", "SEV2", "SEV3"]
    assert [box.marker.color for box in boxes(figure)] == [charts.SEVERITY_COLOURS[s] for s in ("SEV1", "SEV2",
                                                                                              "SEV3")]


def test_box_groups_past_the_limit_are_pooled_as_other():
    # twelve services of 12, 11, … 1 resolved incidents: the two smallest (2 and 1) are pooled
    frame = analytics.incidents_frame([incident(100 * s + k, 10 + k, service=f"svc-{s:02d}")
                                       for s in range(12) for k in range(12 - s)])
    figure = charts.mttr_box(frame, "service", max_groups=10)
    assert [box.x[0] for box in boxes(figure)] == [f"svc-{s:02d}" for s in range(10)] + ["other (2 groups)"]
    assert figure.layout.xaxis.ticktext[-1] == "other (2 groups)<br>n = 3"


def test_no_resolved_incident_draws_a_note_not_an_error():
    figure = charts.mttr_box(analytics.incidents_frame([incident(1, None, service="api")]), "service")
    assert not figure.data and figure.layout.annotations[0].text == "No resolved incidents in this selection"


def test_volume_colours_are_never_shared_and_the_tail_is_other():
    """17 services on a 10-colour palette reused colours: the ten largest get their own, the rest one grey."""
    frame = analytics.incidents_frame([incident(100 * s + k, day=date(2024, 1 + k % 3, 1), service=f"svc-{s:02d}")
                                       for s in range(17) for k in range(17 - s)])
    counts = analytics.volume(frame, "M", "service")
    bars = [trace for trace in charts.volume_chart(counts, "service").data if trace.type == "bar"]
    assert [bar.name for bar in bars] == [f"svc-{s:02d}" for s in range(10)] + ["other (7 groups)"]
    colours = [bar.marker.color for bar in bars]
    assert len(set(colours)) == len(bars) and colours[-1] == charts.OTHER_COLOUR
    assert sum(sum(bar.y) for bar in bars) == len(frame)  # pooling keeps every incident
    # "other" = services 10 … 16, with 7 … 1 incidents, the k-th of each in month 1 + k % 3: per month n = 7 gives
    # 3, 2, 2; 6: 2, 2, 2; 5: 2, 2, 1; 4: 2, 1, 1; 3: 1, 1, 1; 2: 1, 1, 0; 1: 1, 0, 0
    assert list(bars[-1].y) == [12, 9, 7]


def test_volume_chart_marks_a_partial_last_period():
    frame = analytics.incidents_frame([incident(1, day=date(2024, 1, 10)), incident(2, day=date(2024, 2, 7))])
    counts = analytics.volume(frame, "M")
    figure = charts.volume_chart(counts, partial=analytics.partial_period(frame, "M"))
    (note,) = figure.layout.annotations
    assert note.text == "partial" and note.x == np.datetime64("2024-02-01") and "2024-02-07" in note.hovertext
    assert not charts.volume_chart(counts).layout.annotations


def test_entities_are_a_ranked_heatmap_with_every_period():
    frame = analytics.incidents_frame([
        incident(1, day=date(2024, 1, 2), extra={"bank": "hdfc", "gateway": "razorpay"}),
        incident(2, day=date(2024, 1, 3), extra={"bank": "hdfc"}), incident(3, day=date(2024, 3, 3),
                                                                             extra={"bank": "hdfc"}),
        incident(4, day=date(2024, 3, 4), extra={"bank": "axis", "error_code": "U30"}),
        incident(5, day=date(2024, 3, 5), extra={"bank": "axis"})])
    figure = charts.entities_chart(analytics.top_entities(frame, "M"), "M")
    (heat,) = figure.data
    assert heat.type == "heatmap"
    assert list(heat.y) == ["hdfc (bank) · 3", "axis (bank) · 2", "U30 (error code) · 1", "razorpay (gateway) · 1"]
    assert [str(x)[:7] for x in heat.x] == ["2024-01", "2024-02", "2024-03"]  # February: no mention, still a column
    assert np.asarray(heat.z).tolist() == [[2, 0, 1], [0, 0, 2], [0, 0, 1], [1, 0, 0]]
    assert figure.layout.yaxis.autorange == "reversed"  # the most named on top
    empty = charts.entities_chart(analytics.top_entities(frame.iloc[:0], "M"))
    assert not empty.data and "No entity" in empty.layout.annotations[0].text


def test_theme_hover_reads_time_to_resolve_in_human_units():
    from sherlock.analytics.themes import assign_themes, theme_summary
    frame = analytics.incidents_frame([Incident(id=f"T-{i}", title="Disk full on db-1", description="logs filled /var",
                                                created_at=datetime(2024, 1, 1 + i, tzinfo=UTC),
                                                resolved_at=datetime(2024, 1, 1 + i, 6, 12, tzinfo=UTC))
                                       for i in range(3)])
    figure = charts.themes_chart(theme_summary(assign_themes(frame)))
    assert "6.2 h" in np.asarray(figure.data[0].customdata).ravel().tolist()  # 372 minutes
