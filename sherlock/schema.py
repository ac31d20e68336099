"""The canonical incident record: the one data contract every reader produces and every retriever consumes.

Ingest validates a raw record once, here; everything downstream trusts an ``Incident``.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

#: Canonical field names, in display order.
CANONICAL_FIELDS = (
    "id", "title", "description", "root_cause", "resolution", "tags", "service", "category",
    "severity", "status", "created_at", "resolved_at", "resolved_by",
)

#: Fields the lexical and dense retrievers index, in the order their text is joined.
TEXT_FIELDS = ("title", "description", "root_cause", "resolution", "tags")

#: Source field names that mean a canonical field (the original SherlockAI's ``fix_applied`` and ``priority``).
#: An alias is used only when the canonical field itself is absent; otherwise it stays in ``extra``.
ALIASES = {"fix_applied": "resolution", "priority": "severity"}

#: Severity words most severe first, for :func:`severity_key` (numbered severities sort by number).
SEVERITY_WORDS = {"critical": 0, "high": 1, "medium": 2, "low": 3}


def severity_key(value: str) -> tuple:
    """The sort key of a severity in its natural order: numbered ones by number (SEV1, SEV2, …, SEV10; P0 before
    P1), then critical, high, medium, low, then any other value alphabetically, and ``(none)`` last."""
    if value == "(none)":
        return (3,)
    parts = re.split(r"(\d+)", value.strip().lower())
    if len(parts) > 1:
        return (0, tuple(int(part) if index % 2 else part for index, part in enumerate(parts)))
    if parts[0] in SEVERITY_WORDS:
        return (1, SEVERITY_WORDS[parts[0]])
    return (2, parts[0])



def _parse_when(value: Any) -> date | datetime | None:
    """An ISO date (``2024-03-12``) or datetime (``2024-11-15T00:00:00.000000``, ``...Z``, offsets) or nothing."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime | date):
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected an ISO date or datetime string, got {type(value).__name__}")
    text = value.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return date.fromisoformat(text)
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T", 1))
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO date (YYYY-MM-DD) or datetime (YYYY-MM-DDTHH:MM:SS)") from None


class Incident(BaseModel):
    """One past incident. ``id`` and ``title`` are required; every unknown source field is kept in ``extra``."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    id: str = Field(min_length=1)
    title: str = Field(min_length=1)
    description: str = ""
    root_cause: str = ""
    resolution: str = ""
    tags: list[str] = Field(default_factory=list)
    service: str | None = None
    category: str | None = None
    severity: str | None = None
    status: str | None = None
    created_at: date | datetime | None = None
    resolved_at: date | datetime | None = None
    resolved_by: str | list[str] | None = None
    extra: dict[str, Any] = Field(default_factory=dict)

    @field_validator("id")
    @classmethod
    def _id_has_no_whitespace(cls, value: str) -> str:
        if any(ch.isspace() for ch in value):
            raise ValueError("must not contain whitespace")
        return value

    @field_validator("description", "root_cause", "resolution", mode="before")
    @classmethod
    def _text_or_empty(cls, value: Any) -> Any:
        if value is None:
            return ""
        if isinstance(value, list):  # some sources give steps as a list of strings
            return "\n".join(str(item) for item in value)
        return value

    @field_validator("service", "category", "severity", "status", mode="before")
    @classmethod
    def _label_or_none(cls, value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        return str(value) if isinstance(value, int | float) else value

    @field_validator("tags", mode="before")
    @classmethod
    def _tags_as_list(cls, value: Any) -> Any:
        if value is None or value == "":
            return []
        if isinstance(value, str):  # CSV cells: "UPI, Timeout" or "UPI;Timeout"
            return [part.strip() for part in re.split(r"[;,|]", value) if part.strip()]
        return value

    @field_validator("tags")
    @classmethod
    def _drop_empty_tags(cls, value: list[str]) -> list[str]:
        return [tag.strip() for tag in value if tag and tag.strip()]

    @field_validator("created_at", "resolved_at", mode="before")
    @classmethod
    def _when(cls, value: Any) -> date | datetime | None:
        return _parse_when(value)

    @field_validator("resolved_by", mode="before")
    @classmethod
    def _people(cls, value: Any) -> Any:
        if value in (None, "", []):
            return None
        return value

    # -- derived views -------------------------------------------------------------------------------------------

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Incident:
        """Build from a raw source record: canonical fields by name, aliases when the canonical is absent, the rest
        verbatim in ``extra``. Raises pydantic's ``ValidationError`` naming the bad field."""
        fields: dict[str, Any] = {}
        extra: dict[str, Any] = dict(record.get("extra") or {}) if isinstance(record.get("extra"), dict) else {}
        for key, value in record.items():
            if key == "extra" and isinstance(value, dict):
                continue
            if key in CANONICAL_FIELDS:
                fields[key] = value
            elif key in ALIASES and ALIASES[key] not in record:
                fields[ALIASES[key]] = value
            else:
                extra[key] = value
        if isinstance(fields.get("id"), int):
            fields["id"] = str(fields["id"])
        return cls(**fields, extra=extra)

    def text(self) -> str:
        """The text the retrievers index: title, description, root cause, resolution and tags."""
        parts = [self.title, self.description, self.root_cause, self.resolution, " ".join(self.tags)]
        return "\n".join(part for part in parts if part)

    def to_json_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (dates as ISO strings), the shape stored and printed by ``sherlock show --json``."""
        return self.model_dump(mode="json")

    def content_hash(self) -> str:
        """SHA-256 of every field but ``id``: equal for unchanged records, and for the same content under two ids."""
        payload = self.to_json_dict()
        payload.pop("id")
        canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def text_fingerprint(self) -> str:
        """SHA-256 of the indexed text, case- and whitespace-folded: flags duplicate content filed under two ids."""
        folded = " ".join(self.text().lower().split())
        return hashlib.sha256(folded.encode("utf-8")).hexdigest()

    def minutes_to_resolve(self) -> float | None:
        """``resolved_at - created_at`` in minutes, when both are datetimes and the resolution is not earlier."""
        start, end = self.created_at, self.resolved_at
        if not isinstance(start, datetime) or not isinstance(end, datetime):
            return None
        if (start.tzinfo is None) != (end.tzinfo is None):
            return None
        minutes = (end - start).total_seconds() / 60
        return minutes if minutes >= 0 else None

    def created_date(self) -> date | None:
        """``created_at`` as a calendar date (datetimes are truncated), for date-range filters."""
        when = self.created_at
        return when.date() if isinstance(when, datetime) else when
