"""The API's request log: one JSON line per request on stderr (structlog), with a request id that is also returned
in the ``X-Request-ID`` header (a caller's own id is kept when it looks like one).

What is logged: time, request id, method, route template (``/v1/incidents/{incident_id}``, never the id), status,
duration, the caller's token *name* and address. Never logged: bodies, query strings, incident text, tokens,
webhook secrets or signatures, the Gemini key.
"""

from __future__ import annotations

import re
import sys
import uuid
from typing import Any

import structlog

#: A caller-supplied request id is echoed only when it is this plain (no header injection, no incident text).
REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def request_logger(enabled: bool = True) -> Any:
    """A structlog logger printing JSON lines to stderr (or dropping everything when ``enabled`` is false)."""
    processors: list[Any] = [structlog.processors.add_log_level,
                             structlog.processors.TimeStamper(fmt="iso", utc=True),
                             structlog.processors.JSONRenderer()]
    if not enabled:
        processors.insert(0, _drop)
    return structlog.wrap_logger(structlog.PrintLogger(file=sys.stderr), processors=processors,
                                 wrapper_class=structlog.BoundLogger)


def _drop(*_: Any) -> Any:
    raise structlog.DropEvent


def request_id(given: str | None) -> str:
    """The caller's ``X-Request-ID`` when it is a plain token, else a new random one."""
    if given and REQUEST_ID.fullmatch(given):
        return given
    return uuid.uuid4().hex
