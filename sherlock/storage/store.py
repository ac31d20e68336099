"""The store of record: incidents in SQLite, written in transactions.

Everything else (Chroma vectors, BM25 and TF-IDF indexes, the entity index) is derived from this store and can be
rebuilt from it. A monotonic ``revision`` counter is bumped by every write that changes something; derived indexes
remember the revision they were built from, so a reader can tell in one cheap query whether they are stale. Each
incident row carries the revision that last wrote it and each deletion leaves a tombstone with its revision, so
:meth:`Store.changes_since` answers "what changed since revision R" in time proportional to the answer — how the
indexes catch up without rereading the corpus.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sherlock.schema import Incident
from sherlock.storage.filters import (
    FILTER_KEYS,
    LABEL_KEYS,
    VALUE_KEYS,
    Filters,
    fold_filter_value,
    suggest_values,
)
from sherlock.storage.sqlite import SQLiteFile

# the filters are importable from here too, as they were before they had a module of their own
__all__ = ["FILTER_KEYS", "LABEL_KEYS", "VALUE_KEYS", "Filters", "Store", "UpsertResult", "fold_filter_value",
           "suggest_values"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS incidents (
    id           TEXT PRIMARY KEY,
    record       TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    service      TEXT,
    severity     TEXT,
    category     TEXT,
    status       TEXT,
    created_date TEXT,
    tags         TEXT NOT NULL DEFAULT '[]',
    revision     INTEGER NOT NULL,
    source       TEXT
);
CREATE INDEX IF NOT EXISTS incidents_id_nocase ON incidents (id COLLATE NOCASE);
CREATE INDEX IF NOT EXISTS incidents_fingerprint ON incidents (fingerprint);
CREATE INDEX IF NOT EXISTS incidents_revision ON incidents (revision, id);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS deleted (id TEXT PRIMARY KEY, revision INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS deleted_revision ON deleted (revision);
"""

@dataclass
class UpsertResult:
    """What one ``Store.upsert`` did, by id; ``redacted``: what ``Workspace.put`` redacted before it, per rule."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    redacted: dict[str, int] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        """Whether anything was added or updated."""
        return bool(self.added or self.updated)


class Store:
    """Incidents in one SQLite file. Safe to share between threads (one connection behind a lock, WAL mode)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._file = SQLiteFile(self.path, SCHEMA, what="incident store", autocommit=True,
                                remedy="restore it from a backup or move it aside and re-ingest your files")
        self._lock = self._file.lock
        self._db = self._file.connect()  # opened now, so an unusable file is reported by the constructor
        self._db.create_function("severity_level", 2, _severity_level, deterministic=True)  # the level filter

    def close(self) -> None:
        """Close the connection; the store is not usable afterwards."""
        self._file.close()

    # -- writes ------------------------------------------------------------------------------------------------

    def upsert(self, incidents: Sequence[Incident], source: str | None = None) -> UpsertResult:
        """Insert new ids, replace changed ones (by content hash), leave identical ones alone — all in one
        transaction. Bumps the revision once if anything changed."""
        result = UpsertResult()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                revision = self._revision() + 1
                existing = self._hashes([incident.id for incident in incidents])
                for incident in incidents:
                    content_hash = incident.content_hash()
                    previous = existing.get(incident.id)
                    if previous == content_hash:
                        result.unchanged.append(incident.id)
                        continue
                    (result.updated if previous else result.added).append(incident.id)
                    self._db.execute(
                        "INSERT OR REPLACE INTO incidents VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                        _row(incident, content_hash, revision, source))
                    if not previous:  # an id deleted earlier and added again is no longer deleted
                        self._db.execute("DELETE FROM deleted WHERE id = ?", (incident.id,))
                if result.changed:
                    self._set_meta("revision", str(revision))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return result

    def delete(self, ids: Iterable[str]) -> list[str]:
        """Delete the incidents with these exact ids, in one transaction, and return the ids that were stored (in the
        order given; unknown ids are ignored). Bumps the revision once if anything was deleted and leaves a tombstone
        per id, so :meth:`changes_since` reports it."""
        wanted = list(dict.fromkeys(ids))
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                stored = set(self._hashes(wanted))
                deleted = [incident_id for incident_id in wanted if incident_id in stored]
                if deleted:
                    revision = self._revision() + 1
                    for incident_id in deleted:
                        self._db.execute("DELETE FROM incidents WHERE id = ?", (incident_id,))
                        self._db.execute("INSERT OR REPLACE INTO deleted VALUES (?, ?)", (incident_id, revision))
                    self._set_meta("revision", str(revision))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return deleted

    def set_meta(self, key: str, value: str) -> None:
        """Store a workspace fact (e.g. the revision an index was built from) under ``key``."""
        with self._lock:
            self._set_meta(key, value)

    # -- reads -------------------------------------------------------------------------------------------------

    def revision(self) -> int:
        """Bumped by every write that changed an incident; 0 for an empty store."""
        with self._lock:
            return self._revision()

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        """The value stored by :meth:`set_meta`, or ``default``."""
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def count(self) -> int:
        """How many incidents are stored."""
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM incidents").fetchone()[0]

    def get(self, incident_id: str) -> Incident | None:
        """The incident with this id, matched case-insensitively (``jsp-1052`` finds ``JSP-1052``)."""
        with self._lock:
            row = self._db.execute("SELECT record FROM incidents WHERE id = ? COLLATE NOCASE LIMIT 1",
                                   (incident_id,)).fetchone()
        return Incident.model_validate_json(row[0]) if row else None

    def find_extra(self, key: str, value: str) -> Incident | None:
        """The first incident (by id) whose ``extra[key]`` equals ``value``: a tool's own id, when a webhook names
        the incident only by it. A scan of the records; webhooks are rare enough for it."""
        with self._lock:
            row = self._db.execute("SELECT record FROM incidents WHERE json_extract(record, ?) = ? ORDER BY id "
                                   "LIMIT 1", (f'$.extra."{key}"', value)).fetchone()
        return Incident.model_validate_json(row[0]) if row else None

    def get_many(self, ids: Iterable[str]) -> dict[str, Incident]:
        """``{id: incident}`` for the given ids that are stored (exact ids; missing ones are left out)."""
        with self._lock:
            rows = list(self._select_in("SELECT record FROM incidents WHERE id IN ({marks})", list(dict.fromkeys(ids))))
        incidents = (Incident.model_validate_json(record) for (record,) in rows)
        return {incident.id: incident for incident in incidents}

    def iter_incidents(self, batch_size: int = 2000) -> Iterator[Incident]:
        """All incidents in id order, read in batches (constant memory for the reader)."""
        return (incident for incident, _ in self.iter_with_sources(batch_size))

    def all(self) -> list[Incident]:
        """Every incident, in id order."""
        return list(self.iter_incidents())

    def iter_with_sources(self, batch_size: int = 2000) -> Iterator[tuple[Incident, str | None]]:
        """:meth:`iter_incidents` with where each incident came from (the ``source`` it was stored with)."""
        last = ""
        while True:
            with self._lock:
                rows = self._db.execute("SELECT id, record, source FROM incidents WHERE id > ? ORDER BY id LIMIT ?",
                                        (last, batch_size)).fetchall()
            if not rows:
                return
            for _, record, source in rows:
                yield Incident.model_validate_json(record), source
            last = rows[-1][0]

    def changes_since(self, revision: int) -> tuple[list[str], list[str]]:
        """``(changed, deleted)``: the ids added or updated after ``revision`` (stored now), and the ids deleted after
        it (not stored now), each sorted. Both read an index on the revision, so the cost follows the answer's size,
        not the corpus's. Two writes may fall between a reader's calls: read :meth:`revision` first, then this."""
        with self._lock:  # sorted here: an ORDER BY id would have SQLite scan the id index, all of it
            changed = [row[0] for row in self._db.execute(
                "SELECT id FROM incidents INDEXED BY incidents_revision WHERE revision > ?", (revision,))]
            deleted = [row[0] for row in self._db.execute(
                "SELECT id FROM deleted INDEXED BY deleted_revision WHERE revision > ?", (revision,))]
        return sorted(changed), sorted(deleted)

    def hashes(self, ids: Sequence[str] | None = None) -> dict[str, str]:
        """``{id: content_hash}`` of every incident, or of those of ``ids`` that are stored (what derived indexes
        diff against)."""
        with self._lock:
            if ids is not None:
                return self._hashes(ids)
            return dict(self._db.execute("SELECT id, content_hash FROM incidents"))

    def ids_by_fingerprint(self, fingerprints: Iterable[str]) -> dict[str, list[str]]:
        """Stored ids sharing each text fingerprint (to flag the same content filed under another id)."""
        out: dict[str, list[str]] = {}
        with self._lock:
            for fingerprint, incident_id in self._select_in(
                    "SELECT fingerprint, id FROM incidents WHERE fingerprint IN ({marks}) ORDER BY id",
                    list(set(fingerprints))):
                out.setdefault(fingerprint, []).append(incident_id)
        return out

    def filter_ids(self, filters: Filters) -> set[str]:
        """Ids of incidents matching ``filters`` — the one place filters are evaluated, for every retriever. Each
        value key is first resolved to the stored values it matches (:func:`fold_filter_value`)."""
        clauses: list[str] = []
        params: list[Any] = []
        with self._lock:
            for key in VALUE_KEYS:
                if not getattr(filters, key):
                    continue
                stored = self._matching_values(key, getattr(filters, key))
                if not stored:
                    return set()
                marks = ",".join("?" * len(stored))
                clauses.append(f"EXISTS (SELECT 1 FROM json_each(incidents.tags) WHERE value IN ({marks}))"
                               if key == "tag" else f"{key} IN ({marks})")
                params.extend(stored)
            if filters.date_from:
                clauses.append("created_date >= ?")
                params.append(filters.date_from.isoformat())
            if filters.date_to:
                clauses.append("created_date <= ?")
                params.append(filters.date_to.isoformat())
            if filters.level:
                clauses.append("severity_level(json_extract(record, '$.extra.severity_level'), severity) <= ?")
                params.append(filters.level)
            where = " AND ".join(clauses) or "1"
            return {row[0] for row in self._db.execute(f"SELECT id FROM incidents WHERE {where}", params)}

    def filter_values(self, key: str) -> dict[str, int]:
        """Every stored value of a value filter key (service, severity, category, status, tag), as written, with its
        incident count, most common first."""
        if key not in VALUE_KEYS:
            raise ValueError(f"no filter values for {key!r}; use one of {', '.join(VALUE_KEYS)}")
        sql = ("SELECT value, COUNT(DISTINCT incidents.id) FROM incidents, json_each(incidents.tags) GROUP BY 1"
               if key == "tag" else f"SELECT {key}, COUNT(*) FROM incidents WHERE {key} IS NOT NULL GROUP BY 1")
        with self._lock:
            rows = self._db.execute(f"{sql} ORDER BY 2 DESC, 1").fetchall()
        return dict(rows)

    def filter_suggestions(self, filters: Filters, limit: int = 3) -> dict[str, list[str]]:
        """Why ``filters`` match nothing, key by key: each value key whose values match no stored value, with the
        stored values to try instead — the closest (:func:`suggest_values`), else the ``limit`` most common — and
        ``"date"`` with the first and last creation dates when the date range alone matches nothing. Empty when
        every key matches some incident on its own (only their combination matches nothing)."""
        out: dict[str, list[str]] = {}
        for key in VALUE_KEYS:
            wanted = getattr(filters, key)
            if not wanted or self._matching_values(key, wanted):
                continue
            known = self.filter_values(key)
            close = [name for value in wanted for name in suggest_values(key, value, known, limit)]
            out[key] = list(dict.fromkeys(close))[:limit] or list(known)[:limit]
        dates = Filters(date_from=filters.date_from, date_to=filters.date_to)
        if not dates.is_empty() and not self.filter_ids(dates):
            out["date"] = [day for day in self.date_span() if day]
        return out

    def facet_counts(self, column: str) -> dict[str, int]:
        """How many incidents per value of ``service``, ``severity``, ``category`` or ``status``."""
        if column not in ("service", "severity", "category", "status"):
            raise ValueError(f"no facet {column!r}; use one of service, severity, category, status")
        with self._lock:
            rows = self._db.execute(f"SELECT COALESCE({column}, '(none)'), COUNT(*) FROM incidents "
                                    f"GROUP BY 1 ORDER BY 2 DESC, 1").fetchall()
        return dict(rows)

    def tag_counts(self, limit: int = 200) -> dict[str, int]:
        """The most used tags (as written, case-folded for counting) with their incident counts."""
        with self._lock:
            rows = self._db.execute("SELECT lower(value), COUNT(*) FROM incidents, json_each(incidents.tags) "
                                    "GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ?", (limit,)).fetchall()
        return dict(rows)

    def date_span(self) -> tuple[str | None, str | None]:
        """The earliest and latest ``created_date`` (ISO dates), ``(None, None)`` when no incident has one."""
        with self._lock:
            return tuple(self._db.execute("SELECT MIN(created_date), MAX(created_date) FROM incidents").fetchone())

    def examples(self) -> tuple[str | None, str | None]:
        """What a new user can try on this workspace: the id of the latest resolved incident and the most common
        title (an incident that recurs), ``(None, None)`` when the store is empty."""
        with self._lock:
            latest = self._db.execute("SELECT id FROM incidents WHERE json_extract(record, '$.resolution') != '' "
                                      "ORDER BY created_date DESC, id DESC LIMIT 1").fetchone()
            common = self._db.execute(  # among the latest 2,000 stored, so a large store answers as fast
                "SELECT json_extract(record, '$.title') AS title FROM (SELECT record FROM incidents ORDER BY rowid "
                "DESC LIMIT 2000) GROUP BY lower(title) ORDER BY COUNT(*) DESC, title LIMIT 1").fetchone()
        return (latest[0] if latest else None), (common[0] if common else None)

    # -- internals ---------------------------------------------------------------------------------------------

    def _matching_values(self, key: str, wanted: Sequence[str]) -> list[str]:
        """The stored values of ``key`` that any of ``wanted`` matches (:func:`fold_filter_value`)."""
        folded = {fold_filter_value(key, value) for value in wanted}
        return [value for value in self.filter_values(key) if fold_filter_value(key, value) in folded]

    def _revision(self) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'revision'").fetchone()
        return int(row[0]) if row else 0

    def _set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def _hashes(self, ids: Sequence[str]) -> dict[str, str]:
        return dict(self._select_in("SELECT id, content_hash FROM incidents WHERE id IN ({marks})", list(ids)))

    def _select_in(self, sql: str, values: list[str]) -> Iterator[Any]:
        """Rows of ``sql``, whose ``IN ({marks})`` list takes ``values`` 500 at a time (SQLite's bound-parameter
        limit). The caller holds the lock and consumes the rows before releasing it."""
        for start in range(0, len(values), 500):
            chunk = values[start:start + 500]
            yield from self._db.execute(sql.format(marks=",".join("?" * len(chunk))), chunk)


def _row(incident: Incident, content_hash: str, revision: int, source: str | None) -> tuple[Any, ...]:
    created = incident.created_date()
    return (
        incident.id, incident.model_dump_json(), content_hash, incident.text_fingerprint(), incident.service,
        incident.severity, incident.category, incident.status, created.isoformat() if created else None,
        json.dumps(incident.tags), revision, source,
    )


def _severity_level(level: Any, severity: str | None) -> int:
    """An incident's severity level for the ``level`` filter: the one its importer derived, else its severity's
    (``SEV2``, ``P1``, ``critical``); 6, past every level, when it has none."""
    if level is not None:
        return int(level)
    from sherlock.storage.importers.fields import severity_level
    return severity_level(severity) or 6
