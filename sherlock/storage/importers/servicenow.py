"""ServiceNow incidents from the Table API: ``GET /api/now/table/incident`` (``{"result": [...]}``), one record
(``{"result": {...}}``), the JSONv2 processor (``{"records": [...]}``), or a bare array; raw codes
(``sysparm_display_value=false``), display values (``true``: ``"1 - Critical"``, ``"Resolved"``) or both (``all``:
``{"value", "display_value"}``). List CSV exports are read elsewhere.

Mapping: id ``number`` (``INC0010001``); title ``short_description``; description as text; root cause ``cause``;
resolution ``close_notes`` (without a ``cause``, notes whose lines label a ``Root cause:`` part are split,
:func:`split_close_notes`); category; service the business service, else the configuration item; severity the
``priority`` as ServiceNow writes it (1–5: 1 Critical … 5 Planning, which is the level); status from ``state``
(1 New, 2 In Progress, 3 On Hold → open, 6 → resolved, 7 → closed, 8 → canceled); resolved by ``resolved_by``.
Times (``opened_at``, ``resolved_at``, else ``closed_at``) carry no zone in the API and are read as UTC, the Table
API's documented zone, and flagged in ``extra["time_zone_guessed"]``. ``extra`` keeps the sys_id, close code,
impact, urgency, ServiceNow's own severity, subcategory, assignment group (``team``), assignee, caller, hold reason,
closed time and every ``u_*`` custom field verbatim. References without display values give their sys_id.
"""

from __future__ import annotations

import re
from typing import Any

from sherlock.storage.importers.fields import (
    expect_object,
    finish,
    plain_text,
    required,
    severity_level,
    stamp_times,
    status_of,
)
from sherlock.storage.importers.shapes import holds, items_of

NAME = "servicenow"
LISTS, SINGLES = ("result", "records"), ("result",)
STATES = {"1": "open", "2": "open", "3": "open", "6": "resolved", "7": "closed", "8": "canceled",
          "new": "open", "in progress": "open", "on hold": "open", "resolved": "resolved", "closed": "closed",
          "canceled": "canceled", "cancelled": "canceled"}
KEPT = ("sys_id", "close_code", "impact", "urgency", "subcategory", "hold_reason", "caller_id", "assigned_to",
        "contact_type", "problem_id", "caused_by", "parent_incident", "sys_tags")
#: A line that starts a labelled part of the close notes: a root cause, or a part of the resolution. The labels
#: that only repeat the field's name are dropped; others (``Workaround:``) stay in the text.
NOTE_LABEL = re.compile(r"\s*(root cause|cause|resolution|fix|workaround|solution)\s*:\s*(.*)", re.IGNORECASE)
ROOT_CAUSE_LABELS = {"root cause", "cause"}
DROPPED_LABELS = {"root cause", "cause", "resolution", "fix"}


def value_of(value: Any) -> Any:
    """A field as ServiceNow gives it: a reference or ``all`` pair (``{"link"|"display_value", "value"}``) as its
    display value when there is one, else its value (a sys_id for references); plain values as they are."""
    if isinstance(value, dict):
        shown = value.get("display_value")
        return shown if shown not in (None, "") else value.get("value")
    return value


def is_incident(item: dict[str, Any]) -> bool:
    """A ServiceNow task record: a ``number`` with ``short_description`` or ``sys_id``."""
    return "number" in item and ("short_description" in item or "sys_id" in item)


def detect(document: Any) -> bool:
    """Whether ``document`` (in any envelope the API uses, or a bare array) holds a ServiceNow incident."""
    return holds(document, is_incident, LISTS, SINGLES)


def records(document: Any) -> list[Any]:
    """The incidents inside ``document``'s envelope, a bare array as it is, one object as one item."""
    return items_of(document, LISTS, SINGLES)


def to_record(item: Any) -> dict[str, Any]:
    """A ServiceNow incident as a canonical record (mapping in the module docstring); ``ValueError`` naming what is
    missing when it cannot be an incident."""
    incident = {key: value_of(value) for key, value in expect_object(item, "a ServiceNow incident").items()}
    number = str(required(incident, "ServiceNow incident", "number", hint="the number (such as INC0010001) is its id"))
    title = plain_text(required(incident, f"ServiceNow incident {number}", "short_description"))
    state = incident.get("state") or incident.get("incident_state")
    priority = incident.get("priority")
    root_cause, resolution = plain_text(incident.get("cause")), plain_text(incident.get("close_notes"))
    if not root_cause and resolution:
        root_cause, resolution = split_close_notes(resolution)
    record: dict[str, Any] = {
        "id": number.strip(), "title": title, "description": plain_text(incident.get("description")),
        "root_cause": root_cause, "resolution": resolution,
        "category": incident.get("category"),
        "service": incident.get("business_service") or incident.get("cmdb_ci") or None,
        "severity": priority, "status": status_of(_state_word(state), STATES),
        "resolved_by": incident.get("resolved_by") or None,
    }
    extra: dict[str, Any] = {key: incident.get(key) for key in KEPT}
    extra.update({
        "status_raw": state, "severity_level": severity_level(priority),
        "servicenow_severity": incident.get("severity"), "team": incident.get("assignment_group"),
    })
    extra.update({key: value for key, value in item.items() if key.startswith("u_")})  # custom fields, verbatim
    stamp_times(record, extra, {"created_at": incident.get("opened_at") or incident.get("sys_created_on"),
                                "resolved_at": incident.get("resolved_at") or incident.get("closed_at"),
                                "closed_at": incident.get("closed_at")})
    return finish(record, extra, NAME)


def split_close_notes(notes: str) -> tuple[str, str]:
    """``(root cause, resolution)`` from close notes whose lines label their parts: a ``Root cause:`` (or
    ``Cause:``) line starts the root cause, a ``Resolution:``, ``Fix:``, ``Workaround:`` or ``Solution:`` line the
    resolution; lines before any label belong to the resolution. Notes without a root-cause label are all
    resolution, unchanged."""
    lines = notes.splitlines()
    labels = [NOTE_LABEL.match(line) for line in lines]
    if not any(label and label.group(1).lower() in ROOT_CAUSE_LABELS for label in labels):
        return "", notes
    parts: dict[str, list[str]] = {"root_cause": [], "resolution": []}
    part = "resolution"
    for line, label in zip(lines, labels):
        if label:
            name = label.group(1).lower()
            part = "root_cause" if name in ROOT_CAUSE_LABELS else "resolution"
            line = label.group(2) if name in DROPPED_LABELS else line.strip()
        if line.strip():
            parts[part].append(line)
    return "\n".join(parts["root_cause"]), "\n".join(parts["resolution"])


def _state_word(state: Any) -> Any:
    """``"6"``, ``6``, ``"Resolved"`` or ``"6 - Resolved"`` as the key :data:`STATES` knows."""
    text = str(state or "").strip()
    return text.split(" ", 1)[0] if text[:1].isdigit() else text
