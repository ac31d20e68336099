"""Generated query-log traffic for demos, notebooks, tests and benchmarks, made of real searches.

:func:`generate_traffic` runs each distinct question through the workspace's real :class:`Searcher` (and
:class:`Answerer` for asks, offline provider), once per settings version, and logs it many times over ``days``: each
repeat reuses its question's real response and real latency, at a time drawn from an office-hours rhythm (weekends
lighter), on a channel (app, CLI, API) and in a session. The ranking settings change part-way through (two versions by
default, the original weighted sum 0.6/0.3/0.1 then 0.4/0.4/0.2), so the log holds a before and an after. Some app
answers get a thumbs vote in the feedback store, joined to its logged row by ``log_id``: up when a labelled relevant
incident is among the results shown, down otherwise — so questions the memory cannot answer collect downvotes.

Everything drawn at random (times, channels, sessions, questions, votes) comes from one seeded generator, so a seed
gives the same log apart from the measured latencies and the random low bits of the row ids.

:func:`replicate` grows a log to any size from a real sample (its own rows, or another log's) in bulk — a million
rows in seconds — keeping each sampled row's content and the sample's shape over time, for the benchmarks.

    summary = generate_traffic(workspace, days=7, queries_per_day=200, seed=0)
    replicate(query_log(settings), 1_000_000, since, until)
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import select

from sherlock.answer.answerer import Answerer
from sherlock.monitoring.events import ranking_settings, settings_hash
from sherlock.monitoring.events import timestamp as epoch_seconds
from sherlock.monitoring.querylog import COLUMNS, QueryLog, query_log
from sherlock.monitoring.record import search_event
from sherlock.search.pasted import condense
from sherlock.search.searcher import Searcher, SearchResponse, find_ticket_ids
from sherlock.storage.db.engine import write_transaction
from sherlock.storage.db.reads import driver_rows
from sherlock.storage.db.stores import insert
from sherlock.storage.db.tables import queries, settings_versions
from sherlock.storage.demo import LabelledQuery, load_demo_queries
from sherlock.storage.feedback import FeedbackStore, open_feedback
from sherlock.storage.workspace import Workspace

#: The relative traffic of each hour of the day (UTC): office hours heavy, a lunch dip, quiet nights.
HOUR_WEIGHTS = (0.1, 0.08, 0.06, 0.06, 0.08, 0.12, 0.2, 0.4, 0.75, 1.0, 1.0, 1.0,
                0.7, 0.9, 1.0, 1.0, 0.9, 0.75, 0.5, 0.35, 0.3, 0.25, 0.2, 0.15)
#: Saturday's and Sunday's traffic against a weekday's.
WEEKEND_FACTOR = 0.3
CHANNEL_SHARES = {"app": 0.7, "cli": 0.15, "api": 0.15}
API_CLIENTS = ("api-ci", "api-chatops")
#: The ranking settings changes of the default week: the original weighted sum, then a retuned one.
DEFAULT_VERSIONS: tuple[dict[str, Any], ...] = ({"weights": (0.6, 0.3, 0.1)}, {"weights": (0.4, 0.4, 0.2)})
#: How many results a person looks at before voting (and how many an ask answers from).
SHOWN = 5
VERSION_COLUMN = COLUMNS.index("settings_hash")
#: How many values the random low bits of a row id take (:func:`sherlock.monitoring.querylog.new_id`).
RANDOM_BITS = 1 << 20
#: What warms each searcher up before anything is timed (the model, the index snapshot, the stemmer's word list).
WARM_UP = "warm up: payment gateway timeout, zyxqv"
#: The exponent of the questions' popularity (Zipf): a few questions are asked again and again, most a few times.
ZIPF_EXPONENT = 1.1


@dataclass(frozen=True)
class TopicShift:
    """From day ``start_day`` (0 = the first) on, a ``share`` of the traffic asks ``questions`` instead."""

    questions: Sequence[LabelledQuery]
    start_day: int
    share: float


@dataclass(frozen=True)
class TrafficSummary:
    """What :func:`generate_traffic` logged: ``[since, until)``, rows, distinct questions, the real searches and asks
    run, abstained rows, votes and thumbs up, the settings versions (hashes, oldest first) and when each began."""

    since: datetime
    until: datetime
    queries: int
    distinct: int
    searches: int
    abstained: int
    votes: int
    thumbs_up: int
    settings_hashes: list[str]
    version_starts: list[datetime]
    ids: list[int] = field(repr=False)


def judge(relevant: Mapping[str, int], shown: Sequence[str], abstained: bool) -> bool:
    """The generated user's vote: thumbs up when the answer did not abstain and a labelled relevant incident is among
    the results ``shown``."""
    return not abstained and any(incident in relevant for incident in shown)


def spread_times(rng: np.random.Generator, n: int, since: float, until: float) -> np.ndarray:
    """``n`` sorted times (seconds) in ``[since, until)``, each hour as likely as its :data:`HOUR_WEIGHTS` weight,
    Saturdays and Sundays at :data:`WEEKEND_FACTOR`."""
    if until <= since:
        raise ValueError(f"the traffic window is empty: since {since} is not before until {until}")
    starts = np.arange(since // 3600 * 3600, until, 3600.0)
    ends = np.minimum(starts + 3600, until)
    starts = np.maximum(starts, since)
    moments = [datetime.fromtimestamp(s, UTC) for s in starts]
    weights = np.array([HOUR_WEIGHTS[m.hour] * (WEEKEND_FACTOR if m.weekday() >= 5 else 1.0) for m in moments])
    weights *= (ends - starts) / 3600
    slots = rng.choice(len(starts), size=n, p=weights / weights.sum())
    times = starts[slots] + rng.random(n) * (ends - starts)[slots]
    return np.sort(np.minimum(times, np.nextafter(until, since)))


def _window(days: int, start: Any) -> tuple[float, float]:
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    if start is None:  # the last `days` whole days, ending at today's midnight (UTC)
        today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        start = today - timedelta(days=days)
    since = epoch_seconds(start)
    if since is None:
        raise ValueError(f"cannot read a start time from {start!r}")
    return since, since + days * 86400.0


def _draw_questions(rng: np.random.Generator, times: np.ndarray, since: float, questions: Sequence[LabelledQuery],
                    offtopic: Sequence[LabelledQuery], offtopic_share: float,
                    shift: TopicShift | None) -> list[LabelledQuery]:
    popularity = 1.0 / np.arange(1, len(questions) + 1) ** ZIPF_EXPONENT
    order = rng.permutation(len(questions))  # which questions are the popular ones
    weights = np.empty(len(questions))
    weights[order] = popularity / popularity.sum()
    picked = rng.choice(len(questions), size=len(times), p=weights)
    roll = rng.random(len(times))
    off = rng.integers(0, max(1, len(offtopic)), size=len(times))
    shifted = rng.integers(0, max(1, len(shift.questions) if shift else 1), size=len(times))
    days = ((times - since) // 86400).astype(int)
    drawn = []
    for i in range(len(times)):
        if shift is not None and shift.questions and days[i] >= shift.start_day and roll[i] < shift.share:
            drawn.append(shift.questions[shifted[i]])
        elif offtopic and roll[i] >= 1 - offtopic_share:
            drawn.append(offtopic[off[i]])
        else:
            drawn.append(questions[picked[i]])
    return drawn


def _sessions(rng: np.random.Generator, times: np.ndarray, since: float, channels: np.ndarray) -> list[str | None]:
    """App queries fall in browser sessions (about six queries each, within a day), API ones under a client's token
    name; the CLI has no session."""
    days = ((times - since) // 86400).astype(int)
    per_day = np.bincount(days)
    sessions: list[str | None] = []
    for day, channel, draw in zip(days, channels, rng.random(len(times)), strict=True):
        if channel == "app":
            sessions.append(f"app-{day}-{int(draw * max(1, per_day[day] // 6))}")
        elif channel == "api":
            sessions.append(API_CLIENTS[int(draw * len(API_CLIENTS))])
        else:
            sessions.append(None)
    return sessions


def generate_traffic(workspace: Workspace, days: int = 7, queries_per_day: int = 200, seed: int = 0,
                     start: Any = None, questions: Sequence[LabelledQuery] | None = None,
                     offtopic: Sequence[LabelledQuery] | None = None, offtopic_share: float = 0.1,
                     ask_share: float = 0.25, vote_rate: float = 0.3,
                     versions: Sequence[dict[str, Any]] = DEFAULT_VERSIONS, shift: TopicShift | None = None,
                     log: QueryLog | None = None, feedback: FeedbackStore | None = None) -> TrafficSummary:
    """Log ``days`` × ``queries_per_day`` requests (on average; weekends lighter) from ``start`` (a date, datetime or
    epoch seconds; default: ``days`` days before today's midnight, UTC), as the module docstring describes.

    ``questions`` (default: the demo corpus's labelled queries) and ``offtopic`` (default: its off-topic questions,
    asked ``offtopic_share`` of the time) are searched for real; ``ask_share`` of the requests are asks. ``versions``
    are settings updates applied in turn over equal parts of the window. ``vote_rate`` of the app requests get a
    vote. ``log`` and ``feedback`` default to the workspace's own query log and feedback store."""
    since, until = _window(days, start)
    questions = list(load_demo_queries() if questions is None else questions)
    offtopic = list(load_demo_queries(name="offtopic.jsonl") if offtopic is None else offtopic)
    if not questions or not versions:
        raise ValueError("generate_traffic needs at least one question and one settings version")
    log = query_log(workspace.settings) if log is None else log
    if log is None:
        raise ValueError("the query log is off (query_log=false); turn it on or pass log=QueryLog(...)")
    feedback = open_feedback(workspace.settings) if feedback is None else feedback
    rng = np.random.default_rng(seed)
    times = spread_times(rng, int(round(days * queries_per_day)), since, until)
    asked = _draw_questions(rng, times, since, questions, offtopic, offtopic_share, shift)
    channels = rng.choice(list(CHANNEL_SHARES), size=len(times), p=list(CHANNEL_SHARES.values()))
    kinds = np.where(rng.random(len(times)) < ask_share, "ask", "search")
    sessions = _sessions(rng, times, since, channels)
    votes = rng.random(len(times)) < vote_rate
    starts = [since + (until - since) * i / len(versions) for i in range(len(versions))]
    searchers = [Searcher(workspace, workspace.settings.model_copy(update=dict(update))) for update in versions]
    answerers = [Answerer(s, settings=s.settings.model_copy(update={"answer_provider": "extractive"}))
                 for s in searchers]
    for answerer in answerers:  # the model and the indexes load before anything is timed
        answerer.ask(WARM_UP, k=SHOWN)
    first_cost = _embedding_ms(workspace, [q.query for q in asked])
    responses: dict[tuple[str, int, str], tuple[SearchResponse, float, str | None]] = {}
    seen: set[str] = set()
    ids: list[int] = []
    abstained = n_votes = up = 0
    for i, (when, question) in enumerate(zip(times, asked, strict=True)):
        version = int(np.searchsorted(starts, when, side="right")) - 1
        kind = str(kinds[i])
        key = (question.query, version, kind)
        if key not in responses:  # one real run per question, settings version and kind; repeats reuse it
            if kind == "ask":
                answer = answerers[version].ask(question.query, k=SHOWN)
                if answer.search is None:
                    raise RuntimeError(f"Answerer.ask({question.query!r}) returned no search to log")
                responses[key] = (answer.search, answer.took_ms, answer.provider)
            else:
                response = searchers[version].search(question.query, k=10)
                responses[key] = (response, response.took_ms, None)
        response, latency, provider = responses[key]
        if question.query not in seen:  # its first asking embeds it; later ones find it in the query cache
            seen.add(question.query)
            latency = round(latency + first_cost[question.query], 2)
        response.query = question.query
        event = search_event(searchers[version].settings, response, str(channels[i]), kind, sessions[i], latency,
                             provider=provider, ts=float(when))
        row_id = log.record(event)
        if row_id is None:
            continue
        ids.append(row_id)
        abstained += bool(response.abstained)
        if votes[i] and channels[i] == "app":
            shown = [hit.id for hit in response.results[:SHOWN]]
            helpful = judge(question.relevant, shown, response.abstained)
            feedback.record(question.query, shown, helpful, settings=event.settings, provider=provider,
                            session_id=sessions[i], log_id=row_id)
            n_votes += 1
            up += helpful
    log.flush()
    hashes = [settings_hash(ranking_settings(s.settings)) for s in searchers]
    return TrafficSummary(datetime.fromtimestamp(since, UTC), datetime.fromtimestamp(until, UTC), len(ids),
                          len({q.query for q in asked}), len(responses), abstained, n_votes, up, hashes,
                          [datetime.fromtimestamp(s, UTC) for s in starts], ids)


def _embedding_ms(workspace: Workspace, texts: Sequence[str]) -> dict[str, float]:
    """The measured time to embed each distinct text as a search would (its condensed form; nothing for an exact
    ticket id): what the first asking of a question pays on top of a search whose embedding is cached. Run before
    any of them is searched, so each is a real cache miss."""
    costs: dict[str, float] = {}
    for text in dict.fromkeys(texts):
        searched = condense(text)
        if find_ticket_ids(searched) or not searched.strip():
            costs[text] = 0.0
            continue
        started = time.perf_counter()
        workspace.embedder.embed_query(searched)
        costs[text] = (time.perf_counter() - started) * 1000
    return costs


def replicate(log: QueryLog, n: int, since: Any, until: Any, seed: int = 0, source: QueryLog | None = None,
              chunk: int = 100_000) -> int:
    """Add ``n`` rows to ``log`` in ``[since, until)``, in bulk (one transaction per ``chunk``), copied from the
    rows of ``source`` (default: ``log`` itself, e.g. after :func:`generate_traffic`). Times follow
    :func:`spread_times`; a row at a given fraction of the window copies a source row from about the same fraction
    of the source's span, so settings changes and topic shifts keep their place. The rows keep the source's keyed
    query hashes: give both logs the same key. Returns the rows written."""
    start, end = epoch_seconds(since), epoch_seconds(until)
    if start is None or end is None:
        raise ValueError("replicate needs both since and until")
    source = log if source is None else source
    with source.read() as connection:
        rows = list(driver_rows(connection, select(*(queries.c[name] for name in COLUMNS)).order_by(queries.c.id)))
        versions = dict(driver_rows(connection, select(settings_versions.c.hash, settings_versions.c.settings)))
    if not rows:
        raise ValueError(f"{source.where}: no logged rows to copy; run generate_traffic first")
    rng = np.random.default_rng(seed)
    times = spread_times(rng, n, start, end)
    source_times = np.array([row[1] for row in rows])
    span = max(source_times[-1] - source_times[0], 1e-9)
    position = np.searchsorted((source_times - source_times[0]) / span, (times - start) / (end - start))
    picked = np.clip(position + rng.integers(-25, 26, size=n), 0, len(rows) - 1)
    ids = (np.floor(times * 1000).astype(np.int64) << 20) | rng.integers(0, RANDOM_BITS, size=n, dtype=np.int64)
    first_seen: dict[str, float] = {}
    for begin in range(0, n, chunk):
        batch = []
        for row_id, when, index in zip(ids[begin:begin + chunk].tolist(), times[begin:begin + chunk].tolist(),
                                       picked[begin:begin + chunk].tolist(), strict=True):
            row = rows[index]
            first_seen.setdefault(row[VERSION_COLUMN], when)
            batch.append(dict(zip(COLUMNS, (row_id, when, *row[2:]), strict=True)))
        # a transaction of its own per chunk: the log's writer thread (and any other process) waits its turn
        with write_transaction(log.engine) as connection:
            connection.execute(insert(connection, queries).on_conflict_do_nothing(), batch)
    with write_transaction(log.engine) as connection:
        added = [{"hash": version, "settings": versions[version], "first_seen": when}
                 for version, when in first_seen.items() if version in versions]
        if added:
            connection.execute(insert(connection, settings_versions).on_conflict_do_nothing(), added)
    return n


def replicate_votes(log: QueryLog, feedback: FeedbackStore, share: float, questions: Sequence[LabelledQuery],
                    ) -> tuple[int, int]:
    """Vote on about ``share`` of the app rows of ``log`` (those whose random id bits fall under it, so the same rows
    every time), judged as :func:`generate_traffic` judges (:func:`judge` against ``questions``' labels; unknown
    questions get thumbs down); one :meth:`FeedbackStore.record` per vote. Returns ``(votes, thumbs up)``."""
    relevant = {question.query: question.relevant for question in questions}
    versions = {version: found["settings"] for version, found in log.settings_versions().items()}
    with log.read() as connection:
        rows = list(driver_rows(connection, select(
            queries.c.id, queries.c.query, queries.c.top_ids, queries.c.abstained, queries.c.session,
            queries.c.settings_hash, queries.c.provider,
        ).where(queries.c.channel == "app", queries.c.query.is_not(None),
                queries.c.id.bitwise_and(RANDOM_BITS - 1) < int(share * RANDOM_BITS)).order_by(queries.c.id)))
    up = 0
    for row_id, query, top_ids, abstained, session, version, provider in rows:
        shown = json.loads(top_ids)[:SHOWN]
        helpful = judge(relevant.get(query, {}), shown, bool(abstained))
        feedback.record(query, shown, helpful, settings=versions.get(version), provider=provider, session_id=session,
                        log_id=row_id)
        up += helpful
    return len(rows), up


__all__ = ["DEFAULT_VERSIONS", "TopicShift", "TrafficSummary", "generate_traffic", "judge", "replicate",
           "replicate_votes", "spread_times"]
