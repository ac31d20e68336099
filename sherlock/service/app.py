"""The HTTP API: JSON in and out, bodies and responses equal to the CLI's ``--json`` contracts, errors as
``application/problem+json`` (RFC 9457) that say what was wrong and where.

    sherlock token create me --scope admin     # prints the token once
    sherlock serve --port 8000                 # OpenAPI docs at http://127.0.0.1:8000/docs
    curl -s localhost:8000/v1/search -H "Authorization: Bearer $TOKEN" -d '{"query": "UPI payment failed", "k": 3}'

Every request passes, outermost first: the request id and its log line, the body-size limit (413) and the time bound
(504), then the route's token check (401/403) and rate limit (429). The workspace opens in a background thread at
start (see :mod:`sherlock.service.runtime`).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST

from sherlock.config import Settings, load_settings
from sherlock.service import problems
from sherlock.service.auth import Guard, scope
from sherlock.service.logs import request_id, request_logger
from sherlock.service.problems import ServiceError, problem
from sherlock.service.runtime import Service


def raised_at(exc: BaseException) -> list[str]:
    """Where an error was raised, as ``module.py:line function`` for the innermost frames (ours and the library's),
    without its message: messages may quote incident text, which is never logged."""
    import traceback
    frames = traceback.extract_tb(exc.__traceback__)[-4:]
    return [f"{Path(frame.filename).name}:{frame.lineno} {frame.name}" for frame in frames]


def create_app(settings: Settings | None = None) -> FastAPI:
    """The API over the workspace ``settings`` names (default: the environment's, as the CLI reads it)."""
    from sherlock.service.metrics import Metrics
    from sherlock.service.routes import router
    from sherlock.service.webhooks import router as webhooks
    service = Service(settings or load_settings())
    limits = service.settings
    app = FastAPI(title="Sherlock", version="1", description="Search and learn from past incidents. Send "
                  "'Authorization: Bearer <token>' (sherlock token create NAME --scope read|write|admin).")
    app.state.service = service
    app.state.guard = Guard(limits)
    metrics = app.state.metrics = Metrics()
    log = request_logger(limits.api_log)
    problems.install(app)

    @app.middleware("http")
    async def observe(request: Request, call_next: Any) -> Any:
        """Request id, metrics and one log line per request; an unexpected error becomes a logged 500 problem."""
        started = time.perf_counter()
        request.state.request_id = rid = request_id(request.headers.get("x-request-id"))
        try:
            response = await bounded(request, call_next)
        except Exception as exc:  # noqa: BLE001 - answered as a problem, logged with its type and place, no text
            log.error("unhandled", request_id=rid, error=type(exc).__name__, at=raised_at(exc))
            response = problem(500, "Internal error", f"the server failed on this request (request id {rid}); "
                               "the log has its error type")
        elapsed = time.perf_counter() - started
        route = getattr(request.scope.get("route"), "path", "unmatched")  # the template: ids never become labels
        metrics.latency.labels(route, request.method).observe(elapsed)
        metrics.requests.labels(route, request.method, str(response.status_code)).inc()
        response.headers["X-Request-ID"] = rid
        log.info("request", request_id=rid, method=request.method, route=route, status=response.status_code,
                 ms=round(elapsed * 1000, 2), caller=getattr(request.state, "caller", None),
                 client=request.client.host if request.client else None)
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

    if limits.api_cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=limits.api_cors_origins, allow_methods=["GET", "POST",
                           "DELETE"], allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
                           expose_headers=["X-Request-ID", "Retry-After"])

    probe = [] if limits.api_open_probes else [scope("read")]

    @app.get("/healthz", dependencies=probe)
    def healthz() -> dict[str, str]:
        """The process is alive."""
        return {"status": "ok"}

    @app.get("/readyz", dependencies=probe)
    def readyz() -> dict[str, Any]:
        """The workspace is open and its indexes are at the store's revision; 503 otherwise."""
        ready = service.ready()
        if not ready.workspace.is_synced():
            raise ServiceError(503, "Indexing", "the indexes are catching up with the store; retry shortly",
                               {"Retry-After": "2"})
        return {"status": "ready", "revision": ready.workspace.store.revision(),
                "incidents": ready.workspace.store.count()}

    @app.get("/metrics", dependencies=probe)
    def prometheus() -> Response:
        """Prometheus text exposition (see :mod:`sherlock.service.metrics`)."""
        opened = service.ready() if service.is_open() else None
        return Response(metrics.scrape(opened.workspace if opened else None), media_type=CONTENT_TYPE_LATEST)

    app.include_router(router)
    app.include_router(webhooks)
    return app
