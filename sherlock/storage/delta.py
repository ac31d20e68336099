"""The delta segment: what changed in the store since the main index snapshot's revision, indexed with the main's
corpus statistics (:mod:`sherlock.retrievers.delta`) and layered over it (:mod:`sherlock.retrievers.segments`), so an
ingest is searchable without rebuilding the main — Lucene's segments, with a merge (a full rebuild) once the delta
outgrows ``Settings.delta_max``.

The delta is rebuilt from scratch from ``Store.changes_since(main revision)`` on every sync (O(delta), not O(corpus))
and saved in its own folder next to the main's, its manifest naming the main ``build`` it layers on, the main's
revision and its own. A delta whose base is not the main on disk is stale and never read.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from sherlock.retrievers.base import weighted_text
from sherlock.retrievers.delta import BM25Delta, fit_tfidf_delta, load_tfidf_delta, save_tfidf_delta
from sherlock.retrievers.lexical_index import write_dir_atomically
from sherlock.retrievers.segments import Overlay, SegmentedBM25, SegmentedTfidf
from sherlock.schema import Incident
from sherlock.search.entities import EntityIndex
from sherlock.storage.snapshot import SNAPSHOT_FORMAT, IndexSnapshot, snapshot_manifest
from sherlock.text import known_stems, remember_stems, tokenize

log = logging.getLogger(__name__)
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class DeltaSegment:
    """The incidents changed (``ids``, in row order) and ``deleted`` since the main segment ``base_build`` at
    ``base_revision``, indexed for ``revision``; ``masked`` (both together) are the ids whose rows in the main are out
    of date."""

    base_build: str
    base_revision: int
    revision: int
    ids: list[str]
    deleted: list[str]
    bm25: BM25Delta
    tfidf: Any
    entities: EntityIndex
    vectors: np.ndarray
    stems: dict[str, str]
    masked: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "masked", frozenset(self.ids) | frozenset(self.deleted))

    def __len__(self) -> int:
        """How many incidents the delta covers: changed plus deleted."""
        return len(self.ids) + len(self.deleted)


def build_delta(main: IndexSnapshot, revision: int, incidents: Sequence[Incident], deleted: Sequence[str],
                vectors: np.ndarray) -> DeltaSegment:
    """The delta segment of ``incidents`` (changed since ``main``, with their ``vectors`` in the same order) and the
    ``deleted`` ids, for store ``revision``. Raises ``ValueError`` when ``main`` cannot take a delta (see
    :meth:`BM25Delta.fit`)."""
    if main.delta is not None:
        raise ValueError("a delta segment is built over a main snapshot, not over a layered one")
    tokens = None  # tokenized once when both indexes weigh the fields alike (they do unless configured apart)
    if main.bm25.field_weights == main.tfidf.field_weights:
        tokens = [tokenize(weighted_text(incident, main.bm25.field_weights)) for incident in incidents]
    bm25 = BM25Delta().fit(incidents, main.bm25, tokens)
    tfidf = fit_tfidf_delta(incidents, main.tfidf, tokens)
    entities = EntityIndex(main.entities.dictionary, main.entities.mine).fit_delta(incidents, main.entities)
    # the stems of the delta's words, so a cold search that loads it tokenizes them without NLTK (as the main's own)
    used = set(bm25.vocabulary_)
    stems = {word: stem for word, stem in known_stems().items() if stem in used}
    return DeltaSegment(main.build, main.revision, revision, [incident.id for incident in incidents],
                        sorted(set(deleted)), bm25, tfidf, entities, np.asarray(vectors, dtype=np.float32), stems)


def layer(main: IndexSnapshot, delta: DeltaSegment) -> IndexSnapshot:
    """The snapshot search reads at ``delta.revision``: ``main`` with ``delta`` over it, nothing of ``main`` copied."""
    if delta.base_build != main.build:
        raise ValueError(f"this delta segment was built over main snapshot {delta.base_build!r}, not {main.build!r}")
    masked = delta.masked
    rows = Overlay(main.vector_rows, {doc_id: len(main.vectors) + row for row, doc_id in enumerate(delta.ids)},
                   masked)
    return replace(main, revision=delta.revision, bm25=SegmentedBM25(main.bm25, delta.bm25, masked),
                   tfidf=SegmentedTfidf(main.tfidf, delta.tfidf, masked),
                   entities=main.entities.layered(delta.entities, masked),
                   vector_rows=rows, delta=delta, main=main)


def save_delta(target: Path, delta: DeltaSegment, collection: str) -> None:
    """Write ``delta`` to ``target``, swapped in atomically (a reader sees the old delta or the new one)."""

    def write(tmp: Path) -> None:
        delta.bm25.save(tmp / "bm25")
        save_tfidf_delta(delta.tfidf, tmp / "tfidf")
        (tmp / "entities.json").write_text(json.dumps(delta.entities.delta_json()))
        np.save(tmp / "vectors.npy", delta.vectors)
        (tmp / "stems.json").write_text(json.dumps(delta.stems, ensure_ascii=False), encoding="utf-8")
        # the manifest last: a folder is a delta only once everything else is in it
        (tmp / MANIFEST).write_text(json.dumps({
            "format": SNAPSHOT_FORMAT, "collection": collection, "base_build": delta.base_build,
            "base_revision": delta.base_revision, "revision": delta.revision, "ids": delta.ids,
            "deleted": delta.deleted}))

    write_dir_atomically(target, write)


def delta_manifest(path: Path, main: dict[str, Any], collection: str) -> dict[str, Any] | None:
    """The manifest of the delta saved at ``path`` when it layers on the main snapshot whose manifest is ``main``
    (:func:`sherlock.storage.snapshot.snapshot_manifest`), else ``None``."""
    delta = snapshot_manifest(path, collection)
    if delta is None or not main.get("build") or delta.get("base_build") != main["build"]:
        return None
    return delta


def revision_on_disk(main_path: Path, delta_path: Path, collection: str) -> int:
    """The store revision the snapshot on disk serves: the delta's when one layers on the main, else the main's;
    -1 when there is no main."""
    main = snapshot_manifest(main_path, collection)
    if main is None:
        return -1
    delta = delta_manifest(delta_path, main, collection)
    return int((delta or main)["revision"])


def load_delta(path: Path, main: IndexSnapshot, collection: str) -> DeltaSegment | None:
    """The delta saved at ``path`` if it layers on ``main``, else ``None`` (also when it cannot be read: a damaged
    derived index is rebuilt, never fatal). The saved stems seed the tokenizer's memo."""
    manifest = snapshot_manifest(path, collection)
    if manifest is None or manifest.get("base_build") != main.build or not main.build:
        return None
    try:
        bm25 = BM25Delta.load(path / "bm25")
        tfidf = load_tfidf_delta(path / "tfidf", main.tfidf)
        entities = EntityIndex.from_delta_json(json.loads((path / "entities.json").read_text()), main.entities)
        vectors = np.load(path / "vectors.npy")
        stems = json.loads((path / "stems.json").read_text(encoding="utf-8"))
        ids = list(manifest["ids"])
        if not ids == bm25.docs_.ids == tfidf.docs_.ids or len(vectors) != len(ids):
            raise ValueError("its parts list different incidents")
    except Exception as exc:  # noqa: BLE001 - a damaged derived index is rebuilt, never fatal
        log.warning("delta index unreadable (%s); rebuilding it from the store", exc)
        return None
    remember_stems(stems)
    return DeltaSegment(main.build, int(manifest["base_revision"]), int(manifest["revision"]), ids,
                        list(manifest["deleted"]), bm25, tfidf, entities, vectors, stems)
