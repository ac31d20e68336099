"""Incident tools' CSV exports: recognise one by its header row, and read its rows, each at the line it starts on.

Two exports are known, each mapped by its own module: ``jira-csv`` (Jira's "Export → CSV (all fields)",
:mod:`~sherlock.storage.importers.jira_csv`) and ``servicenow-csv`` (a ServiceNow list view's "Export → CSV",
:mod:`~sherlock.storage.importers.servicenow_csv`). Cells are read by position, never through ``csv.DictReader``:
Jira repeats header names. Sherlock's own CSV (``id,title,...``) is neither and stays with ingest's ``csv`` reader.

>>> detect_csv(["Summary", "Issue key", "Labels", "Labels"])
'jira-csv'
>>> detect_csv(["id", "title", "description"]) is None
True
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

from sherlock.storage.importers import jira_csv, servicenow_csv
from sherlock.storage.raw import RawRecord, UnusableFileError, read_text


class CsvExport(NamedTuple):
    """One tool's CSV export: its format name, the header cells that mark it (lower case), and its row mapper
    (header and cells → canonical record, or ``ValueError``)."""

    name: str
    marks: tuple[str, ...]
    to_record: Callable[[list[str], list[str]], dict[str, Any]]


EXPORTS: dict[str, CsvExport] = {
    module.NAME: CsvExport(module.NAME, module.MARKS, module.to_record) for module in (jira_csv, servicenow_csv)
}


class CsvRow(NamedTuple):
    """One data row: the 1-based line it starts on (a quoted cell may span lines) and its cells as read."""

    line: int
    cells: list[str]


def detect_csv(header: list[str]) -> str | None:
    """``"jira-csv"`` or ``"servicenow-csv"`` when the header row holds that export's marking columns (Jira: ``Issue
    key`` and ``Summary``; ServiceNow: ``number`` and ``short_description``; any case), else None."""
    names = {name.strip().lower() for name in header}
    return next((export.name for export in EXPORTS.values() if names.issuperset(export.marks)), None)


def csv_header(path: Path) -> list[str]:
    """The first row of a CSV file (names trimmed), empty for an empty file: what :func:`detect_csv` reads."""
    return next((row.cells for row in csv_rows(path)), [])


def read_export(path: Path, name: str) -> Iterator[RawRecord]:
    """The canonical records of a CSV export in format ``name``, each at the line its row starts on; a row that
    cannot be an incident is a ``ValueError`` record (reported by ingest as ``FILE:LINE: reason``).
    :class:`UnusableFileError` when the file is empty or its header lacks the columns that mark the format."""
    try:
        export = EXPORTS[name]
    except KeyError:
        raise ValueError(f"unknown CSV export {name!r}; use one of: {', '.join(EXPORTS)}") from None
    rows = csv_rows(path)
    first = next(rows, None)
    if first is None:
        raise UnusableFileError(f"{path}:1: empty CSV; a {name} export starts with a header row")
    header = [label.strip() for label in first.cells]
    missing = [mark for mark in export.marks if mark not in {label.lower() for label in header}]
    if missing:
        raise UnusableFileError(f"{path}:{first.line}: not a {name} export: the header has no "
                                f"{' or '.join(map(repr, missing))} column; read it as plain csv (format csv)")
    for row in rows:
        if len(row.cells) > len(header):
            yield RawRecord(row.line, ValueError(f"{len(row.cells)} cells but the header has {len(header)} "
                                                 "columns; check the row for an unquoted comma"))
            continue
        try:
            yield RawRecord(row.line, export.to_record(header, row.cells))
        except ValueError as exc:
            yield RawRecord(row.line, exc)


def read_jira_csv(path: Path) -> Iterator[RawRecord]:
    """A Jira CSV export's records (mapping: :mod:`~sherlock.storage.importers.jira_csv`), each at its row's line."""
    return read_export(path, jira_csv.NAME)


def read_servicenow_csv(path: Path) -> Iterator[RawRecord]:
    """A ServiceNow list CSV export's records (mapping: :mod:`~sherlock.storage.importers.servicenow_csv`), each at
    its row's line."""
    return read_export(path, servicenow_csv.NAME)


#: The readers to register beside ingest's own (``READERS``): format name → ``path → RawRecord``s.
CSV_READERS: dict[str, Callable[[Path], Iterator[RawRecord]]] = {
    jira_csv.NAME: read_jira_csv, servicenow_csv.NAME: read_servicenow_csv,
}


def csv_rows(path: Path) -> Iterator[CsvRow]:
    """Every non-blank row of a CSV file (header included) with the line it starts on. ``csv.reader``'s
    ``line_num`` after a row is the line the row ENDS on, so a row starts one line after the previous one ended."""
    reader = csv.reader(io.StringIO(read_text(path), newline=""))
    ended = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise UnusableFileError(f"{path}:{ended + 1}: unreadable CSV ({exc})") from None
        start, ended = ended + 1, reader.line_num
        if any(cell.strip() for cell in cells):
            yield CsvRow(start, cells)
