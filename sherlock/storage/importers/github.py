"""GitHub issues: ``GET /repos/{owner}/{repo}/issues`` (a bare array), ``GET /search/issues``
(``{"total_count", "incomplete_results", "items"}``), or an ``issues`` webhook (``{"action", "issue",
"repository"}``). Issue lists also hold pull requests (they carry a ``pull_request`` key): those are skipped.

Mapping: id ``<owner>/<repo>#<number>`` (the repository from ``repository_url`` or ``repository.full_name``, else
``GH-<number>``); title; description the Markdown ``body`` as text (``body_text`` when there is no body); tags the
labels' names; a label such as ``sev1``, ``severity: high``, ``P2`` or ``priority/critical`` is the severity, and
one such as ``service: payments`` or ``service/payments`` the service; status open → open, closed → closed
(canceled when closed as not planned); created at ``created_at``, resolved at ``closed_at``; resolved by
``closed_by``. ``extra`` keeps the web URL, repository, author, assignees, milestone and close reason.
"""

from __future__ import annotations

import re
from typing import Any

from sherlock.storage.importers.fields import (
    expect_object,
    finish,
    name_of,
    required,
    severity_level,
    stamp_times,
)
from sherlock.storage.importers.markup import markdown_to_text
from sherlock.storage.importers.shapes import holds, items_of

NAME = "github"
LISTS, SINGLES = ("items",), ("issue",)
SEVERITY_LABEL = re.compile(r"(?:sev(?:erity)?|p|priority)[\s:/_-]*(\d|critical|high|medium|low)", re.IGNORECASE)
SERVICE_LABEL = re.compile(r"(?:service|svc|component)\s*[:/]\s*(.+)", re.IGNORECASE)
REPOSITORY_URL = re.compile(r"/repos/([^/]+/[^/]+)/?$")


def is_issue(item: dict[str, Any]) -> bool:
    """A GitHub issue (or pull request): a ``number`` and ``title`` with a repository URL, or with ``state`` and
    ``labels`` as the issues API gives them."""
    if "number" not in item or "title" not in item:
        return False
    return "repository_url" in item or "pull_request" in item or ("state" in item and "labels" in item
                                                                  and "user" in item)


def detect(document: Any) -> bool:
    """Whether ``document`` (in any envelope the API uses, or a bare array) holds GitHub issues (or pull requests)."""
    return holds(document, is_issue, LISTS, SINGLES)


def records(document: Any) -> list[Any]:
    """The issues; a webhook's issue gets its ``repository.full_name`` when it has no repository URL of its own."""
    items = items_of(document, LISTS, SINGLES)
    repository = document.get("repository") if isinstance(document, dict) else None
    if isinstance(repository, dict) and repository.get("full_name"):
        return [{**item, "repository": repository} if isinstance(item, dict) and not item.get("repository_url")
                and "repository" not in item else item for item in items]
    return items


def repository_of(issue: dict[str, Any]) -> str | None:
    """``owner/repo`` of an issue: from ``repository_url``, else ``repository.full_name``."""
    match = REPOSITORY_URL.search(str(issue.get("repository_url") or ""))
    if match:
        return match.group(1)
    repository = issue.get("repository")
    return str(repository["full_name"]) if isinstance(repository, dict) and repository.get("full_name") else None


def to_record(item: Any) -> dict[str, Any] | None:
    """The issue's record, or None for a pull request (issue lists include them)."""
    issue = expect_object(item, "a GitHub issue")
    if "pull_request" in issue:
        return None
    number = required(issue, "GitHub issue", "number", hint="it makes the id <owner>/<repo>#<number>")
    repository = repository_of(issue)
    record_id = f"{repository}#{number}" if repository else f"GH-{number}"
    labels = [name for name in (name_of(label) for label in issue.get("labels") or []) if name]
    severity = next((label for label in labels if SEVERITY_LABEL.fullmatch(label)), None)
    service = next((match.group(1).strip() for match in map(SERVICE_LABEL.fullmatch, labels) if match), None)
    body = issue.get("body")
    state, reason = issue.get("state"), issue.get("state_reason")
    status = None if not state else "open" if state == "open" else "canceled" if reason == "not_planned" else "closed"
    record: dict[str, Any] = {
        "id": record_id, "title": str(required(issue, f"GitHub issue {record_id}", "title")).strip(),
        "description": markdown_to_text(body) if body else str(issue.get("body_text") or "").strip(),
        "tags": labels, "service": service, "severity": severity, "status": status,
        "resolved_by": name_of(issue.get("closed_by")) if status != "open" else None,
    }
    extra: dict[str, Any] = {
        "github_id": issue.get("id"), "url": issue.get("html_url"), "repository": repository, "status_raw": state,
        "state_reason": reason, "severity_level": severity_level(SEVERITY_LABEL.sub(r"\1", severity or "")),
        "author": name_of(issue.get("user")), "assignees": [name_of(user) for user in issue.get("assignees") or []],
        "milestone": name_of(issue.get("milestone")), "comments_count": issue.get("comments"),
    }
    stamp_times(record, extra, {"created_at": issue.get("created_at"), "resolved_at": issue.get("closed_at")})
    return finish(record, extra, NAME)
