"""What every source module shares: the page it yields, the settings it requires, and times as the APIs write them.

A source module exposes ``NAME``, ``connect(settings, **client_options) -> Client``, ``pages(client, settings, since,
until, query, cursor)`` (a generator of :class:`Page`), ``watermark_of(item)`` (the item's time on the axis the API
filters by) and ``to_record(item)`` (the importer's mapping, sometimes with a little more).
"""

from __future__ import annotations

import base64
import ipaddress
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, urlsplit

from pydantic import SecretStr

from sherlock.config import SETTINGS_FILE, Settings
from sherlock.storage.importers.times import parse_timestamp


class Page(NamedTuple):
    """One API page: its ``items`` as the tool's importer ``records()`` gives them, ``resume`` (JSON-able: where a
    later run starts again once this page is stored) and the query's ``total`` when the API says."""

    items: list[Any]
    resume: dict[str, Any]
    total: int | None = None


def require(settings: Settings, source: str, *names: str) -> dict[str, str]:
    """The values of the settings ``names`` (secrets unwrapped, never to be printed), or one ``ValueError`` naming
    every missing one and how to set it."""
    values: dict[str, str] = {}
    missing = []
    for name in names:
        value = getattr(settings, name)
        value = value.get_secret_value() if isinstance(value, SecretStr) else value
        if value in (None, ""):
            missing.append(name)
        else:
            values[name] = str(value)
    if missing:
        variables = ", ".join(f"SHERLOCK_{name.upper()}" for name in missing)
        keys = ", ".join(missing)
        them = "them" if len(missing) > 1 else "it"
        raise ValueError(f"sherlock sync {source} needs {variables}: set {them} in the environment, or {keys} in "
                         f"{settings.home / SETTINGS_FILE}")
    return values


def policy(settings: Settings) -> dict[str, Any]:
    """The retry policy of :class:`sherlock.sync.http.Client` from settings: its timeout, retries and backoff."""
    return {"timeout_s": settings.sync_timeout_s, "retries": settings.sync_retries,
            "backoff_s": settings.sync_backoff_s}


def basic_secrets(user: str, password: str) -> list[str]:
    """What to redact from messages for HTTP basic auth: the password and the base64 header value (not the user
    name alone, which may be a common word)."""
    return [password, base64.b64encode(f"{user}:{password}".encode()).decode()]


def newest(items: list[Any], when_of: Callable[[Any], Any]) -> str | None:
    """The latest of ``when_of(item)`` over ``items`` as a UTC ISO string (unreadable times are passed over)."""
    times = [when for item in items if (when := safe_utc(when_of(item))) is not None]
    return max(times).isoformat() if times else None


def since_resume(items: list[Any], when_of: Callable[[Any], Any]) -> dict[str, Any]:
    """The resume point of an API read oldest change first, once ``items`` are stored: their latest time."""
    latest = newest(items, when_of)
    return {"since": latest} if latest else {}


def within(items: list[Any], when_of: Callable[[Any], Any], until: datetime | None) -> list[Any]:
    """``items`` without those whose time is ``until`` or later (for APIs with no ``until`` filter of their own)."""
    if until is None:
        return items
    return [item for item in items if (when := safe_utc(when_of(item))) is None or when < until]


def safe_utc(value: Any) -> datetime | None:
    """:func:`utc`, with None for an unreadable value."""
    try:
        return utc(value)
    except ValueError:
        return None


def base_url(settings: Settings, name: str, source: str) -> str:
    """The API base URL in setting ``name``, without a trailing slash: https, or http to this machine only (a
    credential never crosses a network in clear text)."""
    url = require(settings, source, name)[name].rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"SHERLOCK_{name.upper()} must be an http(s) URL such as https://example.com, got {url!r}")
    if parts.scheme == "http" and not _loopback(parts.hostname):
        raise ValueError(f"SHERLOCK_{name.upper()} is plain http to {parts.hostname}: use https (credentials would "
                         "travel in clear text); http is accepted for this machine only")
    return url


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def utc(value: Any) -> datetime | None:
    """A timestamp as the APIs write it (or a ``date``/``datetime``) as an aware UTC datetime; a bare date is its
    midnight UTC; None for nothing. ``ValueError`` for an unreadable value."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    stamp = parse_timestamp(value)
    if stamp is None:
        return None
    return utc(date.fromisoformat(stamp.iso)) if len(stamp.iso) == 10 else datetime.fromisoformat(stamp.iso)


def iso_z(when: datetime) -> str:
    """``2025-01-31T09:30:00Z``: ISO 8601 in UTC to the second, as PagerDuty and GitHub take it."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def extra_params(query: str | None, reserved: tuple[str, ...], source: str, example: str) -> list[tuple[str, str]]:
    """``--query`` for an API filtered by URL parameters: a query string (``labels=incident&state=closed``) whose
    names are not among the ``reserved`` ones the sync sets itself (paging, time window)."""
    if not query:
        return []
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise ValueError(f"--query for {source} is a URL query string such as {example!r}, got {query!r}") from None
    clashing = sorted({name for name, _ in pairs if name.split("[")[0] in reserved})
    if clashing:
        raise ValueError(f"--query for {source} cannot set {', '.join(clashing)}: the sync sets those itself "
                         f"(paging and the time window; use --since/--until)")
    return pairs
