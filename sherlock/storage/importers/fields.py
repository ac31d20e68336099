"""What every importer does with a tool's fields: require the ones an incident needs, read names out of reference
objects, clean text, grade severity 1 (worst) to 5, normalise status, stamp times in UTC, and finish the record."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, tzinfo
from typing import Any

from sherlock.storage.importers.markup import html_to_text, looks_like_html
from sherlock.storage.importers.times import utc_times

#: The normalised statuses; the tool's own word is kept in ``extra["status_raw"]``.
STATUSES = ("open", "resolved", "closed", "canceled")

#: Severity and priority words most tools share, graded 1 (worst) to 5. A source's own table is consulted first.
SEVERITY_WORDS = {
    "critical": 1, "blocker": 1, "highest": 1, "urgent": 1, "emergency": 1, "fatal": 1,
    "high": 2, "major": 2, "severe": 2,
    "medium": 3, "moderate": 3, "normal": 3, "average": 3,
    "low": 4, "minor": 4,
    "lowest": 5, "trivial": 5, "info": 5, "informational": 5, "planning": 5, "none": 5,
}
NUMBERED_SEVERITY = re.compile(r"(?:sev(?:erity)?|p|priority)?[\s_.:-]*(\d+)(?:\s*-.*)?")


def expect_object(item: Any, what: str) -> dict[str, Any]:
    """``item`` when it is a JSON object, else ``ValueError`` saying what was expected."""
    if not isinstance(item, dict):
        raise ValueError(f"expected {what} object, got {type(item).__name__}")
    return item


def required(item: Mapping[str, Any], what: str, *keys: str, hint: str = "") -> Any:
    """The first non-empty value among ``keys``, or ``ValueError`` naming the missing field."""
    for key in keys:
        value = item.get(key)
        if value not in (None, "", [], {}):
            return value
    names = " or ".join(repr(key) for key in keys)
    raise ValueError(f"{what} has no {names}{'; ' + hint if hint else ''}")


def name_of(value: Any) -> str | None:
    """A reference object's human name (PagerDuty ``summary``, Jira ``name``/``displayName``/``value``,
    ServiceNow ``display_value``/``value``, GitHub ``login``), or a plain string as it is."""
    if isinstance(value, dict):
        for key in ("summary", "name", "displayName", "display_value", "value", "title", "full_name", "login"):
            if value.get(key) not in (None, ""):
                return str(value[key])
        return None
    if value in (None, "") or isinstance(value, list):
        return None
    return str(value)


def names_of(values: Any) -> list[str]:
    """The names of a list of reference objects, empty ones left out."""
    return [name for name in map(name_of, values or []) if name] if isinstance(values, list) else []


def plain_text(value: Any) -> str:
    """Text that may be HTML (ServiceNow, PagerDuty, Opsgenie) as plain text: HTML converted, else the text with
    its line ends normalised, trailing spaces and blank lines dropped (leading indentation kept for traces)."""
    if value is None:
        return ""
    text = str(value)
    if looks_like_html(text):
        return html_to_text(text)
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines if line.strip())


def severity_level(raw: Any, words: Mapping[str, int] | None = None) -> int | None:
    """The severity 1 (worst) … 5 of a tool's word or number: the source's own ``words`` first, then ``SEV1``,
    ``Sev-2``, ``P3``, ``1 - Critical`` by their number (0 counts as 1, past 5 as 5), then the shared words."""
    if raw in (None, ""):
        return None
    text = str(raw).strip().lower()
    if words and text in words:
        return words[text]
    numbered = NUMBERED_SEVERITY.fullmatch(text)
    if numbered:
        return min(max(int(numbered.group(1)), 1), 5)
    return SEVERITY_WORDS.get(text)


def status_of(raw: Any, table: Mapping[str, str]) -> str | None:
    """The normalised status of a tool's status word: its entry in ``table``, ``open`` for a word the table does not
    know (a team's own workflow state), None when there is none."""
    if raw in (None, ""):
        return None
    return table.get(str(raw).strip().lower(), "open")


def stamp_times(record: dict[str, Any], extra: dict[str, Any], values: dict[str, Any],
                naive_zone: tzinfo = UTC, zone_name: str = "UTC") -> None:
    """Put each named time into ``record`` (canonical names) or ``extra`` (others) as UTC; when a time had no zone
    and ``zone_name`` was assumed, say so in ``extra["time_zone_guessed"]``."""
    times, guessed = utc_times(values, naive_zone)
    for name, iso in times.items():
        (record if name in ("created_at", "resolved_at") else extra)[name] = iso
    if guessed:
        extra["time_zone_guessed"] = zone_name


def finish(record: dict[str, Any], extra: dict[str, Any], source: str) -> dict[str, Any]:
    """The record with ``extra`` attached (empty values left out) and ``extra["source"]`` naming the tool."""
    kept = {key: value for key, value in extra.items() if value not in (None, "", [], {})}
    kept["source"] = source
    record["extra"] = kept
    return record
