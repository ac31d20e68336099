"""Atlassian Statuspage incidents: the public ``/api/v2/incidents.json`` (``{"page": {...}, "incidents": [...]}``),
the management API's bare array (``GET /v1/pages/{id}/incidents``), or one incident (``{"incident": {...}}``, as a
webhook sends it).

Mapping: id ``SP-<id>``; title ``name``; the updates' bodies (``incident_updates``, newest first in the API) become
the text, each body used once and Statuspage's default template sentences ("This incident has been resolved.")
left out: root cause the postmortem (``postmortem_body``) when published, else the newest ``identified`` update;
resolution the newest ``monitoring`` or ``resolved`` update; description the other updates, oldest first. Severity
``impact`` (critical → 1, major → 2, minor → 3, none/maintenance → 5); status investigating/identified/monitoring
and scheduled maintenance → open, resolved/postmortem/completed → resolved; service the first affected component.
``extra`` keeps the shortlink as URL, page id, components, every update (status, text, time in UTC) and the
monitoring time.
"""

from __future__ import annotations

from typing import Any

from sherlock.storage.importers.fields import (
    expect_object,
    finish,
    names_of,
    plain_text,
    required,
    severity_level,
    stamp_times,
    status_of,
)
from sherlock.storage.importers.shapes import holds, items_of
from sherlock.storage.importers.times import utc_times

NAME = "statuspage"
LISTS, SINGLES = ("incidents",), ("incident",)
STATUS = {"investigating": "open", "identified": "open", "monitoring": "open", "scheduled": "open",
          "in_progress": "open", "verifying": "open", "resolved": "resolved", "postmortem": "resolved",
          "completed": "resolved"}
IMPACT = {"critical": 1, "major": 2, "minor": 3, "none": 5, "maintenance": 5}
#: Statuspage's default update texts: they say nothing about this incident.
TEMPLATES = {"this incident has been resolved.", "a fix has been implemented and we are monitoring the results.",
             "we are currently investigating this issue.",
             "the issue has been identified and a fix is being implemented."}


def is_incident(item: dict[str, Any]) -> bool:
    """A Statuspage incident: a ``name``, an ``impact`` and its ``incident_updates``."""
    return "name" in item and "impact" in item and isinstance(item.get("incident_updates"), list)


def detect(document: Any) -> bool:
    """Whether ``document`` (in any envelope the API uses, or a bare array) holds a Statuspage incident."""
    return holds(document, is_incident, LISTS, SINGLES)


def records(document: Any) -> list[Any]:
    """The incidents inside ``document``'s envelope, a bare array as it is, one object as one item."""
    return items_of(document, LISTS, SINGLES)


def to_record(item: Any) -> dict[str, Any]:
    """A Statuspage incident as a canonical record (mapping in the module docstring); ``ValueError`` naming what is
    missing when it cannot be an incident."""
    incident = expect_object(item, "a Statuspage incident")
    record_id = f"SP-{required(incident, 'Statuspage incident', 'id', hint='it makes the id SP-<id>')}"
    updates = [update for update in incident.get("incident_updates") or [] if isinstance(update, dict)]
    newest_first = sorted(updates, key=lambda update: str(update.get("created_at") or ""), reverse=True)
    texts = [(str(update.get("status") or ""), plain_text(update.get("body"))) for update in newest_first]
    useful = [(status, text) for status, text in texts if text and text.strip().lower() not in TEMPLATES]
    postmortem = plain_text(incident.get("postmortem_body"))
    cause = postmortem or next((text for status, text in useful if status == "identified"), "")
    fix = next((text for status, text in useful if status in ("monitoring", "resolved")), "")
    story = [text for _, text in reversed(useful) if text not in (cause, fix)]
    components = names_of(incident.get("components"))
    impact = incident.get("impact")
    record: dict[str, Any] = {
        "id": record_id, "title": str(required(incident, f"Statuspage incident {record_id}", "name")).strip(),
        "description": "\n".join(story), "root_cause": cause, "resolution": fix,
        "service": components[0] if components else None, "severity": impact,
        "status": status_of(incident.get("status"), STATUS),
    }
    extra: dict[str, Any] = {
        "statuspage_id": incident.get("id"), "url": incident.get("shortlink"), "page_id": incident.get("page_id"),
        "status_raw": incident.get("status"), "severity_level": severity_level(impact, IMPACT),
        "components": components, "updates": [_update(update) for update in reversed(newest_first)],
    }
    stamp_times(record, extra, {"created_at": incident.get("created_at"), "resolved_at": incident.get("resolved_at"),
                                "monitoring_at": incident.get("monitoring_at")})
    return finish(record, extra, NAME)


def _update(update: dict[str, Any]) -> dict[str, Any]:
    times, _ = utc_times({"created_at": update.get("created_at")})
    return {"status": update.get("status"), "text": plain_text(update.get("body")), "created_at": times["created_at"]}
