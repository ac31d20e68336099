"""Dense retrieval: incident embeddings in a Chroma collection (cosine space), queried with our own embedder.

The collection is embedded (``chromadb.PersistentClient`` under ``<home>/chroma``) or on a Chroma server
(``chromadb.HttpClient``) when ``chroma_url`` is set. We always pass our embedding function when a collection is
opened and always send precomputed vectors, so Chroma's default embedder (which downloads a model) is never used.
Each vector carries its incident's content hash, which is how ``sync`` finds what changed in the store.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Any, Self
from urllib.parse import urlparse

import numpy as np

from sherlock.embed.base import Embedder
from sherlock.embed.chroma import ChromaEmbeddingFunction
from sherlock.retrievers.base import Retriever
from sherlock.run import Scores
from sherlock.schema import Incident

Progress = Callable[[int], None]


def make_chroma_client(path: str | None = None, url: str | None = None) -> Any:
    """An embedded client on ``path``, or an HTTP client for ``url`` (``http://localhost:8000``); telemetry off."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=True)
    if url:
        parsed = urlparse(url if "://" in url else f"http://{url}")
        return chromadb.HttpClient(host=parsed.hostname or "localhost", port=parsed.port or 8000,
                                   ssl=parsed.scheme == "https", settings=chroma_settings)
    if not path:
        raise ValueError("make_chroma_client needs a path (embedded) or a url (server)")
    return chromadb.PersistentClient(path=path, settings=chroma_settings)


def collection_name(embedder: Embedder, prefix: str = "incidents") -> str:
    """One collection per embedding model, so switching models never mixes vector spaces."""
    safe = "".join(ch if ch.isalnum() else "-" for ch in embedder.name.lower()).strip("-")
    return f"{prefix}-{safe}"[:63]


class DenseRetriever(Retriever):
    """Cosine similarity between the query embedding and incident embeddings stored in Chroma.

    ``hnsw_ef_search`` trades speed for recall of the approximate nearest-neighbour search.
    """

    name = "dense"

    def __init__(self, client: Any, embedder: Embedder, collection: str | None = None, batch_size: int = 256,
                 hnsw_ef_search: int = 200):
        self.client = client
        self.embedder = embedder
        self.collection = collection or collection_name(embedder)
        self.batch_size = batch_size
        self.hnsw_ef_search = hnsw_ef_search
        self._collection: Any = None

    def get_params(self) -> dict[str, Any]:
        return {"embedder": self.embedder.name, "collection": self.collection, "hnsw_ef_search": self.hnsw_ef_search}

    # -- the collection ----------------------------------------------------------------------------------------

    def _open(self) -> Any:
        if self._collection is None:
            self._collection = self.client.get_or_create_collection(
                self.collection, embedding_function=ChromaEmbeddingFunction(self.embedder),
                configuration={"hnsw": {"space": "cosine", "ef_search": self.hnsw_ef_search,
                                        "ef_construction": 200}})
        return self._collection

    def drop(self) -> None:
        """Delete the collection (``sherlock reindex`` rebuilds it from the store)."""
        try:
            self.client.delete_collection(self.collection)
        except Exception:  # noqa: BLE001 - chroma raises different types for "does not exist" across versions
            pass
        self._collection = None

    def count(self) -> int:
        return self._open().count()

    def hashes(self, ids: Sequence[str] | None = None) -> dict[str, str]:
        """``{id: content_hash}`` of every stored vector, or of those of ``ids`` that are stored (read by id, so
        the cost follows ``len(ids)``, not the collection's size)."""
        collection = self._open()
        pages = (collection.get(include=["metadatas"], limit=5000, offset=offset)
                 for offset in range(0, collection.count(), 5000)) if ids is None else \
            (collection.get(ids=list(ids[start:start + 5000]), include=["metadatas"])
             for start in range(0, len(ids), 5000))
        out: dict[str, str] = {}
        for page in pages:
            for incident_id, metadata in zip(page["ids"], page["metadatas"], strict=True):
                out[incident_id] = (metadata or {}).get("content_hash", "")
        return out

    # -- writing -----------------------------------------------------------------------------------------------

    def fit(self, incidents: Sequence[Incident]) -> Self:
        """Replace the collection's content with ``incidents``."""
        self.drop()
        self.upsert(incidents)
        return self

    def upsert(self, incidents: Sequence[Incident], progress: Progress | None = None) -> None:
        """Embed and upsert in batches; ``progress(n)`` is called after each batch with its size."""
        collection = self._open()
        for start in range(0, len(incidents), self.batch_size):
            batch = incidents[start:start + self.batch_size]
            vectors = self.embedder.embed([incident.text() for incident in batch])
            collection.upsert(ids=[incident.id for incident in batch], embeddings=vectors,
                              metadatas=[_metadata(incident) for incident in batch])
            if progress:
                progress(len(batch))

    def delete(self, ids: Sequence[str]) -> None:
        if ids:
            self._open().delete(ids=list(ids))

    # -- reading -----------------------------------------------------------------------------------------------

    def search(self, query: str, k: int = 10, allowed: Collection[str] | None = None) -> Scores:
        return self.search_vectors(self.embedder.embed_query(query)[None, :], k, allowed)[0]

    def search_many(self, queries: Sequence[str], k: int = 10,
                    allowed: Collection[str] | None = None) -> list[Scores]:
        if not queries:
            return []
        return self.search_vectors(self.embedder.embed_queries(list(queries)), k, allowed)

    def search_vectors(self, vectors: np.ndarray, k: int, allowed: Collection[str] | None = None) -> list[Scores]:
        """Top-``k`` cosine similarities for each row of ``vectors`` (already embedded queries)."""
        collection = self._open()
        if allowed is not None and not allowed:
            return [{} for _ in range(len(vectors))]
        total = collection.count()
        n_results = min(k, total if allowed is None else len(allowed), total)
        if n_results <= 0:
            return [{} for _ in range(len(vectors))]
        result = collection.query(query_embeddings=np.asarray(vectors, dtype=np.float32), n_results=n_results,
                                  ids=list(allowed) if allowed is not None else None, include=["distances"])
        return [{incident_id: 1.0 - float(distance) for incident_id, distance in zip(ids, distances, strict=True)}
                for ids, distances in zip(result["ids"], result["distances"], strict=True)]

    def score(self, query: str, doc_ids: Iterable[str]) -> Scores:
        """Exact cosine similarity against the stored vectors of ``doc_ids``."""
        wanted = list(doc_ids)
        if not wanted:
            return {}
        stored = self._open().get(ids=wanted, include=["embeddings"])
        if not stored["ids"]:
            return {}
        matrix = np.asarray(stored["embeddings"], dtype=np.float32)
        similarities = matrix @ self.embedder.embed_query(query)
        return {incident_id: float(value) for incident_id, value in zip(stored["ids"], similarities, strict=True)}


def _metadata(incident: Incident) -> dict[str, Any]:
    """What Chroma keeps beside each vector: the content hash (for sync) and the labels (for server users)."""
    metadata: dict[str, Any] = {"content_hash": incident.content_hash(), "title": incident.title[:200]}
    for key in ("service", "severity", "category", "status"):
        value = getattr(incident, key)
        if value:
            metadata[key] = value
    return metadata
