"""Rootly incidents, JSON:API: ``GET /v1/incidents`` (``{"data": [{"id", "type": "incidents", "attributes",
"relationships"}], "included", "links", "meta"}``), one incident (``{"data": {...}}``), or a bare array.

:func:`records` resolves each incident's relationships through the envelope's ``included`` resources, so services,
teams (groups), environments, incident types and causes arrive by name. Mapping: id ``RLY-<sequential_id>``; title;
description ``summary`` (Markdown) as text; root cause the causes' names; resolution ``resolution_message``, else the
mitigation message; severity the severity's name (``SEV0``), its level from Rootly's own grade (critical → 1,
high → 2, medium → 3, low → 4); status in_triage/started/detected/acknowledged/mitigated → open, resolved →
resolved, closed → closed, cancelled → canceled; service the first service; category the first incident type;
created at ``started_at`` (else ``created_at``), resolved at ``resolved_at``; resolved by its user's name; labels as
``key:value`` tags. ``extra`` keeps the Rootly id, URL, services, team, environments, the mitigation message and
the other milestones (detected, acknowledged, mitigated, closed) in UTC.
"""

from __future__ import annotations

from typing import Any

from sherlock.storage.importers.fields import (
    expect_object,
    finish,
    name_of,
    required,
    severity_level,
    stamp_times,
    status_of,
)
from sherlock.storage.importers.markup import markdown_to_text
from sherlock.storage.importers.shapes import holds, items_of

NAME = "rootly"
LISTS, SINGLES = ("data",), ("data",)
STATUS = {"in_triage": "open", "started": "open", "detected": "open", "acknowledged": "open", "mitigated": "open",
          "scheduled": "open", "in_progress": "open", "resolved": "resolved", "completed": "resolved",
          "closed": "closed", "cancelled": "canceled", "canceled": "canceled"}
GRADES = {"critical": 1, "high": 2, "medium": 3, "low": 4}


def is_incident(item: dict[str, Any]) -> bool:
    """A Rootly incident: JSON:API type ``incidents`` with attributes, or bare attributes with a ``sequential_id``."""
    attributes = item.get("attributes")
    if item.get("type") == "incidents" and isinstance(attributes, dict):
        return True
    return "sequential_id" in item and "title" in item


def detect(document: Any) -> bool:
    """Whether ``document`` (in any envelope the API uses, or a bare array) holds a Rootly incident."""
    return holds(document, is_incident, LISTS, SINGLES)


def records(document: Any) -> list[Any]:
    """The incidents, each relationship's ``data`` replaced by the full resources from ``included``."""
    items = items_of(document, LISTS, SINGLES)
    included = document.get("included") if isinstance(document, dict) else None
    if not isinstance(included, list):
        return items
    resources = {(res.get("type"), res.get("id")): res for res in included if isinstance(res, dict)}
    return [_resolved(item, resources) if isinstance(item, dict) else item for item in items]


def _resolved(item: dict[str, Any], resources: dict[tuple[Any, Any], dict[str, Any]]) -> dict[str, Any]:
    def full(ref: Any) -> Any:
        return resources.get((ref.get("type"), ref.get("id")), ref) if isinstance(ref, dict) else ref

    relationships = {}
    for name, link in (item.get("relationships") or {}).items():
        data = link.get("data") if isinstance(link, dict) else None
        relationships[name] = {**link, "data": [full(ref) for ref in data] if isinstance(data, list) else full(data)}
    return {**item, "relationships": relationships}


def related_names(incident: dict[str, Any], attributes: dict[str, Any], name: str) -> list[str]:
    """Names of an incident's related resources: the attribute (a list of objects or names) when present, else the
    resolved relationship's resources."""
    value = attributes.get(name)
    if not value:
        value = ((incident.get("relationships") or {}).get(name) or {}).get("data")
    if isinstance(value, dict):
        value = [value]
    return [text for text in (name_of(_named(entry) or entry) for entry in value or []) if text]


def _named(value: Any) -> dict[str, Any]:
    """A nested JSON:API resource (``{"data": {"attributes": {...}}}``) or a plain object as its attributes."""
    if isinstance(value, dict) and isinstance(value.get("data"), dict):
        value = value["data"]
    if isinstance(value, dict) and isinstance(value.get("attributes"), dict):
        return value["attributes"]
    return value if isinstance(value, dict) else {}


def to_record(item: Any) -> dict[str, Any]:
    """A Rootly incident as a canonical record (mapping in the module docstring); ``ValueError`` naming what is
    missing when it cannot be an incident."""
    incident = expect_object(item, "a Rootly incident")
    attributes: dict[str, Any] = incident["attributes"] if isinstance(incident.get("attributes"), dict) else incident
    number = required(attributes, "Rootly incident", "sequential_id", hint="it makes the id RLY-<sequential_id>")
    record_id = f"RLY-{number}"
    severity_value = attributes.get("severity")
    severity = _named(severity_value)
    severity_name = severity.get("name") or (severity_value if isinstance(severity_value, str) else None)
    services = related_names(incident, attributes, "services")
    types = related_names(incident, attributes, "incident_types")
    labels = attributes.get("labels") or {}
    mitigation = markdown_to_text(attributes.get("mitigation_message") or "")
    record: dict[str, Any] = {
        "id": record_id, "title": str(required(attributes, f"Rootly incident {record_id}", "title")).strip(),
        "description": markdown_to_text(attributes.get("summary") or ""),
        "root_cause": "\n".join(related_names(incident, attributes, "causes")),
        "resolution": markdown_to_text(attributes.get("resolution_message") or "") or mitigation,
        "tags": [f"{key}:{value}" for key, value in labels.items()] if isinstance(labels, dict) else labels,
        "service": services[0] if services else None, "category": types[0] if types else None,
        "severity": severity_name, "status": status_of(attributes.get("status"), STATUS),
        "resolved_by": _named(attributes.get("resolved_by")).get("full_name")
        or _named(attributes.get("resolved_by")).get("name"),
    }
    groups = related_names(incident, attributes, "groups")
    extra: dict[str, Any] = {
        "rootly_id": incident.get("id"), "url": attributes.get("url"), "status_raw": attributes.get("status"),
        "severity_level": GRADES.get(str(severity.get("severity", "")).lower()) or severity_level(severity_name),
        "services": services, "team": groups[0] if groups else None, "teams": groups,
        "environments": related_names(incident, attributes, "environments"), "mitigation_message": mitigation,
        "kind": attributes.get("kind"),
    }
    stamp_times(record, extra, {
        "created_at": attributes.get("started_at") or attributes.get("created_at"),
        "resolved_at": attributes.get("resolved_at"), "detected_at": attributes.get("detected_at"),
        "acknowledged_at": attributes.get("acknowledged_at"), "mitigated_at": attributes.get("mitigated_at"),
        "closed_at": attributes.get("closed_at"), "reported_at": attributes.get("created_at")})
    return finish(record, extra, NAME)
