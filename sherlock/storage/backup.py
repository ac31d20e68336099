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

Tables are copied row by row with their columns named, through whichever backend each workspace uses
(:mod:`sherlock.storage.backup_tables`), so a backup of a workspace on its SQLite files restores into one on
PostgreSQL (``SHERLOCK_STORE_URL``, after ``sherlock db upgrade``) and back. The backend is the target's choice: a
``store_url`` in the backup's ``sherlock.toml`` is not restored. Import refuses a workspace that holds anything, on
its backend: it restores, it does not merge.
"""

from __future__ import annotations

import json
import re
import shutil
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sherlock import __version__
from sherlock.config import SETTINGS_FILE, Settings
from sherlock.schema import Incident
from sherlock.storage.backup_tables import (
    PARTS,
    BackupError,
    check_table,
    count_rows,
    dump_table,
    load_table,
    open_engines,
    read_rows,
)
from sherlock.storage.db.urls import redact
from sherlock.storage.mappings import mappings_path

__all__ = ["BackupError", "BackupReport", "copied_files", "export_workspace", "import_workspace", "read_manifest"]

FORMAT = "sherlock-backup"
VERSION = 1
#: Settings that choose the target's backend: never restored from a backup's ``sherlock.toml``.
BACKEND_SETTINGS = ("store_url",)

Progress = Callable[[str, int, int], None]


@dataclass
class BackupReport:
    """What an export wrote or an import restored: rows per part, files copied, where."""

    folder: str
    counts: dict[str, int] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"folder": self.folder, "counts": self.counts, "files": self.files, "notes": self.notes}


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
    with open_engines(settings) as engines:
        for part in PARTS:
            report.counts[part.name] = dump_table(engines[part.store], part.table, out / part.file)
    (out / "files").mkdir()
    for name, path in copied_files(settings).items():
        if path.is_file():
            shutil.copy2(path, out / "files" / name)
            report.files.append(f"files/{name}")
    if dropped := _drop_backend(out / "files" / SETTINGS_FILE):
        report.notes.append(f"files/{SETTINGS_FILE}: {', '.join(dropped)} left out (it holds the database's "
                            "password); the restored workspace uses its own SHERLOCK_STORE_URL")
    (out / "experiments").mkdir()
    for path in sorted(Path(settings.experiments_dir).glob("*.toml")):
        shutil.copy2(path, out / "experiments" / path.name)
        report.files.append(f"experiments/{path.name}")
    manifest = {"format": FORMAT, "version": VERSION, "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "sherlock": __version__, "home": str(settings.home), "embedder": settings.embedder,
                "revision": workspace.store.revision(), "counts": report.counts, "files": report.files}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return report


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
    with open_engines(settings) as engines:  # refuse a damaged backup before anything is written
        for part in PARTS:
            check_table(engines[part.store], part.table, source / part.file)
    incidents = _read_incidents(source)
    report = BackupReport(str(source))
    for name, path in copied_files(settings).items():
        if (source / "files" / name).is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / "files" / name, path)
            report.files.append(f"files/{name}")
    report.notes += _keep_backend(settings.home / SETTINGS_FILE)
    report.notes += _restore_experiments(source / "experiments", Path(settings.experiments_dir), report)
    # the restored sherlock.toml decides how the indexes are built; the backend stays the one that was checked empty
    workspace = Workspace(load_settings(home=settings.home, demo=False, store_url=settings.store_url,
                                        store_connect_timeout_s=settings.store_connect_timeout_s))
    if manifest.get("embedder") not in (None, workspace.settings.embedder):
        report.notes.append(f"the backup was made with the {manifest['embedder']} embedder; this workspace uses "
                            f"{workspace.settings.embedder}: vectors are computed anew, so dense scores can differ")
    for origin_name, stored in incidents.items():  # redacted again: a no-op on what redaction already passed
        redacted, _ = workspace.redactor.redact_incidents(stored)
        workspace.store.upsert(redacted, source=origin_name)
    report.counts["incidents"] = sum(len(stored) for stored in incidents.values())
    with open_engines(workspace.settings) as engines:
        for part in PARTS:
            report.counts[part.name] = load_table(engines[part.store], part.table, source / part.file)
    workspace.merge(progress)  # one full build: the indexes a fresh ingest of everything would make
    expected = manifest.get("counts", {})
    for name, count in report.counts.items():
        if name in expected and expected[name] != count:
            report.notes.append(f"{name}: the manifest counts {expected[name]}, the files held {count}")
    return report


def _read_incidents(source: Path) -> dict[str | None, list[Incident]]:
    """The backup's incidents, validated, grouped by the source they were stored with."""
    by_source: dict[str | None, list[Incident]] = {}
    origin = {row.get("id"): row.get("source") for _, row in read_rows(source / "sources.jsonl")}
    for line, row in read_rows(source / "incidents.jsonl"):
        try:
            incident = Incident.model_validate(row)
        except ValueError as exc:
            reason = " ".join(str(exc).split())[:300]
            raise BackupError(f"{source / 'incidents.jsonl'}:{line}: not a canonical incident ({reason}); the backup "
                              "is damaged") from None
        by_source.setdefault(origin.get(incident.id), []).append(incident)
    return by_source


def _check_empty(settings: Settings) -> None:
    """Refuse a workspace whose backend (its SQLite files, or the database of ``store_url``) holds any row."""
    from sherlock.storage.workspace import Workspace
    store = Workspace(settings).store
    try:
        held = {"incidents": store.count()}
    finally:
        store.close()
    with open_engines(settings) as engines:
        for name, engine in engines.items():
            held[name] = count_rows(engine, [part.table for part in PARTS if part.store == name])
    if any(held.values()):
        names = {"incidents": "incident(s)", "feedback": "feedback row(s)", "query_log": "logged queries"}
        what = ", ".join(f"{count:,} {names[name]}" for name, count in held.items() if count)
        where = f" (in {redact(settings.store_url)})" if settings.store_url else ""
        raise BackupError(f"{settings.home}: the workspace already holds {what}{where}; import restores into an "
                          "empty workspace — give another --home (and SHERLOCK_DEMO=false so the demo corpus is not "
                          "loaded first), or an empty database as SHERLOCK_STORE_URL")


def _keep_backend(settings_file: Path) -> list[str]:
    """Drop :data:`BACKEND_SETTINGS` from a restored ``sherlock.toml``: the backup's workspace may have named its
    own database there, which the restored one must not write to."""
    dropped = _drop_backend(settings_file)
    return [f"files/{SETTINGS_FILE}: {', '.join(dropped)} left out; this workspace keeps its own backend"] if dropped \
        else []


def _drop_backend(settings_file: Path) -> list[str]:
    """Remove the :data:`BACKEND_SETTINGS` lines from ``settings_file`` (a copy: a backup's or a restored one) and
    return their names. A ``store_url`` holds the database's password: it never goes into a backup, and a restored
    workspace keeps the backend it was checked empty on."""
    if not settings_file.is_file():
        return []
    text = settings_file.read_text(encoding="utf-8")
    try:
        dropped = [name for name in BACKEND_SETTINGS if name in tomllib.loads(text)]
    except tomllib.TOMLDecodeError:
        return []  # loading the restored settings says what is wrong with the file, and where
    if dropped:
        pattern = re.compile(rf"^[ \t]*[\"']?({'|'.join(dropped)})[\"']?[ \t]*=.*$\n?", re.MULTILINE)
        settings_file.write_text(pattern.sub("", text), encoding="utf-8")
    return dropped


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
