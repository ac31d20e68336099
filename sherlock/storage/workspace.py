"""One workspace = one home folder: the store of record and everything derived from it, kept in step.

Write path: ``ingest`` validates and upserts into the SQLite store (one transaction per file), then ``sync`` brings
the derived indexes up to the store's revision — Chroma by diffing content hashes (embed only what changed, delete
what is gone), then the index snapshot (BM25, TF-IDF, entities, and the incident vectors exported from Chroma in
store order for exact pool scoring) by an atomic rebuild. A ``kill -9`` at any point leaves
the store consistent and the indexes either old or new; the next ``sync`` (or re-running the ingest) completes them.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from sherlock.config import DEMO_DIR, Settings
from sherlock.search.entities import EntityDictionary, EntityIndex
from sherlock.storage.ingest import FileReport, ingest_file
from sherlock.storage.snapshot import SNAPSHOT_FORMAT, IndexSnapshot, load_snapshot, save_snapshot
from sherlock.storage.store import Store

log = logging.getLogger(__name__)

#: ``progress(stage, done, total)`` — the CLI draws tqdm bars from it, the app a progress bar.
Progress = Callable[[str, int, int], None]


@dataclass
class SyncReport:
    revision: int = 0
    embedded: int = 0
    deleted: int = 0
    lexical_rebuilt: bool = False
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass
class IngestReport:
    files: list[FileReport] = field(default_factory=list)
    sync: SyncReport | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"files": [report.as_dict() for report in self.files],
                "sync": self.sync.as_dict() if self.sync else None}


class Workspace:
    """Open (and create) the workspace at ``settings.home``. Heavy parts load lazily, once, thread-safely."""

    def __init__(self, settings: Settings):
        self.settings = settings
        settings.home.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._lexical: IndexSnapshot | None = None
        self._variants: dict[tuple, IndexSnapshot] = {}

    @cached_property
    def store(self) -> Store:
        return Store(self.settings.store_path)

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
        """Validate and store each file, then bring the indexes up to date (even if nothing changed: that is
        how re-running an interrupted ingest completes it)."""
        report = IngestReport()
        for path in paths:
            report.files.append(ingest_file(self.store, Path(path), fmt, mapping, strict))
        report.sync = self.sync(progress)
        return report

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
        """Make Chroma and the lexical bundle match the store. Idempotent; safe to re-run after a crash."""
        with self._lock:
            started = time.perf_counter()
            revision = self.store.revision()
            report = SyncReport(revision=revision)
            if self._dense_revision() != revision:
                report.embedded, report.deleted = self._sync_dense(progress)
                self.store.set_meta(self._dense_key(), str(revision))
            if self._lexical_revision_on_disk() != revision:
                self._lexical = self._build_lexical(revision, progress)
                report.lexical_rebuilt = True
            report.seconds = round(time.perf_counter() - started, 3)
            return report

    def reindex(self, progress: Progress | None = None) -> SyncReport:
        """Drop every derived index and rebuild it from the store."""
        with self._lock:
            self.dense.drop()
            self.store.set_meta(self._dense_key(), "-1")
            shutil.rmtree(self.settings.lexical_path, ignore_errors=True)
            self._lexical = None
            return self.sync(progress)

    # -- reading -----------------------------------------------------------------------------------------------

    def lexical(self) -> IndexSnapshot:
        """The lexical bundle for the store's current revision: cached in memory, loaded from disk, or rebuilt."""
        revision = self.store.revision()
        bundle = self._lexical
        if bundle is not None and bundle.revision == revision:
            return bundle
        with self._lock:
            if self._lexical is None or self._lexical.revision != revision:
                bundle = None
                if self._lexical_revision_on_disk() == revision and self.settings.bm25_backend == "bm25s":
                    bundle = load_snapshot(self.settings.lexical_path, revision, self.entity_dictionary())
                self._lexical = bundle if bundle is not None else self._build_lexical(revision, None)
            return self._lexical

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

    def _dense_key(self) -> str:
        return f"dense_revision:{self.collection}"

    def _dense_revision(self) -> int:
        return int(self.store.get_meta(self._dense_key(), "-1") or -1)

    def _sync_dense(self, progress: Progress | None) -> tuple[int, int]:
        wanted = self.store.hashes()
        try:
            have = self.dense.hashes()
        except Exception as exc:  # noqa: BLE001 - a damaged derived index is rebuilt, never fatal
            log.warning("vector index unreadable (%s); rebuilding it from the store", exc)
            self.dense.drop()
            have = {}
        stale = sorted(set(have) - set(wanted))
        todo = sorted(i for i, h in wanted.items() if have.get(i) != h)
        self.dense.delete(stale)
        done = 0
        if progress and todo:
            progress("embedding", 0, len(todo))  # the stage starts now: its pace (and time left) counts from here
        for start in range(0, len(todo), 1024):
            incidents = self.store.get_many(todo[start:start + 1024])
            # shortest text first, so each model batch pads its texts to about the same length (the embedder sorts
            # only within one call, and a call is one batch here so that progress moves every batch)
            batch = sorted((incidents[i] for i in todo[start:start + 1024] if i in incidents),
                           key=lambda incident: len(incident.text()))

            def tick(n: int) -> None:
                nonlocal done
                done += n
                if progress:
                    progress("embedding", done, len(todo))

            self.dense.upsert(batch, progress=tick)
        return len(todo), len(stale)

    def _lexical_revision_on_disk(self) -> int:
        manifest = self.settings.lexical_path / "manifest.json"
        try:
            data = json.loads(manifest.read_text())
            current = data.get("format") == SNAPSHOT_FORMAT and data.get("collection") == self.collection
            return int(data["revision"]) if current else -1
        except (OSError, ValueError, KeyError):
            return -1

    def _build_lexical(self, revision: int, progress: Progress | None) -> IndexSnapshot:
        from sherlock.retrievers.bm25 import BM25Retriever
        from sherlock.retrievers.tfidf import TfidfRetriever

        total = self.store.count()
        incidents = []
        for incident in self.store.iter_incidents():
            incidents.append(incident)
            if progress and len(incidents) % 2000 == 0:
                progress("reading", len(incidents), total)
        if progress:
            progress("lexical index", 0, 3)
        s = self.settings
        bm25 = BM25Retriever(k1=s.bm25_k1, b=s.bm25_b, backend=s.bm25_backend).fit(incidents)
        if progress:
            progress("lexical index", 1, 3)
        tfidf = TfidfRetriever().fit(incidents)
        if progress:
            progress("lexical index", 2, 3)
        entities = EntityIndex(self.entity_dictionary()).fit(incidents)
        ids = [incident.id for incident in incidents]
        vectors = self.dense.vectors(ids)
        if progress:
            progress("lexical index", 3, 3)
        snapshot = IndexSnapshot(revision, bm25, tfidf, entities, vectors, {d: i for i, d in enumerate(ids)})
        save_snapshot(self.settings.lexical_path, snapshot, self.collection, write_bm25=s.bm25_backend == "bm25s")
        return snapshot
