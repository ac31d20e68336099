"""The HTTP API: JSON in and out, bodies and responses equal to the CLI's ``--json`` contracts, errors as
``application/problem+json`` (RFC 9457) that say what was wrong and where.

    sherlock serve --port 8000          # OpenAPI docs at http://127.0.0.1:8000/docs
    curl -s localhost:8000/v1/search -d '{"query": "UPI payment failed with error 5003", "k": 3}'

The workspace opens (and, when empty, loads the demo corpus) in a background thread at start: ``/healthz`` answers at
once, ``/readyz`` and every ``/v1`` route answer 503 with ``Retry-After`` until it is ready.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import Body, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sherlock.config import Settings, load_settings

PROBLEM = "application/problem+json"


class SearchRequest(BaseModel):
    """``POST /v1/search``: as ``sherlock search --json`` takes it."""

    model_config = ConfigDict(extra="forbid")
    query: str = Field(min_length=1)
    k: int = Field(default=10, ge=1, le=200)
    filters: dict[str, str | list[str]] = Field(default_factory=dict)
    weights: tuple[float, float, float] | None = None
    fusion: str | None = None
    norm: str | None = None


class AskRequest(BaseModel):
    """``POST /v1/ask``: as ``sherlock ask --json`` takes it."""

    model_config = ConfigDict(extra="forbid")
    question: str = Field(min_length=1)
    k: int = Field(default=5, ge=1, le=50)
    filters: dict[str, str | list[str]] = Field(default_factory=dict)


class SimilarRequest(BaseModel):
    """``POST /v1/similar``: a new incident (canonical fields; title and description are enough)."""

    model_config = ConfigDict(extra="forbid")
    incident: dict[str, Any]
    k: int = Field(default=10, ge=1, le=200)


class FeedbackRequest(BaseModel):
    """``POST /v1/feedback``: a vote on a search, as the chat page records it."""

    model_config = ConfigDict(extra="forbid")
    query: str = Field(min_length=1)
    shown_ids: list[str] = Field(default_factory=list)
    helpful: bool | None = None
    right_id: str | None = None
    session_id: str | None = None


class PairFeedbackRequest(BaseModel):
    """``POST /v1/feedback/pairs``: "does ``other_id`` share ``anchor_id``'s root cause?", as the Incident page
    records it."""

    model_config = ConfigDict(extra="forbid")
    anchor_id: str = Field(min_length=1)
    other_id: str = Field(min_length=1)
    same_root_cause: bool
    session_id: str | None = None


class ServiceError(Exception):
    """An error answered as a problem document: ``status``, a short ``title`` and the ``detail`` saying what to do."""

    def __init__(self, status: int, title: str, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.headers = status, title, detail, headers or {}


class Service:
    """The workspace and its readers, opened once per process (in a background thread, see the module docstring)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.error: str | None = None
        self._ready = threading.Event()
        threading.Thread(target=self._open, name="sherlock-open", daemon=True).start()

    def _open(self) -> None:
        try:
            from sherlock.answer.answerer import Answerer
            from sherlock.search.searcher import Searcher
            from sherlock.search.similar import SimilarFinder
            from sherlock.storage.workspace import Workspace
            self.workspace = Workspace(self.settings)
            self.workspace.prepare()
            self.searcher = Searcher(self.workspace)
            self.answerer = Answerer(self.searcher)
            self.finder = SimilarFinder(self.workspace)
        except Exception as exc:  # noqa: BLE001 - reported by /readyz, the process stays up to say so
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self._ready.set()

    def is_open(self) -> bool:
        """Whether the workspace opened (without waiting)."""
        return self._ready.is_set() and self.error is None

    def ready(self, wait: float = 0.0) -> Service:
        """This service once its workspace is open; a 503 problem while it is opening or if it could not open."""
        if not self._ready.wait(wait):
            raise ServiceError(503, "Starting", "the workspace is still opening (embedding the demo corpus on a "
                               "first start takes about a minute); retry shortly", {"Retry-After": "5"})
        if self.error:
            raise ServiceError(503, "Workspace unusable", f"the workspace at {self.settings.home} could not be opened: "
                               f"{self.error}")
        return self


def filters_from(given: dict[str, str | list[str]]) -> Any:
    """``{"service": "refunds-api", "severity": ["SEV1", "SEV2"]}`` as the CLI's ``--filter`` options read them."""
    from sherlock.storage.store import Filters
    return Filters.parse([f"{key}={','.join(value) if isinstance(value, list) else value}"
                          for key, value in given.items()])


@contextmanager
def feedback_store(settings: Settings) -> Iterator[Any]:
    """The workspace's feedback store, opened for one request (SQLite; safe across threads and processes)."""
    from sherlock.storage.feedback import FeedbackStore
    store = FeedbackStore(settings.feedback_path)
    try:
        yield store
    finally:
        store.close()


def ingest_body(workspace: Any, body: Any) -> dict[str, Any]:
    """Ingest a JSON body as ``sherlock ingest`` ingests a file: written to a private file in the workspace's uploads
    folder, read and validated there, then removed; rejected records are named ``body:N`` (N counts from 1)."""
    import json
    import uuid
    folder = workspace.settings.home / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"api-{uuid.uuid4().hex}.json"
    records = body if isinstance(body, list) else [body]
    # one record per line, so a rejection's line number is the record's position in the body
    path.write_text("[\n" + ",\n".join(json.dumps(record, ensure_ascii=False) for record in records) + "\n]\n",
                    encoding="utf-8")
    try:
        report = workspace.ingest([path], fmt="json")
    finally:
        path.unlink(missing_ok=True)
    data = report.as_dict()
    for file, reported in zip(data["files"], report.files, strict=True):
        # line 1 of the file is the opening bracket: record N is on line N + 1
        file.update(path="body", rejected=[f"body:{r.line - 1}: {r.reason}" for r in reported.rejected],
                    error=reported.error.replace(str(path), "body") if reported.error else None)
    return data


def problem(status: int, title: str, detail: str, headers: dict[str, str] | None = None,
            **extra: Any) -> JSONResponse:
    return JSONResponse({"type": "about:blank", "title": title, "status": status, "detail": detail, **extra},
                        status_code=status, media_type=PROBLEM, headers=headers)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The API over the workspace ``settings`` names (default: the environment's, as the CLI reads it)."""
    from sherlock.service.metrics import Metrics
    service = Service(settings or load_settings())
    app = FastAPI(title="Sherlock", version="1", description="Search and learn from past incidents.")
    app.state.service = service
    metrics = app.state.metrics = Metrics()

    limits = service.settings

    @app.middleware("http")
    async def count(request: Request, call_next: Any) -> Any:
        started = time.perf_counter()
        response = await bounded(request, call_next)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")  # the route's template, so ids do not explode the label set
        metrics.latency.labels(path, request.method).observe(time.perf_counter() - started)
        metrics.requests.labels(path, request.method, str(response.status_code)).inc()
        return response

    async def bounded(request: Request, call_next: Any) -> Any:
        """413 for a body over ``api_max_body_bytes`` (by its declared length, before it is read), 504 for a request
        slower than ``api_timeout_s`` (the client is answered; the work in its thread runs to its end)."""
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limits.api_max_body_bytes:
            return problem(413, "Body too large", f"the request body has {int(declared):,} bytes; the limit is "
                           f"{limits.api_max_body_bytes:,} (SHERLOCK_API_MAX_BODY_BYTES): send fewer incidents per "
                           "request")
        if request.headers.get("transfer-encoding", "").lower() == "chunked" and request.method in ("POST", "PUT"):
            return problem(411, "Length required", "send the body with a Content-Length header, not chunked")
        try:
            return await asyncio.wait_for(call_next(request), timeout=limits.api_timeout_s)
        except TimeoutError:
            return problem(504, "Timed out", f"the request took longer than {limits.api_timeout_s:g} s "
                           "(SHERLOCK_API_TIMEOUT_S); try a smaller k or fewer incidents")

    @app.exception_handler(ServiceError)
    async def service_error(_: Request, exc: ServiceError) -> JSONResponse:
        return problem(exc.status, exc.title, exc.detail, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": ".".join(str(part) for part in error["loc"]), "message": error["msg"]}
                  for error in exc.errors()]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return problem(422, "Invalid request", detail, errors=errors)

    @app.exception_handler(ValueError)
    async def bad_value(_: Request, exc: ValueError) -> JSONResponse:
        return problem(400, "Bad request", str(exc))

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        """The process is alive."""
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz() -> dict[str, Any]:
        """The workspace is open and its indexes are at the store's revision; 503 otherwise."""
        ready = service.ready()
        if not ready.workspace.is_synced():
            raise ServiceError(503, "Indexing", "the indexes are catching up with the store; retry shortly",
                               {"Retry-After": "2"})
        return {"status": "ready", "revision": ready.workspace.store.revision(),
                "incidents": ready.workspace.store.count()}

    @app.get("/metrics")
    def prometheus() -> Response:
        """Prometheus text exposition (see :mod:`sherlock.service.metrics`)."""
        opened = service.ready() if service.is_open() else None
        return Response(metrics.scrape(opened.workspace if opened else None), media_type=CONTENT_TYPE_LATEST)

    @app.post("/v1/search")
    def search(body: SearchRequest) -> dict[str, Any]:
        """As ``sherlock search --json``."""
        response = service.ready(wait=30).searcher.search(
            body.query, k=body.k, filters=filters_from(body.filters), weights=body.weights, fusion=body.fusion,
            norm=body.norm)
        metrics.searched(response)
        return response.as_dict()

    @app.post("/v1/ask")
    def ask(body: AskRequest) -> dict[str, Any]:
        """As ``sherlock ask --json``."""
        answer = service.ready(wait=30).answerer.ask(body.question, k=body.k, filters=filters_from(body.filters))
        metrics.answered(answer, service.settings.gemini_api_key is not None)
        found = answer.search
        return {**answer.as_dict(), "reason": found.reason if found else None,
                "filter_suggestions": found.filter_suggestions if found else {}}

    @app.get("/v1/incidents/{incident_id}")
    def incident(incident_id: str) -> dict[str, Any]:
        """One incident with every field, as ``sherlock show --json``."""
        found = service.ready(wait=30).workspace.store.get(incident_id)
        if found is None:
            raise ServiceError(404, "Not found", f"no incident {incident_id} in this workspace (ids are matched "
                               "ignoring case)")
        return found.to_json_dict()

    @app.post("/v1/incidents")
    def ingest(body: Any = Body(...)) -> dict[str, Any]:  # noqa: B008 - FastAPI's way to declare a raw JSON body
        """Add or update incidents — one, a list, or an envelope, in any shape ``sherlock ingest`` reads — and bring
        the indexes up to date (a delta segment: the new incidents are found right after). The ingest report, with
        every rejected record named by its index in the body (``body:N``)."""
        report = ingest_body(service.ready(wait=30).workspace, body)
        metrics.ingested(report)
        return report

    @app.delete("/v1/incidents/{incident_id}")
    def delete(incident_id: str) -> dict[str, Any]:
        """Delete one incident (exact id) from the store and every index."""
        ready = service.ready(wait=30)
        found = ready.workspace.store.get(incident_id)
        if found is None:
            raise ServiceError(404, "Not found", f"no incident {incident_id} in this workspace")
        report = ready.workspace.delete([found.id])
        return {"deleted": [found.id], "sync": report.as_dict()}

    @app.post("/v1/feedback")
    def feedback(body: FeedbackRequest) -> dict[str, Any]:
        """Record a vote on a search (thumbs up/down, or the right incident), as the chat page does."""
        if body.helpful is None and not body.right_id:
            raise ServiceError(422, "Invalid request", "body: give helpful (true/false) or right_id, or both")
        with feedback_store(service.ready(wait=30).settings) as store:
            return {"recorded": store.record(body.query, body.shown_ids, body.helpful, body.right_id,
                                             session_id=body.session_id)}

    @app.post("/v1/feedback/pairs")
    def pair_feedback(body: PairFeedbackRequest) -> dict[str, Any]:
        """Record whether two incidents share a root cause: a labelled pair for the similar-incidents mode."""
        with feedback_store(service.ready(wait=30).settings) as store:
            return {"recorded": store.record_pair(body.anchor_id, body.other_id, body.same_root_cause,
                                                  session_id=body.session_id)}

    @app.get("/v1/incidents/{incident_id}/similar")
    def similar(incident_id: str, k: int = 10) -> dict[str, Any]:
        """The past incidents most like a stored one, as ``sherlock similar ID --json``."""
        if not 1 <= k <= 200:
            raise ServiceError(422, "Invalid request", f"query.k: must be between 1 and 200, got {k}")
        response = service.ready(wait=30).finder.similar(incident_id, k=k)
        metrics.searched(response)
        if response.abstained and (response.reason or "").startswith("not found"):
            raise ServiceError(404, "Not found", response.reason or "")
        return response.as_dict()

    @app.post("/v1/similar")
    def similar_new(body: SimilarRequest) -> Any:
        """The past incidents most like a new incident, as ``sherlock similar --incident FILE --json``."""
        from sherlock.schema import Incident
        try:
            new = Incident.model_validate(body.incident)
        except ValidationError as exc:
            errors = [{"field": ".".join(["body", "incident", *map(str, error["loc"])]), "message": error["msg"]}
                      for error in exc.errors()]
            return problem(422, "Invalid incident", "; ".join(f"{e['field']}: {e['message']}" for e in errors),
                           errors=errors)
        response = service.ready(wait=30).finder.similar(new, k=body.k)
        metrics.searched(response)
        return response.as_dict()

    return app
