"""The embedder protocol: what every embedder returns, and the input checks and normalisation they share.

Every embedder returns float32 rows of unit length, so cosine similarity is a dot product. Documents go through
:meth:`Embedder.embed`; search queries through :meth:`Embedder.embed_query` (one) or :meth:`Embedder.embed_queries`
(a batch), which differ from ``embed`` only for asymmetric models (Gemini's RETRIEVAL_QUERY task type).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import ClassVar

import numpy as np


class EmbeddingError(RuntimeError):
    """Embedding failed (remote service error, bad response, unusable cache); the message says what to do."""


class Embedder(ABC):
    """Turns texts into L2-normalised float32 vectors. ``name`` is stable and is the cache key of its vectors."""

    name: str
    dim: int
    #: The ``settings.embedder`` value that rebuilds this embedder (``"custom"`` when none does).
    kind: ClassVar[str] = "custom"
    #: True when queries and documents are embedded alike, so ``embed_query(t) == embed([t])[0]``.
    symmetric: ClassVar[bool] = True

    @abstractmethod
    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Document embeddings, shape ``(len(texts), dim)``, float32, unit rows, in the order given."""

    def embed_query(self, text: str) -> np.ndarray:
        """The embedding of one search query, shape ``(dim,)``."""
        return self.embed([text])[0]

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """The embeddings of a batch of search queries, shape ``(len(texts), dim)``: row ``i`` equals
        ``embed_query(texts[i])``. Symmetric embedders run one batched ``embed``."""
        texts = check_texts(texts)
        if self.symmetric:
            return self.embed(texts)
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        return np.stack([self.embed_query(text) for text in texts]).astype(np.float32, copy=False)


def check_texts(texts: Sequence[str]) -> list[str]:
    """``texts`` as a list, refusing a bare string and non-string items with a ``TypeError`` that names the item."""
    if isinstance(texts, str):
        raise TypeError("embed() takes a sequence of texts, not one string; use embed_query() or wrap it in a list")
    texts = list(texts)
    for position, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"text #{position} is {type(text).__name__}, expected str")
    return texts


def normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 length (an all-zero row stays zero), as float32."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)
