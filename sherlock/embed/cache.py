"""Caching in front of an embedder: documents in a persistent SQLite file, queries in a bounded in-memory LRU.

Documents (ingest, sync, reindex) are embedded once per text and model and kept across processes. Search queries
are many, mostly unique and cheap to recompute, so they never touch the file: repeats within a process are served
from an LRU of :data:`QUERY_CACHE_SIZE` entries, and nothing a user typed is written to disk.

    embedder = CachedEmbedder(MiniLMEmbedder(settings), settings.cache_path)
    embedder.embed(documents)                   # SQLite: only texts not cached yet reach the model
    embedder.embed_queries(["card declined"])   # LRU: never written to the file
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from sherlock.embed.base import Embedder, EmbeddingError, check_texts
from sherlock.embed.batching import QueryBatcher
from sherlock.storage.sqlite import SQLiteFile

#: How many query embeddings :class:`CachedEmbedder` keeps in memory (about 1.5 kB each at 384 dimensions).
QUERY_CACHE_SIZE = 4096

SCHEMA = """
CREATE TABLE IF NOT EXISTS embeddings (model TEXT NOT NULL, text_sha256 TEXT NOT NULL, vector BLOB NOT NULL,
                                       PRIMARY KEY (model, text_sha256)) WITHOUT ROWID;
"""


class QueryCache:
    """A thread-safe least-recently-used map from query text to its embedding, holding at most ``maxsize`` rows."""

    def __init__(self, maxsize: int = QUERY_CACHE_SIZE) -> None:
        if maxsize < 1:
            raise ValueError(f"the query cache needs room for at least one query, got maxsize={maxsize}")
        self.maxsize = maxsize
        self._rows: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._rows)

    def __contains__(self, text: object) -> bool:
        with self._lock:
            return text in self._rows

    def get_many(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """The cached rows among ``texts`` (each hit becomes the most recently used)."""
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for text in texts:
                row = self._rows.get(text)
                if row is not None:
                    self._rows.move_to_end(text)
                    found[text] = row
        return found

    def put_many(self, items: dict[str, np.ndarray]) -> None:
        """Add rows, evicting the least recently used beyond ``maxsize``."""
        with self._lock:
            for text, row in items.items():
                self._rows[text] = row
                self._rows.move_to_end(text)
            while len(self._rows) > self.maxsize:
                self._rows.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._rows.clear()


class CachedEmbedder(Embedder):
    """Wraps an embedder: document vectors in a SQLite cache keyed by (embedder name, SHA-256 of the text), query
    vectors in a :class:`QueryCache`; only texts cached in neither reach the inner embedder. Safe to share between
    threads (one connection behind a lock, WAL journal)."""

    def __init__(self, inner: Embedder, cache_path: Path, query_cache_size: int = QUERY_CACHE_SIZE) -> None:
        self.inner = inner
        self.cache_path = Path(cache_path)
        self.name, self.dim = inner.name, inner.dim
        self.symmetric, self.kind = inner.symmetric, inner.kind  # type: ignore[misc]
        self.queries = QueryCache(query_cache_size)
        self.batcher = QueryBatcher(inner.embed_queries)  # concurrent searches share one model call
        self._db = SQLiteFile(self.cache_path, SCHEMA, what="embedding cache", error=EmbeddingError,
                              remedy="delete the file, it only holds vectors that can be recomputed")

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Document embeddings: read from the SQLite cache, and what is missing computed once and written there."""
        texts = check_texts(texts)
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        keys = [hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest() for text in texts]
        found = self._lookup(sorted(set(keys)))
        missing = {key: text for key, text in zip(keys, texts, strict=True) if key not in found}
        if missing:
            vectors = self._checked(self.inner.embed(list(missing.values())), len(missing))
            found.update(zip(missing, vectors, strict=True))
            self._store(list(zip(missing, vectors, strict=True)))
        return np.stack([found[key] for key in keys])

    def embed_query(self, text: str) -> np.ndarray:
        """One query embedding through the in-memory LRU (never the SQLite file)."""
        return self.embed_queries([text])[0]

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Query embeddings through the in-memory LRU (never the SQLite file); the misses go to the inner embedder
        in one batch. Row ``i`` equals ``embed_query(texts[i])``."""
        texts = check_texts(texts)
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        found = self.queries.get_many(texts)
        missing = [text for text in dict.fromkeys(texts) if text not in found]
        if missing:
            computed = dict(zip(missing, self._checked(self.batcher(missing), len(missing)), strict=True))
            self.queries.put_many(computed)
            found.update(computed)
        return np.stack([found[text] for text in texts])

    def close(self) -> None:
        """Close the SQLite connection (it reopens on the next call)."""
        self._db.close()

    def _checked(self, vectors: np.ndarray, count: int) -> np.ndarray:
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.shape != (count, self.dim):
            raise EmbeddingError(f"{self.inner.name} returned shape {vectors.shape} for {count} texts, "
                                 f"expected ({count}, {self.dim})")
        return vectors

    def _lookup(self, keys: list[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        with self._db.connection() as connection:
            for start in range(0, len(keys), 500):
                chunk = keys[start:start + 500]
                rows = connection.execute(
                    f"SELECT text_sha256, vector FROM embeddings WHERE model = ? AND text_sha256 IN "
                    f"({','.join('?' * len(chunk))})", [self.name, *chunk])
                for key, blob in rows:
                    if len(blob) == 4 * self.dim:  # a row of another width is stale: recompute it
                        found[key] = np.frombuffer(blob, dtype="<f4").astype(np.float32)
        return found

    def _store(self, items: list[tuple[str, np.ndarray]]) -> None:
        with self._db.connection() as connection, connection:
            connection.executemany(
                "INSERT OR REPLACE INTO embeddings (model, text_sha256, vector) VALUES (?, ?, ?)",
                [(self.name, key, vector.astype("<f4").tobytes()) for key, vector in items])
