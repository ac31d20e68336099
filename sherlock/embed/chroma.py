"""Chroma's ``EmbeddingFunction`` protocol over our embedders, so a collection never uses Chroma's default model.

Chroma stores :meth:`ChromaEmbeddingFunction.get_config` with a collection and calls
:meth:`ChromaEmbeddingFunction.build_from_config` each time it reads the collection back (even when the caller passes
its own function). That rebuild does no work: it records the workspace and embedder kind from the stored config and
resolves the embedder on its first use, so reopening a collection reads no environment, loads no model, gives no
warning and never raises. The adapter class is registered with chromadb once per process, when the first instance is
made (or by :func:`register_with_chroma`).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sherlock.config import Settings, load_settings
from sherlock.embed.base import Embedder, EmbeddingError
from sherlock.embed.factory import EMBEDDERS, make_embedder

_registered = False
_register_lock = threading.Lock()


def register_with_chroma() -> None:
    """Register :class:`ChromaEmbeddingFunction` under its name with chromadb (once per process; later calls do
    nothing), so ``get_collection()`` without an embedding function can rebuild it from the stored config."""
    global _registered
    with _register_lock:
        if not _registered:
            from chromadb.utils.embedding_functions import register_embedding_function

            register_embedding_function(ChromaEmbeddingFunction)
            _registered = True


class StoredEmbedder(Embedder):
    """The embedder a stored Chroma config names (``kind`` in workspace ``home``), resolved on first use: then the
    workspace's settings are read and the embedder is made; if that fails, or it is not the model the collection was
    embedded with, every call raises :class:`EmbeddingError` saying why and what to pass instead."""

    def __init__(self, name: str, dim: int, kind: str, home: str | Path | None) -> None:
        self.name, self.dim, self.home = name, dim, home
        self.kind = kind  # type: ignore[misc]
        self._embedder: Embedder | None = None
        self._failure: str | None = None if kind in EMBEDDERS else f"{kind!r} is not a built-in embedder"
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Document embeddings from the resolved embedder."""
        return self.resolve().embed(texts)

    def embed_query(self, text: str) -> np.ndarray:
        """One query embedding from the resolved embedder."""
        return self.resolve().embed_query(text)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Query embeddings from the resolved embedder."""
        return self.resolve().embed_queries(texts)

    def resolve(self) -> Embedder:
        """The real embedder (made once); raises :class:`EmbeddingError` when it cannot be made here."""
        with self._lock:
            if self._embedder is None and self._failure is None:
                try:
                    embedder = make_embedder(load_settings(home=self.home, embedder=self.kind))
                except Exception as exc:  # noqa: BLE001 - e.g. no Gemini key in this environment
                    self._failure = str(exc)
                else:
                    if (embedder.name, embedder.dim) == (self.name, self.dim):
                        self._embedder = embedder
                    else:
                        self._failure = f"the settings give {embedder.name!r}"
            if self._embedder is None:
                raise EmbeddingError(f"this collection was embedded with {self.name!r}, which cannot be rebuilt "
                                     f"here ({self._failure}); pass embedding_function=ChromaEmbeddingFunction("
                                     f"embedder) when opening the collection")
            return self._embedder


class ChromaEmbeddingFunction:
    """Adapter to chromadb's ``EmbeddingFunction`` protocol: documents through ``embedder.embed``, query texts
    through ``embedder.embed_queries``. ``settings`` (optional) records the workspace, so a collection reopened
    without a function rebuilds one that embeds with the same model."""

    def __init__(self, embedder: Embedder, settings: Settings | None = None, *,
                 home: str | Path | None = None) -> None:
        self.embedder = embedder
        self.settings = settings
        self.home = str(settings.home) if settings is not None else (str(home) if home is not None else None)
        register_with_chroma()

    def __call__(self, input: Sequence[str]) -> list[np.ndarray]:
        """Document embeddings, one array per text (what Chroma calls on ``add``/``upsert`` with documents)."""
        return list(self.embedder.embed(list(input)))

    def embed_query(self, input: Sequence[str]) -> list[np.ndarray]:
        """Query embeddings, one array per text (what Chroma calls on ``query`` with texts)."""
        return list(self.embedder.embed_queries(list(input)))

    @staticmethod
    def name() -> str:
        """The name the class is registered under with chromadb."""
        return "sherlock"

    def get_config(self) -> dict[str, Any]:
        """What Chroma stores with the collection: the embedder's kind, name and width, and the workspace."""
        config: dict[str, Any] = {"embedder": self.embedder.kind, "embedder_name": self.embedder.name,
                                  "dim": self.embedder.dim}
        if self.home is not None:
            config["home"] = self.home
        return config

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> ChromaEmbeddingFunction:
        """The function for a stored config, with a :class:`StoredEmbedder` (no work now; never raises)."""
        try:
            dim = int(config.get("dim", 0))
        except (TypeError, ValueError):
            dim = 0
        embedder = StoredEmbedder(str(config.get("embedder_name", "?")), dim, str(config.get("embedder")),
                                  config.get("home"))
        return ChromaEmbeddingFunction(embedder, home=config.get("home"))

    def is_legacy(self) -> bool:
        """Always ``False``: this is a configurable (non-legacy) function, so Chroma does not warn."""
        return False

    def default_space(self) -> str:
        """``"cosine"``: vectors are unit length."""
        return "cosine"

    def supported_spaces(self) -> list[str]:
        """Every space works on unit vectors."""
        return ["cosine", "ip", "l2"]

    @staticmethod
    def validate_config(config: dict[str, Any]) -> None:
        """Any stored config is accepted (problems surface on first use, see :class:`StoredEmbedder`)."""
        return None

    def validate_config_update(self, old_config: dict[str, Any], new_config: dict[str, Any]) -> None:
        """A collection cannot switch embedding models: its vectors would mix two spaces."""
        if old_config.get("embedder_name") != new_config.get("embedder_name"):
            raise ValueError(f"a collection embedded with {old_config.get('embedder_name')!r} cannot switch to "
                             f"{new_config.get('embedder_name')!r}; re-index into a new collection")
