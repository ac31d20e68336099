"""Timestamps as incident tools write them → aware UTC ISO 8601 strings.

Offsets are honoured with or without a colon (Jira's ``2022-02-03T11:33:07.230-0500``), ``Z`` and microseconds are
read, and epoch numbers (seconds, or milliseconds past 10¹¹) are accepted. A time without a zone (ServiceNow's Table
API: ``2019-09-02 23:09:51``) is read in the zone the source documents, and reported as guessed so the importer can
say so in ``extra``. A bare date stays a date: it has no time to convert.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, tzinfo
from typing import Any, NamedTuple


class Timestamp(NamedTuple):
    """``iso``: the UTC ISO string (``2022-02-03T16:33:07.230000+00:00``) or a bare date; ``zone_guessed``: the
    source gave no zone and the documented one was assumed."""

    iso: str
    zone_guessed: bool


def parse_timestamp(value: Any, naive_zone: tzinfo = UTC) -> Timestamp | None:
    """``value`` (ISO string, epoch number, ``datetime``) as a UTC :class:`Timestamp`; None for nothing (None, "").
    Raises ``ValueError`` for anything else."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"expected a timestamp, got {value!r}")
    if isinstance(value, int | float):
        when = datetime.fromtimestamp(value / 1000 if abs(value) > 1e11 else value, UTC)
    elif isinstance(value, datetime):
        when = value
    elif isinstance(value, date):
        return Timestamp(value.isoformat(), False)
    elif isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return Timestamp(text, False)
        try:
            when = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{value!r} is not an ISO 8601 timestamp such as 2024-03-12T10:15:00Z") from None
    else:
        raise ValueError(f"expected a timestamp, got {type(value).__name__}")
    guessed = when.tzinfo is None
    if guessed:
        when = when.replace(tzinfo=naive_zone)
    return Timestamp(when.astimezone(UTC).isoformat(), guessed)


def utc_times(values: dict[str, Any], naive_zone: tzinfo = UTC) -> tuple[dict[str, str | None], list[str]]:
    """Each named value as a UTC ISO string (None when absent), and the names whose zone was assumed. A bad value
    raises ``ValueError`` naming its field."""
    times: dict[str, str | None] = {}
    guessed: list[str] = []
    for name, value in values.items():
        try:
            stamp = parse_timestamp(value, naive_zone)
        except ValueError as exc:
            raise ValueError(f"field {name!r}: {exc}") from None
        times[name] = stamp.iso if stamp else None
        if stamp and stamp.zone_guessed:
            guessed.append(name)
    return times, guessed
