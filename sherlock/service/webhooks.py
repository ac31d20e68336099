"""``POST /v1/webhooks/{source}``: incident tools push incidents as they open, change and resolve.

Each delivery is checked against the source's signing secret (:mod:`sherlock.service.signatures`; a source is off
until its ``SHERLOCK_WEBHOOK_SECRET_<SOURCE>`` is set), read as the tool's event, turned into an incident by that
tool's importer (:mod:`sherlock.storage.importers`), stored and indexed (found by search right after). For a newly
opened incident the answer carries the past incidents most like it, with their root causes and resolutions — what an
on-call engineer wants posted into the new incident.

| source     | events stored                                                   | "opened"                 |
|------------|-----------------------------------------------------------------|--------------------------|
| pagerduty  | v3 ``incident.*``; ``incident.annotated`` adds its note         | ``incident.triggered``   |
| github     | ``issues`` (header ``X-GitHub-Event``)                          | action ``opened``        |
| jira       | ``jira:issue_created``, ``jira:issue_updated``                  | ``jira:issue_created``   |
| incidentio | ``public_incident.incident_created_v2``, ``..._updated_v2``     | ``..._created_v2``       |

Other events are acknowledged and ignored (200, ``"action": "ignored"``), so the tool does not retry them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError

from sherlock.service.problems import ServiceError, field_errors, invalid
from sherlock.service.routes import audited
from sherlock.service.runtime import Service
from sherlock.service.signatures import VERIFIERS, SignatureError

router = APIRouter(prefix="/v1")


@dataclass(frozen=True)
class Event:
    """One delivery, read: ``kind`` is opened, updated, annotated or ignored; ``item`` the tool's incident object;
    ``note`` a PagerDuty note's text; ``why`` says why an event is ignored."""

    name: str
    kind: str
    item: dict[str, Any] | None = None
    note: str | None = None
    why: str | None = None


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{where}: expected an object, got {type(value).__name__}")
    return value


def pagerduty_event(payload: dict[str, Any], headers: Mapping[str, str]) -> Event:
    event = _object(payload.get("event"), "body.event")
    name = str(event.get("event_type", ""))
    data = _object(event.get("data"), "body.event.data")
    if name == "incident.annotated":
        return Event(name, "annotated", _object(data.get("incident"), "body.event.data.incident"),
                     note=str(data.get("content") or ""))
    if not name.startswith("incident.") or data.get("type") != "incident":
        return Event(name, "ignored", why="not an incident event")
    return Event(name, "opened" if name == "incident.triggered" else "updated", data)


def github_event(payload: dict[str, Any], headers: Mapping[str, str]) -> Event:
    name = headers.get("x-github-event", "")
    if name != "issues":
        return Event(name or "(no X-GitHub-Event)", "ignored", why="only issues events carry incidents")
    issue = dict(_object(payload.get("issue"), "body.issue"))
    repository = payload.get("repository")
    if isinstance(repository, dict) and repository.get("full_name") and not issue.get("repository_url"):
        issue["repository_url"] = f"https://api.github.com/repos/{repository['full_name']}"
    action = str(payload.get("action", ""))
    if action in ("deleted", "transferred"):
        return Event(f"issues.{action}", "ignored", why="the stored incident is kept; delete it with "
                     "DELETE /v1/incidents/{id} if it should go")
    return Event(f"issues.{action}", "opened" if action == "opened" else "updated", issue)


def jira_event(payload: dict[str, Any], headers: Mapping[str, str]) -> Event:
    name = str(payload.get("webhookEvent", ""))
    if name not in ("jira:issue_created", "jira:issue_updated"):
        return Event(name or "(no webhookEvent)", "ignored", why="only issue created/updated events are stored")
    return Event(name, "opened" if name == "jira:issue_created" else "updated",
                 _object(payload.get("issue"), "body.issue"))


def incidentio_event(payload: dict[str, Any], headers: Mapping[str, str]) -> Event:
    name = str(payload.get("event_type", ""))
    kinds = {"public_incident.incident_created_v2": "opened", "public_incident.incident_updated_v2": "updated",
             "public_incident.incident_status_updated_v2": "updated"}
    if name not in kinds:
        why = ("a private incident's webhook carries only its id; it is not stored" if name.startswith("private_")
               else "not an incident event")
        return Event(name or "(no event_type)", "ignored", why=why)
    return Event(name, kinds[name], _object(payload.get(name), f"body.{name}"))


EVENTS: dict[str, Callable[[dict[str, Any], Mapping[str, str]], Event]] = {
    "pagerduty": pagerduty_event, "github": github_event, "jira": jira_event, "incidentio": incidentio_event,
}


def with_note(incident: Any, note: str) -> dict[str, Any]:
    """The stored incident's record with a PagerDuty note added to its resolution (once)."""
    record = incident.to_json_dict()
    text = note.strip()
    if text and text not in record["resolution"]:
        record["resolution"] = f"{record['resolution']}\n{text}".strip()
    return record


def receive(service: Service, source: str, event: Event) -> dict[str, Any]:
    """Store the event's incident (redacted: :meth:`~sherlock.storage.workspace.Workspace.put`), index it, and for a
    new one find the similar past incidents."""
    from sherlock.schema import Incident
    from sherlock.storage.importers import importer
    answer: dict[str, Any] = {"source": source, "event": event.name, "id": None, "action": "ignored"}
    if event.kind == "ignored" or event.item is None:
        return {**answer, "reason": event.why}
    store = service.workspace.store
    record: dict[str, Any] | None
    if event.kind == "annotated":
        known = store.find_extra("pagerduty_id", str(event.item.get("id", "")))
        if known is None:
            return {**answer, "reason": f"no stored incident has PagerDuty id {event.item.get('id')!r}, so the note "
                    "was not stored; subscribe to incident.triggered too, or import the incident first"}
        record = with_note(known, event.note or "")
    else:
        record = importer(source).to_record(event.item)
        if record is None:
            return {**answer, "reason": "the tool's importer skips this item (e.g. a pull request)"}
    try:
        incident = Incident.from_record(record)
    except ValidationError as exc:
        raise ServiceError(422, "Invalid incident", "; ".join(
            f"{e['field']}: {e['message']}" for e in field_errors(exc.errors(), ("incident",)))) from None
    result, _ = service.workspace.put([incident], source=f"webhook:{source}")
    action = "added" if result.added else "updated" if result.updated else "unchanged"
    answer.update(id=incident.id, action=action, redacted=result.redacted)  # counts per rule, never the secrets
    if event.kind == "opened" or action == "added":
        k = service.settings.webhook_similar_k
        answer["similar"] = service.finder.similar(incident.id, k=k).as_dict() if k else None
    return answer


@router.post("/webhooks/{source}")
async def webhook(source: str, request: Request) -> Any:
    """A signed delivery from PagerDuty, GitHub, Jira or incident.io (see :mod:`sherlock.service.webhooks`). Needs no
    token: the signature is the credential."""
    state = request.app.state
    settings = state.service.settings
    if source not in VERIFIERS:
        raise ServiceError(404, "Unknown source", f"no webhook source {source!r}; use one of: {', '.join(VERIFIERS)}")
    secret = getattr(settings, f"webhook_secret_{source}")
    if secret is None:
        raise ServiceError(403, "Webhook off", f"webhooks from {source} are off: set SHERLOCK_WEBHOOK_SECRET_"
                           f"{source.upper()} to the signing secret configured in {source}")
    body = await request.body()
    try:
        VERIFIERS[source](request.headers, body, secret.get_secret_value(), time.time(), settings.webhook_tolerance_s)
    except SignatureError as exc:
        state.metrics.webhooks.labels(source, "refused").inc()
        raise ServiceError(401, "Bad signature", str(exc)) from None
    retry = state.guard.limiter.check(f"webhook:{source}", settings.api_rate_limit)
    if retry is not None:
        raise ServiceError(429, "Too many requests", f"webhooks from {source} are limited to "
                           f"{settings.api_rate_limit}", {"Retry-After": str(retry)})
    request.state.caller = f"webhook:{source}"
    try:
        payload = _object(json.loads(body), "body")
        event = EVENTS[source](payload, request.headers)
    except json.JSONDecodeError as exc:
        raise ServiceError(400, "Bad JSON", f"body: invalid JSON ({exc.msg} at line {exc.lineno})") from None
    except ValueError as exc:
        return invalid([{"field": str(exc).partition(":")[0], "message": str(exc).partition(": ")[2]}],
                       f"Not a {source} event")
    service = state.service.ready(wait=30)
    try:
        answer = await run_in_threadpool(receive, service, source, event)
    except ValueError as exc:  # the importer's word on an incident it cannot read
        raise ServiceError(422, "Invalid incident", str(exc)) from None
    state.metrics.webhooks.labels(source, answer["action"]).inc()
    if answer["action"] in ("added", "updated"):  # a change to the store of record: who (the tool) and from where
        audited(request, service, "ingest", f"webhook {source}: {answer['id']} {answer['action']}")
    return answer
