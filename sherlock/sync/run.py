"""``sync_source``: fetch what changed in one incident tool since its watermark, map each item with the tool's importer
(:mod:`sherlock.storage.importers`), validate it as an :class:`~sherlock.schema.Incident`, and store it by id — an
updated incident replaces its stored version everywhere, nothing is duplicated.

Pages are stored through :meth:`Workspace.put <sherlock.storage.workspace.Workspace.put>` (the workspace's one public
way to store validated incidents: it takes the writer lock and brings the indexes up to date) in batches of
``sync_batch_size`` incidents, at page boundaries; after each batch the run's resume point is saved
(:mod:`sherlock.sync.watermarks`). A run stopped by an API error stores what it fetched before stopping; one killed
outright fetches again at most the pages of its last unstored batch. The watermark advances only when a run
completes (to the newest time seen, or later than the watermark it started from, never earlier).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from sherlock.registry import lookup
from sherlock.schema import Incident
from sherlock.storage.ingest import validate
from sherlock.storage.raw import RawRecord
from sherlock.storage.workspace import Progress, Workspace
from sherlock.sync import NAMES, github, incidentio, jira, pagerduty, servicenow
from sherlock.sync.base import Page, newest, safe_utc, utc
from sherlock.sync.http import Client, SyncError
from sherlock.sync.watermarks import Watermarks, open_watermarks

log = logging.getLogger(__name__)


class Source(NamedTuple):
    """One tool's sync: its client, its pages, the time each item adds to the watermark, its record mapping, and
    (PagerDuty) what holds the watermark back."""

    name: str
    connect: Callable[..., Client]
    pages: Callable[..., Iterator[Page]]
    watermark_of: Callable[[Any], Any]
    to_record: Callable[[Any], dict[str, Any] | None]
    hold: Callable[[Any], Any] | None = None


SOURCES: dict[str, Source] = {
    module.NAME: Source(module.NAME, module.connect, module.pages, module.watermark_of, module.to_record,
                        getattr(module, "hold", None))
    for module in (pagerduty, jira, servicenow, github, incidentio)}
if tuple(SOURCES) != NAMES:  # pragma: no cover - the command line's choices come from NAMES
    raise RuntimeError(f"sherlock.sync.NAMES {NAMES} differs from the sources {tuple(SOURCES)}")


@dataclass
class SyncSummary:
    """What one sync did. ``since``: where it asked the API to start (the watermark less the overlap, ``--since``,
    or the resume point); ``fetched``: items received; ``skipped``: items the importer leaves out (pull requests);
    ``rejected``: ``{"item", "reason"}`` of each item that could not be an incident; ``retries``: HTTP retries;
    ``watermark``: the source's watermark after the run; ``redacted``: secrets replaced before storing, per rule."""

    source: str
    since: str | None = None
    until: str | None = None
    query: str | None = None
    resumed: bool = False
    fetched: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    rejected: list[dict[str, str]] = field(default_factory=list)
    pages: int = 0
    retries: int = 0
    watermark: str | None = None
    seconds: float = 0.0
    redacted: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def sync_source(workspace: Workspace, source: str, since: datetime | None = None, until: datetime | None = None,
                query: str | None = None, progress: Progress | None = None, *,
                sleep: Callable[[float], None] = time.sleep) -> SyncSummary:
    """Sync ``source`` (a key of :data:`SOURCES`) into ``workspace``: items changed since ``since`` (default: the
    source's watermark less ``sync_overlap_s``; everything on a first sync) up to ``until``, filtered by ``query``
    (the tool's own filter language; see each source module); times without a zone are UTC. A run that stopped
    part-way is resumed when called again with the same arguments. ``progress(stage, done, total)`` hears of each
    page (total 0 when the API does not say); ``sleep`` is the retry wait (tests record it). Raises ``ValueError``
    (settings: a missing credential names its variable) or :class:`~sherlock.sync.http.SyncError` (the API)."""
    chosen = lookup(SOURCES, source, "sync source")
    since, until = (when.replace(tzinfo=UTC) if when and when.tzinfo is None else when for when in (since, until))
    marks = open_watermarks(workspace.settings)
    try:
        client = chosen.connect(workspace.settings, sleep=sleep)
        with client:
            return _Run(workspace, chosen, marks, client, progress).go(since, until, query)
    finally:
        marks.close()


class _Run:
    """One sync run: its batch of incidents not yet stored, its running summary and watermark candidates."""

    def __init__(self, workspace: Workspace, source: Source, marks: Watermarks, client: Client,
                 progress: Progress | None) -> None:
        self.workspace, self.source, self.marks, self.client = workspace, source, marks, client
        self.progress = progress
        self.batch: dict[str, Incident] = {}
        self.state: dict[str, Any] = {}
        self.summary = SyncSummary(source.name)

    def go(self, since: datetime | None, until: datetime | None, query: str | None) -> SyncSummary:
        started = time.perf_counter()
        settings, summary = self.workspace.settings, self.summary
        previous = self.marks.get(self.source.name)
        run = {"since": since.isoformat() if since else None, "until": until.isoformat() if until else None,
               "query": query}
        saved = previous.progress if previous.progress and previous.progress.get("run") == run else None
        if saved:
            self.state, summary.resumed = saved, True
        else:
            mark = safe_utc(previous.watermark)
            start = since or (mark - timedelta(seconds=settings.sync_overlap_s) if mark else None)
            self.state = {"run": run, "start": start.isoformat() if start else None, "cursor": None,
                          "newest": None, "hold": None}
        summary.since, summary.until, summary.query = self.state["start"], run["until"], query
        resume = self.state["cursor"]
        pages = self.source.pages(self.client, settings, utc(self.state["start"]), until, query, resume)
        try:
            for page in pages:
                self.take(page)
                resume = page.resume
                if len(self.batch) >= settings.sync_batch_size:
                    self.store(resume)
                if self.progress:
                    self.progress(f"fetching {self.source.name}", summary.fetched, page.total or 0)
        except SyncError as exc:
            if self.batch:
                self.store(resume)
            stored = summary.added + summary.updated + summary.unchanged
            raise SyncError(f"{exc}; this run stored {stored} incident(s) before it: run the same sync again to "
                            "resume from there") from None
        finally:
            summary.retries = self.client.retries_done
        self.store(None)
        summary.watermark = self.advance(previous.watermark)
        self.marks.finish(self.source.name, summary.watermark)
        summary.seconds = round(time.perf_counter() - started, 3)
        log.info("sync %s: %s", self.source.name, {k: v for k, v in summary.as_dict().items() if k != "rejected"})
        return summary

    def take(self, page: Page) -> None:
        """Map and validate a page's items into the batch (the last version of an id wins), noting the times."""
        summary = self.summary
        summary.pages += 1
        hold = self.source.hold
        for index, item in enumerate(page.items, 1):
            summary.fetched += 1
            self.state["newest"] = _pick(max, self.state["newest"], newest([item], self.source.watermark_of))
            if hold is not None:
                self.state["hold"] = _pick(min, self.state["hold"], newest([item], hold))
            where = f"page {summary.pages} item {index}"
            try:
                record = self.source.to_record(item)
                if record is None:
                    summary.skipped += 1
                    continue
                where = str(record.get("id") or where)
                incident = validate(RawRecord(index, record), {})
            except ValueError as exc:
                summary.rejected.append({"item": where, "reason": str(exc)})
                continue
            self.batch[incident.id] = incident

    def store(self, resume: dict[str, Any] | None) -> None:
        """Store the batch (one ``Workspace.put``), then save the resume point of the last page it holds (``None``:
        the run is complete, so no resume point)."""
        if self.batch:
            result, _ = self.workspace.put(list(self.batch.values()), source=f"sync:{self.source.name}")
            self.summary.added += len(result.added)
            self.summary.updated += len(result.updated)
            self.summary.unchanged += len(result.unchanged)
            for rule, count in result.redacted.items():
                self.summary.redacted[rule] = self.summary.redacted.get(rule, 0) + count
            self.batch.clear()
        if resume is not None:
            self.marks.save_progress(self.source.name, {**self.state, "cursor": resume})

    def advance(self, watermark: str | None) -> str | None:
        """The watermark after a complete run: the newest time seen (held back by open PagerDuty incidents), never
        earlier than ``watermark``."""
        seen, held = self.state["newest"], self.state["hold"]
        return _pick(max, watermark, _pick(min, seen, held) if seen else None)


def _pick(choose: Callable[..., Any], *times: str | None) -> str | None:
    """The earliest (``min``) or latest (``max``) of some ISO times, None and unreadable ones passed over."""
    known = [(parsed, when) for when in times if when and (parsed := safe_utc(when)) is not None]
    return choose(known)[1] if known else None
