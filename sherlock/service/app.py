"""The HTTP API: JSON in and out, bodies and responses equal to the CLI's ``--json`` contracts, errors as
``application/problem+json`` (RFC 9457) that say what was wrong and where.

    sherlock serve --port 8000          # OpenAPI docs at http://127.0.0.1:8000/docs
    curl -s localhost:8000/v1/search -d '{"query": "UPI payment failed with error 5003", "k": 3}'

The workspace opens (and, when empty, loads the demo corpus) in a background thread at start: ``/healthz`` answers at
once, ``/readyz`` and every ``/v1`` route answer 503 with ``Retry-After`` until it is ready.
"""

from __future__ import annotations

import threading
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
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


def problem(status: int, title: str, detail: str, headers: dict[str, str] | None = None,
            **extra: Any) -> JSONResponse:
    return JSONResponse({"type": "about:blank", "title": title, "status": status, "detail": detail, **extra},
                        status_code=status, media_type=PROBLEM, headers=headers)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The API over the workspace ``settings`` names (default: the environment's, as the CLI reads it)."""
    service = Service(settings or load_settings())
    app = FastAPI(title="Sherlock", version="1", description="Search and learn from past incidents.")
    app.state.service = service

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

    @app.post("/v1/search")
    def search(body: SearchRequest) -> dict[str, Any]:
        """As ``sherlock search --json``."""
        return service.ready(wait=30).searcher.search(
            body.query, k=body.k, filters=filters_from(body.filters), weights=body.weights, fusion=body.fusion,
            norm=body.norm).as_dict()

    @app.post("/v1/ask")
    def ask(body: AskRequest) -> dict[str, Any]:
        """As ``sherlock ask --json``."""
        answer = service.ready(wait=30).answerer.ask(body.question, k=body.k, filters=filters_from(body.filters))
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

    @app.get("/v1/incidents/{incident_id}/similar")
    def similar(incident_id: str, k: int = 10) -> dict[str, Any]:
        """The past incidents most like a stored one, as ``sherlock similar ID --json``."""
        if not 1 <= k <= 200:
            raise ServiceError(422, "Invalid request", f"query.k: must be between 1 and 200, got {k}")
        response = service.ready(wait=30).finder.similar(incident_id, k=k)
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
        return service.ready(wait=30).finder.similar(new, k=body.k).as_dict()

    return app
