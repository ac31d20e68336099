"""PagerDuty: REST API v2 ``GET /incidents`` (``Authorization: Token token=…``), paged as PagerDuty documents it:
``limit`` at most 100 with ``offset``, ``more`` telling whether another page follows, ``offset + limit`` never past
10,000, and a ``since``/``until`` window (on the creation time) of at most 6 months.

So the range is cut into date slices of at most 180 days (six calendar months are never shorter); each slice's first
page asks for its ``total``, and a slice holding more than 10,000 incidents is split in half until each part fits
(should a slice grow past the limit while it is read, the rest is read from the last creation time seen). Pages are
sorted by creation time, oldest first, so a run resumes from the creation time of the last stored incident.

The watermark is on the creation axis too (PagerDuty cannot list by update time): the newest creation time seen, held
back to the oldest incident still open (:func:`hold`) so that a later sync reads it again and picks up its
resolution. A resolved incident's notes (``GET /incidents/{id}/notes``) become its resolution
(:func:`sherlock.storage.importers.pagerduty.with_notes`). ``--query`` adds list filters as a query string, e.g.
``service_ids[]=PABC123&urgencies[]=high``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from sherlock.config import Settings
from sherlock.storage.importers import importer
from sherlock.storage.importers.pagerduty import with_notes
from sherlock.sync.base import Page, base_url, extra_params, iso_z, policy, require, utc
from sherlock.sync.http import Client, SyncError, body

NAME = "pagerduty"
MAX_LIMIT = 100
#: ``offset + limit`` may not pass this.
MAX_REACH = 10_000
#: The widest ``since``/``until`` window asked for: within PagerDuty's 6 months whatever the calendar.
SLICE = timedelta(days=180)
RESERVED = ("limit", "offset", "since", "until", "total", "sort_by", "time_zone", "date_range")
#: Where a fetched incident carries its notes until :func:`to_record` reads them.
NOTES = "sherlock_notes"


def connect(settings: Settings, **options: Any) -> Client:
    """A client for ``pagerduty_url`` with the REST API token of ``pagerduty_token``."""
    url = base_url(settings, "pagerduty_url", NAME)
    token = require(settings, NAME, "pagerduty_token")["pagerduty_token"]
    headers = {"Authorization": f"Token token={token}", "Accept": "application/vnd.pagerduty+json;version=2"}
    return Client(url, headers=headers, credential_hint="SHERLOCK_PAGERDUTY_TOKEN", secrets=[token],
                  **{**policy(settings), **options})


def pages(client: Client, settings: Settings, since: datetime | None, until: datetime | None, query: str | None,
          cursor: dict[str, Any] | None) -> Iterator[Page]:
    """The incidents created from ``since`` (or the cursor's resume time; else ``pagerduty_history_days`` back) to
    ``until`` (else now), page by page, slice by slice, oldest first."""
    now = datetime.now(UTC)
    start = utc((cursor or {}).get("since")) or since or now - timedelta(days=settings.pagerduty_history_days)
    filters = extra_params(query, RESERVED, NAME, "service_ids[]=PABC123&urgencies[]=high")
    limit = min(settings.sync_page_size, MAX_LIMIT)
    for low, high in slices(start, until or now):
        yield from read_slice(client, low, high, limit, filters)


def slices(start: datetime, end: datetime, size: timedelta = SLICE) -> list[tuple[datetime, datetime]]:
    """``[start, end)`` cut into consecutive windows of at most ``size``."""
    windows = []
    low = start
    while low < end:
        high = min(low + size, end)
        windows.append((low, high))
        low = high
    return windows


def read_slice(client: Client, since: datetime, until: datetime, limit: int,
               filters: list[tuple[str, str]]) -> Iterator[Page]:
    """One window's pages; split in half first when it holds more incidents than ``offset`` can reach."""
    offset = 0
    while True:
        params = [("since", iso_z(since)), ("until", iso_z(until)), ("limit", str(limit)), ("offset", str(offset)),
                  ("sort_by", "created_at:asc"), ("time_zone", "UTC"), *filters]
        payload = body(client.get("/incidents", params=[*params, ("total", "true")] if offset == 0 else params))
        total = payload.get("total") if isinstance(payload, dict) else None
        if offset == 0 and isinstance(total, int) and total > MAX_REACH:
            middle = (since + (until - since) / 2).replace(microsecond=0)
            if middle <= since:
                raise SyncError(f"GET /incidents: {total} incidents were created within one second at {iso_z(since)}"
                                f"; PagerDuty lists at most {MAX_REACH} per window: narrow it with --query")
            yield from read_slice(client, since, middle, limit, filters)
            yield from read_slice(client, middle, until, limit, filters)
            return
        items = importer(NAME).records(payload)
        attach_notes(client, items)
        last = utc(items[-1].get("created_at")) if items and isinstance(items[-1], dict) else None
        if items:
            yield Page(items, {"since": last.isoformat()} if last else {})
        if not items or not payload.get("more"):
            return
        offset += len(items)
        if offset + limit > MAX_REACH:  # more were created since the total was counted: read on from the last one
            if last is None or last <= since:
                raise SyncError(f"GET /incidents: more than {MAX_REACH} incidents from {iso_z(since)}; narrow the "
                                "window with --since/--until or --query")
            yield from read_slice(client, last, until, limit, filters)
            return


def attach_notes(client: Client, items: list[Any]) -> None:
    """Give each resolved incident its notes (``GET /incidents/{id}/notes``), for :func:`to_record`."""
    for item in items:
        if isinstance(item, dict) and item.get("status") == "resolved" and item.get("id"):
            item[NOTES] = body(client.get(f"/incidents/{quote(str(item['id']), safe='')}/notes"))


def to_record(item: Any) -> dict[str, Any] | None:
    """The PagerDuty importer's record, its resolution filled from the notes :func:`attach_notes` fetched."""
    notes = item.get(NOTES) if isinstance(item, dict) else None
    incident = {key: value for key, value in item.items() if key != NOTES} if isinstance(item, dict) else item
    record = importer(NAME).to_record(incident)
    return with_notes(record, notes) if record is not None and notes else record


def watermark_of(item: Any) -> Any:
    """The time PagerDuty's ``since``/``until`` filter on: the creation time."""
    return item.get("created_at") if isinstance(item, dict) else None


def hold(item: Any) -> Any:
    """An incident not yet resolved holds the watermark back to its creation time (its resolution is still to
    come)."""
    return item.get("created_at") if isinstance(item, dict) and item.get("status") != "resolved" else None
