"""The index snapshot: everything search reads besides Chroma, for one store revision — BM25, TF-IDF, the entity
index, the incident vectors (exported from Chroma in store order, for exact pool scoring and exact search of small
corpora) and the corpus's stems — saved as a folder of ``.npy``/``.npz`` + JSON files (no pickle), swapped in
atomically, and loaded memory-mapped.

A snapshot is one main segment, or a main segment with a small delta segment layered over it
(:mod:`sherlock.storage.delta`): the incidents changed since the main's revision, whose old rows the main masks. Both
present the same interface, so search reads either alike."""

from __future__ import annotations

import functools
import json
import logging
import os
import shutil
import threading
import uuid
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sherlock.run import top_k
from sherlock.search.entities import EntityDictionary, EntityIndex
from sherlock.text import known_stems, remember_stems, synonyms

if TYPE_CHECKING:
    from sherlock.storage.delta import DeltaSegment

log = logging.getLogger(__name__)
#: Bumped when the folder's layout changes; a snapshot of another format is rebuilt.
SNAPSHOT_FORMAT = 2


@functools.cache
def _blas() -> Any:
    from threadpoolctl import ThreadpoolController
    return ThreadpoolController()


def one_blas_thread() -> Any:
    """A context in which BLAS (numpy's OpenBLAS) runs on one thread. After a product its worker threads keep
    spinning for a while and starve onnxruntime's threads embedding the next query: measured at 10k incidents, a
    warm query took 31 ms with them and 15 ms without (threadpoolctl, scikit-learn's own dependency, does the
    switching)."""
    return _blas().limit(limits=1, user_api="blas")


def exact_top(query_vectors: np.ndarray, vectors: np.ndarray, ids: Sequence[str], n: int,
              allowed: Collection[str] | None = None, hidden: Collection[int] = ()) -> list[dict[str, float]]:
    """Exact nearest neighbours: the ``n`` most cosine-similar of ``ids`` (the rows of ``vectors``) to each row of
    ``query_vectors`` (unit length), among ``allowed`` when given and never one of the ``hidden`` rows — a brute-force
    product, which is faster than an approximate index at the corpus sizes it is used for
    (``Settings.dense_exact_max``)."""
    if allowed is not None:
        rows = [row for row, doc_id in enumerate(ids) if doc_id in allowed and row not in hidden]
        ids, vectors, hidden = [ids[row] for row in rows], vectors[rows], ()
    live = len(ids) - len(hidden)
    if live <= 0 or n <= 0:
        return [{} for _ in range(len(query_vectors))]
    with one_blas_thread():
        similarities = np.asarray(query_vectors, dtype=np.float32) @ vectors.T  # (queries, documents)
    if hidden:  # masked in place: the whole matrix is multiplied, never copied
        similarities[:, list(hidden)] = -np.inf
    take = min(n, live)
    top = np.argpartition(-similarities, take - 1, axis=1)[:, :take] if take < len(ids) else \
        np.broadcast_to(np.arange(len(ids)), (len(similarities), len(ids)))
    return [{ids[j]: float(row[j]) for j in picks if row[j] > -np.inf} for row, picks in zip(similarities, top,
                                                                                              strict=True)]


@dataclass
class IndexSnapshot:
    """Everything search reads besides Chroma, for one store revision: the lexical indexes, the entity index, and
    the incident vectors (a read-only, memory-mapped copy of Chroma's, aligned with ``vector_rows``).

    With a ``delta`` (layered over ``main`` by :func:`sherlock.storage.delta.layer`), ``vectors`` are the main's,
    ``vector_rows`` maps each current incident to its row in the main's vectors followed by the delta's, and the
    retrievers search both segments. ``build`` names the main segment on disk, for a delta to say what it layers on.
    """

    revision: int
    bm25: Any
    tfidf: Any
    entities: EntityIndex
    vectors: np.ndarray
    vector_rows: Mapping[str, int]
    build: str = field(default_factory=lambda: uuid.uuid4().hex)
    delta: DeltaSegment | None = None
    main: IndexSnapshot | None = None

    @cached_property
    def vector_ids(self) -> list[str]:
        """The document id of each row of ``vectors`` (then of the delta's), current incidents only."""
        return sorted(self.vector_rows, key=self.vector_rows.__getitem__)

    def dense_top(self, query_vectors: np.ndarray, n: int, allowed: set[str] | None = None) -> list[dict[str, float]]:
        """Exact nearest neighbours (:func:`exact_top`) over the snapshot's vectors: each segment's top ``n``, the
        main's masked rows left out, merged in :func:`sherlock.run.top_k` order."""
        if self.delta is None or self.main is None:
            return exact_top(query_vectors, self.vectors, self.vector_ids, n, allowed)
        main = exact_top(query_vectors, self.vectors, self.main.vector_ids, n, allowed, self._hidden_rows)
        delta = exact_top(query_vectors, self.delta.vectors, self.delta.ids, n, allowed)
        return [dict(top_k({**a, **b}, n)) for a, b in zip(main, delta, strict=True)]

    @cached_property
    def _hidden_rows(self) -> frozenset[int]:
        """The main's rows of the incidents the delta masks."""
        if self.delta is None or self.main is None:
            return frozenset()
        rows = self.main.vector_rows
        return frozenset(rows[doc_id] for doc_id in self.delta.masked if doc_id in rows)

    def vector(self, doc_id: str) -> np.ndarray | None:
        """The stored (unit-length) vector of one incident, ``None`` when it has none."""
        row = self.vector_rows.get(doc_id)
        return None if row is None else np.asarray(self._vectors_at([row])[0], dtype=np.float32)

    def dense_scores(self, query_vector: np.ndarray, doc_ids: Iterable[str]) -> dict[str, float]:
        """Exact cosine similarity of the query with each known document (vectors are unit length)."""
        known = [(doc_id, self.vector_rows[doc_id]) for doc_id in doc_ids if doc_id in self.vector_rows]
        if not known:
            return {}
        values = self._vectors_at([row for _, row in known]) @ query_vector
        return {doc_id: float(value) for (doc_id, _), value in zip(known, values, strict=True)}

    def _vectors_at(self, rows: list[int]) -> np.ndarray:
        """The vectors of ``rows`` (rows past the main's are the delta's)."""
        if self.delta is None:
            return self.vectors[rows]
        at = np.asarray(rows, dtype=np.int64)
        in_main = at < len(self.vectors)
        out = np.empty((len(at), self.vectors.shape[1]), dtype=self.vectors.dtype)
        out[in_main] = self.vectors[at[in_main]]
        out[~in_main] = self.delta.vectors[at[~in_main] - len(self.vectors)]
        return out


def build_snapshot(revision: int, incidents: Sequence[Any], settings: Any, dictionary: EntityDictionary,
                   vectors: Callable[[list[str]], np.ndarray],
                   progress: Callable[[str, int, int], None] | None = None) -> IndexSnapshot:
    """The main segment over every one of ``incidents`` (in store order): BM25 with ``settings``' parameters, TF-IDF,
    the entity index and the incidents' ``vectors(ids)`` — the O(corpus) full build."""
    from sherlock.retrievers.bm25 import BM25Retriever
    from sherlock.retrievers.tfidf import TfidfRetriever

    if progress:
        progress("lexical index", 0, 3)
    bm25 = BM25Retriever(k1=settings.bm25_k1, b=settings.bm25_b, backend=settings.bm25_backend).fit(incidents)
    if progress:
        progress("lexical index", 1, 3)
    tfidf = TfidfRetriever().fit(incidents)
    if progress:
        progress("lexical index", 2, 3)
    entities = EntityIndex(dictionary).fit(incidents)
    ids = [incident.id for incident in incidents]
    matrix = vectors(ids)
    if progress:
        progress("lexical index", 3, 3)
    return IndexSnapshot(revision, bm25, tfidf, entities, matrix, {d: i for i, d in enumerate(ids)})


def snapshot_manifest(path: Path, collection: str) -> dict[str, Any] | None:
    """The manifest of the snapshot (main or delta) saved at ``path`` when it is of this format and was built from
    ``collection``'s vectors, else ``None``."""
    try:
        data = json.loads((path / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    current = isinstance(data, dict) and data.get("format") == SNAPSHOT_FORMAT and data.get("collection") == collection
    return data if current and isinstance(data.get("revision"), int) else None


def save_snapshot(target: Path, snapshot: IndexSnapshot, collection: str, write_bm25: bool = True) -> None:
    """Write ``snapshot`` to a private folder next to ``target`` and swap it in, so a crash leaves the old snapshot
    or the new one, never half, and two processes syncing the same home at once cannot write into each other's
    files. ``collection`` names the Chroma collection the vectors came from."""
    ids = snapshot.vector_ids
    tag = f"{os.getpid()}-{threading.get_ident()}"
    staging, old = target.with_name(f"{target.name}.new-{tag}"), target.with_name(f"{target.name}.old-{tag}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    if write_bm25:
        snapshot.bm25.save(staging / "bm25")
    snapshot.tfidf.save(staging / "tfidf")
    (staging / "entities.json").write_text(json.dumps(snapshot.entities.to_json()))
    np.save(staging / "vectors.npy", snapshot.vectors)
    (staging / "vector_ids.json").write_text(json.dumps(ids))
    # the corpus's stems: a search that loads this snapshot tokenizes known words without importing NLTK; only the
    # words of the corpus and of the synonyms (so expanding a cold query needs no stemmer either), never the rest of
    # what this process stemmed: queries typed into it, other workspaces' words
    used = set(snapshot.tfidf.vocabulary_) | set(synonyms())
    stems = {word: stem for word, stem in known_stems().items() if stem in used}
    (staging / "stems.json").write_text(json.dumps(stems, ensure_ascii=False), encoding="utf-8")
    (staging / "manifest.json").write_text(json.dumps({"format": SNAPSHOT_FORMAT, "revision": snapshot.revision,
                                                       "collection": collection, "build": snapshot.build,
                                                       "bm25": snapshot.bm25.get_params()}))
    try:
        if target.exists():
            target.rename(old)
        staging.rename(target)
    except OSError as exc:  # another process swapped its snapshot in first; the next reader checks its revision
        log.info("index snapshot not swapped in (%s); keeping the one already there", exc)
        if old.exists() and not target.exists():
            old.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)


def load_snapshot(path: Path, revision: int, dictionary: EntityDictionary) -> IndexSnapshot | None:
    """The snapshot :func:`save_snapshot` wrote to ``path`` (for ``revision``), or ``None`` when it cannot be read
    (a damaged derived index is rebuilt, never fatal). The arrays are memory-mapped; the saved stems seed the
    tokenizer's memo."""
    from sherlock.retrievers.bm25 import BM25Retriever
    from sherlock.retrievers.tfidf import TfidfRetriever

    try:
        build = json.loads((path / "manifest.json").read_text()).get("build") or ""
        bm25 = BM25Retriever.load(path / "bm25")
        tfidf = TfidfRetriever.load(path / "tfidf")
        entities = EntityIndex.from_json(json.loads((path / "entities.json").read_text()), dictionary)
        vectors = np.load(path / "vectors.npy", mmap_mode="r")
        ids = json.loads((path / "vector_ids.json").read_text())
        if len(ids) != len(vectors):
            raise ValueError(f"{len(ids)} ids but {len(vectors)} vectors")
        stems = path / "stems.json"  # optional: snapshots written before it existed work without it
        if stems.exists():
            remember_stems(json.loads(stems.read_text(encoding="utf-8")))
    except Exception as exc:  # noqa: BLE001 - a damaged derived index is rebuilt, never fatal
        log.warning("lexical index unreadable (%s); rebuilding it from the store", exc)
        return None
    return IndexSnapshot(revision, bm25, tfidf, entities, vectors, {d: i for i, d in enumerate(ids)}, build=build)
