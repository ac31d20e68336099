"""ServiceNow: the Table API ``GET /api/now/table/incident`` with basic auth (``servicenow_user`` /
``servicenow_password``), paged by ``sysparm_limit`` and ``sysparm_offset`` up to the ``X-Total-Count`` header.

The encoded query is ``sys_updated_on>=<since>^<--query>^ORDERBYsys_updated_on``: oldest change first, so a run
resumes from the update time of the last stored incident. Values come as ``sysparm_display_value=all`` (references
and choices with their display values, which the importer prefers), except the times, which are read from their raw
``value``: the display value is in the user's zone and format, the raw one in UTC, the zone the encoded query's
times are written in too (for an integration user whose profile zone is not UTC, ``sync_overlap_s`` should cover the
difference).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from sherlock.config import Settings
from sherlock.storage.importers import importer
from sherlock.sync.base import Page, base_url, basic_secrets, policy, require, since_resume, utc
from sherlock.sync.http import Client, body

NAME = "servicenow"
MAX_LIMIT = 10_000
TIMES = ("opened_at", "resolved_at", "closed_at", "sys_created_on", "sys_updated_on")
to_record = importer(NAME).to_record


def connect(settings: Settings, **options: Any) -> Client:
    """A client for ``servicenow_url`` with basic auth."""
    url = base_url(settings, "servicenow_url", NAME)
    values = require(settings, NAME, "servicenow_user", "servicenow_password")
    user, password = values["servicenow_user"], values["servicenow_password"]
    return Client(url, auth=(user, password), headers={"Accept": "application/json"},
                  credential_hint="SHERLOCK_SERVICENOW_USER and SHERLOCK_SERVICENOW_PASSWORD",
                  secrets=basic_secrets(user, password), **{**policy(settings), **options})


def pages(client: Client, settings: Settings, since: datetime | None, until: datetime | None, query: str | None,
          cursor: dict[str, Any] | None) -> Iterator[Page]:
    """The incidents updated from ``since`` (or the cursor's resume time) to ``until`` matching ``query`` (an
    encoded query such as ``assignment_group.name=Network^priority<=2``), oldest change first, page by page."""
    if query and ("ORDERBY" in query.upper() or "^NQ" in query.upper()):
        raise ValueError("--query for servicenow is an encoded query without ORDERBY or ^NQ (the sync orders by "
                         "sys_updated_on), e.g. 'assignment_group.name=Network^priority<=2'")
    start = utc((cursor or {}).get("since")) or since
    limit = min(settings.sync_page_size, MAX_LIMIT)
    encoded = encoded_query(start, until, query)
    offset = 0
    while True:
        response = client.get("/api/now/table/incident", params={
            "sysparm_query": encoded, "sysparm_limit": limit, "sysparm_offset": offset,
            "sysparm_display_value": "all", "sysparm_exclude_reference_link": "true"})
        count = response.headers.get("x-total-count", "")
        total = int(count) if count.isdigit() else None
        items = [raw_times(item) for item in importer(NAME).records(body(response))]
        if items:
            yield Page(items, since_resume(items, watermark_of), total)
        offset += len(items)
        if not items or len(items) < limit or (total is not None and offset >= total):
            return


def encoded_query(since: datetime | None, until: datetime | None, query: str | None) -> str:
    """The update window, the user's conditions, oldest change first."""
    conditions = []
    if since:
        conditions.append(f"sys_updated_on>={table_time(since)}")
    if until:
        conditions.append(f"sys_updated_on<{table_time(until)}")
    if query:
        conditions.append(query)
    return "^".join([*conditions, "ORDERBYsys_updated_on"])


def table_time(when: datetime) -> str:
    """A time as the Table API writes one: ``2025-01-31 09:30:00`` in UTC."""
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def raw_times(item: Any) -> Any:
    """An incident with each time field as its raw UTC value (``{"display_value", "value"}`` → ``value``)."""
    if not isinstance(item, dict):
        return item
    return {key: value.get("value") if key in TIMES and isinstance(value, dict) else value
            for key, value in item.items()}


def watermark_of(item: Any) -> Any:
    """The time the encoded query filters on: ``sys_updated_on`` (UTC)."""
    return item.get("sys_updated_on") if isinstance(item, dict) else None
