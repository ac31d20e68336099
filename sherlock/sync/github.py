"""GitHub issues: ``GET /repos/{owner}/{repo}/issues?state=all&since=…&per_page=100`` (``github_repo``, a bearer
``github_token``), sorted by update time, oldest first, following the ``Link: <…>; rel="next"`` header page by page
(only on the API's own origin: the token is never sent elsewhere). ``since`` is GitHub's own "updated at or after"
filter; there is no ``until``, so the pages stop at the first issue updated after it. A run resumes from the update
time of the last stored issue. Issue lists hold pull requests too: the importer skips them. ``--query`` adds list
filters as a query string, e.g. ``labels=incident,sev1``. For GitHub Enterprise Server set ``github_url`` to
``https://HOST/api/v3``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import quote

from sherlock.config import Settings
from sherlock.storage.importers import importer
from sherlock.sync.base import Page, base_url, extra_params, iso_z, policy, require, since_resume, utc, within
from sherlock.sync.http import Client, body

NAME = "github"
MAX_PER_PAGE = 100
REPOSITORY = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
RESERVED = ("state", "since", "sort", "direction", "per_page", "page")
to_record = importer(NAME).to_record


def connect(settings: Settings, **options: Any) -> Client:
    """A client for ``github_url`` with ``github_token`` (checks ``github_repo`` too, before anything is fetched)."""
    url = base_url(settings, "github_url", NAME)
    values = require(settings, NAME, "github_token", "github_repo")
    repository(settings)
    headers = {"Authorization": f"Bearer {values['github_token']}", "Accept": "application/vnd.github+json",
               "X-GitHub-Api-Version": "2022-11-28"}
    return Client(url, headers=headers, credential_hint="SHERLOCK_GITHUB_TOKEN (it needs read access to the "
                  "repository's issues)", secrets=[values["github_token"]], **{**policy(settings), **options})


def repository(settings: Settings) -> str:
    """``owner/name`` from ``github_repo``, or ``ValueError`` showing the form."""
    name = (settings.github_repo or "").strip().strip("/")
    if not REPOSITORY.fullmatch(name):
        raise ValueError(f"SHERLOCK_GITHUB_REPO must be owner/name, such as octo-org/payments, got {name!r}")
    return name


def pages(client: Client, settings: Settings, since: datetime | None, until: datetime | None, query: str | None,
          cursor: dict[str, Any] | None) -> Iterator[Page]:
    """The repository's issues (and pull requests, skipped later) updated from ``since`` (or the cursor's resume
    time) to ``until``, oldest change first."""
    start = utc((cursor or {}).get("since")) or since
    params: list[tuple[str, str]] | None = [
        ("state", "all"), ("sort", "updated"), ("direction", "asc"),
        ("per_page", str(min(settings.sync_page_size, MAX_PER_PAGE))),
        *([("since", iso_z(start))] if start else []),
        *extra_params(query, RESERVED, NAME, "labels=incident,sev1")]
    url: str | None = f"/repos/{quote(repository(settings))}/issues"
    while url:
        response = client.get(url, params=params)
        items = importer(NAME).records(body(response))
        kept = within(items, watermark_of, until)
        if kept:
            yield Page(kept, since_resume(kept, watermark_of))
        if len(kept) < len(items):  # sorted by update time: the rest are later still
            return
        url, params = response.links.get("next", {}).get("url"), None


def watermark_of(item: Any) -> Any:
    """The time GitHub's ``since`` filters on: ``updated_at``."""
    return item.get("updated_at") if isinstance(item, dict) else None
