"""Opsgenie incidents (Incident API v1): ``GET /v1/incidents`` (``{"data": [...], "totalCount", "paging"}``), one
incident (``{"data": {...}}``), or a bare array. (Opsgenie's API ends 2027-04-05; exports taken before then still
read.)

Mapping: id ``OG-<tinyId>``; title ``message``; description as text; tags; severity ``priority`` (P1–P5, which is
the level); status open/resolved/closed as they are; created at ``createdAt``, resolved at ``impactEndDate``.
``extra`` keeps the Opsgenie id, the web link, impact start and end, impacted service ids, owner team id,
responders and ``extraProperties`` (the custom fields) verbatim.
"""

from __future__ import annotations

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

NAME = "opsgenie"
LISTS, SINGLES = ("data",), ("data",)
STATUS = {"open": "open", "resolved": "resolved", "closed": "closed"}


def is_incident(item: dict[str, Any]) -> bool:
    """An Opsgenie incident: a ``tinyId`` and a ``message``."""
    return "tinyId" in item and "message" in item


def detect(document: Any) -> bool:
    """Whether ``document`` (in any envelope the API uses, or a bare array) holds an Opsgenie incident."""
    return holds(document, is_incident, LISTS, SINGLES)


def records(document: Any) -> list[Any]:
    """The incidents inside ``document``'s envelope, a bare array as it is, one object as one item."""
    return items_of(document, LISTS, SINGLES)


def to_record(item: Any) -> dict[str, Any]:
    """An Opsgenie incident as a canonical record (mapping in the module docstring); ``ValueError`` naming what is
    missing when it cannot be an incident."""
    incident = expect_object(item, "an Opsgenie incident")
    tiny_id = required(incident, "Opsgenie incident", "tinyId", hint="it makes the id OG-<tinyId>")
    record_id = f"OG-{tiny_id}"
    priority = incident.get("priority")
    services = incident.get("impactedServices") or []
    record: dict[str, Any] = {
        "id": record_id, "title": plain_text(required(incident, f"Opsgenie incident {record_id}", "message")),
        "description": plain_text(incident.get("description")),
        "tags": [str(tag) for tag in incident.get("tags") or []],
        "severity": priority, "status": status_of(incident.get("status"), STATUS),
    }
    extra: dict[str, Any] = {
        "opsgenie_id": incident.get("id"), "url": (incident.get("links") or {}).get("web"),
        "status_raw": incident.get("status"), "severity_level": severity_level(priority),
        "impacted_services": services, "team": incident.get("ownerTeam"), "responders": incident.get("responders"),
        "extra_properties": incident.get("extraProperties"),
    }
    stamp_times(record, extra, {"created_at": incident.get("createdAt"), "resolved_at": incident.get("impactEndDate"),
                                "impact_started_at": incident.get("impactStartDate"),
                                "impact_ended_at": incident.get("impactEndDate")})
    return finish(record, extra, NAME)
