"""FireHydrant incidents: ``GET /v1/incidents`` (``{"data": [...], "pagination": {...}}``), one incident
(``GET /v1/incidents/{id}``, the object itself), or a bare array.

Built from FireHydrant's documented API shape (the ``IncidentEntity`` of its v1 REST reference): no export sample
under a usable licence exists, so the tests use hand-built payloads of that shape.

Mapping: id ``FH-<number>``; title ``name``; description ``summary``, ``description`` (Markdown) and
``customer_impact_summary`` as text, one paragraph each; severity as written (``SEV1``) with its level; status from
``current_milestone``: resolved and postmortem_started/postmortem_completed → resolved, closed → closed, anything
else (started, detected, acknowledged, investigating, identified, mitigated) → open, the milestone kept in
``extra["status_raw"]``; created at ``started_at`` (else ``created_at``), resolved at the ``resolved`` milestone's
``occurred_at``; service the first of ``services``; tags ``tag_list``. ``extra`` keeps the FireHydrant id (a uuid,
``firehydrant_id``), the web URL (``incident_url``), the environments, the priority, every service and the other
milestones in UTC (``<type>_at``).

Detection: an item with a ``number`` and a ``name`` and one of ``current_milestone``, ``milestones`` or
``incident_url``. Rootly's ``{"data": [...]}`` items hold JSON:API ``attributes`` and Opsgenie's a ``tinyId`` and
``message``, so neither is taken for FireHydrant's (nor FireHydrant's for theirs).
"""

from __future__ import annotations

from typing import Any

from sherlock.storage.importers.fields import (
    expect_object,
    finish,
    names_of,
    required,
    severity_level,
    stamp_times,
    status_of,
)
from sherlock.storage.importers.markup import markdown_to_text
from sherlock.storage.importers.shapes import holds, items_of

NAME = "firehydrant"
LISTS, SINGLES = ("data",), ()
STATUS = {"started": "open", "detected": "open", "acknowledged": "open", "investigating": "open",
          "identified": "open", "mitigated": "open", "resolved": "resolved", "postmortem_started": "resolved",
          "postmortem_completed": "resolved", "closed": "closed"}


def is_incident(item: dict[str, Any]) -> bool:
    """A FireHydrant incident: a ``number`` and ``name`` with a milestone or the incident's URL, not a JSON:API
    resource (Rootly)."""
    if "number" not in item or "name" not in item or "attributes" in item:
        return False
    return "current_milestone" in item or isinstance(item.get("milestones"), list) or "incident_url" in item


def detect(document: Any) -> bool:
    """Whether ``document`` (the list envelope, one incident, or a bare array) holds a FireHydrant incident."""
    return holds(document, is_incident, LISTS, SINGLES)


def records(document: Any) -> list[Any]:
    """The incidents inside ``document``'s envelope, a bare array as it is, one object as one item."""
    return items_of(document, LISTS, SINGLES)


def milestone_times(incident: dict[str, Any]) -> dict[str, Any]:
    """``{type: occurred_at}`` of the incident's milestones (the last of a type when it repeats)."""
    times: dict[str, Any] = {}
    for milestone in incident.get("milestones") or []:
        if isinstance(milestone, dict) and milestone.get("type"):
            times[str(milestone["type"])] = milestone.get("occurred_at")
    return times


def to_record(item: Any) -> dict[str, Any]:
    """A FireHydrant incident as a canonical record (mapping in the module docstring); ``ValueError`` naming what is
    missing when it cannot be an incident."""
    incident = expect_object(item, "a FireHydrant incident")
    number = required(incident, "FireHydrant incident", "number", hint="it makes the id FH-<number>")
    record_id = f"FH-{number}"
    texts = (markdown_to_text(str(incident.get(key) or ""))
             for key in ("summary", "description", "customer_impact_summary"))
    severity = incident.get("severity") or None
    milestone = incident.get("current_milestone")
    services = names_of(incident.get("services"))
    milestones = milestone_times(incident)
    record: dict[str, Any] = {
        "id": record_id, "title": str(required(incident, f"FireHydrant incident {record_id}", "name")).strip(),
        "description": "\n\n".join(text for text in texts if text),
        "tags": [str(tag) for tag in incident.get("tag_list") or [] if tag not in (None, "")],
        "service": services[0] if services else None, "severity": severity,
        "status": status_of(milestone, STATUS),
    }
    extra: dict[str, Any] = {
        "firehydrant_id": incident.get("id"), "url": incident.get("incident_url"), "status_raw": milestone,
        "severity_level": severity_level(severity), "priority": incident.get("priority") or None,
        "services": services, "environments": names_of(incident.get("environments")),
    }
    times = {"created_at": incident.get("started_at") or incident.get("created_at"),
             "resolved_at": milestones.get("resolved"), "reported_at": incident.get("created_at")}
    times.update({f"{kind}_at": when for kind, when in milestones.items() if kind not in ("resolved", "started")})
    stamp_times(record, extra, times)
    return finish(record, extra, NAME)
