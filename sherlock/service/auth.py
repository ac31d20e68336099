"""Who may call the API: a bearer token whose scope covers the route, within its rate limit.

    Authorization: Bearer shk_...        401 without a live token, 403 when its scope is too small, 429 past its rate

Scopes are ordered (``read`` < ``write`` < ``admin``; see :data:`sherlock.storage.tokens.SCOPES`). With
``api_auth = "off"`` every caller is an admin known by its address, still rate-limited. The token itself is never
logged: a request is known in the logs by the token's name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from fastapi import Depends, Request

from sherlock.config import Settings
from sherlock.service.problems import ServiceError
from sherlock.service.ratelimit import RateLimiter
from sherlock.storage.tokens import SCOPES, open_tokens


class Caller(NamedTuple):
    """Who is calling: a token's name (or ``client:<address>`` without auth), its scope and its rate limit."""

    name: str
    scope: str
    rate: str


class Guard:
    """Checks each request's token, scope and rate (one per app)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.tokens = open_tokens(settings) if settings.api_auth == "tokens" else None
        self.limiter = RateLimiter()

    def caller(self, request: Request) -> Caller:
        """The request's caller, or 401: a missing, malformed, unknown or revoked token."""
        if self.tokens is None:
            host = request.client.host if request.client else "unknown"
            return Caller(f"client:{host}", "admin", self.settings.api_rate_limit)
        scheme, _, secret = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise ServiceError(401, "Unauthorized", "send the header 'Authorization: Bearer <token>'; an admin makes "
                               "a token with: sherlock token create NAME --scope read",
                               {"WWW-Authenticate": 'Bearer realm="sherlock"'})
        token = self.tokens.verify(secret.strip())
        if token is None:
            raise ServiceError(401, "Unauthorized", "the token is unknown or revoked; ask an admin for a new one "
                               "(sherlock token list shows the live ones)",
                               {"WWW-Authenticate": 'Bearer realm="sherlock", error="invalid_token"'})
        return Caller(token.name, token.scope, token.rate or self.settings.api_rate_limit)

    def admit(self, request: Request, scope: str) -> Caller:
        """The caller, once its scope covers ``scope`` (else 403) and it is within its rate (else 429)."""
        caller = self.caller(request)
        request.state.caller = caller.name
        order = list(SCOPES)
        if order.index(caller.scope) < order.index(scope):
            raise ServiceError(403, "Forbidden", f"the token {caller.name!r} has the scope {caller.scope!r}; this "
                               f"route needs {scope!r} ({SCOPES[scope]}): use a token made with --scope {scope}")
        retry = self.limiter.check(caller.name, caller.rate)
        if retry is not None:
            raise ServiceError(429, "Too many requests", f"{caller.name!r} is limited to {caller.rate}; retry in "
                               f"{retry} s", {"Retry-After": str(retry)})
        return caller

    def close(self) -> None:
        if self.tokens is not None:
            self.tokens.close()


def scope(needed: str) -> Any:
    """A route dependency: ``@router.post(..., dependencies=[scope("write")])``."""
    if needed not in SCOPES:
        raise ValueError(f"unknown scope {needed!r}; choose one of: {', '.join(SCOPES)}")

    def admitted(request: Request) -> Caller:
        guard: Guard = request.app.state.guard
        return guard.admit(request, needed)

    dependency: Callable[[Request], Caller] = admitted
    return Depends(dependency)
