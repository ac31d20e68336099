"""incident.io: API v2 ``GET /v2/incidents?page_size=…&after=…`` with a bearer ``incidentio_token``, paged by the
``pagination_meta.after`` cursor (an incident id; at most 250 a page) until a page comes back without one or short.

Filtered by ``updated_at[gte]`` (and ``updated_at[lte]``) with dates, as the API documents its date filters, so an
incremental sync reads the watermark's whole day again (unchanged incidents stay unchanged); times beyond ``until``
are left out here. The list is sorted by creation, oldest first (``sort_by=created_at_oldest_first``), so the
``after`` cursor stays valid while incidents change, and a run resumes from the cursor of its last stored page.
``--query`` adds list filters as a query string, e.g. ``severity[one_of]=01H…&status_category[one_of]=closed``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sherlock.config import Settings
from sherlock.storage.importers import importer
from sherlock.sync.base import Page, base_url, extra_params, policy, require, within
from sherlock.sync.http import Client, body

NAME = "incidentio"
MAX_PAGE_SIZE = 250
RESERVED = ("page_size", "after", "sort_by", "updated_at")
to_record = importer(NAME).to_record


def connect(settings: Settings, **options: Any) -> Client:
    """A client for ``incidentio_url`` with the API key of ``incidentio_token``."""
    url = base_url(settings, "incidentio_url", NAME)
    token = require(settings, NAME, "incidentio_token")["incidentio_token"]
    return Client(url, headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
                  credential_hint="SHERLOCK_INCIDENTIO_TOKEN (an API key that can view incidents)", secrets=[token],
                  **{**policy(settings), **options})


def pages(client: Client, settings: Settings, since: datetime | None, until: datetime | None, query: str | None,
          cursor: dict[str, Any] | None) -> Iterator[Page]:
    """The incidents updated from ``since``'s date to ``until``, oldest created first, from the cursor's ``after``
    when resuming."""
    size = min(settings.sync_page_size, MAX_PAGE_SIZE)
    window = []
    if since:
        window.append(("updated_at[gte]", since.astimezone(UTC).date().isoformat()))
    if until:  # the last day the window touches: the API's date filter includes it whole
        window.append(("updated_at[lte]", (until - timedelta(microseconds=1)).astimezone(UTC).date().isoformat()))
    filters = extra_params(query, RESERVED, NAME, "status_category[one_of]=closed")
    after = (cursor or {}).get("after")
    while True:
        params = [("page_size", str(size)), ("sort_by", "created_at_oldest_first"), *window, *filters,
                  *([("after", str(after))] if after else [])]
        payload = body(client.get("/v2/incidents", params=params))
        items = importer(NAME).records(payload)
        meta = payload.get("pagination_meta") if isinstance(payload, dict) else None
        meta = meta if isinstance(meta, dict) else {}
        last_id = items[-1].get("id") if items and isinstance(items[-1], dict) else None
        after = meta.get("after") or last_id
        total = meta.get("total_record_count")
        if items:
            yield Page(within(items, watermark_of, until), {"after": after} if after else {},
                       total if isinstance(total, int) else None)
        if not items or not meta.get("after") or len(items) < size:
            return


def watermark_of(item: Any) -> Any:
    """The time the list filters on: ``updated_at``."""
    return item.get("updated_at") if isinstance(item, dict) else None
