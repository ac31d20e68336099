"""One postmortem document → Sherlock's canonical record dict (the input of
:meth:`sherlock.schema.Incident.from_record`)."""

from __future__ import annotations

import re
from datetime import date, datetime, tzinfo
from pathlib import PurePosixPath
from typing import Any, NamedTuple

from sherlock.schema import CANONICAL_FIELDS
from sherlock.storage.importers.fields import finish, severity_level
from sherlock.storage.importers.markup import markdown_to_text
from sherlock.storage.importers.postmortem.dates import When, first_when, in_utc, stated_zone
from sherlock.storage.importers.postmortem.document import (
    Document,
    PostmortemError,
    Section,
    has_content,
    parse_document,
)
from sherlock.storage.importers.postmortem.headings import HeadingRule

#: The text fields sections fill, each from its best-ranked section (ties: the first in the document).
TEXT_FIELDS = ("description", "root_cause", "resolution")

#: An incident id as teams write them in titles and file names: ``INC-123``, ``OPS-45``, ``PM2020-004``,
#: ``INC0010001``; prefixes that name standards or severities (``CVE-2021``, ``UTF-8``, ``SEV-1``) are not ids.
INCIDENT_ID = re.compile(r"(?<![\w/-])([A-Z][A-Z0-9]{1,11}-\d{1,9}|[A-Z]{2,5}\d{5,10})(?![\w/-])")
NOT_ID_PREFIXES = frozenset({"CVE", "CWE", "UTF", "SEV", "ISO", "RFC", "SHA", "TLS", "SSL", "HTTP", "HTTPS", "IPV",
                             "GMT", "UTC", "MD", "AES", "RSA", "ECMA", "IEEE"})
EMPTY_TEMPLATE = "only headings, no text: an empty template? Fill in its sections, or leave the file out"


class Block(NamedTuple):
    """A section with the subsections it owns: its rule, heading, line and markdown lines."""

    rule: HeadingRule | None
    heading: str
    line: int
    lines: list[str]


def postmortem_record(text: str, name: str) -> dict[str, Any]:
    """The canonical record of one postmortem; ``name`` is its path relative to the ingested folder (kept in
    ``extra["path"]``; its stem is the last resort for the title, the id and the date). ``PostmortemError`` (a
    ``ValueError`` with the ``line`` to look at) for an empty template or an unreadable front matter or date."""
    document = parse_document(text)
    stem = PurePosixPath(name).stem
    sections = document.sections
    if not any(has_content(section.body) for section in sections) and (
            sections or not has_content(document.preamble)):
        raise PostmortemError(1, EMPTY_TEMPLATE if sections or document.title else "no text: the file is empty")
    front = dict(document.front)
    blocks = _own_blocks(document.sections)
    record, used = _text_fields(blocks)
    extra: dict[str, Any] = {"path": name}
    if has_content(document.preamble):  # the text between the title and the first section
        intro = markdown_to_text("\n".join(document.preamble))
        if record.get("description"):
            extra["intro"] = intro
        else:
            record["description"] = intro
    title = str(front.pop("title", "") or document.title or _humanise(stem))
    record["title"] = title
    record["id"] = str(front.pop("id", "") or _incident_id(title) or _incident_id(stem) or "-".join(stem.split()))
    zone = stated_zone(text)
    when, source = _created_at(document, front, blocks, title, stem, zone)
    if when:
        record["created_at"] = when.value.isoformat()
        extra["created_at_from"] = source
        if when.zone_guessed:
            extra["time_zone_guessed"] = "UTC"
    facts = {fact.kind: fact.value for fact in reversed(document.facts) if 0 < len(fact.value) <= 40}
    for field in ("severity", "category"):
        value = front.pop(field, None) or facts.get(field)
        if value not in (None, ""):
            record[field] = markdown_to_text(str(value))
    extra["severity_level"] = severity_level(record.get("severity"))
    if front.get("resolved_at") not in (None, ""):
        front["resolved_at"] = _front_when(document, "resolved_at", front["resolved_at"], zone).value
    if isinstance(front.get("tags"), list):
        front["tags"] = [str(tag) for tag in front["tags"] if tag is not None]
    for key, value in front.items():
        (record if key in CANONICAL_FIELDS else extra)[key] = _json_ready(value)
    extra["sections"] = _extra_sections(blocks, used)
    return finish(record, extra, "markdown")


def _text_fields(blocks: list[Block]) -> tuple[dict[str, Any], set[int]]:
    """Description, root cause and resolution from their best sections, and the lines of the sections used."""
    record: dict[str, Any] = {}
    used: set[int] = set()
    for field in TEXT_FIELDS:
        candidates = [b for b in blocks if b.rule and b.rule.field == field and has_content(b.lines)]
        if candidates:
            best = min(candidates, key=lambda block: block.rule.rank if block.rule else 0)
            record[field] = markdown_to_text("\n".join(best.lines))
            used.add(best.line)
    return record, used


def _own_blocks(sections: list[Section]) -> list[Block]:
    """Each section owned by the nearest enclosing section that matched a rule (a section matching the same field as
    that one stays inside it; one matching another field stands alone), else by its top-level ancestor."""
    blocks: list[Block] = []
    stack: list[tuple[Section, Block]] = []  # open ancestors, each with the block that owns it
    for section in sections:
        while stack and stack[-1][0].level >= section.level:
            stack.pop()
        owner = next((block for _, block in reversed(stack) if block.rule), stack[0][1] if stack else None)
        joins = owner is not None and (section.rule is None or (owner.rule is not None and
                                                                owner.rule.field == section.rule.field))
        if owner is not None and joins:
            owner.lines.extend([section.heading, *section.body])
            block = owner
        else:
            block = Block(section.rule, section.heading, section.line, list(section.body))
            blocks.append(block)
        stack.append((section, block))
    return blocks


def _created_at(document: Document, front: dict[str, Any], blocks: list[Block], title: str, stem: str,
                zone: tzinfo | None) -> tuple[When | None, str]:
    """When the incident began, and where that was read: the front matter's date, a ``Date:`` line or section,
    the first date of the timeline, a date in the title, a date in the file name."""
    written = {key: front.pop(key) for key in ("date", "created_at", "created") if key in front}
    for key, value in written.items():
        if value not in (None, ""):
            return _front_when(document, key, value, zone), "front matter"
    for fact in document.facts:
        if fact.kind == "date" and fact.value:
            when = first_when(fact.value, zone)
            if when:
                return when, "date line"
            if re.search(r"\d", fact.value):
                raise PostmortemError(fact.line, f"date {fact.value!r} is not a date this reader knows; write it "
                                      "as YYYY-MM-DD (or 21 October 2015), with HH:MM after it for a time")
    timeline = next((b for b in blocks if b.rule and b.rule.kind == "timeline"), None)
    sources = (("timeline", "\n".join(timeline.lines) if timeline else ""), ("title", title), ("file name", stem))
    for source, words in sources:
        when = first_when(words, zone)
        if when:
            return when, source
    return None, ""


def _front_when(document: Document, key: str, value: Any, zone: tzinfo | None) -> When:
    """A front-matter date or time (YAML reads ``2024-03-12`` as a date; other forms stay strings) in UTC, or
    ``PostmortemError`` at its line."""
    if isinstance(value, datetime):
        return in_utc(value, zone)
    when = When(value, False) if isinstance(value, date) else first_when(str(value), zone)
    if when is None:
        raise PostmortemError(document.front_lines.get(key, 1), f"front matter {key!r}: {value!r} is not a date; "
                              "write it as YYYY-MM-DD or YYYY-MM-DD HH:MM")
    return when


def _extra_sections(blocks: list[Block], used: set[int]) -> dict[str, str]:
    """The sections no field took, as ``{heading: plain text}`` (a repeated heading gets `` (2)``)."""
    sections: dict[str, str] = {}
    for block in blocks:
        text = markdown_to_text("\n".join(block.lines))
        if block.line in used or not text or (block.rule and block.rule.field in ("created_at", "severity",
                                                                                  "category")):
            continue
        heading, count = block.heading or f"line {block.line}", 2
        while heading in sections:
            heading, count = f"{block.heading} ({count})", count + 1
        sections[heading] = text
    return sections


def _incident_id(text: str) -> str | None:
    for match in INCIDENT_ID.finditer(text):
        if re.sub(r"[\d-].*", "", match.group(1)) not in NOT_ID_PREFIXES:
            return match.group(1)
    return None


def _humanise(stem: str) -> str:
    """``2017-09-27-hub-403`` → ``2017-09-27 hub 403``; ``disk_full`` → ``Disk full``."""
    words = " ".join(re.sub(r"(?<!\d)[-_]+|[-_]+(?!\d)", " ", stem).split())
    return words[:1].upper() + words[1:]


def _json_ready(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(key): _json_ready(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_ready(item) for item in value]
    return value
