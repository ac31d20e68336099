"""The store of record: incidents in SQLite, written in transactions.

Everything else (Chroma vectors, BM25 and TF-IDF indexes, the entity index) is derived from this store and can be
rebuilt from it. A monotonic ``revision`` counter is bumped by every write that changes something; derived indexes
remember the revision they were built from, so a reader can tell in one cheap query whether they are stale.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sherlock.schema import Incident
from sherlock.storage.sqlite import SQLiteFile

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
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

#: Filter keys accepted by ``Filters.parse`` (``--filter key=value``), with what they match.
FILTER_KEYS = {
    "service": "service equals one of the comma-separated values",
    "severity": "severity equals one of the values",
    "category": "category equals one of the values",
    "status": "status equals one of the values",
    "tag": "has one of the tags",
    "from": "created on or after this ISO date",
    "to": "created on or before this ISO date",
}


@dataclass(frozen=True)
class Filters:
    """Metadata filters applied to all three retrievers (values within a key are OR-ed, keys are AND-ed).
    Matching is case-insensitive."""

    service: tuple[str, ...] = ()
    severity: tuple[str, ...] = ()
    category: tuple[str, ...] = ()
    status: tuple[str, ...] = ()
    tag: tuple[str, ...] = ()
    date_from: date | None = None
    date_to: date | None = None

    @classmethod
    def parse(cls, items: Iterable[str]) -> Filters:
        """From ``key=value`` strings (``service=refunds-api``, ``severity=SEV1,SEV2``, ``from=2024-01-01``)."""
        values: dict[str, Any] = {}
        for item in items:
            key, sep, value = item.partition("=")
            key = key.strip().lower()
            key = {"tags": "tag", "since": "from", "until": "to"}.get(key, key)
            if not sep or key not in FILTER_KEYS:
                valid = ", ".join(f"{k}=…" for k in FILTER_KEYS)
                raise ValueError(f"bad filter {item!r}: use key=value with key one of {valid}")
            if key in ("from", "to"):
                try:
                    values["date_" + key] = date.fromisoformat(value.strip())
                except ValueError:
                    raise ValueError(f"bad filter {item!r}: {key} needs an ISO date like 2024-06-30") from None
            else:
                values[key] = tuple(v.strip() for v in value.split(",") if v.strip())
        return cls(**values)

    def is_empty(self) -> bool:
        """True when no filter is set."""
        return self == Filters()

    def as_dict(self) -> dict[str, Any]:
        """Only the keys that are set, JSON-ready (what the CLI echoes and feedback records)."""
        out: dict[str, Any] = {}
        for key in ("service", "severity", "category", "status", "tag"):
            if getattr(self, key):
                out[key] = list(getattr(self, key))
        if self.date_from:
            out["from"] = self.date_from.isoformat()
        if self.date_to:
            out["to"] = self.date_to.isoformat()
        return out


@dataclass
class UpsertResult:
    """What one ``Store.upsert`` did, by id."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

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
                if result.changed:
                    self._set_meta("revision", str(revision))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return result

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

    def get_many(self, ids: Iterable[str]) -> dict[str, Incident]:
        """``{id: incident}`` for the given ids that are stored (exact ids; missing ones are left out)."""
        with self._lock:
            rows = list(self._select_in("SELECT record FROM incidents WHERE id IN ({marks})", list(dict.fromkeys(ids))))
        incidents = (Incident.model_validate_json(record) for (record,) in rows)
        return {incident.id: incident for incident in incidents}

    def iter_incidents(self, batch_size: int = 2000) -> Iterator[Incident]:
        """All incidents in id order, read in batches (constant memory for the reader)."""
        last = ""
        while True:
            with self._lock:
                rows = self._db.execute("SELECT id, record FROM incidents WHERE id > ? ORDER BY id LIMIT ?",
                                        (last, batch_size)).fetchall()
            if not rows:
                return
            for _, record in rows:
                yield Incident.model_validate_json(record)
            last = rows[-1][0]

    def all(self) -> list[Incident]:
        """Every incident, in id order."""
        return list(self.iter_incidents())

    def hashes(self) -> dict[str, str]:
        """``{id: content_hash}`` of every incident (what derived indexes diff against)."""
        with self._lock:
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
        """Ids of incidents matching ``filters`` — the one place filters are evaluated, for every retriever."""
        clauses: list[str] = []
        params: list[Any] = []
        for key in ("service", "severity", "category", "status"):
            values = getattr(filters, key)
            if values:
                clauses.append(f"lower({key}) IN ({','.join('?' * len(values))})")
                params.extend(v.lower() for v in values)
        if filters.tag:
            marks = ",".join("?" * len(filters.tag))
            clauses.append(f"EXISTS (SELECT 1 FROM json_each(incidents.tags) WHERE lower(value) IN ({marks}))")
            params.extend(t.lower() for t in filters.tag)
        if filters.date_from:
            clauses.append("created_date >= ?")
            params.append(filters.date_from.isoformat())
        if filters.date_to:
            clauses.append("created_date <= ?")
            params.append(filters.date_to.isoformat())
        where = " AND ".join(clauses) or "1"
        with self._lock:
            return {row[0] for row in self._db.execute(f"SELECT id FROM incidents WHERE {where}", params)}

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

    # -- internals ---------------------------------------------------------------------------------------------

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
