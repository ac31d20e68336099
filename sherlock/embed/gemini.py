"""Google's Gemini embeddings (optional; needs an API key). The client comes from :mod:`sherlock.gemini_client`.

Every text is redacted (:mod:`sherlock.redaction`) before it is sent: stored incidents already are, queries are not.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from sherlock.config import Settings
from sherlock.embed.base import Embedder, EmbeddingError, check_texts, normalise
from sherlock.gemini_client import gemini_client, redact_key
from sherlock.redaction.redactor import Redactor


class GeminiEmbedder(Embedder):
    """Google's Gemini embeddings through ``google-genai``, with a bounded timeout and no retries; documents and
    queries use the RETRIEVAL_DOCUMENT / RETRIEVAL_QUERY task types. ``client`` may be injected (tests pass a fake)."""

    kind = "gemini"
    symmetric = False
    max_batch = 100  # the API's limit on texts per embed_content call

    def __init__(self, settings: Settings, client: Any = None, dim: int = 768) -> None:
        if client is None and settings.gemini_api_key is None:
            raise EmbeddingError("the Gemini embedder needs an API key: set SHERLOCK_GEMINI_API_KEY (or "
                                 "GEMINI_API_KEY), or use the offline default, SHERLOCK_EMBEDDER=minilm")
        self.settings = settings
        self.model = settings.gemini_embed_model
        self.dim = dim
        self.name = f"gemini:{self.model}:{dim}"
        self._client = client
        self._lock = threading.Lock()
        self._redactor = Redactor.from_settings(settings)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Document embeddings (RETRIEVAL_DOCUMENT), in batches of at most 100 texts."""
        return self._embed(check_texts(texts), "RETRIEVAL_DOCUMENT")

    def embed_query(self, text: str) -> np.ndarray:
        """One query embedding (RETRIEVAL_QUERY)."""
        return self._embed([text], "RETRIEVAL_QUERY")[0]

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Query embeddings (RETRIEVAL_QUERY), batched like :meth:`embed`."""
        return self._embed(check_texts(texts), "RETRIEVAL_QUERY")

    def _embed(self, texts: list[str], task_type: str) -> np.ndarray:
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        from google.genai import types

        config = types.EmbedContentConfig(task_type=task_type, output_dimensionality=self.dim)
        if self._redactor.enabled:  # card numbers and credentials never leave for Gemini
            texts = [self._redactor.redact_text(text)[0] for text in texts]
        size = min(self.settings.embed_batch_size, self.max_batch)
        rows: list[list[float]] = []
        for start in range(0, len(texts), size):
            batch = texts[start:start + size]
            try:
                response = self._get_client().models.embed_content(model=self.model, contents=batch, config=config)
            except Exception as exc:  # noqa: BLE001 - network, HTTP, auth and timeout errors all end here
                raise EmbeddingError(
                    f"Gemini embedding request to {self.model!r} failed ({type(exc).__name__}: "
                    f"{redact_key(str(exc), self.settings)}); check the network, the API key and its quota, or set "
                    f"SHERLOCK_EMBEDDER=minilm to embed offline") from None
            vectors = [list(e.values or []) for e in (getattr(response, "embeddings", None) or [])]
            if len(vectors) != len(batch) or any(len(v) != self.dim for v in vectors):
                raise EmbeddingError(f"Gemini returned {len(vectors)} embeddings for {len(batch)} texts (expected "
                                     f"{self.dim} values each); retry, or check gemini_embed_model={self.model!r}")
            rows.extend(vectors)
        return normalise(np.asarray(rows, dtype=np.float32))

    def _get_client(self) -> Any:
        with self._lock:
            if self._client is None:
                self._client = gemini_client(self.settings)
            return self._client
