"""Logging one answered request from the app, the CLI or the API: :func:`log_search` for a search or a
similar-incidents response, :func:`log_answer` for a chat answer. Each returns the row id to hand to feedback on that
answer (``None`` when the log is off or the row could not be built) and never raises: a failure to log never fails a
query. Batch evaluation (``sherlock search --queries``, tuning, offline A/B) is not user traffic and is not logged.

    log_id = log_search(settings, response, channel="cli")
"""

from __future__ import annotations

from typing import Any

from sherlock.config import Settings
from sherlock.monitoring.events import CHANNELS, KINDS, QueryEvent, ranking_settings
from sherlock.monitoring.querylog import query_log


def search_event(settings: Settings, response: Any, channel: str, kind: str = "search", session: str | None = None,
                 latency_ms: float | None = None, experiment: str | None = None, arm: str | None = None,
                 provider: str | None = None, ts: float | None = None) -> QueryEvent:
    """The query log event of one :class:`sherlock.search.searcher.SearchResponse` (``kind``: ``search``, ``ask`` or
    ``similar``), searched with ``settings``: its own ``took_ms`` unless the caller measured ``latency_ms`` end to
    end; ``ts`` (seconds since the epoch) defaults to now."""
    if channel not in CHANNELS or kind not in KINDS:
        raise ValueError(f"unknown channel {channel!r} (one of {', '.join(CHANNELS)}) or kind {kind!r} (one of "
                         f"{', '.join(KINDS)})")
    evidence = response.evidence or {}
    event = QueryEvent(
        channel=channel, kind=kind, query=response.query, strategy=response.strategy, abstained=response.abstained,
        latency_ms=response.took_ms if latency_ms is None else latency_ms,
        settings=ranking_settings(settings, response.settings), confidence=response.confidence,
        dense_top=evidence.get("dense_top"), coverage=evidence.get("coverage"),
        top_ids=[hit.id for hit in response.results], n_results=len(response.results), session=session,
        experiment=experiment, arm=arm, provider=provider, vector=getattr(response, "query_vector", None))
    if ts is not None:
        event.ts = ts
    return event


def log_search(settings: Settings, response: Any, channel: str, kind: str = "search", session: str | None = None,
               latency_ms: float | None = None, experiment: str | None = None, arm: str | None = None,
               provider: str | None = None) -> int | None:
    """Log one :class:`sherlock.search.searcher.SearchResponse` (``kind``: ``search`` or ``similar``) as
    :func:`search_event` makes it."""
    try:
        log = query_log(settings)
        if log is None:
            return None
        return log.record(search_event(settings, response, channel, kind, session, latency_ms, experiment, arm,
                                       provider))
    except Exception:  # noqa: BLE001 - never fail the query that was answered
        return None


def log_answer(settings: Settings, answer: Any, channel: str, session: str | None = None,
               experiment: str | None = None, arm: str | None = None) -> int | None:
    """Log one :class:`sherlock.answer.answerer.Answer` (its search, its provider, its end-to-end time)."""
    if answer.search is None:
        return None
    answer.search.query = answer.question
    return log_search(settings, answer.search, channel, "ask", session, answer.took_ms, experiment, arm,
                      answer.provider)
