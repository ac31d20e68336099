"""Errors as ``application/problem+json`` (RFC 9457): a short ``title``, the ``detail`` saying what was wrong and what
to do, and for validation errors each field's path (``body.query``, ``query.k``). The request's id is in the
``X-Request-ID`` header, as on every answer."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

PROBLEM = "application/problem+json"


class ServiceError(Exception):
    """An error answered as a problem document: ``status``, a short ``title`` and the ``detail`` saying what to do."""

    def __init__(self, status: int, title: str, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.headers = status, title, detail, headers or {}


def problem(status: int, title: str, detail: str, headers: dict[str, str] | None = None,
            **extra: Any) -> JSONResponse:
    return JSONResponse({"type": "about:blank", "title": title, "status": status, "detail": detail, **extra},
                        status_code=status, media_type=PROBLEM, headers=headers)


def field_errors(errors: Any, prefix: tuple[str, ...] = ()) -> list[dict[str, str]]:
    """pydantic's errors as ``[{"field": "body.incident.title", "message": ...}]``."""
    return [{"field": ".".join([*prefix, *(str(part) for part in error["loc"])]), "message": error["msg"]}
            for error in errors]


def invalid(errors: list[dict[str, str]], title: str = "Invalid request") -> JSONResponse:
    return problem(422, title, "; ".join(f"{e['field']}: {e['message']}" for e in errors), errors=errors)


def install(app: FastAPI) -> None:
    """Answer :class:`ServiceError`, validation errors and ``ValueError`` (bad settings, filters) as problems."""

    @app.exception_handler(ServiceError)
    async def service_error(_: Request, exc: ServiceError) -> JSONResponse:
        return problem(exc.status, exc.title, exc.detail, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        return invalid(field_errors(exc.errors()))

    @app.exception_handler(ValueError)
    async def bad_value(_: Request, exc: ValueError) -> JSONResponse:
        return problem(400, "Bad request", str(exc))
