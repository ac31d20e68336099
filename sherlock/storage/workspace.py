"""One workspace = one home folder: the store of record and everything derived from it, kept in step.

Write path: ``ingest`` validates and upserts into the SQLite store (one transaction per file; ``delete`` removes
incidents in one, leaving tombstones), then ``sync`` brings the derived indexes up to the store's revision in time
that follows what changed, not the corpus:

* Chroma (:mod:`sherlock.storage.dense_sync`): the incidents changed or deleted since the revision it was last synced
  to are embedded (unless it already holds their content hash) or deleted; the whole store is diffed only when that
  revision is unknown or Chroma is unreadable.
* The index snapshot (BM25, TF-IDF, entities, and the incident vectors exported from Chroma in store order for exact
  pool scoring): a main segment built from the whole store, plus a delta segment of what changed since the main's
  revision, indexed with the main's statistics and searched with it (:mod:`sherlock.storage.delta`). Past
  ``Settings.delta_max`` changes, or on :meth:`Workspace.merge`, the main is rebuilt (the merge) and the delta
  dropped; ``reindex`` rebuilds everything from the store.

A ``kill -9`` at any point leaves the store consistent and each index old or new (folders are swapped in atomically,
a delta names the main it layers on and is ignored over any other, Chroma's revision is recorded only after Chroma is
updated); the next ``sync`` (or re-running the ingest) completes them.
"""

from __future__ import annotations

import logging
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, cast

import numpy as np

from sherlock.config import DEMO_DIR, Settings
from sherlock.redaction.redactor import RedactionCounts, Redactor
from sherlock.schema import Incident
from sherlock.search.entities import EntityDictionary
from sherlock.storage.duplicates import Duplicate, find_duplicates
from sherlock.storage.ingest import FileReport, ingest_paths
from sherlock.storage.links import Link, LinkingWriter, carry_links, link_incidents, note_copies
from sherlock.storage.snapshot import (
    IndexSnapshot,
    build_snapshot,
    load_snapshot,
    save_snapshot,
    snapshot_manifest,
)
from sherlock.storage.store import Store, UpsertResult
from sherlock.storage.writer_lock import WriterLock

log = logging.getLogger(__name__)

#: ``progress(stage, done, total)`` — the CLI draws tqdm bars from it, the app a progress bar.
Progress = Callable[[str, int, int], None]


@dataclass
class SyncReport:
    """What one ``sync`` did: vectors ``embedded`` and ``deleted`` in Chroma; ``lexical_rebuilt`` when the main index
    segment was rebuilt from the whole store (``merged`` when that folded a delta segment in); ``delta``: how many
    incidents (changed plus deleted since the main) the delta segment it built covers, 0 when it built none."""

    revision: int = 0
    embedded: int = 0
    deleted: int = 0
    lexical_rebuilt: bool = False
    delta: int = 0
    merged: bool = False
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass
class IngestReport:
    """Each file's report, what the sync did, the possible duplicates among the added and updated incidents
    (:func:`sherlock.storage.duplicates.find_duplicates`; reported, never merged), and the links made between
    incidents that mention each other or copy one postmortem (:func:`sherlock.storage.links.link_incidents`)."""

    files: list[FileReport] = field(default_factory=list)
    sync: SyncReport | None = None
    possible_duplicates: list[Duplicate] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)

    @property
    def redacted(self) -> RedactionCounts:
        """Secrets replaced before storing, per rule, over all files (:mod:`sherlock.redaction`)."""
        total = RedactionCounts()
        for file in self.files:
            total.update(file.redacted)
        return total

    def as_dict(self) -> dict[str, Any]:
        return {"files": [report.as_dict() for report in self.files],
                "sync": self.sync.as_dict() if self.sync else None,
                "possible_duplicates": [duplicate.as_dict() for duplicate in self.possible_duplicates],
                "links": [link.as_dict() for link in self.links], "redacted": self.redacted.as_dict()}


class Workspace:
    """Open (and create) the workspace at ``settings.home``. Heavy parts load lazily, once, thread-safely."""

    def __init__(self, settings: Settings):
        self.settings = settings
        settings.home.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        #: held by whatever changes the store and the indexes after it, in any process (see ``writer_lock``)
        self._writer = WriterLock(settings.home / "write.lock")
        self._lexical: IndexSnapshot | None = None  # what search reads: published whole, never changed after
        self._main: IndexSnapshot | None = None  # the main segment on disk, kept to layer the next delta over
        self._variants: dict[tuple, IndexSnapshot] = {}

    @cached_property
    def store(self) -> Store:
        return Store(self.settings.store_path, self.settings)

    @cached_property
    def redactor(self) -> Redactor:
        """What every incident passes through before it is stored (:mod:`sherlock.redaction`): the store, the indexes
        and the embeddings only ever see redacted text."""
        return Redactor.from_settings(self.settings)

    @cached_property
    def embedder(self) -> Any:
        from sherlock.embed.factory import make_embedder
        return make_embedder(self.settings)

    @cached_property
    def dense(self) -> Any:
        from sherlock.retrievers.dense import DenseRetriever, make_chroma_client
        if self.settings.chroma_url:
            client = make_chroma_client(url=self.settings.chroma_url)
        else:
            client = make_chroma_client(path=str(self.settings.chroma_path))
        # vectors go to Chroma one model batch at a time, so progress moves every batch (a second or two on 2 cores)
        return DenseRetriever(client, self.embedder, batch_size=self.settings.embed_batch_size)

    @cached_property
    def collection(self) -> str:
        """The Chroma collection of this workspace's embedding model (named without opening Chroma)."""
        from sherlock.retrievers.dense import collection_name
        return collection_name(self.embedder)

    def dense_top(self, snapshot: IndexSnapshot, query_vectors: np.ndarray, n: int,
                  allowed: set[str] | None = None, exact_max: int | None = None) -> list[dict[str, float]]:
        """Each query vector's ``n`` nearest incidents: exact from ``snapshot`` for a corpus of at most ``exact_max``
        vectors (default ``settings.dense_exact_max``; no approximate index to open, so a cold search never loads
        Chroma), else Chroma's HNSW index."""
        limit = self.settings.dense_exact_max if exact_max is None else exact_max
        if len(snapshot.vector_rows) <= limit:
            return snapshot.dense_top(query_vectors, n, allowed)
        return self.dense.search_vectors(query_vectors, n, allowed)

    def entity_dictionary(self) -> EntityDictionary:
        return EntityDictionary.load(self.settings.entities_path)

    # -- writing -----------------------------------------------------------------------------------------------

    def ingest(self, paths: Sequence[str | Path], fmt: str = "auto", mapping: dict[str, str] | None = None,
               strict: bool = False, progress: Progress | None = None) -> IngestReport:
        """Validate and store each file (a folder: each file in it ingest reads, see
        :func:`sherlock.storage.ingest.expand_paths`), then bring the indexes up to date (even if nothing changed:
        that is how re-running an interrupted ingest completes it). A postmortem whose id is stored from another file
        is stored under its own id, and incidents that mention each other are linked (:mod:`sherlock.storage.links`).
        Card numbers and credentials are redacted before anything is stored (:attr:`redactor`; counts per file in
        the report)."""
        report = IngestReport()
        with self._writer:
            writer = LinkingWriter(self.store)  # postmortem copies kept apart, stored links kept (storage.links)
            report.files.extend(ingest_paths(cast(Store, writer), paths, fmt, mapping, strict, self.redactor))
            note_copies(report.files, writer.copies)
            changed = [doc_id for file in report.files for doc_id in (*file.added, *file.updated)]
            report.links = link_incidents(self.store, changed, writer.copies)
            report.sync = self.sync(progress)
        report.possible_duplicates = find_duplicates(self, changed)
        return report

    def put(self, incidents: Sequence[Incident], source: str) -> tuple[UpsertResult, SyncReport]:
        """Store already validated incidents (added or updated by id; links already stored kept), link them with
        the incidents they mention or that mention them (:mod:`sherlock.storage.links`), and bring the indexes up to
        date: what a webhook delivers and a sync stores. Each incident is redacted first (:attr:`redactor`; the
        counts per rule in ``result.redacted``)."""
        incidents, redacted = self.redactor.redact_incidents(incidents)
        with self._writer:
            result = self.store.upsert(carry_links(self.store, incidents), source=source)
            result.redacted = redacted.as_dict()
            link_incidents(self.store, [*result.added, *result.updated])
            return result, self.sync()

    def ensure_demo(self, progress: Progress | None = None) -> IngestReport | None:
        """Load the demo corpus into an empty workspace; do nothing if it already holds incidents."""
        if self.store.count():
            return None
        return self.ingest([DEMO_DIR / "incidents.jsonl"], progress=progress)

    def prepare(self, progress: Progress | None = None) -> bool:
        """Ready to search: the demo corpus in an empty workspace (when enabled), indexes at the store's revision.
        Returns whether the demo corpus was loaded."""
        loaded = self.settings.demo and not self.store.count()
        if loaded:
            self.ensure_demo(progress=progress)
        if not self.is_synced():
            self.sync(progress)
        return loaded

    def is_prepared(self) -> bool:
        """Whether :meth:`prepare` has nothing to do. Cheap: loads neither the model nor Chroma."""
        return not (self.settings.demo and not self.store.count()) and self.is_synced()

    def is_synced(self) -> bool:
        revision = self.store.revision()
        return self._dense_revision() == revision and self._lexical_revision_on_disk() == revision

    def sync(self, progress: Progress | None = None) -> SyncReport:
        """Make Chroma and the index snapshot match the store: a delta segment over the main while at most
        ``settings.delta_max`` incidents changed since the main's revision, else a full rebuild (see the module
        docstring). Idempotent; safe to re-run after a crash."""
        return self._sync(progress, merge=False)

    def merge(self, progress: Progress | None = None) -> SyncReport:
        """:meth:`sync`, then fold the delta segment into a rebuilt main (a full rebuild) and drop it — what ``sync``
        does by itself past ``settings.delta_max``. Search results afterwards are a full rebuild's (it is one)."""
        return self._sync(progress, merge=True)

    def delete(self, ids: Iterable[str], progress: Progress | None = None) -> SyncReport:
        """Delete the incidents with these exact ids from the store (one transaction; unknown ids are ignored) and
        from every index."""
        with self._writer:
            self.store.delete(ids)
            return self.sync(progress)

    def reindex(self, progress: Progress | None = None) -> SyncReport:
        """Drop every derived index and rebuild it from the store."""
        with self._writer, self._lock:
            self.dense.drop()
            self.store.set_meta(self._dense_key(), "-1")
            shutil.rmtree(self.settings.lexical_path, ignore_errors=True)
            shutil.rmtree(self.settings.delta_path, ignore_errors=True)
            self._lexical = self._main = None
            return self.sync(progress)

    # -- reading -----------------------------------------------------------------------------------------------

    def lexical(self) -> IndexSnapshot:
        """The index snapshot for the store's current revision: cached in memory, or loaded from disk (the main,
        and the delta over it).

        While a writer — another thread, or another process on this workspace — is storing and indexing, the
        store runs ahead of the indexes: the last complete snapshot (in memory, else the newest on disk) is served
        meanwhile, one or a few changes behind and consistent in itself, rather than making every search wait or
        read half-written indexes. When no writer holds the lock and the indexes are still behind, a writer died
        mid-way: its work is finished here, as ``sync`` would."""
        revision = self.store.revision()
        bundle = self._lexical
        if bundle is not None and bundle.revision == revision:
            return bundle
        if self._writer.acquire(blocking=False):
            try:
                with self._lock:
                    if self._lexical is None or self._lexical.revision != revision:
                        self._lexical = self._read_lexical(revision) or self._catch_up(revision)
                    return self._lexical
            finally:
                self._writer.release()
        if bundle is not None:
            return bundle
        with self._lock:
            newest = self._lexical or self._read_lexical(self._lexical_revision_on_disk())
            if newest is not None:
                self._lexical = newest
                return newest
        with self._writer:  # nothing indexed yet: wait for the writer's first build
            return self.lexical()

    def lexical_for(self, settings: Settings) -> IndexSnapshot:
        """The snapshot a search with ``settings`` reads: :meth:`lexical`, with BM25 refitted in memory (and kept
        for this revision) when ``settings`` asks for other BM25 parameters than the index was built with — how an
        A/B arm with its own ``bm25_k1``/``bm25_b`` is scored without touching the workspace's index."""
        if settings.embedder != self.settings.embedder:
            raise ValueError(f"this workspace is indexed with the {self.settings.embedder!r} embedding model, not "
                             f"{settings.embedder!r}; compare embedding models in a workspace built with each "
                             f"(sherlock --home ... reindex with SHERLOCK_EMBEDDER set)")
        base = self.lexical()
        key = (base.revision, settings.bm25_k1, settings.bm25_b, settings.bm25_backend)
        own = (base.revision, self.settings.bm25_k1, self.settings.bm25_b, self.settings.bm25_backend)
        if key == own:
            return base
        with self._lock:
            if key not in self._variants:
                from dataclasses import replace

                from sherlock.retrievers.bm25 import BM25Retriever
                bm25 = BM25Retriever(k1=settings.bm25_k1, b=settings.bm25_b, backend=settings.bm25_backend)
                self._variants = {k: v for k, v in self._variants.items() if k[0] == base.revision}
                self._variants[key] = replace(base, bm25=bm25.fit(list(self.store.iter_incidents())))
            return self._variants[key]

    # -- internals ---------------------------------------------------------------------------------------------

    def _sync(self, progress: Progress | None, merge: bool) -> SyncReport:
        with self._writer, self._lock:
            started = time.perf_counter()
            revision = self.store.revision()
            report = SyncReport(revision=revision)
            if self._dense_revision() != revision:
                from sherlock.storage.dense_sync import sync_dense
                report.embedded, report.deleted = sync_dense(self.store, self.dense, self._dense_revision(), progress)
                self.store.set_meta(self._dense_key(), str(revision))  # only now: Chroma is up to date
            main = snapshot_manifest(self.settings.lexical_path, self.collection)
            if merge and (main is None or main["revision"] != revision):
                self._lexical = self._rebuild(revision, progress, report)
            elif merge:  # the main is current: a delta left on disk is over an older main, never read
                shutil.rmtree(self.settings.delta_path, ignore_errors=True)
            elif self._lexical_revision_on_disk() != revision:
                self._lexical = self._update_lexical(revision, progress, report)
            report.seconds = round(time.perf_counter() - started, 3)
            return report

    def _dense_key(self) -> str:
        """Where the store keeps the revision Chroma is synced to. A shared store (``store_url``) may serve several
        Chromas — a team's server, or an embedded one per machine — so there the key names the Chroma too."""
        if not self.settings.store_url:
            return f"dense_revision:{self.collection}"
        chroma = self.settings.chroma_url or f"{socket.gethostname()}:{self.settings.chroma_path.resolve()}"
        return f"dense_revision:{self.collection}@{chroma}"

    def _dense_revision(self) -> int:
        return int(self.store.get_meta(self._dense_key(), "-1") or -1)

    def _lexical_revision_on_disk(self) -> int:
        """The store revision the index snapshot on disk serves (main + delta), -1 when there is none."""
        from sherlock.storage.delta import revision_on_disk
        return revision_on_disk(self.settings.lexical_path, self.settings.delta_path, self.collection)

    def _load_main(self) -> IndexSnapshot | None:
        """The main snapshot on disk: the one in memory when it is that build, else loaded (memory-mapped)."""
        manifest = snapshot_manifest(self.settings.lexical_path, self.collection)
        if manifest is None or self.settings.bm25_backend != "bm25s":
            return None
        if self._main is not None and self._main.build and self._main.build == manifest.get("build"):
            return self._main
        main = load_snapshot(self.settings.lexical_path, int(manifest["revision"]), self.entity_dictionary())
        if main is not None:
            self._main = main
        return main

    def _read_lexical(self, revision: int) -> IndexSnapshot | None:
        """The snapshot on disk if it serves ``revision`` and can be read, else ``None``."""
        if self._lexical_revision_on_disk() != revision:
            return None
        main = self._load_main()
        if main is None or main.revision == revision:
            return main
        from sherlock.storage.delta import layer, load_delta
        delta = load_delta(self.settings.delta_path, main, self.collection)
        return layer(main, delta) if delta is not None and delta.revision == revision else None

    def _catch_up(self, revision: int) -> IndexSnapshot:
        """The snapshot for ``revision`` built here (the writer lock held): Chroma first when an interrupted write
        left it behind too, then the lexical side."""
        if self._dense_revision() != revision:
            self._sync(None, merge=False)
            found = self._lexical if self._lexical is not None and self._lexical.revision == revision else None
            found = found or self._read_lexical(revision)
            if found is not None:
                return found
        return self._update_lexical(revision, None, SyncReport())

    def _vectors(self, incidents: Sequence[Incident]) -> np.ndarray:
        """The incidents' vectors as Chroma holds them, read from the embedding cache that filled Chroma (the same
        embedder on the same text), not read back from Chroma: an embedded Chroma shared by several processes (API
        workers, the app, the CLI) answered reads of just-written vectors with ``InternalError`` under load."""
        return self.embedder.embed([incident.text() for incident in incidents])

    def _update_lexical(self, revision: int, progress: Progress | None, report: SyncReport) -> IndexSnapshot:
        """A delta segment over the main snapshot when the change since it is small enough, else a full rebuild."""
        return self._layer_delta(revision, report) or self._rebuild(revision, progress, report)

    def _layer_delta(self, revision: int, report: SyncReport) -> IndexSnapshot | None:
        """The main snapshot with a delta of every incident changed or deleted since it (saved next to it), or
        ``None`` when deltas are off, there is no usable main, or more than ``settings.delta_max`` changed."""
        if self.settings.delta_max <= 0:
            return None
        main = self._load_main()
        if main is None or main.revision > revision:
            return None
        changed, deleted = self.store.changes_since(main.revision)
        if len(changed) + len(deleted) > self.settings.delta_max:
            return None
        from sherlock.storage.delta import build_delta, layer, save_delta
        incidents = self.store.get_many(changed)
        changed = [doc_id for doc_id in changed if doc_id in incidents]  # unless deleted a moment ago
        try:
            delta = build_delta(main, revision, [incidents[doc_id] for doc_id in changed], deleted,
                                self._vectors([incidents[doc_id] for doc_id in changed]))
        except ValueError as exc:
            log.info("no delta segment over this main index (%s); rebuilding it", exc)
            return None
        save_delta(self.settings.delta_path, delta, self.collection)
        report.delta = len(delta)
        return layer(main, delta)

    def _rebuild(self, revision: int, progress: Progress | None, report: SyncReport) -> IndexSnapshot:
        """The full rebuild (the merge): a new main snapshot from the whole store, saved, then the delta dropped
        (until it is, it names the old main and is ignored)."""
        total, incidents = self.store.count(), []
        for incident in self.store.iter_incidents():
            incidents.append(incident)
            if progress and len(incidents) % 2000 == 0:
                progress("reading", len(incidents), total)
        s = self.settings
        by_id = {incident.id: incident for incident in incidents}
        snapshot = build_snapshot(revision, incidents, s, self.entity_dictionary(),
                                  lambda ids: self._vectors([by_id[doc_id] for doc_id in ids]), progress)
        save_snapshot(s.lexical_path, snapshot, self.collection, write_bm25=s.bm25_backend == "bm25s")
        report.lexical_rebuilt, report.merged = True, s.delta_path.exists()
        shutil.rmtree(s.delta_path, ignore_errors=True)
        self._main = snapshot if s.bm25_backend == "bm25s" else None
        return snapshot
