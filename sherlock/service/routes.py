"""The ``/v1`` routes: search, ask, incidents (read, ingest, delete), similar incidents and feedback. Bodies and
responses equal the CLI's ``--json`` contracts (search, ask and similar add the ``log_id`` of their query log row,
which feedback on that answer sends back); each route names the scope its token needs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from pydantic import ValidationError

from sherlock.monitoring.record import log_answer, log_search
from sherlock.service.auth import scope
from sherlock.service.bodies import (
    AskRequest,
    FeedbackRequest,
    PairFeedbackRequest,
    SearchRequest,
    SimilarRequest,
)
from sherlock.service.problems import ServiceError, field_errors, invalid
from sherlock.service.runtime import Running, filters_from, ingest_body

router = APIRouter(prefix="/v1")


def metrics_of(request: Request) -> Any:
    return request.app.state.metrics


def caller(request: Request) -> str | None:
    """The name of the token that made the request (the query log's session for API traffic)."""
    return getattr(request.state, "caller", None)


def audited(request: Request, service: Any, action: str, target: str) -> None:
    """Record a change made through the API in the workspace's audit log: who (the token's name) and from where."""
    from sherlock.audit import record_quietly
    client = request.client.host if request.client else "unknown"
    record_quietly(service.settings, caller(request) or "anonymous", action, target, source=f"api {client}")


def logged(log_id: int | None) -> str | None:
    """A query log row id as the API returns it: a string (the id has 61 bits, more than a JavaScript number holds
    exactly). Send it back as ``log_id`` with feedback on that answer."""
    return None if log_id is None else str(log_id)


@router.post("/search", dependencies=[scope("read")])
def search(body: SearchRequest, request: Request, service: Running) -> dict[str, Any]:
    """As ``sherlock search --json``."""
    response = service.searcher.search(body.query, k=body.k, filters=filters_from(body.filters), weights=body.weights,
                                       fusion=body.fusion, norm=body.norm)
    metrics_of(request).searched(response)
    return {**response.as_dict(), "log_id": logged(log_search(service.settings, response, "api",
                                                              session=caller(request)))}


@router.post("/ask", dependencies=[scope("read")])
def ask(body: AskRequest, request: Request, service: Running) -> dict[str, Any]:
    """As ``sherlock ask --json``."""
    answer = service.answerer.ask(body.question, k=body.k, filters=filters_from(body.filters))
    metrics_of(request).answered(answer, service.settings.gemini_api_key is not None)
    found = answer.search
    log_id = log_answer(service.settings, answer, "api", session=caller(request))
    return {**answer.as_dict(), "reason": found.reason if found else None,
            "filter_suggestions": found.filter_suggestions if found else {}, "log_id": logged(log_id)}


@router.get("/incidents/{incident_id:path}/similar", dependencies=[scope("read")])
def similar(incident_id: str, request: Request, service: Running, k: int = 10) -> dict[str, Any]:
    """The past incidents most like a stored one, as ``sherlock similar ID --json``. Ids may hold ``/`` and ``#``
    (``acme/payments#12``): send ``#`` as ``%23``."""
    if not 1 <= k <= 200:
        raise ServiceError(422, "Invalid request", f"query.k: must be between 1 and 200, got {k}")
    response = service.finder.similar(incident_id, k=k)
    metrics_of(request).searched(response)
    if response.abstained and (response.reason or "").startswith("not found"):
        raise ServiceError(404, "Not found", response.reason or "")
    log_id = log_search(service.settings, response, "api", kind="similar", session=caller(request))
    return {**response.as_dict(), "log_id": logged(log_id)}


@router.get("/incidents/{incident_id:path}", dependencies=[scope("read")])
def incident(incident_id: str, service: Running) -> dict[str, Any]:
    """One incident with every field, as ``sherlock show --json``."""
    found = service.workspace.store.get(incident_id)
    if found is None:
        raise ServiceError(404, "Not found", f"no incident {incident_id} in this workspace (ids are matched "
                           "ignoring case)")
    return found.to_json_dict()


@router.post("/incidents", dependencies=[scope("write")])
def ingest(request: Request, body: Annotated[Any, Body()], service: Running) -> dict[str, Any]:
    """Add or update incidents — one, a list, or an envelope, in any shape ``sherlock ingest`` reads — and bring the
    indexes up to date (a delta segment: the new incidents are found right after). The ingest report, with every
    rejected record named by its index in the body (``body:N``)."""
    report = ingest_body(service.workspace, body)
    metrics_of(request).ingested(report)
    files = report.get("files", [])
    audited(request, service, "ingest", f"POST /v1/incidents: {sum(f.get('added', 0) for f in files)} added, "
                                        f"{sum(f.get('updated', 0) for f in files)} updated")
    return report


@router.delete("/incidents/{incident_id:path}", dependencies=[scope("admin")])
def delete(incident_id: str, request: Request, service: Running) -> dict[str, Any]:
    """Delete one incident (exact id) from the store and every index."""
    found = service.workspace.store.get(incident_id)
    if found is None:
        raise ServiceError(404, "Not found", f"no incident {incident_id} in this workspace")
    report = service.workspace.delete([found.id])
    audited(request, service, "delete_incidents", found.id)
    return {"deleted": [found.id], "sync": report.as_dict()}


@router.post("/similar", dependencies=[scope("read")])
def similar_new(body: SimilarRequest, request: Request, service: Running) -> Any:
    """The past incidents most like a new incident, as ``sherlock similar --incident FILE --json``."""
    from sherlock.schema import Incident
    try:
        new = Incident.model_validate(body.incident)
    except ValidationError as exc:
        return invalid(field_errors(exc.errors(), ("body", "incident")), "Invalid incident")
    response = service.finder.similar(new, k=body.k)
    metrics_of(request).searched(response)
    log_id = log_search(service.settings, response, "api", kind="similar", session=caller(request))
    return {**response.as_dict(), "log_id": logged(log_id)}


@router.post("/feedback", dependencies=[scope("write")])
def feedback(body: FeedbackRequest, request: Request, service: Running) -> dict[str, Any]:
    """Record a vote on a search (thumbs up/down, or the right incident), as the chat page does."""
    if body.helpful is None and not body.right_id:
        raise ServiceError(422, "Invalid request", "body: give helpful (true/false) or right_id, or both")
    return {"recorded": service.feedback.record(body.query, body.shown_ids, body.helpful, body.right_id,
                                                session_id=body.session_id or caller(request),
                                                log_id=None if body.log_id is None else int(body.log_id))}


@router.post("/feedback/pairs", dependencies=[scope("write")])
def pair_feedback(body: PairFeedbackRequest, service: Running) -> dict[str, Any]:
    """Record whether two incidents share a root cause: a labelled pair for the similar-incidents mode."""
    return {"recorded": service.feedback.record_pair(body.anchor_id, body.other_id, body.same_root_cause,
                                                     session_id=body.session_id)}
