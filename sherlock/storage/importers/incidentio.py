"""incident.io incidents (API v2): ``GET /v2/incidents`` (``{"incidents": [...], "pagination_meta"}``), one incident
(``{"incident": {...}}``), a webhook's incident object, or a bare array (the Singer tap).

Mapping: id ``reference`` (``INC-123``); title ``name``; description ``summary`` (Markdown) as text; severity
``severity.name`` (Critical → 1, Major → 2, Minor → 3, else the shared words); status from
``incident_status.category`` (triage/live/paused → open, learning → resolved, closed → closed,
declined/merged/canceled → canceled) with the status's name as ``status_raw``; category the incident type; created
at ``created_at``, resolved at the timestamp named "Resolved at" (or "Closed at"). Custom fields go to
``extra["custom_fields"]`` by name, and those named "Root cause", "Resolution"/"Fix", "Affected services"/"Service"
and "Team"/"Affected team" also fill root cause, resolution, service and ``extra["team"]``. ``extra`` also keeps the
other timestamps, duration metrics, role holders, creator, postmortem document, Slack channel and the permalink.
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
from sherlock.storage.importers.times import utc_times

NAME = "incidentio"
LISTS, SINGLES = ("incidents",), ("incident",)
CATEGORIES = {"triage": "open", "live": "open", "active": "open", "paused": "open", "learning": "resolved",
              "post-incident": "resolved", "closed": "closed", "declined": "canceled", "merged": "canceled",
              "canceled": "canceled", "cancelled": "canceled"}
SEVERITIES = {"critical": 1, "major": 2, "minor": 3}
CUSTOM = {"root_cause": ("root cause", "root causes", "cause"), "resolution": ("resolution", "fix", "how was it fixed"),
          "service": ("affected services", "affected service", "service", "services"),
          "team": ("team", "teams", "affected team", "affected teams", "owning team")}


def is_incident(item: dict[str, Any]) -> bool:
    """An incident.io incident: a ``reference`` and an ``incident_status`` object."""
    return "reference" in item and isinstance(item.get("incident_status"), dict)


def detect(document: Any) -> bool:
    """Whether ``document`` (in any envelope the API uses, or a bare array) holds an incident.io incident."""
    return holds(document, is_incident, LISTS, SINGLES)


def records(document: Any) -> list[Any]:
    """The incidents inside ``document``'s envelope, a bare array as it is, one object as one item."""
    return items_of(document, LISTS, SINGLES)


def custom_value(value: dict[str, Any], field_type: str | None) -> Any:
    """One custom field value as a plain value: the option, catalog entry, text, link, number or time it holds."""
    by_type = {"single_select": "value_option", "multi_select": "value_option", "text": "value_text",
               "link": "value_link", "numeric": "value_numeric", "catalog_entry": "value_catalog_entry"}
    keys = [by_type.get(field_type or "", ""), "value_option", "value_catalog_entry", "value_text", "value_link",
            "value_numeric", "value_timestamp"]
    for key in keys:
        if value.get(key) not in (None, ""):
            held = value[key]
            return (held.get("value") or held.get("name")) if isinstance(held, dict) else held
    return None


def custom_fields(incident: dict[str, Any]) -> dict[str, Any]:
    """``{field name: value}`` (a list when the field holds several) of the incident's custom field entries."""
    fields: dict[str, Any] = {}
    for entry in incident.get("custom_field_entries") or []:
        field = entry.get("custom_field") or {}
        values = [custom_value(value, field.get("field_type")) for value in entry.get("values") or []]
        values = [value for value in values if value not in (None, "")]
        if field.get("name") and values:
            fields[field["name"]] = values[0] if len(values) == 1 else values
    return fields


def to_record(item: Any) -> dict[str, Any]:
    """An incident.io incident as a canonical record (mapping in the module docstring); ``ValueError`` naming what is
    missing when it cannot be an incident."""
    incident = expect_object(item, "an incident.io incident")
    reference = str(required(incident, "incident.io incident", "reference", hint="the reference (INC-123) is its id"))
    title = str(required(incident, f"incident.io incident {reference}", "name")).strip()
    status = incident.get("incident_status") or {}
    severity = name_of(incident.get("severity"))
    custom = custom_fields(incident)
    picked = {field: value for field, names in CUSTOM.items() for name, value in custom.items()
              if name.strip().lower() in names}
    timestamps = {str(name_of(entry.get("incident_timestamp")) or ""): (entry.get("value") or {}).get("value")
                  for entry in incident.get("incident_timestamp_values") or [] if isinstance(entry, dict)}
    resolved = next((when for name, when in timestamps.items()
                     if name.lower() in ("resolved at", "resolved", "closed at", "closed") and when), None)
    services = picked.get("service")
    record: dict[str, Any] = {
        "id": reference.strip(), "title": title, "description": markdown_to_text(incident.get("summary") or ""),
        "root_cause": _text(picked.get("root_cause")), "resolution": _text(picked.get("resolution")),
        "service": (services[0] if isinstance(services, list) else services) if services else None,
        "category": name_of(incident.get("incident_type")), "severity": severity,
        "status": status_of(status.get("category"), CATEGORIES),
    }
    extra: dict[str, Any] = {
        "incidentio_id": incident.get("id"), "url": incident.get("permalink"), "status_raw": name_of(status),
        "status_category": status.get("category"), "severity_level": severity_level(severity, SEVERITIES),
        "severity_rank": (incident.get("severity") or {}).get("rank"), "team": picked.get("team"),
        "custom_fields": custom, "mode": incident.get("mode"), "visibility": incident.get("visibility"),
        "creator": name_of((incident.get("creator") or {}).get("user")),
        "roles": {name_of(role.get("role")): name_of(role.get("assignee"))
                  for role in incident.get("incident_role_assignments") or [] if role.get("assignee")},
        "duration_metrics": {name_of(metric.get("duration_metric")): metric.get("value_seconds")
                             for metric in incident.get("duration_metrics") or []},
        "postmortem_document_url": incident.get("postmortem_document_url"),
        "slack_channel": incident.get("slack_channel_name"),
    }
    stamp_times(record, extra, {"created_at": incident.get("created_at"), "resolved_at": resolved})
    extra["timestamps"], _ = utc_times({name: when for name, when in timestamps.items() if name and when})
    return finish(record, extra, NAME)


def _text(value: Any) -> str:
    if isinstance(value, list):
        return "\n".join(markdown_to_text(str(part)) for part in value)
    return markdown_to_text(str(value)) if value not in (None, "") else ""

