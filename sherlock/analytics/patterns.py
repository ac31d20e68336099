"""``sherlock patterns``: volume, time to resolve, themes, spikes and repeats in one JSON-ready report.

The report is a stable contract (see the README); the analytics it is built from are in :mod:`sherlock.analytics.frame`,
:mod:`sherlock.analytics.spikes` and :mod:`sherlock.analytics.themes`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from sherlock.analytics.frame import (
    DEFINITIONS,
    EXCLUDED_STATUSES,
    EXCLUDED_TAGS,
    between,
    compare_windows,
    comparison_windows,
    exclude,
    incidents_frame,
    mttr,
    mttr_summary,
    partial_period,
    period_bounds,
    top_entities,
    volume,
)
from sherlock.analytics.spikes import find_spikes
from sherlock.analytics.themes import assign_themes, mark_repeats, repeat_rate, theme_summary, vectorize
from sherlock.schema import Incident


def analysed_frame(incidents: Iterable[Incident] | pd.DataFrame, statuses: Sequence[str] = EXCLUDED_STATUSES,
                   tags: Sequence[str] = EXCLUDED_TAGS, repeat_window_days: float = 30,
                   repeat_threshold: float = 0.6) -> tuple[pd.DataFrame, dict[str, int]]:
    """The frame every view starts from: exclusions applied, then ``theme``/``theme_label`` and
    ``repeat_of``/``repeat_similarity`` added over the whole history (so a repeat can point before any date filter).
    Returns it with the exclusion counts."""
    frame = incidents if isinstance(incidents, pd.DataFrame) else incidents_frame(incidents)
    kept, excluded = exclude(frame, statuses, tags)
    kept = kept.reset_index(drop=True)
    vectors = vectorize(kept)
    kept = assign_themes(kept, vectors)
    kept = mark_repeats(kept, vectors, window_days=repeat_window_days, threshold=repeat_threshold)
    return kept, excluded


def patterns_report(incidents: Iterable[Incident] | pd.DataFrame, freq: str = "M", by: str = "service",
                    since: date | None = None, until: date | None = None,
                    statuses: Sequence[str] = EXCLUDED_STATUSES, tags: Sequence[str] = EXCLUDED_TAGS,
                    repeat_window_days: float = 30, repeat_threshold: float = 0.6, top_k: int = 10) -> dict[str, Any]:
    """What ``sherlock patterns --json`` prints. Every number is computed on the incidents created ``since`` ..
    ``until`` (open ends allowed) after exclusions; spikes, themes and repeats still look at the earlier history.

    ``change`` compares the windows of :func:`~sherlock.analytics.frame.comparison_windows`; its ``partial`` is the
    last period the data end inside — left out of that comparison — with its ``days`` so far of ``period_days``
    (None when the last period is complete or a ``since`` range is compared). Its metrics include ``resolved``, the
    n of the MTTR figures; the n of ``repeat_rate`` is ``count``."""
    kept, excluded = analysed_frame(incidents, statuses, tags, repeat_window_days, repeat_threshold)
    window = between(kept, since, until)
    windows = comparison_windows(kept, freq, since, until)
    change: dict[str, Any] = {"current": None, "previous": None, "metrics": {}, "partial": None}
    by_group = []
    if windows:
        (start, end), previous = windows
        partial = partial_period(kept, freq, until) if since is None else None
        change = {"current": {"from": start.isoformat(), "to": end.isoformat()},
                  "previous": {"from": previous[0].isoformat(), "to": previous[1].isoformat()},
                  "metrics": compare_windows(kept, start, end, previous),
                  "partial": None if partial is None or partial[1] == end else _partial(partial, freq)}
        by_group = _by_group(kept, window, windows, by)
    found = find_spikes(kept, by=by, freq="W")
    if since is not None:
        found = found[found["start"] >= np.datetime64(since)]
    if until is not None:
        found = found[found["start"] <= np.datetime64(until)]
    themes = theme_summary(window)
    themes = themes[(themes["theme"] >= 0) & (themes["size"] >= 2)]
    entities = top_entities(window, freq, k=top_k)
    return {
        "from": _day(window["created"].min()), "to": _day(window["created"].max()), "freq": freq, "by": by,
        "incidents": len(window), "excluded": excluded,
        "volume": volume(window, freq)[["period", "count"]].to_dict("records"),
        "mttr_minutes": _plain(mttr_summary_of(window)),
        "change": _plain(change),
        "by_group": by_group,
        "themes": [_plain(row) for row in themes.to_dict("records")],
        "spikes": [_plain(row) for row in found.drop(columns=["start"]).to_dict("records")],
        "repeat_rate": repeat_rate(window),
        "repeats": {"count": int(window["repeat_of"].notna().sum()), "window_days": repeat_window_days,
                    "threshold": repeat_threshold},
        "top_entities": entities.groupby(["kind", "entity"], as_index=False)["count"].sum()
        .sort_values(["count", "entity"], ascending=[False, True]).to_dict("records"),
        "definitions": DEFINITIONS,
    }


def mttr_summary_of(frame: pd.DataFrame) -> dict[str, Any]:
    """``{median, p90, mean, resolved, unresolved}`` — the CLI's ``mttr_minutes``."""
    summary = mttr_summary(frame)
    return {key: summary[key] for key in ("median", "p90", "mean", "resolved", "unresolved")}


def _by_group(kept: pd.DataFrame, window: pd.DataFrame, windows: tuple, by: str) -> list[dict]:
    """Per group: counts and MTTR over the report window, and ``change`` between the comparison windows."""
    (start, end), previous = windows
    rows = []
    for row in mttr(window, by).to_dict("records"):
        metrics = compare_windows(kept[kept[by] == row[by]], start, end, previous)
        rows.append(_plain({"group": row[by], "count": row["incidents"], "resolved": row["resolved"],
                            "unresolved": row["unresolved"], "mttr_median": row["median"], "mttr_p90": row["p90"],
                            "mttr_mean": row["mean"],
                            "change": {k: metrics[k]["change"] for k in ("count", "mttr_median", "mttr_p90",
                                                                         "mttr_mean")}}))
    return rows


def _partial(partial: tuple[date, date], freq: str) -> dict[str, Any]:
    """The period left out of the comparison: its days so far and in all."""
    first, last = partial
    days = (period_bounds(first, freq)[1] - first).days + 1
    return {"from": first.isoformat(), "to": last.isoformat(), "days": (last - first).days + 1, "period_days": days}


def _day(value: Any) -> str | None:
    return None if pd.isna(value) else value.date().isoformat()


def _plain(value: Any) -> Any:
    """JSON-ready: numpy scalars to Python, NaN to None, timestamps to ISO strings."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [v if type(v) is str else _plain(v) for v in value]  # incident ids: many, already plain
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    return value


