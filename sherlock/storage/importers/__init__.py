"""Importers for incident tools' JSON API payloads: each turns one tool's records, as its REST API (or webhook)
returns them, into Sherlock's canonical record dict (the input of :meth:`sherlock.schema.Incident.from_record`).

Every source module has the same three verbs: ``detect(document)`` — does this JSON hold the tool's items (envelope
and item keys)? ``records(document)`` — the items inside whichever envelope the tool uses, or a bare array;
``to_record(item)`` — one item as a canonical record, ``None`` for an item to skip (a GitHub pull request), or
``ValueError`` naming what is missing. Records carry ``extra["source"]``, the tool's status word in
``extra["status_raw"]`` and a ``extra["severity_level"]`` from 1 (worst) to 5.

>>> detect_source({"issues": [{"key": "OPS-1", "fields": {"summary": "disk full"}}]})
'jira'
>>> importer("jira").to_record({"key": "OPS-1", "fields": {"summary": "disk full"}})["id"]
'OPS-1'
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

from sherlock.storage.importers import (
    firehydrant,
    github,
    incidentio,
    jira,
    opsgenie,
    pagerduty,
    rootly,
    servicenow,
    statuspage,
)
from sherlock.storage.importers.shapes import envelope_key
from sherlock.storage.raw import RawRecord, UnusableFileError, array_item_lines, load_json


class Importer(NamedTuple):
    """One tool's importer: its name, shape test, item reader and record mapper, and the envelope keys that hold
    its item arrays (to report each item at its line)."""

    name: str
    detect: Callable[[Any], bool]
    records: Callable[[Any], list[Any]]
    to_record: Callable[[Any], dict[str, Any] | None]
    lists: tuple[str, ...]


IMPORTERS: dict[str, Importer] = {
    module.NAME: Importer(module.NAME, module.detect, module.records, module.to_record, module.LISTS)
    for module in (pagerduty, jira, servicenow, incidentio, opsgenie, rootly, statuspage, github, firehydrant)
}


def importer(name: str) -> Importer:
    """The importer called ``name``, or ``ValueError`` listing the valid names."""
    try:
        return IMPORTERS[name]
    except KeyError:
        raise ValueError(f"unknown importer {name!r}; use one of: {', '.join(IMPORTERS)}") from None


def detect_source(document: Any) -> str | None:
    """The name of the one tool whose shape ``document`` has, or None (Sherlock's own canonical JSON, or
    anything no importer recognises)."""
    return next((name for name, candidate in IMPORTERS.items() if candidate.detect(document)), None)


def read_importer(path: Path, name: str) -> Iterator[RawRecord]:
    """The canonical records of a tool's JSON file, each at the line its item starts on (for an item inside an
    envelope or a bare array; else its 1-based index). An item the importer rejects becomes a ``ValueError`` record,
    reported by ingest as ``FILE:LINE: reason``; skipped items (pull requests) are left out."""
    chosen = importer(name)
    text, document = load_json(path)
    try:
        items = chosen.records(document)
    except ValueError as exc:
        raise UnusableFileError(f"{path}:1: not a {name} export: {exc}") from None
    key = envelope_key(document, chosen.lists)
    lines = list(array_item_lines(text, key)) if isinstance(document, list) or key else []
    for index, item in enumerate(items):
        line = lines[index] if index < len(lines) else index + 1
        try:
            record = chosen.to_record(item)
        except ValueError as exc:
            yield RawRecord(line, ValueError(f"{name} item {index + 1}: {exc}"))
            continue
        if record is not None:
            yield RawRecord(line, record)
