"""The monitoring report: what ``sherlock monitor --json`` prints and the Monitoring page draws.

    report = monitor_report(settings, since=date(2026, 9, 7), freq="W")
    report["abstain_rate"], report["by_period"][-1], report["gaps"][0]["label"], report["alerts"]

One pass of SQL over the query log reads three numbers per row (:mod:`sherlock.monitoring.aggregate`); votes are
joined to their queries (:mod:`sherlock.monitoring.votes`); gap themes (:mod:`sherlock.monitoring.gaps`), drift
(:mod:`sherlock.monitoring.drift`) and alerts (:mod:`sherlock.monitoring.alerts`) are their own modules. Neither the
workspace's indexes nor the embedder are opened: settings, the log and the feedback store are all it reads. Every
value is a plain JSON type; each metric is defined in :data:`DEFINITIONS`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import func, select

from sherlock.config import Settings
from sherlock.monitoring.aggregate import (
    Rows,
    by_name,
    interval,
    out_of_corpus,
    period_slices,
    rate,
    read_rows,
    traffic,
    version_rows,
)
from sherlock.monitoring.alerts import evaluate_alerts
from sherlock.monitoring.drift import MIN_VECTORS, PERMUTATIONS, SAMPLE_SIZE, SHIFT_P, drift_report
from sherlock.monitoring.events import CHANNELS, KINDS, hash_key
from sherlock.monitoring.gaps import gap_questions, gap_themes
from sherlock.monitoring.querylog import QueryLog
from sherlock.monitoring.votes import ID_TIME_SHIFT, Votes, helpful, read_votes
from sherlock.monitoring.window import Moment, Window, resolve_window
from sherlock.storage.db.stores import store_exists
from sherlock.storage.db.tables import queries

#: What each figure means, shown beside it by the CLI, the page and the notebook.
DEFINITIONS = {
    "queries": "Interactive searches, answers (ask) and similar-incident requests logged from the app, the CLI and "
               "the API in the window. Batch evaluation runs are not user traffic and are not logged.",
    "abstain_rate": "Share of queries where Sherlock said it had no good match instead of showing results (the "
                    "abstention rule: weak dense similarity and weak term coverage).",
    "latency_ms": "Time to answer in milliseconds, as the user waited: p50 (median), p95 and p99, exact percentiles "
                  "with linear interpolation between the two nearest queries.",
    "helpful": "Thumbs up ÷ thumbs up and down, over votes joined to a query of the window: by the query's log id, "
               "else by the same question (keyed hash) in the same session, the latest asked before the vote. "
               "ci95 is the Wilson score interval. unmatched_votes: votes cast in the window that reach no query.",
    "by_settings": "Each ranking settings version (a hash of the resolved weights, fusion, norm and thresholds) with "
                   "its queries, abstain rate (Wilson 95% interval) and helpful rate; first_seen and last_seen are "
                   "its first and last query in the window.",
    "partial": "A period the window (or today) cuts short: its counts are not comparable with a whole period's.",
    "out_of_corpus_rate": "Share of hybrid queries whose most similar incident has a dense (cosine) similarity below "
                          "the abstention similarity (abstain_min_dense): questions far from everything stored.",
    "mmd2": "Unbiased squared maximum mean discrepancy (Gretton et al. 2012) between the query embeddings of a "
            "period and of the period before: 0 when the questions come from the same distribution. Gaussian kernel "
            f"at the median distance. The latest period is tested on at most {SAMPLE_SIZE} sampled queries a side, "
            f"earlier ones on fewer (n), at least {MIN_VECTORS} a side.",
    "p_value": f"Permutation p-value of mmd2 ({PERMUTATIONS} relabellings): below {SHIFT_P:g} the topics of the "
               "questions shifted.",
    "gaps": "Questions that abstained or got a thumbs down, grouped into themes by their words (TF-IDF, "
            "agglomerative clustering): count = abstentions + thumbs-down votes, distinct = different questions. "
            "What the incident memory is missing.",
    "alerts": "Thresholds from settings on the latest period with queries: abstain rate above "
              "monitor_alert_abstain_rate, p95 latency above monitor_alert_p95_ms, a helpful-rate drop of more than "
              "monitor_alert_helpful_drop that is significant at 5%; each needs monitor_min_queries queries (votes).",
}


def open_log(settings: Settings) -> QueryLog | None:
    """The workspace's query log for reading, on the backend ``settings`` choose: the shared store of
    ``store_url``, else ``<home>/query_log.sqlite`` — or ``None`` when that file was never written (none is
    created)."""
    path = settings.query_log_path
    if not store_exists(settings, path):
        return None
    return QueryLog(path, hash_key(settings), keep_text=settings.query_log_text == "text",
                    retention_days=settings.query_log_retention_days, settings=settings)


def monitor_report(settings: Settings, since: Moment = None, until: Moment = None, freq: str = "W",
                   log: QueryLog | None = None, feedback: Any = None, now: Moment = None) -> dict[str, Any]:
    """The report over ``[since, until]`` in ``freq`` periods (``D``, ``W``, ``M``); see the module docstring and
    :mod:`sherlock.monitoring.window` for the window. ``log`` and ``feedback`` default to the workspace's own (a
    missing file reads as empty); ``now`` (default: the clock) decides the default window and which period is
    partial."""
    opened = log is None
    log = open_log(settings) if log is None else log
    store = _feedback_store(settings) if feedback is None else feedback
    try:
        return _report(settings, since, until, freq, log, store, now)
    finally:
        if opened and log is not None:
            log.close()
        if feedback is None and store is not None:
            store.close()


def _report(settings: Settings, since: Moment, until: Moment, freq: str, log: QueryLog | None, feedback: Any,
            now: Moment) -> dict[str, Any]:
    window = resolve_window(since, until, freq, now, _oldest(log))
    threshold = settings.abstain_min_dense
    rows = read_rows(log, window, threshold) if log is not None else _no_rows()
    votes = read_votes(feedback, log, rows, window) if log is not None else _no_votes()
    slices = period_slices(rows, window)
    by_period = _by_period(rows, votes, window, slices)
    text_kept = log.keep_text if log is not None else settings.query_log_text == "text"
    gaps = gap_themes(gap_questions(log, window, rows, votes)) if log is not None and text_kept and len(rows) else []
    return {
        "since": window.first_day(), "until": window.last_day(), "freq": freq, "text_kept": text_kept,
        **traffic(rows), "helpful": {**helpful(votes), "unmatched_votes": votes.unmatched},
        "by_period": by_period, "by_settings": _by_settings(rows, votes, log),
        "by_channel": by_name(rows, rows.channel, CHANNELS), "by_kind": by_name(rows, rows.kind, KINDS),
        "gaps": gaps, "drift": drift_report(log, window, rows, slices, threshold),
        "alerts": evaluate_alerts(by_period, settings), "definitions": dict(DEFINITIONS)}


def _by_period(rows: Rows, votes: Votes, window: Window, slices: list[slice]) -> list[dict[str, Any]]:
    vote_period = window.period_of(rows.ids[votes.positions])
    return [{"period": label, "start": str(start), "partial": partial, **traffic(rows, part),
             "helpful": helpful(votes, vote_period == i), "out_of_corpus_rate": out_of_corpus(rows, part)}
            for i, (label, start, partial, part) in enumerate(zip(window.labels, window.starts, window.partial(),
                                                                  slices, strict=True))]


def _by_settings(rows: Rows, votes: Votes, log: QueryLog | None) -> list[dict[str, Any]]:
    if log is None or not len(rows):
        return []
    known = log.settings_versions()
    vote_version = rows.version[votes.positions]
    found = []
    for version in version_rows(rows):
        index = rows.versions.index(version["settings_hash"]) if version["settings_hash"] in rows.versions else -1
        found.append({"settings_hash": version["settings_hash"],
                      "settings": known.get(version["settings_hash"], {}).get("settings", {}),
                      "first_seen": _iso(version["first_id"]), "last_seen": _iso(version["last_id"]),
                      "queries": version["queries"], "abstained": version["abstained"],
                      "abstain_rate": rate(version["abstained"], version["queries"]),
                      "abstain_ci95": interval(version["abstained"], version["queries"]),
                      "helpful": helpful(votes, vote_version == index)})
    return found


def _oldest(log: QueryLog | None) -> float | None:
    if log is None:
        return None
    with log.read() as connection:
        first = connection.execute(select(func.min(queries.c.id))).scalar()
    return None if first is None else (int(first) >> ID_TIME_SHIFT) / 1000


def _iso(row_id: int) -> str:
    return datetime.fromtimestamp((row_id >> ID_TIME_SHIFT) / 1000, UTC).isoformat(timespec="seconds")


def _feedback_store(settings: Settings) -> Any:
    from sherlock.storage.feedback import feedback_exists, open_feedback
    return open_feedback(settings) if feedback_exists(settings) else None


def _no_rows() -> Rows:
    return Rows(np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0, dtype=np.int64), [])


def _no_votes() -> Votes:
    return Votes(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool), 0)
