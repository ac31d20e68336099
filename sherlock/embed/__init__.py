"""Embeddings: the embedder protocol (:mod:`.base`), its caches (:mod:`.cache`), MiniLM on onnxruntime
(:mod:`.minilm`, graph built by :mod:`.onnx_minilm`), Gemini (:mod:`.gemini`), the registry (:mod:`.factory`) and the
Chroma adapter (:mod:`.chroma`). Nothing is loaded at import: models and clients load on first use.

    embedder = make_embedder(load_settings())                      # cached MiniLM unless settings.embedder == "gemini"
    vectors = embedder.embed(["card declined", "UPI timeout"])     # documents: (2, 384) float32, cached in SQLite
    query = embedder.embed_query("payments failing with 502")      # one query: (384,), cached in memory only
    queries = embedder.embed_queries(["refund failed", "JSP-1052"])  # a batch of queries: (2, 384)
"""

from sherlock.embed.base import Embedder, EmbeddingError
from sherlock.embed.cache import QUERY_CACHE_SIZE, CachedEmbedder, QueryCache
from sherlock.embed.chroma import ChromaEmbeddingFunction, StoredEmbedder, register_with_chroma
from sherlock.embed.factory import EMBEDDERS, make_embedder
from sherlock.embed.gemini import GeminiEmbedder
from sherlock.embed.minilm import MiniLMEmbedder

__all__ = [
    "EMBEDDERS", "QUERY_CACHE_SIZE", "CachedEmbedder", "ChromaEmbeddingFunction", "Embedder", "EmbeddingError",
    "GeminiEmbedder", "MiniLMEmbedder", "QueryCache", "StoredEmbedder", "make_embedder", "register_with_chroma",
]
