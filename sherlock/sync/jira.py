"""Jira: Cloud REST v3 ``POST /rest/api/3/search/jql`` (paged by ``nextPageToken``, no total; ``fields`` must be
asked for, or only ids come back) and Server/Data Center REST v2 ``GET /rest/api/2/search`` (``startAt`` /
``maxResults`` / ``total``). Both with ``expand=names``, so the importer resolves custom fields by their display
names ("Root cause", "Severity").

The JQL is ``(<--query>) AND updated >= "<since>" ORDER BY updated ASC``: oldest change first, so a run resumes
from the update time of the last stored issue. JQL times have minute precision and are read in the time zone of the
API user's profile, so the window is written in that zone (``GET /rest/api/N/myself``), ``since`` rounded down and
``until`` up. Credentials: on Cloud ``jira_email`` + ``jira_token`` (an API token, basic auth); on Server/DC
``jira_token`` alone (a personal access token, bearer). ``jira_api_version`` chooses the API (auto: v3 for
``*.atlassian.net``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sherlock.config import Settings
from sherlock.storage.importers import importer
from sherlock.sync.base import Page, base_url, basic_secrets, policy, require, since_resume, utc
from sherlock.sync.http import Client, body

log = logging.getLogger(__name__)

NAME = "jira"
#: Issues per page with every field: Cloud returns at most 100, Server/DC's default ceiling is 1,000.
MAX_RESULTS = {"3": 100, "2": 1000}
to_record = importer(NAME).to_record


def connect(settings: Settings, **options: Any) -> Client:
    """A client for ``jira_url``: basic auth with ``jira_email`` and ``jira_token`` (Cloud), or the token as a
    bearer personal access token (Server/DC) when no e-mail is set."""
    url = base_url(settings, "jira_url", NAME)
    token = require(settings, NAME, "jira_token")["jira_token"]
    email = settings.jira_email.get_secret_value() if settings.jira_email else ""
    if email:
        return Client(url, auth=(email, token), headers={"Accept": "application/json"},
                      credential_hint="SHERLOCK_JIRA_EMAIL and SHERLOCK_JIRA_TOKEN (an API token of that account)",
                      secrets=basic_secrets(email, token), **{**policy(settings), **options})
    return Client(url, headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
                  credential_hint="SHERLOCK_JIRA_TOKEN (a personal access token; on Jira Cloud set "
                  "SHERLOCK_JIRA_EMAIL too)", secrets=[token], **{**policy(settings), **options})


def api_version(settings: Settings) -> str:
    """"3" (Cloud) or "2" (Server/DC): the setting, or for "auto" by the site's host name."""
    if settings.jira_api_version != "auto":
        return settings.jira_api_version
    host = urlsplit(settings.jira_url or "").hostname or ""
    return "3" if host.endswith(".atlassian.net") else "2"


def pages(client: Client, settings: Settings, since: datetime | None, until: datetime | None, query: str | None,
          cursor: dict[str, Any] | None) -> Iterator[Page]:
    """The issues updated from ``since`` (or the cursor's resume time) to ``until`` that match ``query`` (JQL),
    oldest change first, page by page."""
    if query and re.search(r"\border\s+by\b", query, re.IGNORECASE):
        raise ValueError("--query for jira is a JQL filter without ORDER BY (the sync orders by updated), e.g. "
                         "'project = OPS AND issuetype = Incident'")
    version = api_version(settings)
    start = utc((cursor or {}).get("since")) or since
    jql = search_jql(start, until, query, user_zone(client, version))
    size = min(settings.sync_page_size, MAX_RESULTS[version])
    yield from (cloud_pages if version == "3" else server_pages)(client, jql, size)


def user_zone(client: Client, version: str) -> tzinfo:
    """The time zone of the API user's profile, which JQL dates are read in (UTC when it cannot be told)."""
    name = body(client.get(f"/rest/api/{version}/myself")).get("timeZone") or "UTC"
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("unknown Jira time zone %r; writing JQL times in UTC", name)
        return UTC


def jql_time(when: datetime, zone: tzinfo, up: bool = False) -> str:
    """``when`` as JQL writes a time (``2025-01-31 09:30``, in ``zone``), rounded down to the minute (up with
    ``up``)."""
    local = when.astimezone(zone)
    minute = local.replace(second=0, microsecond=0)
    if up and minute != local:
        minute += timedelta(minutes=1)
    return minute.strftime("%Y-%m-%d %H:%M")


def search_jql(since: datetime | None, until: datetime | None, query: str | None, zone: tzinfo) -> str:
    """The sync's JQL: the user's filter, the update window, oldest change first."""
    clauses = [f"({query})"] if query else []
    if since:
        clauses.append(f'updated >= "{jql_time(since, zone)}"')
    if until:
        clauses.append(f'updated <= "{jql_time(until, zone, up=True)}"')
    return " AND ".join(clauses) + (" " if clauses else "") + "ORDER BY updated ASC"


def cloud_pages(client: Client, jql: str, size: int) -> Iterator[Page]:
    """Cloud: ``POST /rest/api/3/search/jql``, following ``nextPageToken`` until ``isLast`` (no total is given)."""
    token: str | None = None
    while True:
        request: dict[str, Any] = {"jql": jql, "maxResults": size, "fields": ["*all"], "expand": "names"}
        if token:
            request["nextPageToken"] = token
        payload = body(client.post("/rest/api/3/search/jql", json=request))
        items = importer(NAME).records(payload)
        if items:
            yield Page(items, since_resume(items, watermark_of))
        token = payload.get("nextPageToken") if isinstance(payload, dict) else None
        if not items or not token or payload.get("isLast"):
            return


def server_pages(client: Client, jql: str, size: int) -> Iterator[Page]:
    """Server/DC: ``GET /rest/api/2/search`` with ``startAt`` advancing by the issues received, up to ``total``."""
    start = 0
    while True:
        params = {"jql": jql, "startAt": start, "maxResults": size, "fields": "*all", "expand": "names"}
        payload = body(client.get("/rest/api/2/search", params=params))
        items = importer(NAME).records(payload)
        total = payload.get("total") if isinstance(payload, dict) else None
        if items:
            yield Page(items, since_resume(items, watermark_of), total if isinstance(total, int) else None)
        start += len(items)
        if not items or (isinstance(total, int) and start >= total):
            return


def watermark_of(item: Any) -> Any:
    """The time the JQL filters on: ``fields.updated``."""
    fields = item.get("fields") if isinstance(item, dict) else None
    return fields.get("updated") if isinstance(fields, dict) else None
