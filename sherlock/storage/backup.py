"""Backups: ``sherlock export DIR`` writes a workspace's state of record to plain files; ``sherlock import DIR`` reads
them into an empty workspace, which then answers every search as the original did after a full rebuild.

What a backup folder holds (everything text, readable with ``jq`` and a text editor):

===========================  ======================================================================================
``manifest.json``            format and version, when, from which workspace, the embedder, and the count of each part
``incidents.jsonl``          every incident as canonical JSON, one per line (``sherlock ingest`` reads it as it is)
``sources.jsonl``            ``{"id", "source"}``: where each incident came from (a file, a sync, a webhook)
``feedback.jsonl``           every vote on an answer, as recorded (time, query, shown ids, vote, settings, arm, …)
``pair_feedback.jsonl``      every "same root cause?" vote of the Incident page
``query_log.jsonl``          the query log (embeddings' projections as base64), and
``query_log_settings.jsonl`` its settings versions
``files/``                   ``sherlock.toml`` (settings), ``entities.toml``, ``mappings.json`` (saved field
                             mappings) and ``query_log.key`` (the key of the query hashes — a secret: keep the
                             backup where the workspace is kept)
``experiments/``             the A/B variant and online experiment configurations (``*.toml``)
===========================  ======================================================================================

Left out, because they are derived (rebuilt on import: Chroma, the lexical indexes, the embedding cache, the models),
or have their own tools: the MLflow store (``mlflow`` exports runs), API tokens (make new ones: a backup should not
let anyone call the API) and sync watermarks (the next sync is a full one, which changes nothing already stored).

Tables are copied row by row with their columns named, so a backup restores into any backend that has the same
tables. Import refuses a workspace that holds anything: it restores, it does not merge.
"""

from __future__ import annotations

import base64
import json
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sherlock import __version__
from sherlock.config import SETTINGS_FILE, Settings
from sherlock.schema import Incident
from sherlock.storage.feedback import SCHEMA as FEEDBACK_SCHEMA
from sherlock.storage.feedback import add_missing_columns
from sherlock.storage.mappings import mappings_path
from sherlock.storage.sqlite import SQLiteFile

FORMAT = "sherlock-backup"
VERSION = 1
#: ``(part file, store, table)``: the tables copied row by row. ``store`` names a workspace file (below).
TABLES = (("feedback.jsonl", "feedback", "feedback"),
          ("pair_feedback.jsonl", "feedback", "pair_feedback"),
          ("query_log.jsonl", "query_log", "queries"),
          ("query_log_settings.jsonl", "query_log", "settings_versions"))
#: A BLOB cell in a JSONL row: ``{"base64": "..."}``.
BLOB = "base64"

Progress = Callable[[str, int, int], None]


class BackupError(ValueError):
    """A backup folder that cannot be read or written, or a workspace that cannot take an import."""


@dataclass
class BackupReport:
    """What an export wrote or an import restored: rows per part, files copied, where."""

    folder: str
    counts: dict[str, int] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"folder": self.folder, "counts": self.counts, "files": self.files, "notes": self.notes}


def table_files(settings: Settings) -> dict[str, SQLiteFile]:
    """The SQLite files whose tables :data:`TABLES` copies, by name (each opened with its own schema, so that an
    import into a fresh workspace finds its tables)."""
    from sherlock.monitoring.querylog import SCHEMA as QUERY_LOG_SCHEMA
    return {"feedback": SQLiteFile(settings.feedback_path, FEEDBACK_SCHEMA, what="feedback store",
                                   remedy="move it aside", migrate=add_missing_columns),
            "query_log": SQLiteFile(settings.query_log_path, QUERY_LOG_SCHEMA, what="query log",
                                    remedy="move it aside")}


def copied_files(settings: Settings) -> dict[str, Path]:
    """The workspace files a backup carries as they are, by their name in ``files/``."""
    return {SETTINGS_FILE: settings.home / SETTINGS_FILE, "entities.toml": settings.entities_path,
            "mappings.json": mappings_path(settings), "query_log.key": settings.home / "query_log.key"}


# -- export -------------------------------------------------------------------------------------------------------

def export_workspace(workspace: Any, folder: str | Path, progress: Progress | None = None) -> BackupReport:
    """Write ``workspace``'s state of record to ``folder`` (created; it must be empty or new)."""
    settings: Settings = workspace.settings
    out = Path(folder)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise BackupError(f"{out}: not an empty folder; export into a new or empty one")
    out.mkdir(parents=True, exist_ok=True)
    report = BackupReport(str(out))
    total = workspace.store.count()
    done = 0
    with (out / "incidents.jsonl").open("w", encoding="utf-8") as incidents, \
            (out / "sources.jsonl").open("w", encoding="utf-8") as sources:
        for incident, source in workspace.store.iter_with_sources():
            incidents.write(json.dumps(incident.to_json_dict(), ensure_ascii=False) + "\n")
            sources.write(json.dumps({"id": incident.id, "source": source}, ensure_ascii=False) + "\n")
            done += 1
            if progress and (done % 1000 == 0 or done == total):
                progress("exporting incidents", done, total)
    report.counts["incidents"] = done
    files = table_files(settings)
    for part, store, table in TABLES:
        report.counts[part.removesuffix(".jsonl")] = _dump_table(files[store], table, out / part)
    (out / "files").mkdir()
    for name, path in copied_files(settings).items():
        if path.is_file():
            shutil.copy2(path, out / "files" / name)
            report.files.append(f"files/{name}")
    (out / "experiments").mkdir()
    for path in sorted(Path(settings.experiments_dir).glob("*.toml")):
        shutil.copy2(path, out / "experiments" / path.name)
        report.files.append(f"experiments/{path.name}")
    manifest = {"format": FORMAT, "version": VERSION, "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "sherlock": __version__, "home": str(settings.home), "embedder": settings.embedder,
                "revision": workspace.store.revision(), "counts": report.counts, "files": report.files}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return report


def _dump_table(db: SQLiteFile, table: str, path: Path) -> int:
    written = 0
    with db.connection() as connection, path.open("w", encoding="utf-8") as out:
        cursor = connection.execute(f"SELECT * FROM {table} ORDER BY rowid")
        names = [column[0] for column in cursor.description]
        for row in cursor:
            out.write(json.dumps(dict(zip(names, (_cell(value) for value in row), strict=True)),
                                 ensure_ascii=False) + "\n")
            written += 1
    db.close()
    return written


def _cell(value: Any) -> Any:
    return {BLOB: base64.b64encode(value).decode("ascii")} if isinstance(value, bytes) else value


# -- import -------------------------------------------------------------------------------------------------------

def read_manifest(folder: str | Path) -> dict[str, Any]:
    """The backup's manifest, checked: a folder without one, or of another format or a newer version, is refused."""
    path = Path(folder) / "manifest.json"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupError(f"{path}: no manifest; give a folder written by `sherlock export`") from None
    except json.JSONDecodeError as exc:
        raise BackupError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg}); the backup is damaged") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{path}: not a Sherlock backup (format {manifest.get('format')!r}, expected {FORMAT!r})"
                          if isinstance(manifest, dict) else f"{path}: not a Sherlock backup manifest")
    if not isinstance(manifest.get("version"), int) or manifest["version"] > VERSION:
        raise BackupError(f"{path}: backup format version {manifest.get('version')!r}; this Sherlock reads version "
                          f"{VERSION} and older — upgrade Sherlock to import it")
    return manifest


def import_workspace(settings: Settings, folder: str | Path, progress: Progress | None = None) -> BackupReport:
    """Restore the backup in ``folder`` into the workspace of ``settings``, which must hold nothing yet: its files
    first (so the restored ``sherlock.toml`` decides how the indexes are built), then the incidents, the feedback
    and the query log; then one full build of the indexes."""
    from sherlock.config import load_settings
    from sherlock.storage.workspace import Workspace
    source = Path(folder)
    manifest = read_manifest(source)
    _check_empty(settings)
    files = table_files(settings)
    for part, store, table in TABLES:  # refuse a damaged backup before anything is written
        _load_table(files[store], table, source / part, write=False)
    incidents = _read_incidents(source)
    report = BackupReport(str(source))
    for name, path in copied_files(settings).items():
        if (source / "files" / name).is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / "files" / name, path)
            report.files.append(f"files/{name}")
    report.notes += _restore_experiments(source / "experiments", Path(settings.experiments_dir), report)
    workspace = Workspace(load_settings(home=settings.home, demo=False))  # with the restored sherlock.toml
    if manifest.get("embedder") not in (None, workspace.settings.embedder):
        report.notes.append(f"the backup was made with the {manifest['embedder']} embedder; this workspace uses "
                            f"{workspace.settings.embedder}: vectors are computed anew, so dense scores can differ")
    for origin_name, stored in incidents.items():  # redacted again: a no-op on what redaction already passed
        redacted, _ = workspace.redactor.redact_incidents(stored)
        workspace.store.upsert(redacted, source=origin_name)
    report.counts["incidents"] = sum(len(stored) for stored in incidents.values())
    for part, store, table in TABLES:
        report.counts[part.removesuffix(".jsonl")] = _load_table(files[store], table, source / part)
    workspace.merge(progress)  # one full build: the indexes a fresh ingest of everything would make
    expected = manifest.get("counts", {})
    for part, count in report.counts.items():
        if part in expected and expected[part] != count:
            report.notes.append(f"{part}: the manifest counts {expected[part]}, the files held {count}")
    return report


def _read_incidents(source: Path) -> dict[str | None, list[Incident]]:
    """The backup's incidents, validated, grouped by the source they were stored with."""
    by_source: dict[str | None, list[Incident]] = {}
    origin = {row.get("id"): row.get("source") for _, row in _rows(source / "sources.jsonl")}
    for line, row in _rows(source / "incidents.jsonl"):
        try:
            incident = Incident.model_validate(row)
        except ValueError as exc:
            reason = " ".join(str(exc).split())[:300]
            raise BackupError(f"{source / 'incidents.jsonl'}:{line}: not a canonical incident ({reason}); the backup "
                              "is damaged") from None
        by_source.setdefault(origin.get(incident.id), []).append(incident)
    return by_source


def _check_empty(settings: Settings) -> None:
    from sherlock.storage.store import Store
    store = Store(settings.store_path)
    held = {"incidents": store.count()}
    store.close()
    for name, db in table_files(settings).items():
        with db.connection() as connection:
            tables = [table for _, store, table in TABLES if store == name]
            held[name] = sum(connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] for table in tables)
        db.close()
    if any(held.values()):
        names = {"incidents": "incident(s)", "feedback": "feedback row(s)", "query_log": "logged queries"}
        what = ", ".join(f"{count:,} {names[name]}" for name, count in held.items() if count)
        raise BackupError(f"{settings.home}: the workspace already holds {what}; import restores into an empty "
                          "workspace — give another --home (and SHERLOCK_DEMO=false so the demo corpus is not loaded "
                          "first)")


def _rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    if not path.is_file():
        return
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise BackupError(f"{path}:{number}: not valid JSON ({exc.msg}); the backup is damaged") from None
            if not isinstance(row, dict):
                raise BackupError(f"{path}:{number}: expected a JSON object, got {type(row).__name__}")
            yield number, row


def _load_table(db: SQLiteFile, table: str, path: Path, write: bool = True) -> int:
    """Insert the rows of ``path`` into ``table`` in one transaction; with ``write=False`` only check that each row
    fits the table (known columns, every required column given), so a damaged backup is refused before anything is
    written."""
    written = 0
    with db.connection() as connection, connection:
        info = connection.execute(f"PRAGMA table_info({table})").fetchall()
        columns = {row[1] for row in info}
        required = {row[1] for row in info if row[3] and row[4] is None and not row[5]}  # NOT NULL, no default, no pk
        for number, row in _rows(path):
            unknown, missing = set(row) - columns, {name for name in required if row.get(name) is None}
            if unknown or missing:
                what = "; ".join(filter(None, [
                    f"column(s) {', '.join(sorted(unknown))} not in this workspace's {table} table (upgrade Sherlock "
                    "to import this backup)" if unknown else "",
                    f"required column(s) {', '.join(sorted(missing))} missing (the backup is damaged)" if missing
                    else ""]))
                raise BackupError(f"{path}:{number}: {what}")
            if write:
                names = list(row)
                try:
                    connection.execute(f"INSERT INTO {table} ({', '.join(names)}) "
                                       f"VALUES ({', '.join('?' * len(names))})", [_value(row[name]) for name in names])
                except sqlite3.DatabaseError as exc:
                    raise BackupError(f"{path}:{number}: {exc}; the backup is damaged") from None
            written += 1
    db.close()
    return written


def _value(cell: Any) -> Any:
    if isinstance(cell, dict) and set(cell) == {BLOB}:
        return base64.b64decode(cell[BLOB])
    return json.dumps(cell) if isinstance(cell, dict | list) else cell


def _restore_experiments(source: Path, target: Path, report: BackupReport) -> list[str]:
    notes = []
    for path in sorted(source.glob("*.toml")) if source.is_dir() else []:
        destination = target / path.name
        if destination.is_file() and destination.read_bytes() != path.read_bytes():
            notes.append(f"experiments/{path.name}: {destination} differs and was kept; the backup's copy is in "
                         f"{path}")
            continue
        if not destination.is_file():
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, destination)
        report.files.append(f"experiments/{path.name}")
    return notes
