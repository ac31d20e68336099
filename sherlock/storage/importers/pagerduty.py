"""PagerDuty incidents: REST v2 ``GET /incidents`` (``{"incidents": [...], "limit", "offset", "more"}``), one
incident (``{"incident": {...}}``), a bare array (pdpyras ``list_all``), a v3 webhook's ``event.data``, or the
Analytics API's raw incidents (``{"data": [...], "time_zone"}``, :func:`analytics_record`).

Mapping: id ``PD-<incident_number>`` (the v3 webhook calls it ``number``); ``title`` (or ``summary``);
``description`` as text (left out when it only repeats the title, as PagerDuty fills it by default); severity the
priority's name (``P1``) when the account uses priorities, else the urgency (``high`` → level 2, ``low`` → 4);
status triggered/acknowledged → open, resolved → resolved; service ``service.summary``; team the first of ``teams``;
resolved by the user who made a resolved incident's last status change (not a service or rule). PagerDuty has no
resolution field: notes (``GET /incidents/{id}/notes``) carry it, added by :func:`with_notes`. ``extra`` keeps the
PagerDuty id (``pagerduty_id``, how webhooks name an incident), urgency, teams, who changed the status last, the
escalation policy, incident key, the alert's details and the web URL.
"""

from __future__ import annotations

from typing import Any

from sherlock.storage.importers.fields import (
    expect_object,
    finish,
    name_of,
    names_of,
    plain_text,
    required,
    severity_level,
    stamp_times,
    status_of,
)
from sherlock.storage.importers.shapes import holds, items_of
from sherlock.storage.importers.times import parse_timestamp

NAME = "pagerduty"
LISTS, SINGLES = ("incidents", "data"), ("incident",)
STATUS = {"triggered": "open", "acknowledged": "open", "resolved": "resolved"}
URGENCY_LEVEL = {"high": 2, "low": 4}


def is_incident(item: dict[str, Any]) -> bool:
    """A PagerDuty incident: ``incident_number`` with an urgency or service reference, or (v3 webhook) type
    ``incident`` with a ``number``."""
    if "incident_number" in item:
        return "urgency" in item or isinstance(item.get("service"), dict) or item.get("type") == "incident"
    return item.get("type") == "incident" and "number" in item


def detect(document: Any) -> bool:
    """Whether ``document`` (in any envelope the API uses, or a bare array) holds a PagerDuty incident."""
    return holds(_unwrap(document), is_incident, LISTS, SINGLES)


def records(document: Any) -> list[Any]:
    """The incidents inside ``document``'s envelope, a bare array as it is, one object as one item. Analytics raw
    incidents (``{"data": [...], "time_zone": "Europe/Paris"}``) carry naive times in the envelope's ``time_zone``:
    each item gets it, so :func:`to_record` reads its times in that zone."""
    items = items_of(_unwrap(document), LISTS, SINGLES)
    zone = document.get("time_zone") if isinstance(document, dict) and isinstance(document.get("data"), list) else None
    if zone:
        return [{**item, "time_zone": item.get("time_zone") or zone} if isinstance(item, dict) else item
                for item in items]
    return items


def _unwrap(document: Any) -> Any:
    """A v3 webhook body ``{"event": {"data": {...}}}`` as its incident; anything else as it is."""
    if isinstance(document, dict) and isinstance(document.get("event"), dict) \
            and isinstance(document["event"].get("data"), dict):
        return document["event"]["data"]
    return document


def to_record(item: Any) -> dict[str, Any]:
    """A PagerDuty incident as a canonical record (mapping in the module docstring); ``ValueError`` naming what is
    missing when it cannot be an incident."""
    incident = expect_object(item, "a PagerDuty incident")
    if "service_name" in incident or "time_zone" in incident:
        return analytics_record(incident)
    number = required(incident, "PagerDuty incident", "incident_number", "number",
                      hint="it makes the id PD-<number>")
    record_id = f"PD-{number}"
    title = str(required(incident, f"PagerDuty incident {record_id}", "title", "summary")).strip()
    description = plain_text(incident.get("description"))
    priority = name_of(incident.get("priority"))
    urgency = incident.get("urgency")
    status_raw = incident.get("status")
    status = status_of(status_raw, STATUS)
    teams = names_of(incident.get("teams"))
    changed_by = incident.get("last_status_change_by")
    record: dict[str, Any] = {
        "id": record_id, "title": title, "description": "" if description == title else description,
        "service": name_of(incident.get("service")), "severity": priority or urgency, "status": status,
        "resolved_by": name_of(changed_by) if status == "resolved" and _is_user(changed_by) else None,
    }
    channel = (incident.get("first_trigger_log_entry") or {}).get("channel") or {}
    extra: dict[str, Any] = {
        "pagerduty_id": incident.get("id"), "url": incident.get("html_url"), "status_raw": status_raw,
        "severity_level": severity_level(priority) if priority else URGENCY_LEVEL.get(str(urgency).lower()),
        "urgency": urgency, "priority": priority, "team": teams[0] if teams else None, "teams": teams,
        "last_status_change_by": name_of(changed_by), "escalation_policy": name_of(incident.get("escalation_policy")),
        "incident_key": incident.get("incident_key"),
        "alert_details": channel.get("details") if isinstance(channel, dict) else None,
    }
    resolved = incident.get("resolved_at") or (incident.get("last_status_change_at") if status == "resolved" else None)
    stamp_times(record, extra, {"created_at": incident.get("created_at"), "resolved_at": resolved})
    return finish(record, extra, NAME)


def _is_user(reference: Any) -> bool:
    """Whether a reference names a person (a service or an event rule can resolve an incident too)."""
    return isinstance(reference, dict) and str(reference.get("type", "")).removesuffix("_reference") == "user"


def with_notes(record: dict[str, Any], notes: Any) -> dict[str, Any]:
    """``record`` with its resolution filled from an incident's notes (``GET /incidents/{id}/notes``:
    ``{"notes": [...]}`` or a bare array): each note's ``content``, oldest first, one per line, after any resolution
    the record already has. A new dict; ``record`` is left as it was."""
    kept = [note for note in items_of(notes, ("notes",)) if isinstance(note, dict)]
    kept.sort(key=lambda note: _utc(note.get("created_at")))
    texts = [plain_text(note.get("content")) for note in kept]
    resolution = "\n".join(part for part in [record.get("resolution") or "", *texts] if part)
    return {**record, "resolution": resolution}


def _utc(when: Any) -> str:
    """A note's time in UTC, to order notes whose offsets differ; unreadable times sort first."""
    try:
        stamp = parse_timestamp(when)
    except ValueError:
        return ""
    return stamp.iso if stamp else ""


def analytics_record(incident: dict[str, Any]) -> dict[str, Any]:
    """A raw incident of the Analytics API (``POST /analytics/raw/incidents``): flat names (``service_name``,
    ``team_name``, ``priority_name``), the title in ``description`` (or ``title``), times without a zone in the
    payload's ``time_zone`` (IANA name; UTC when absent, then flagged as guessed)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from sherlock.storage.importers.times import utc_times
    number = required(incident, "PagerDuty analytics incident", "incident_number", hint="it makes the id PD-<number>")
    record_id = f"PD-{number}"
    title = str(required(incident, f"PagerDuty incident {record_id}", "title", "description")).strip()
    zone_name = str(incident.get("time_zone") or "UTC")
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"time_zone {zone_name!r} is not an IANA time zone name such as Europe/Paris") from None
    priority, urgency = incident.get("priority_name"), incident.get("urgency")
    status_raw = incident.get("status") or ("resolved" if incident.get("resolved_at") else "triggered")
    record: dict[str, Any] = {
        "id": record_id, "title": title, "service": incident.get("service_name"), "severity": priority or urgency,
        "status": status_of(status_raw, STATUS),
    }
    extra: dict[str, Any] = {
        "pagerduty_id": incident.get("id"), "status_raw": status_raw, "urgency": urgency, "priority": priority,
        "severity_level": severity_level(priority) if priority else URGENCY_LEVEL.get(str(urgency).lower()),
        "team": incident.get("team_name"), "major": incident.get("major"),
        "seconds_to_resolve": incident.get("seconds_to_resolve"),
        "time_zone": zone_name if incident.get("time_zone") else None,
    }
    times, guessed = utc_times({"created_at": incident.get("created_at"), "resolved_at": incident.get("resolved_at")},
                               zone)
    record.update(times)
    if guessed and not incident.get("time_zone"):
        extra["time_zone_guessed"] = "UTC"
    return finish(record, extra, NAME)
