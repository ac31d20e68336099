"""Jira issues: REST search (v2/Server ``{"startAt", "total", "issues"}``, Cloud v3 ``/search/jql`` with
``nextPageToken``, the agile API's epic issues), one issue (``GET /issue/KEY``), a webhook's ``issue``, or a bare array.

Mapping: id the issue key (``OPS-123``); title ``summary``; description wiki markup (v2) or ADF (v3) as text; with a
``names`` map (``expand=names``, on the issue or the search envelope) the custom fields named "Root cause",
"Resolution notes"/"Fix", "Severity", "Service"/"Affected services" and "Category" fill those fields; service else the
first component; severity else the priority's name; tags the labels; status from the status category (done →
resolved, closed, or canceled when the resolution says Won't Do/Duplicate/…, anything else → open); created and
resolution dates in UTC; resolved by the assignee of a done issue. ``extra`` keeps the project, issue type, status
category, resolution name, reporter, assignee, components, comments' text, the browse URL, and every other field
(custom fields under their display names when the ``names`` map has them) verbatim. Never parse ``renderedFields``:
its dates are humanised.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from sherlock.storage.importers.fields import (
    expect_object,
    finish,
    name_of,
    names_of,
    required,
    severity_level,
    stamp_times,
)
from sherlock.storage.importers.markup import adf_to_text, jira_wiki_to_text
from sherlock.storage.importers.shapes import holds, items_of

NAME = "jira"
LISTS, SINGLES = ("issues",), ("issue",)
CANCELED = {"won't do", "won't fix", "wontfix", "cancelled", "canceled", "declined", "duplicate", "rejected",
            "cannot reproduce", "not a bug", "obsolete", "abandoned"}
DONE = {"done", "resolved", "closed", "fixed", "complete", "completed"}
#: Custom fields (by their display name, lower case) that mean a canonical field.
NAMED_FIELDS = {
    "root_cause": ("root cause", "root cause analysis", "cause"),
    "resolution": ("resolution notes", "resolution details", "resolution summary", "fix", "fix applied"),
    "severity": ("severity", "incident severity"),
    "service": ("affected services", "affected service", "service", "services"),
    "category": ("category", "incident category"),
}
#: Fields mapped above or too noisy to keep (avatars, watchers, worklogs, progress, restrictions).
USED = {"summary", "description", "labels", "priority", "status", "created", "resolutiondate", "resolution",
        "assignee", "reporter", "creator", "project", "issuetype", "components", "comment", "updated", "votes",
        "watches", "worklog", "progress", "aggregateprogress", "timetracking", "issuerestriction", "lastViewed",
        "attachment", "subtasks", "issuelinks", "statuscategorychangedate", "workratio", "avatarUrls"}


def is_issue(item: dict[str, Any]) -> bool:
    """A Jira issue: a ``key`` and a ``fields`` object."""
    return isinstance(item.get("key"), str) and isinstance(item.get("fields"), dict)


def detect(document: Any) -> bool:
    """Whether ``document`` (in any envelope the API uses, or a bare array) holds a Jira issue."""
    return holds(document, is_issue, LISTS, SINGLES)


def records(document: Any) -> list[Any]:
    """The issues, each given the envelope's ``names`` map (``expand=names``) when it has none of its own."""
    items = items_of(document, LISTS, SINGLES)
    names = document.get("names") if isinstance(document, dict) else None
    if isinstance(names, dict):
        return [{**item, "names": names} if isinstance(item, dict) and "names" not in item else item
                for item in items]
    return items


def text_of(value: Any) -> str:
    """A Jira text value as plain text: ADF (v3) or wiki markup (v2), an option's value, a list of them."""
    if value is None:
        return ""
    if isinstance(value, dict):
        return adf_to_text(value) if value.get("type") == "doc" else (name_of(value) or "")
    if isinstance(value, list):
        return "\n".join(text for text in map(text_of, value) if text)
    return jira_wiki_to_text(str(value))


def status_of_issue(status: Any, resolution: str | None) -> str | None:
    """open, resolved, closed or canceled from the status (its category when the payload has one) and resolution."""
    name = (name_of(status) or "").strip().lower()
    if not name:
        return None
    category = ((status.get("statusCategory") or {}).get("key") if isinstance(status, dict) else None)
    if name in CANCELED:
        return "canceled"
    if not (category == "done" if category else name in DONE):
        return "open"
    if (resolution or "").strip().lower() in CANCELED:
        return "canceled"
    return "closed" if name == "closed" else "resolved"


def to_record(item: Any) -> dict[str, Any]:
    """A Jira issue as a canonical record (mapping in the module docstring); ``ValueError`` naming what is
    missing when it cannot be an incident."""
    issue = expect_object(item, "a Jira issue")
    key = str(required(issue, "Jira issue", "key", hint="the issue key (such as OPS-123) is its id")).strip()
    fields = issue.get("fields")
    if not isinstance(fields, dict):
        raise ValueError(f"Jira issue {key} has no 'fields' object; request the issue with its fields")
    title = text_of(required(fields, f"Jira issue {key}", "summary")).strip()
    names: dict[str, Any] = issue["names"] if isinstance(issue.get("names"), dict) else {}
    named = {field: fields.get(field_id) for field, labels in NAMED_FIELDS.items()
             for field_id, label in names.items() if str(label).strip().lower() in labels
             and fields.get(field_id) not in (None, "", [])}
    components = names_of(fields.get("components"))
    resolution_name = name_of(fields.get("resolution"))
    status = status_of_issue(fields.get("status"), resolution_name)
    severity = text_of(named["severity"]) if "severity" in named else name_of(fields.get("priority"))
    services = text_of(named["service"]).split("\n") if "service" in named else components
    record: dict[str, Any] = {
        "id": key, "title": title, "description": text_of(fields.get("description")),
        "root_cause": text_of(named.get("root_cause")), "resolution": text_of(named.get("resolution")),
        "tags": [str(label) for label in fields.get("labels") or []],
        "service": services[0] if services else None, "category": text_of(named.get("category")) or None,
        "severity": severity, "status": status,
        "resolved_by": name_of(fields.get("assignee")) if status in ("resolved", "closed") else None,
    }
    status_field = fields.get("status")
    extra: dict[str, Any] = {
        "url": _browse_url(issue.get("self"), key), "jira_id": issue.get("id"), "status_raw": name_of(status_field),
        "status_category": (status_field.get("statusCategory") or {}).get("key")
        if isinstance(status_field, dict) else None,
        "severity_level": severity_level(severity), "priority": name_of(fields.get("priority")),
        "project": name_of(fields.get("project")), "issue_type": name_of(fields.get("issuetype")),
        "resolution_name": resolution_name, "reporter": name_of(fields.get("reporter")),
        "assignee": name_of(fields.get("assignee")), "components": components,
        "comments": comments_text(fields.get("comment")),
    }
    used_ids = {field_id for field_id, label in names.items()
                if any(str(label).strip().lower() in labels for labels in NAMED_FIELDS.values())}
    for field_id, value in fields.items():
        if field_id not in USED and field_id not in used_ids and value not in (None, "", [], {}):
            extra[str(names.get(field_id) or field_id)] = value
    stamp_times(record, extra, {"created_at": fields.get("created"), "resolved_at": fields.get("resolutiondate")})
    return finish(record, extra, NAME)


def comments_text(comments: Any) -> list[str]:
    """Comment bodies (ADF or wiki markup) as text: ``{"comments": [...]}`` (the issue's ``comment`` field or
    ``GET /issue/KEY/comment``) or a bare array."""
    items = items_of(comments, ("comments",)) if comments else []
    texts = (text_of(comment.get("body")) for comment in items if isinstance(comment, dict))
    return [text for text in texts if text]


def with_comments(record: dict[str, Any], comments: Any) -> dict[str, Any]:
    """``record`` with the text of its issue's comments (``GET /issue/KEY/comment``) in ``extra["comments"]``, after
    any it has. A new dict; ``record`` is left as it was."""
    extra = dict(record.get("extra") or {})
    extra["comments"] = [*extra.get("comments", []), *comments_text(comments)]
    return {**record, "extra": extra}


def _browse_url(api_url: Any, key: str) -> str | None:
    """``https://site/browse/KEY`` from the issue's REST ``self`` URL."""
    if not isinstance(api_url, str) or "://" not in api_url:
        return None
    parts = urlsplit(api_url)
    return f"{parts.scheme}://{parts.netloc}/browse/{key}"
