"""Read incident files, validate every record once, and upsert the good ones into the store.

Formats: the original SherlockAI ``issues.json`` (a JSON array; ``fix_applied``/``priority`` aliases), canonical JSON
(an array, ``{"incidents": [...]}`` or a single object), JSONL, CSV with a header, BEIR ``corpus.jsonl``
(``_id, title, text``), incident tools' JSON API payloads (PagerDuty, Jira, ServiceNow, incident.io, Opsgenie,
Rootly, Statuspage, GitHub, FireHydrant: :mod:`sherlock.storage.importers`), detected by shape, Jira and ServiceNow
CSV exports, detected by their header (:mod:`sherlock.storage.importers.csv_exports`), and Markdown or plain-text
postmortems, one incident per file (:mod:`sherlock.storage.importers.postmortem`). Folders are read through
:func:`expand_paths` / :func:`ingest_paths`. Every rejected record is reported as ``FILE:LINE: reason``; good records
are stored.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sherlock.redaction.redactor import Redactor
from sherlock.schema import Incident
from sherlock.storage.importers import IMPORTERS, detect_source, read_importer
from sherlock.storage.importers.csv_exports import CSV_READERS, csv_header, detect_csv
from sherlock.storage.importers.postmortem import POSTMORTEM_SUFFIXES, read_markdown
from sherlock.storage.raw import RawRecord, UnusableFileError, array_item_lines, load_json, read_text
from sherlock.storage.store import Store


@dataclass(frozen=True)
class Rejection:
    path: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}"


@dataclass
class FileReport:
    """What happened to one file. ``status`` is ``ok``, ``rejected`` (some records bad), or ``unusable``; ``stored``
    is False when the file was unusable or ``strict`` withheld it; ``fields``: the file's own field names;
    ``redacted``: secrets replaced before storing, per rule (:mod:`sherlock.redaction`; counts, never the secrets)."""

    path: str
    format: str = "?"
    records: int = 0
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    duplicate_content: list[tuple[str, str]] = field(default_factory=list)
    error: str | None = None
    stored: bool = True
    fields: list[str] = field(default_factory=list)
    redacted: dict[str, int] = field(default_factory=dict)

    @property
    def status(self) -> str:
        return "unusable" if self.error else ("rejected" if self.rejected else "ok")

    @property
    def outcome(self) -> str:
        """In words: unusable, no records, rejected, stored N, partly stored (N stored, M rejected), unchanged."""
        new, unchanged, rejected = len(self.added) + len(self.updated), len(self.unchanged), len(self.rejected)
        if self.error:
            return "unusable"
        if not self.records:
            return "no records"
        if not self.stored or rejected == self.records:
            return "rejected" if self.stored else "rejected (strict: nothing stored)"
        if not new:
            return f"unchanged ({rejected} rejected)" if rejected else "unchanged"
        if rejected:
            counts = [f"{new} stored"] + [f"{unchanged} unchanged"] * bool(unchanged) + [f"{rejected} rejected"]
            return f"partly stored ({', '.join(counts)})"
        return f"stored {new}" + (f" ({unchanged} unchanged)" if unchanged else "")

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path, "format": self.format, "status": self.status, "outcome": self.outcome,
            "records": self.records, "added": len(self.added), "updated": len(self.updated),
            "unchanged": len(self.unchanged), "rejected": [str(r) for r in self.rejected], "stored": self.stored,
            "error": self.error, "duplicate_content": [{"id": a, "same_as": b} for a, b in self.duplicate_content],
            "fields": self.fields, "redacted": dict(self.redacted),
        }


# -- readers: path -> iterator of RawRecord -------------------------------------------------------------------

def read_json(path: Path) -> Iterator[RawRecord]:
    """A JSON array of records (each reported at the line it starts on), ``{"incidents": [...]}``, or one object."""
    text, document = load_json(path)
    if isinstance(document, dict) and isinstance(document.get("incidents"), list):
        document = document["incidents"]
    if isinstance(document, dict):
        yield RawRecord(1, document)
        return
    if not isinstance(document, list):
        raise UnusableFileError(f"{path}:1: expected a JSON array of incident objects, got {type(document).__name__}")
    for line, item in zip(array_item_lines(text), document, strict=False):
        yield RawRecord(line, item)


def read_jsonl(path: Path) -> Iterator[RawRecord]:
    """One JSON object per line; blank lines are skipped, a bad line is a rejected record (not a dead file)."""
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield RawRecord(number, json.loads(line))
        except json.JSONDecodeError as exc:
            yield RawRecord(number, ValueError(f"invalid JSON ({exc.msg} at column {exc.colno})"))


def read_csv(path: Path) -> Iterator[RawRecord]:
    """CSV with a header row; ``tags`` may be ``a;b`` or ``a, b``; empty cells are absent fields."""
    text = read_text(path)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if not reader.fieldnames:
        raise UnusableFileError(f"{path}:1: empty CSV; the first row must be a header such as id,title,description")
    for row in reader:
        line = reader.line_num
        if None in row:
            yield RawRecord(line, ValueError(f"{len(reader.fieldnames) + len(row[None])} cells but the header has "
                                             f"{len(reader.fieldnames)} columns"))
            continue
        yield RawRecord(line, {key: value for key, value in row.items() if value not in (None, "")})


def read_beir(path: Path) -> Iterator[RawRecord]:
    """BEIR ``corpus.jsonl``: ``_id`` becomes ``id``, ``text`` the description; an empty title falls back to the id."""
    for record in read_jsonl(path):
        data = record.data
        if isinstance(data, dict):
            data = dict(data)
            data["id"] = data.pop("_id", None)
            data["description"] = data.pop("text", "")
            data["title"] = data.get("title") or data["id"]
        yield RawRecord(record.line, data)


READERS: dict[str, Callable[[Path], Iterator[RawRecord]]] = {
    "sherlock": read_json, "json": read_json, "jsonl": read_jsonl, "csv": read_csv, "beir": read_beir,
    **{name: partial(read_importer, name=name) for name in IMPORTERS},
    "markdown": read_markdown, **CSV_READERS,
}

#: The extensions ingest reads, so the files a folder contributes (:func:`expand_paths`).
INGESTED_SUFFIXES = (".json", ".jsonl", ".ndjson", ".csv", *POSTMORTEM_SUFFIXES)

#: File names (before the extension, any case) a folder does not contribute: a repository's documents and
#: templates, not incidents (``README.md``, ``index.md``, ``template-incident-report.md``,
#: ``PMyyyy-nnn - Postmortem template.md``). ``index`` only as the whole name: ``index-corruption.md`` is an incident.
SKIPPED_NAMES = re.compile(r"(?i)(readme|license|licence|changelog|contributing|template)\b.*|index|.*\btemplate")


def detect_format(path: Path) -> str:
    """Guess the format from the extension, peeking at the first record of ``.jsonl`` files for BEIR's ``_id``; a
    ``.json`` file in an incident tool's shape is that tool's (:func:`sherlock.storage.importers.detect_source`);
    ``.md``, ``.markdown`` and ``.txt`` files are postmortems (``markdown``); a ``.csv`` with Jira's or ServiceNow's
    export header is that export (``jira-csv``, ``servicenow-csv``: :func:`~sherlock.storage.importers.csv_exports.
    detect_csv`)."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        try:
            return detect_csv(csv_header(path)) or "csv"
        except UnusableFileError:
            return "csv"  # read_csv reports what is wrong with it
    if suffix in POSTMORTEM_SUFFIXES:
        return "markdown"
    if suffix == ".json":
        try:
            return detect_source(load_json(path)[1]) or "json"
        except UnusableFileError:
            return "json"  # read_json reports what is wrong with it
    if suffix in (".jsonl", ".ndjson"):
        first = next((line for line in read_text(path).splitlines() if line.strip()), "")
        try:
            head = json.loads(first) if first else {}
        except json.JSONDecodeError:
            return "jsonl"
        return "beir" if isinstance(head, dict) and "_id" in head and "text" in head else "jsonl"
    raise UnusableFileError(f"{path}: cannot tell the format from the extension {suffix!r}; "
                            f"name its format: one of {', '.join(READERS)}")


# -- validation ---------------------------------------------------------------------------------------------------

def _reason(error: ValidationError) -> str:
    parts = []
    for problem in error.errors():
        where = ".".join(str(p) for p in problem["loc"]) or "record"
        message = problem["msg"].removeprefix("Value error, ")
        parts.append(f"field '{where}': {message}")
    return "; ".join(parts)


def validate(record: RawRecord, mapping: dict[str, str]) -> Incident:
    """One raw record → an ``Incident``, or ``ValueError`` with a reason a person can act on."""
    data = record.data
    if isinstance(data, Exception):
        raise ValueError(str(data))
    if not isinstance(data, dict):
        raise ValueError(f"expected an object with at least 'id' and 'title', got {type(data).__name__}")
    if mapping:
        data = {mapping.get(key, key): value for key, value in data.items()}
    missing = [name for name in ("id", "title") if data.get(name) in (None, "")]
    if missing:
        names = " and ".join(repr(m) for m in missing)
        it, holds = ("them", "the fields that hold them") if len(missing) > 1 else ("it", "the field that holds it")
        raise ValueError(f"missing required field(s) {names}: fill in a value, or if the file names {it} "
                         f"differently, map {holds} to {names}")
    try:
        return Incident.from_record(data)
    except ValidationError as exc:
        raise ValueError(_reason(exc)) from None


def read_file(path: Path, fmt: str = "auto", mapping: dict[str, str] | None = None, root: Path | None = None,
              ) -> tuple[FileReport, list[Incident]]:
    """Read and validate one file: the report (rejections with line numbers) and the good incidents. ``root``: the
    folder the file was found in by :func:`expand_paths`, that a postmortem's ``extra["path"]`` is relative to."""
    report = FileReport(path=str(path))
    try:
        if path.is_dir():
            inside = sum(1 for file, _ in _expand([path]) if file != path)
            raise UnusableFileError(
                f"{path}: a folder; read it with ingest_paths or expand_paths, which list its {inside} files" if inside
                else f"{path}: a folder with no file ingest reads (extensions {' '.join(INGESTED_SUFFIXES)}; "
                     "hidden, README, index and template files are skipped); pass the files themselves")
        report.format = detect_format(path) if fmt == "auto" else fmt
        if report.format not in READERS:
            raise ValueError(f"unknown format {fmt!r}; use one of auto, {', '.join(READERS)}")
        reader = READERS[report.format]
        if report.format == "markdown" and root is not None:  # only a postmortem records its place in the folder
            reader = partial(read_markdown, root=root)
        raw = list(reader(path))
    except UnusableFileError as exc:
        report.error = str(exc)
        return report, []
    good: list[Incident] = []
    first_line: dict[str, int] = {}
    seen_fields: dict[str, None] = {}
    for record in raw:
        report.records += 1
        if isinstance(record.data, dict):
            seen_fields.update(dict.fromkeys(record.data))
        try:
            incident = validate(record, mapping or {})
        except ValueError as exc:
            report.rejected.append(Rejection(str(path), record.line, str(exc)))
            continue
        if incident.id in first_line:
            report.rejected.append(Rejection(str(path), record.line, f"duplicate id {incident.id!r} (first at line "
                                             f"{first_line[incident.id]}); kept the first, fix or remove this one"))
            continue
        first_line[incident.id] = record.line
        good.append(incident)
    report.fields = list(seen_fields)
    return report, good


def ingest_file(store: Store, path: Path, fmt: str = "auto", mapping: dict[str, str] | None = None,
                strict: bool = False, root: Path | None = None, redactor: Redactor | None = None) -> FileReport:
    """Validate ``path`` and upsert its good records (none of them when ``strict`` and any record was rejected),
    each redacted first by ``redactor`` when one is given (the counts in ``report.redacted``). A folder is unusable
    here: :func:`ingest_paths` (or :func:`expand_paths`) reads the files inside it."""
    report, good = read_file(path, fmt, mapping, root)
    if report.error or (strict and report.rejected):
        report.stored = not (strict and report.rejected) and not report.error
        return report
    if redactor is not None and redactor.enabled:
        good, counts = redactor.redact_incidents(good)
        report.redacted = counts.as_dict()
    report.duplicate_content = _same_content(store, good)
    result = store.upsert(good, source=str(path))
    report.added, report.updated, report.unchanged = result.added, result.updated, result.unchanged
    return report


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """The files to ingest for ``paths``: a file as it is (whatever its name); a folder as the files under it,
    recursively, sorted, that have an extension ingest reads (:data:`INGESTED_SUFFIXES`), leaving out hidden files
    and folders and files named README*, index, LICENSE*, CHANGELOG*, CONTRIBUTING*, template* or *template
    (:data:`SKIPPED_NAMES`: by name only, not by content). A folder holding none of them stays in the list, so that
    ingest reports it as unusable instead of saying nothing. A file named twice is read once."""
    return list(dict.fromkeys(path for path, _ in _expand(paths)))


def ingest_paths(store: Store, paths: Iterable[str | Path], fmt: str = "auto",
                 mapping: dict[str, str] | None = None, strict: bool = False,
                 redactor: Redactor | None = None) -> list[FileReport]:
    """:func:`ingest_file` for every file of :func:`expand_paths`, each postmortem's ``extra["path"]`` relative to
    the folder it was found in (to its own folder for a file named directly)."""
    files: dict[Path, Path | None] = {}
    for path, root in _expand(paths):
        files.setdefault(path, root)
    return [ingest_file(store, path, fmt, mapping, strict, root, redactor) for path, root in files.items()]


def _expand(paths: Iterable[str | Path]) -> Iterator[tuple[Path, Path | None]]:
    """``(file, the folder it was found in, or None)`` for each file :func:`expand_paths` lists (repeats included)."""
    for given in map(Path, paths):
        if not given.is_dir():
            yield given, None
            continue
        found: list[Path] = []
        for folder, dirs, names in os.walk(given):
            dirs[:] = [name for name in dirs if not name.startswith(".")]
            found.extend(Path(folder, name) for name in names if _ingested(name))
        if not found:
            yield given, None
        yield from ((path, given) for path in sorted(found, key=lambda path: path.relative_to(given).parts))


def _ingested(name: str) -> bool:
    stem, suffix = os.path.splitext(name)
    return not name.startswith(".") and suffix.lower() in INGESTED_SUFFIXES and not SKIPPED_NAMES.fullmatch(stem)


def _same_content(store: Store, incidents: Sequence[Incident]) -> list[tuple[str, str]]:
    """Pairs ``(id, other_id)`` whose indexed text is identical: within the batch and against the store."""
    fingerprints = {incident.id: incident.text_fingerprint() for incident in incidents}
    stored = store.ids_by_fingerprint(fingerprints.values())
    seen: dict[str, str] = {}
    pairs: list[tuple[str, str]] = []
    for incident_id, fingerprint in fingerprints.items():
        others = [other for other in stored.get(fingerprint, []) if other != incident_id]
        if fingerprint in seen:
            others.insert(0, seen[fingerprint])
        if others:
            pairs.append((incident_id, others[0]))
        seen.setdefault(fingerprint, incident_id)
    return pairs


def exit_code(reports: Sequence[FileReport]) -> int:
    """2 if any file was unusable, 1 if any record was rejected, else 0."""
    if any(report.error for report in reports):
        return 2
    return 1 if any(report.rejected for report in reports) else 0
