"""The store of record: incidents, written in transactions — in the workspace's SQLite file by default, or in the
team's PostgreSQL database when ``store_url`` is set (:mod:`sherlock.storage.db`; one schema, SQLAlchemy Core).

Everything else (Chroma vectors, BM25 and TF-IDF indexes, the entity index) is derived from this store and can be
rebuilt from it. A monotonic ``revision`` counter is bumped by every write that changes something; derived indexes
remember the revision they were built from, so a reader can tell in one cheap query whether they are stale. Each
incident row carries the revision that last wrote it and each deletion leaves a tombstone with its revision, so
:meth:`Store.changes_since` answers "what changed since revision R" in time proportional to the answer — how the
indexes catch up without rereading the corpus, whichever process (or machine, on PostgreSQL) wrote.

Writers are serialised on the revision counter: SQLite's ``BEGIN IMMEDIATE`` takes the file's write lock, PostgreSQL
locks the counter's row (``SELECT ... FOR UPDATE``) before reading anything. So revisions are handed out in commit
order, and a reader that sees revision R sees every change up to R.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, bindparam, text

from sherlock.schema import Incident
from sherlock.storage.db.engine import write_transaction
from sherlock.storage.db.reads import open_reader
from sherlock.storage.db.stores import insert, open_store
from sherlock.storage.db.tables import STORE_TABLES, deleted, incidents, meta
from sherlock.storage.facets import FacetQueries
from sherlock.storage.filters import (
    FILTER_KEYS,
    LABEL_KEYS,
    VALUE_KEYS,
    Filters,
    fold_filter_value,
    suggest_values,
)

if TYPE_CHECKING:
    from sherlock.config import Settings

# the filters are importable from here too, as they were before they had a module of their own
__all__ = ["FILTER_KEYS", "LABEL_KEYS", "VALUE_KEYS", "Filters", "Store", "UpsertResult", "fold_filter_value",
           "suggest_values"]

#: How many values one ``IN (...)`` list binds (SQLite's old bound-parameter limit was 999).
IN_CHUNK = 500


@dataclass(frozen=True)
class Dialect:
    """The SQL fragments that differ between the backends; every statement of the store is written with them.

    ``c`` follows text that is ordered or compared so ids sort as Python sorts them on both backends (SQLite's
    ``BINARY``; PostgreSQL's ``"C"`` collation, whatever the database's locale); ``tags`` joins each incident's tags
    as rows with a ``value`` column; ``field`` reads a top-level field of the JSON record."""

    c: str
    id_folded: str
    tags: str
    field: str
    extra: str
    by_revision: str
    deleted_by_revision: str
    lock_revision: tuple[str, ...]


DIALECTS = {
    "sqlite": Dialect(
        c="", id_folded="id = :id COLLATE NOCASE", tags="json_each(incidents.tags)",
        field="json_extract(record, '$.{name}')", extra="json_extract(record, '$.extra.\"' || :key || '\"')",
        by_revision="incidents INDEXED BY incidents_revision",
        deleted_by_revision="deleted INDEXED BY deleted_revision",
        # BEGIN IMMEDIATE took the file's write lock already
        lock_revision=("SELECT value FROM meta WHERE key = 'revision'",)),
    "postgresql": Dialect(
        c=' COLLATE "C"', id_folded="lower(id) = lower(:id)",
        tags="json_array_elements_text(incidents.tags::json) AS tag(value)",
        field="(record::json ->> '{name}')", extra="(record::json -> 'extra' ->> :key)",
        by_revision="incidents", deleted_by_revision="deleted",
        lock_revision=("INSERT INTO meta VALUES ('revision', '0') ON CONFLICT DO NOTHING",
                       "SELECT value FROM meta WHERE key = 'revision' FOR UPDATE")),
}


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


class Store(FacetQueries):
    """The incidents: of the SQLite file ``path`` (created if missing), or — given ``settings`` with a ``store_url``
    — of that shared database (its schema checked first). Safe to share between threads and between processes:
    writes take a pooled connection each, reads go through :mod:`sherlock.storage.db.reads`. The queries over values
    (filters, facets, tags, dates) are :class:`~sherlock.storage.facets.FacetQueries`'."""

    def __init__(self, path: str | Path, settings: Settings | None = None):
        self.path = Path(path)
        self._engine, self._shared = open_store(
            settings, STORE_TABLES["incidents"], self.path, what="incident store",
            remedy="restore it from a backup or move it aside and re-ingest your files")
        self._sql = DIALECTS[self._engine.dialect.name]
        self._values: dict[str, tuple[int, dict[str, int]]] = {}  # filter_values by key: (revision, values)
        self._reader = open_reader(self._engine)  # hot reads: see sherlock.storage.db.reads
        self._reader.rows("SELECT 1 FROM meta LIMIT 1")  # now, so an unusable store is reported by the constructor

    def close(self) -> None:
        """Release the SQLite file's connections (a shared store's engine stays open for the process's other
        stores); the store is not usable afterwards."""
        self._reader.close()
        if not self._shared:
            self._engine.dispose()

    # -- writes ------------------------------------------------------------------------------------------------

    def upsert(self, incidents: Sequence[Incident], source: str | None = None) -> UpsertResult:
        """Insert new ids, replace changed ones (by content hash), leave identical ones alone — all in one
        transaction. Bumps the revision once if anything changed."""
        result = UpsertResult()
        with write_transaction(self._engine) as connection:
            revision = self._lock_revision(connection) + 1
            existing = self._hashes(connection, [incident.id for incident in incidents])
            rows: list[dict[str, Any]] = []
            for incident in incidents:
                content_hash = incident.content_hash()
                previous = existing.get(incident.id)
                if previous == content_hash:
                    result.unchanged.append(incident.id)
                    continue
                (result.updated if previous else result.added).append(incident.id)
                rows.append(_row(incident, content_hash, revision, source))
            if rows:
                statement = insert(connection, incidents_table)
                columns = {name: statement.excluded[name] for name in rows[0] if name != "id"}
                connection.execute(statement.on_conflict_do_update(index_elements=["id"], set_=columns), rows)
            if result.added:  # an id deleted earlier and added again is no longer deleted
                for chunk in _chunks(result.added):
                    connection.execute(deleted.delete().where(deleted.c.id.in_(chunk)))
            if result.changed:
                self._set_meta(connection, "revision", str(revision))
        return result

    def delete(self, ids: Iterable[str]) -> list[str]:
        """Delete the incidents with these exact ids, in one transaction, and return the ids that were stored (in the
        order given; unknown ids are ignored). Bumps the revision once if anything was deleted and leaves a tombstone
        per id, so :meth:`changes_since` reports it."""
        wanted = list(dict.fromkeys(ids))
        with write_transaction(self._engine) as connection:
            revision = self._lock_revision(connection) + 1
            stored = set(self._hashes(connection, wanted))
            gone = [incident_id for incident_id in wanted if incident_id in stored]
            if gone:
                for chunk in _chunks(gone):
                    connection.execute(incidents_table.delete().where(incidents_table.c.id.in_(chunk)))
                statement = insert(connection, deleted)
                connection.execute(statement.on_conflict_do_update(
                    index_elements=["id"], set_={"revision": statement.excluded.revision}),
                    [{"id": incident_id, "revision": revision} for incident_id in gone])
                self._set_meta(connection, "revision", str(revision))
        return gone

    def set_meta(self, key: str, value: str) -> None:
        """Store a workspace fact (e.g. the revision an index was built from) under ``key``."""
        with write_transaction(self._engine) as connection:
            self._set_meta(connection, key, value)

    # -- reads -------------------------------------------------------------------------------------------------

    def revision(self) -> int:
        """Bumped by every write that changed an incident; 0 for an empty store."""
        value = self.get_meta("revision")
        return int(value) if value else 0

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        """The value stored by :meth:`set_meta`, or ``default``."""
        value = self._scalar("SELECT value FROM meta WHERE key = :key", key=key)
        return default if value is None else value

    def get_meta_many(self, keys: Iterable[str]) -> dict[str, str]:
        """``{key: value}`` of the given keys that are stored (one query per 500 keys, not one per key)."""
        return dict(self._select_in("SELECT key, value FROM meta WHERE key IN :values", list(dict.fromkeys(keys))))

    def count(self) -> int:
        """How many incidents are stored."""
        return int(self._scalar("SELECT COUNT(*) FROM incidents"))

    def get(self, incident_id: str) -> Incident | None:
        """The incident with this id, matched case-insensitively (``jsp-1052`` finds ``JSP-1052``)."""
        record = self._scalar(f"SELECT record FROM incidents WHERE {self._sql.id_folded} LIMIT 1", id=incident_id)
        return None if record is None else Incident.model_validate_json(record)

    def find_extra(self, key: str, value: str) -> Incident | None:
        """The first incident (by id) whose ``extra[key]`` equals ``value``: a tool's own id, when a webhook names
        the incident only by it. A scan of the records; webhooks are rare enough for it."""
        record = self._scalar(f"SELECT record FROM incidents WHERE {self._sql.extra} = :value "
                              f"ORDER BY id{self._sql.c} LIMIT 1", key=key, value=value)
        return None if record is None else Incident.model_validate_json(record)

    def get_many(self, ids: Iterable[str]) -> dict[str, Incident]:
        """``{id: incident}`` for the given ids that are stored (exact ids; missing ones are left out)."""
        rows = self._select_in("SELECT record FROM incidents WHERE id IN :values", list(dict.fromkeys(ids)))
        found = (Incident.model_validate_json(record) for (record,) in rows)
        return {incident.id: incident for incident in found}

    def iter_incidents(self, batch_size: int = 2000) -> Iterator[Incident]:
        """All incidents in id order, read in batches (constant memory for the reader)."""
        return (incident for incident, _ in self.iter_with_sources(batch_size))

    def all(self) -> list[Incident]:
        """Every incident, in id order."""
        return list(self.iter_incidents())

    def iter_with_sources(self, batch_size: int = 2000) -> Iterator[tuple[Incident, str | None]]:
        """:meth:`iter_incidents` with where each incident came from (the ``source`` it was stored with)."""
        c, last = self._sql.c, ""
        while True:
            rows = self._rows(f"SELECT id, record, source FROM incidents WHERE id{c} > :last ORDER BY id{c} "
                              f"LIMIT :size", last=last, size=batch_size)
            if not rows:
                return
            for _, record, source in rows:
                yield Incident.model_validate_json(record), source
            last = rows[-1][0]

    def changes_since(self, revision: int) -> tuple[list[str], list[str]]:
        """``(changed, deleted)``: the ids added or updated after ``revision`` (stored now), and the ids deleted after
        it (not stored now), each sorted. Both read an index on the revision, so the cost follows the answer's size,
        not the corpus's. Two writes may fall between a reader's calls: read :meth:`revision` first, then this."""
        # sorted here: an ORDER BY id would have SQLite scan the id index
        changed = self._rows(f"SELECT id FROM {self._sql.by_revision} WHERE revision > :revision", revision=revision)
        gone = self._rows(f"SELECT id FROM {self._sql.deleted_by_revision} WHERE revision > :revision",
                          revision=revision)
        return sorted(row[0] for row in changed), sorted(row[0] for row in gone)

    def hashes(self, ids: Sequence[str] | None = None) -> dict[str, str]:
        """``{id: content_hash}`` of every incident, or of those of ``ids`` that are stored (what derived indexes
        diff against)."""
        if ids is not None:
            return dict(self._select_in("SELECT id, content_hash FROM incidents WHERE id IN :values", list(ids)))
        return dict(self._rows("SELECT id, content_hash FROM incidents"))

    def ids_by_fingerprint(self, fingerprints: Iterable[str]) -> dict[str, list[str]]:
        """Stored ids sharing each text fingerprint (to flag the same content filed under another id)."""
        out: dict[str, list[str]] = {}
        rows = self._select_in("SELECT fingerprint, id FROM incidents WHERE fingerprint IN :values", list(set(
            fingerprints)))
        for fingerprint, incident_id in sorted(rows, key=lambda row: row[1]):
            out.setdefault(fingerprint, []).append(incident_id)
        return out

    # -- internals ---------------------------------------------------------------------------------------------

    def _lock_revision(self, connection: Connection) -> int:
        """The current revision, with the right to write the next one held until the transaction ends."""
        *first, read = self._sql.lock_revision
        for sql in first:
            connection.execute(text(sql))
        value = connection.execute(text(read)).scalar()
        return int(value) if value else 0

    @staticmethod
    def _set_meta(connection: Connection, key: str, value: str) -> None:
        statement = insert(connection, meta).values(key=key, value=value)
        connection.execute(statement.on_conflict_do_update(index_elements=["key"],
                                                           set_={"value": statement.excluded.value}))

    @staticmethod
    def _hashes(connection: Connection, ids: Sequence[str]) -> dict[str, str]:
        statement = text("SELECT id, content_hash FROM incidents WHERE id IN :values").bindparams(
            bindparam("values", expanding=True))
        return {incident_id: content_hash for chunk in _chunks(list(ids))
                for incident_id, content_hash in connection.execute(statement, {"values": chunk})}

    def _select_in(self, sql: str, values: list[str]) -> list[Any]:
        """Rows of ``sql``, whose ``IN :values`` list takes ``values`` :data:`IN_CHUNK` at a time."""
        return [row for chunk in _chunks(values) for row in self._reader.rows(sql, values=chunk)]



incidents_table = incidents  # the table, by a name the methods' ``incidents`` arguments do not shadow


def _chunks(values: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(values), IN_CHUNK):
        yield values[start:start + IN_CHUNK]


def _row(incident: Incident, content_hash: str, revision: int, source: str | None) -> dict[str, Any]:
    created = incident.created_date()
    return {
        "id": incident.id, "record": incident.model_dump_json(), "content_hash": content_hash,
        "fingerprint": incident.text_fingerprint(), "service": incident.service, "severity": incident.severity,
        "category": incident.category, "status": incident.status,
        "created_date": created.isoformat() if created else None, "tags": json.dumps(incident.tags),
        "revision": revision, "source": source,
    }
