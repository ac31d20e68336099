"""Jira's CSV export ("Export → CSV (all fields)"): human header labels, many of them repeated.

The export writes one column per value of a multi-valued field under the same label (``Labels,Labels``,
``Comment`` ×N, ``Watchers`` ×N, ``Component/s`` ×N), and labels custom fields ``Custom field (NAME)``, so two distinct
fields that share a name (``Custom field (Category)`` twice) get the same label as well. Cells are therefore read by
position, never through ``csv.DictReader``, which would keep only the last of each label.

Mapping (as :mod:`~sherlock.storage.importers.jira` maps the REST API): id ``Issue key``; title ``Summary``;
description wiki markup as text; tags every ``Labels`` cell; status from ``Status`` (and ``Status Category`` when
exported) with ``Resolution`` (:func:`~sherlock.storage.importers.jira.status_of_issue`: done → resolved, closed, or
canceled for Won't Do/Duplicate/…; anything else → open); severity a custom "Severity" field, else the ``Priority``;
resolved by the assignee of a resolved or closed issue; service a custom "Affected services" field, else the first
``Component/s``. A custom field whose name Jira's importer knows (:data:`~sherlock.storage.importers.jira.NAMED_FIELDS`:
"Root cause", "Resolution notes"/"Fix", "Severity", "Service", "Category") fills that field. ``extra`` keeps the
status, priority, resolution name, issue type, project, reporter, assignee, components, the comments' bodies as text
(a cell is ``date;accountId;body``), every other custom field under its inner name, and every other column under its
label (a repeated label as a list); watchers, votes, last-viewed and the like are left out as the REST importer does.

Custom fields that share a name cannot be told apart in the export (nor from one multi-select field's values): they
are kept in ``extra`` by position as ``NAME``, ``NAME (2)``, …, and when the name means a canonical field the first
of them also fills it (``Category`` → category).

Dates are written ``25/Feb/26 10:17 PM`` (day/Mon/yy, 12-hour) in the exporting user's time zone, which the file does
not name: they are read as UTC and ``extra["time_zone_guessed"]`` says so. A site with a custom ISO date format is
read too.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sherlock.storage.importers.fields import finish, severity_level, stamp_times
from sherlock.storage.importers.jira import NAMED_FIELDS, status_of_issue
from sherlock.storage.importers.markup import jira_wiki_to_text

NAME = "jira-csv"
MARKS = ("issue key", "summary")
SOURCE = "jira"
CUSTOM = re.compile(r"custom field \((.+)\)", re.IGNORECASE)
DATE = re.compile(r"(\d{1,2})/([a-z]{3})/(\d{2}|\d{4}) (\d{1,2}):(\d{2})(?::(\d{2}))?\s*([ap]m)", re.IGNORECASE)
MONTHS = {name: number for number, name in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}
#: Columns kept in ``extra`` under the keys the REST importer gives them.
RENAMED = {"issue id": "jira_id", "issue type": "issue_type", "priority": "priority", "resolution": "resolution_name",
           "assignee": "assignee", "reporter": "reporter", "project name": "project", "status": "status_raw"}
#: Columns mapped above or below, or too noisy to keep (the REST importer drops the same fields).
USED = {"summary", "issue key", "description", "labels", "created", "resolved", "comment", "component/s",
        "status category", "updated", "last viewed", "watchers", "watchers id", "votes", "status category changed",
        "σ progress", "progress", "work ratio", "log work", "attachment", "sub-tasks"}
#: Jira's status category names in the export → the keys its REST API uses.
STATUS_CATEGORIES = {"to do": "new", "in progress": "indeterminate", "done": "done"}
TEXT_FIELDS = ("root_cause", "resolution")


def columns_of(header: list[str], cells: list[str]) -> dict[str, list[str]]:
    """Each label (as first spelled; labels differing only in case are one) with its cells in column order, ``""``
    for empty or missing trailing cells."""
    spelling: dict[str, str] = {}
    columns: dict[str, list[str]] = {}
    for index, label in enumerate(header):
        cell = cells[index].strip() if index < len(cells) else ""
        columns.setdefault(spelling.setdefault(label.lower(), label), []).append(cell)
    return columns


def to_record(header: list[str], cells: list[str]) -> dict[str, Any]:
    """One export row as a canonical record (mapping in the module docstring); ``ValueError`` naming what is
    missing or unreadable."""
    return columns_to_record(columns_of(header, cells))


def columns_to_record(columns: dict[str, list[str]]) -> dict[str, Any]:
    """A row's columns (:func:`columns_of`) as a canonical record."""
    cells = {label.lower(): values[0] for label, values in columns.items() if values[0]}
    key = cells.get("issue key")
    if not key:
        raise ValueError("Jira CSV row has no 'Issue key'; the issue key (such as OPS-123) is its id")
    title = jira_wiki_to_text(cells.get("summary", ""))
    if not title:
        raise ValueError(f"Jira issue {key} has no 'Summary'")
    named, custom = _custom_fields(columns)
    components = _all(columns, "component/s")
    status_category = STATUS_CATEGORIES.get(cells.get("status category", "").lower(), cells.get("status category"))
    status_field = {"name": cells.get("status"), "statusCategory": {"key": status_category}}
    status = status_of_issue(status_field if status_category else cells.get("status"), cells.get("resolution"))
    severity = named.get("severity") or cells.get("priority")
    record: dict[str, Any] = {
        "id": key, "title": title, "description": jira_wiki_to_text(cells.get("description", "")),
        "root_cause": named.get("root_cause", ""), "resolution": named.get("resolution", ""),
        "tags": _all(columns, "labels"), "service": named.get("service") or next(iter(components), None),
        "category": named.get("category"), "severity": severity, "status": status,
        "resolved_by": cells.get("assignee") if status in ("resolved", "closed") else None,
    }
    extra: dict[str, Any] = {RENAMED[label]: value for label, value in cells.items() if label in RENAMED}
    extra.update({"status_category": status_category, "severity_level": severity_level(severity),
                  "components": components,
                  "comments": [text for text in map(comment_text, _all(columns, "comment")) if text]})
    extra.update(custom)
    for label, values in columns.items():
        kept = [value for value in values if value]
        if label.lower() not in USED and label.lower() not in RENAMED and not CUSTOM.fullmatch(label) and kept:
            extra[label] = kept[0] if len(values) == 1 else kept
    stamp_times(record, extra, {"created_at": jira_csv_time("Created", cells.get("created")),
                                "resolved_at": jira_csv_time("Resolved", cells.get("resolved"))})
    return finish(record, extra, SOURCE)


def jira_csv_time(column: str, value: str | None) -> datetime | None:
    """A Jira export date (``25/Feb/26 10:17 PM``, seconds optional) or an ISO 8601 one as a ``datetime`` (naive
    unless the text had an offset); ``ValueError`` naming the column for anything else."""
    if not value:
        return None
    text = value.strip()
    match = DATE.fullmatch(text)
    try:
        if not match:
            return datetime.fromisoformat(text)
        day, month, year, hour, minute, second, half = match.groups()
        if not 1 <= int(hour) <= 12:
            raise ValueError(f"hour {hour} is not on a 12-hour clock")
        full_year = int(year) if len(year) == 4 else 2000 + int(year) if int(year) < 69 else 1900 + int(year)
        hour_24 = int(hour) % 12 + (12 if half.lower() == "pm" else 0)
        month_number = MONTHS.get(month.lower(), 0)  # 0: datetime names the bad month
        return datetime(full_year, month_number, int(day), hour_24, int(minute), int(second or 0))
    except ValueError as exc:
        detail = f" ({exc})" if match else ""
        raise ValueError(f"column {column!r}: {value!r} is not a date such as 25/Feb/26 10:17 PM or "
                         f"2026-02-25T22:17:00{detail}; fix the cell, or export with Jira's default date format"
                         ) from None


def comment_text(cell: str) -> str:
    """A ``Comment`` cell's body as text: the export writes ``date;accountId;body`` (the body may hold ``;``); a cell
    without that date prefix is all body."""
    parts = cell.split(";", 2)
    body = parts[2] if len(parts) == 3 and DATE.fullmatch(parts[0].strip()) else cell
    return jira_wiki_to_text(body)


def _custom_fields(columns: dict[str, list[str]]) -> tuple[dict[str, str], dict[str, str]]:
    """The canonical fields that named custom fields fill, and the rest kept by inner name (``NAME``, ``NAME (2)``
    for a repeated name, which is kept there even when its first column fills a canonical field)."""
    named: dict[str, str] = {}
    kept: dict[str, str] = {}
    for label, values in columns.items():
        match = CUSTOM.fullmatch(label)
        if not match:
            continue
        inner = match.group(1).strip()
        field = next((field for field, names in NAMED_FIELDS.items() if inner.lower() in names), None)
        if field and values[0] and field not in named:
            named[field] = jira_wiki_to_text(values[0]) if field in TEXT_FIELDS else values[0]
            if len(values) == 1:
                continue
        for position, value in enumerate(values, start=1):
            kept[inner if position == 1 else f"{inner} ({position})"] = value
    return named, kept


def _all(columns: dict[str, list[str]], name: str) -> list[str]:
    """The non-empty cells of every column labelled ``name`` (any case), in column order."""
    return [value for label, values in columns.items() if label.lower() == name for value in values if value]
