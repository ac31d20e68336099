"""Incident patterns on one pandas frame: volume over time, time to resolve, top entities.

Everything starts from :func:`incidents_frame`, one row per incident with UTC timestamps; every other function takes
that frame (or a slice of it) and returns a small frame or dict. Spikes are in :mod:`sherlock.analytics.spikes`;
recurring themes
and repeat incidents, which need the incident text, in :mod:`sherlock.analytics.themes`; ``sherlock patterns`` puts them
together (:mod:`sherlock.analytics.patterns`).

Time zones: an aware datetime is converted to UTC, a naive datetime is taken to be UTC already, and a bare date is
midnight UTC. Periods are UTC calendar days, weeks starting on Monday (labelled by that Monday, ``2020-06-08``) and
calendar months (``2020-06``).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from sherlock.analytics.units import FREQS
from sherlock.schema import Incident, severity_key

#: What each metric means, shown next to it by the CLI, the page and the notebook.
DEFINITIONS = {
    "volume": "Incidents created per period: UTC calendar day (D), week starting Monday (W) or calendar month (M). "
              "Aware timestamps are converted to UTC, naive ones are taken as UTC, bare dates are midnight UTC.",
    "mttr": "Time to resolve = resolved_at − created_at, over resolved incidents only (a resolution before "
            "creation is a data error and is left out too). Median, 90th percentile (linear interpolation) and mean; "
            "shown in minutes, hours or days (45 min, 6.2 h, 2.4 d), kept in minutes in CSV and JSON; n = how many "
            "resolved incidents they are computed on.",
    "unresolved": "Incidents without resolved_at (open, monitoring …): left out of MTTR and counted here.",
    "change": "current − previous: a chosen date range against the same number of days just before it; with no "
              "range (sherlock patterns without --since), the latest complete period against the one before. A "
              "last period the data end inside (a week with 3 of its 7 days) is left out of the comparison, so a "
              "part of a period is never compared with a whole one. Rates change in percentage points (pts).",
    "repeat_rate": "Share of incidents with a near-duplicate created earlier within the repeat window (30 days): "
                   "TF-IDF cosine similarity of title, root cause and resolution ≥ 0.6, compared within a theme.",
    "theme": "A recurring root cause: incidents clustered by title, root cause and resolution (TF-IDF, average-"
             "linkage agglomerative clustering of a sample, the rest assigned to the nearest theme), labelled by "
             "its top terms.",
    "recurrence": "For a theme: in how many distinct weeks it occurred, the median days between its incidents and "
                  "the days since its last one (as of the newest incident in view).",
    "spike": "A week whose count for a group exceeds its robust baseline — the median of the previous 8 weeks — by "
             "at least 3.5 spreads (spread = 1.4826 × MAD of those weeks, at least √baseline) and at least 4 "
             "incidents, with at least 6 incidents that week.",
    "excluded": "Incidents left out of every metric: statuses such as duplicate/cancelled and tags such as "
                "game-day/test (planned drills and tests are not incidents).",
}

#: Statuses and tags whose incidents are left out (compared case-insensitively).
EXCLUDED_STATUSES = ("duplicate", "cancelled", "canceled", "false-positive", "test")
EXCLUDED_TAGS = ("game-day", "gameday", "drill", "test", "load-test")

#: ``freq`` → what one period is.
#: Columns that ``by=`` may name.
GROUPS = ("service", "severity", "category", "status", "family", "theme_label")
#: ``extra`` fields that name an entity (the frame keeps them as columns of the same name).
ENTITY_FIELDS = ("gateway", "bank", "merchant", "error_code")
NONE = "(none)"

_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


# -- the frame ----------------------------------------------------------------------------------------------------

def incidents_frame(incidents: Iterable[Incident]) -> pd.DataFrame:
    """One row per incident: ``id, title, text, service, severity, category, status, family, tags`` (lower-cased
    tuple), the entity fields of ``extra``, ``created, resolved`` (``datetime64[us, UTC]``; see the module docstring
    for time zones) and ``minutes_to_resolve`` (NaN when unresolved or resolved before created).

    Missing labels are ``"(none)"``. ``text`` is what an incident was about and how it ended — root cause (the
    description when there is none), resolution and tags — the text themes and repeats compare (with the title)."""
    incidents = list(incidents)
    extras = [incident.extra for incident in incidents]
    labels: dict[str, list[Any]] = {"id": [i.id for i in incidents], "title": [i.title for i in incidents],
              "text": [f"{i.root_cause or i.description}\n{i.resolution}\n{' '.join(i.tags)}" for i in incidents],
              "service": [i.service or NONE for i in incidents], "severity": [i.severity or NONE for i in incidents],
              "category": [i.category or NONE for i in incidents], "status": [i.status or NONE for i in incidents],
              "family": [str(extra.get("family") or NONE) for extra in extras]}
    labels["tags"] = [tuple([tag.lower() for tag in i.tags]) for i in incidents]
    labels.update({name: [_name(extra.get(name)) for extra in extras] for name in ENTITY_FIELDS})
    frame = pd.DataFrame({name: pd.Series(values, dtype=object) for name, values in labels.items()})
    for name in ("created", "resolved"):
        micros = [_microseconds(getattr(incident, f"{name}_at")) for incident in incidents]
        frame[name] = pd.to_datetime(pd.array(micros, dtype="Int64"), unit="us", utc=True)
    minutes = (frame["resolved"] - frame["created"]).dt.total_seconds() / 60
    frame["minutes_to_resolve"] = minutes.where(minutes >= 0)
    return frame


def _name(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _microseconds(when: date | datetime | None) -> int | None:
    """Microseconds since the epoch, in UTC (naive = UTC, a date = midnight UTC)."""
    if when is None:
        return None
    if not isinstance(when, datetime):
        return (when.toordinal() - _EPOCH_ORDINAL) * 86_400_000_000
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return round(when.timestamp() * 1_000_000)


def exclude(frame: pd.DataFrame, statuses: Sequence[str] = EXCLUDED_STATUSES,
            tags: Sequence[str] = EXCLUDED_TAGS) -> tuple[pd.DataFrame, dict[str, int]]:
    """The rows to analyse, and how many were left out by each rule (``status:duplicate``, ``tag:game-day``).

    Incidents without a creation time are left out too (``no created_at``): they belong to no period."""
    wanted = {t.lower() for t in tags}
    hits = [next((f"tag:{tag}" for tag in row if tag in wanted), None) for row in frame["tags"]]  # lower-cased tags
    reason = pd.Series(hits, index=frame.index, dtype="object")
    status = frame["status"].str.lower()
    by_status = status.isin({s.lower() for s in statuses})
    reason[by_status] = "status:" + status[by_status]
    reason[frame["created"].isna()] = "no created_at"
    counts = {str(k): int(v) for k, v in reason.value_counts().sort_index().items()}
    return frame[reason.isna()], counts


def between(frame: pd.DataFrame, start: date | None = None, end: date | None = None) -> pd.DataFrame:
    """Rows created on ``start`` .. ``end`` (inclusive UTC calendar days; either may be open)."""
    keep = pd.Series(True, index=frame.index)
    if start is not None:
        keep &= frame["created"] >= pd.Timestamp(start, tz=UTC)
    if end is not None:
        keep &= frame["created"] < pd.Timestamp(end + timedelta(days=1), tz=UTC)
    return frame[keep]


def _check_by(frame: pd.DataFrame, by: str | None) -> None:
    if by is not None and (by not in GROUPS or by not in frame.columns):
        valid = ", ".join(g for g in GROUPS if g in frame.columns)
        raise ValueError(f"cannot group by {by!r}; use one of {valid}")


def group_order(labels: pd.Series, by: str, weights: pd.Series | None = None) -> list[str]:
    """The order every table and chart of the patterns page lists groups in: severities in their own order (SEV1,
    SEV2 …, then critical, high, medium, low — :func:`sherlock.schema.severity_key`), any other grouping largest
    first (rows of ``labels``, or the sum of ``weights`` per label), ties by name; ``(none)`` — incidents without
    the field — always last."""
    names = [str(name) for name in pd.unique(labels.dropna())]
    if by == "severity":
        return sorted(names, key=severity_key)
    sizes = (labels.value_counts() if weights is None else weights.groupby(labels.to_numpy()).sum()).to_dict()
    return sorted(names, key=lambda name: (name == NONE, -sizes.get(name, 0), name))


# -- periods and volume -------------------------------------------------------------------------------------------

def period_start(created: pd.Series, freq: str = "M") -> np.ndarray:
    """The start of each timestamp's UTC period (``datetime64[D]``): the day, the week's Monday or the month's 1st."""
    if freq not in FREQS:
        raise ValueError(f"unknown frequency {freq!r}; use one of {', '.join(FREQS)} ({', '.join(FREQS.values())})")
    days = created.dt.tz_convert(None).to_numpy().astype("datetime64[D]")
    if freq == "W":  # 1970-01-01 was a Thursday: (days + 3) % 7 is the weekday, Monday = 0
        return days - ((days.astype(np.int64) + 3) % 7).astype("timedelta64[D]")
    if freq == "M":
        return days.astype("datetime64[M]").astype("datetime64[D]")
    return days


def period_label(starts: np.ndarray | pd.Series, freq: str = "M") -> np.ndarray:
    """ISO labels: ``2020-06`` for a month, ``2020-06-08`` for a day or a week (its Monday)."""
    values = np.asarray(starts, dtype="datetime64[D]")
    return np.datetime_as_string(values.astype("datetime64[M]") if freq == "M" else values)


def _all_periods(starts: np.ndarray, freq: str) -> np.ndarray:
    first, last = starts.min(), starts.max()
    if freq == "M":
        return np.arange(first.astype("datetime64[M]"), last.astype("datetime64[M]") + 1).astype("datetime64[D]")
    return np.arange(first, last + 1, 7 if freq == "W" else 1)


def volume(frame: pd.DataFrame, freq: str = "M", by: str | None = None) -> pd.DataFrame:
    """Incidents per period (``period`` label, ``start`` date, ``count``), every period from the first to the last
    one present (empty ones as 0); with ``by``, one row per period and group."""
    _check_by(frame, by)
    columns = ["period", "start", *([by] if by else []), "count"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    starts = period_start(frame["created"], freq)
    periods = pd.DatetimeIndex(_all_periods(starts, freq), name="start")
    if by is None:
        counts = pd.Series(starts).value_counts().reindex(periods, fill_value=0).rename("count").reset_index()
    else:
        table = pd.crosstab(pd.DatetimeIndex(starts, name="start"), frame[by].to_numpy()).reindex(periods,
                                                                                                  fill_value=0)
        counts = table.rename_axis(columns=by).stack().rename("count").reset_index()
    counts.insert(0, "period", period_label(counts["start"], freq))
    counts["count"] = counts["count"].astype(int)
    return counts[columns]


# -- time to resolve ----------------------------------------------------------------------------------------------

def mttr_summary(frame: pd.DataFrame) -> dict[str, Any]:
    """``{incidents, resolved, unresolved, median, p90, mean}`` in minutes (None when nothing is resolved)."""
    minutes = frame["minutes_to_resolve"].dropna()
    stats = {"median": minutes.median(), "p90": minutes.quantile(0.9), "mean": minutes.mean()}
    return {"incidents": len(frame), "resolved": len(minutes), "unresolved": int(frame["resolved"].isna().sum()),
            **{k: None if pd.isna(v) else round(float(v), 1) for k, v in stats.items()}}


def mttr(frame: pd.DataFrame, by: str) -> pd.DataFrame:
    """Per group: ``incidents, resolved, unresolved, median, p90, mean`` (minutes), in :func:`group_order` (largest
    group first; severities SEV1, SEV2 …)."""
    _check_by(frame, by)
    groups = frame.groupby(by, sort=False, observed=True)
    minutes = groups["minutes_to_resolve"]
    table = pd.DataFrame({"incidents": groups.size(), "resolved": minutes.count(),
                          "unresolved": frame["resolved"].isna().groupby(frame[by], sort=False).sum(),
                          "median": minutes.median(), "p90": minutes.quantile(0.9), "mean": minutes.mean()})
    table[["median", "p90", "mean"]] = table[["median", "p90", "mean"]].round(1)
    table.index = table.index.map(str)
    return table.reindex(group_order(frame[by].astype(str), by)).rename_axis(by).reset_index()


def previous_window(start: date, end: date) -> tuple[date, date]:
    """The window of the same length just before ``start .. end`` (inclusive days)."""
    length = (end - start).days + 1
    return start - timedelta(days=length), start - timedelta(days=1)


def window_metrics(frame: pd.DataFrame) -> dict[str, float | int | None]:
    """The KPI tiles of one window: count, MTTR median/p90/mean, resolved (their n), unresolved, and repeat rate
    (when the frame has ``repeat_of``, see :func:`sherlock.analytics.themes.mark_repeats`; its n is the count)."""
    summary = mttr_summary(frame)
    out: dict[str, float | int | None] = {"count": len(frame), "mttr_median": summary["median"],
                                          "mttr_p90": summary["p90"], "mttr_mean": summary["mean"],
                                          "resolved": summary["resolved"], "unresolved": summary["unresolved"]}
    if "repeat_of" in frame.columns:
        out["repeat_rate"] = round(float(frame["repeat_of"].notna().mean()), 4) if len(frame) else None
    return out


def compare_windows(frame: pd.DataFrame, start: date, end: date,
                    previous: tuple[date, date] | None = None) -> dict[str, dict[str, Any]]:
    """``{metric: {current, previous, change}}`` for ``start .. end`` against ``previous`` (default: the window of
    the same length just before it); ``change`` is None when either side has no value. A previous window that ends
    before the first incident has no values (nothing was recorded yet, which is not the same as a quiet period)."""
    window = previous or previous_window(start, end)
    current = window_metrics(between(frame, start, end))
    recorded = len(frame) > 0 and frame["created"].min() < pd.Timestamp(window[1] + timedelta(days=1), tz=UTC)
    earlier = window_metrics(between(frame, *window)) if recorded else dict.fromkeys(current)
    out = {}
    for name, value in current.items():
        before = earlier[name]
        change = None if value is None or before is None else round(value - before, 4)
        out[name] = {"current": value, "previous": before, "change": change}
    return out


def comparison_windows(frame: pd.DataFrame, freq: str = "M", since: date | None = None,
                       until: date | None = None) -> tuple[tuple[date, date], tuple[date, date]] | None:
    """The (current, previous) windows the "change" figures compare: ``since .. until`` against the same number of
    days before it when ``since`` is given; else the latest complete ``freq`` period against the one before (None when
    the frame is empty).

    The data end on ``until`` (default: the day of the newest incident). When that day is not the last of its period
    (see :func:`partial_period`) the period is left out and the one before it is "current": a 3-day week is never
    compared with a 7-day one, and the tiles show the same complete period as the last full bar of the volume chart.
    Only when the data start inside that last period too is the partial period compared (with nothing before it)."""
    if frame.empty:
        return None
    last = until or frame["created"].max().date()
    if since is not None:
        return (since, last), previous_window(since, last)
    partial = partial_period(frame, freq, last)
    if partial is not None and partial[0] > frame["created"].min().date():
        last = partial[0] - timedelta(days=1)
    start = period_bounds(last, freq)[0]
    return (start, last), period_bounds(start - timedelta(days=1), freq)


def period_bounds(day: date, freq: str) -> tuple[date, date]:
    """The first and last day of the ``freq`` period holding ``day``."""
    if freq == "M":
        return day.replace(day=1), day.replace(day=calendar.monthrange(day.year, day.month)[1])
    first = day - timedelta(days=day.weekday()) if freq == "W" else day
    return first, first + timedelta(days=6 if freq == "W" else 0)


def partial_period(frame: pd.DataFrame, freq: str = "M", until: date | None = None) -> tuple[date, date] | None:
    """The last ``freq`` period when the data end inside it: ``(its first day, the last day with data)`` — the day
    of the newest incident, or ``until`` — else None (the period is complete, or the frame is empty)."""
    if frame.empty:
        return None
    last = until or frame["created"].max().date()
    first, end = period_bounds(last, freq)
    return (first, last) if last < end else None


def mttr_change(frame: pd.DataFrame, start: date, end: date, by: str,
                previous: tuple[date, date] | None = None) -> pd.DataFrame:
    """:func:`mttr` per group for ``start .. end``, with ``previous_resolved`` (the previous window's n) and
    ``previous_*`` and ``change_*`` columns for the median, p90 and mean against ``previous`` (default: the window
    of the same length just before)."""
    current = mttr(between(frame, start, end), by)
    before = mttr(between(frame, *(previous or previous_window(start, end))), by)
    names = ("resolved", "median", "p90", "mean")
    table = current.merge(before[[by, *names]], on=by, how="left", suffixes=("", "_previous"))
    for name in names[1:]:
        table[f"change_{name}"] = (table[name] - table[f"{name}_previous"]).round(1)
    table["resolved_previous"] = table["resolved_previous"].astype("Int64")  # missing for a group new in the window
    return table.rename(columns={f"{n}_previous": f"previous_{n}" for n in names})


# -- entities -----------------------------------------------------------------------------------------------------

def entity_spellings(frame: pd.DataFrame) -> dict[str, str]:
    """How the incidents write each entity: the entity index's normalised name (``refunds_api``) → the spelling of
    the ``service`` column or an ``extra`` entity field (``refunds-api``)."""
    from sherlock.search.entities import normalize_name
    spellings: dict[str, str] = {}
    for column in ("service", *ENTITY_FIELDS):
        if column in frame.columns:
            for value in pd.unique(frame[column].dropna()):
                if value != NONE:
                    spellings.setdefault(normalize_name(str(value)), str(value))
    return spellings


def entity_mentions(frame: pd.DataFrame, entity_index: Any = None) -> pd.DataFrame:
    """``row, kind, entity`` for each entity an incident names (``row`` is its position in ``frame``): from a fitted
    :class:`sherlock.search.entities.EntityIndex` (dictionary + mined names) when given, else the ``extra`` entity
    fields. The index's normalised names are shown as the incidents write them (:func:`entity_spellings`), else
    with hyphens like service names (``idfc_first`` → ``idfc-first``)."""
    columns = ["row", "kind", "entity"]
    if entity_index is not None:
        found, spellings = entity_index.doc_entities_, entity_spellings(frame)
        mentions = [(row, entity_index.kind(name) or "other", spellings.get(name, name.replace("_", "-")))
                    for row, doc_id in enumerate(frame["id"]) for name in found.get(doc_id, ())]
        return pd.DataFrame(mentions, columns=columns)
    parts = []
    for name in ENTITY_FIELDS:
        if name in frame.columns:
            values = frame[name].to_numpy()
            rows = np.flatnonzero(pd.notna(values))
            parts.append(pd.DataFrame({"row": rows, "kind": name, "entity": values[rows]}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)


def top_entities(frame: pd.DataFrame, freq: str = "M", k: int = 10, entity_index: Any = None,
                 kinds: Sequence[str] | None = None) -> pd.DataFrame:
    """The ``k`` most mentioned entities (optionally of some ``kinds``) and their incidents per period:
    ``period, start, kind, entity, count`` (periods where an entity is not mentioned are left out)."""
    mentions = entity_mentions(frame, entity_index)
    if kinds:
        mentions = mentions[mentions["kind"].isin(kinds)]
    columns = ["period", "start", "kind", "entity", "count"]
    if mentions.empty:
        return pd.DataFrame(columns=columns)
    totals = mentions.groupby(["kind", "entity"]).size().rename("total").reset_index()
    top = totals.sort_values(["total", "entity", "kind"], ascending=[False, True, True]).head(k)
    mentions = mentions.merge(top[["kind", "entity"]], on=["kind", "entity"])
    mentions["start"] = period_start(frame["created"], freq)[mentions["row"].to_numpy()]
    table = mentions.groupby(["start", "kind", "entity"]).size().rename("count").reset_index()
    table.insert(0, "period", period_label(table["start"], freq))
    return table.sort_values(["start", "count", "entity"], ascending=[True, False, True], ignore_index=True)[columns]
