"""The embedders by ``settings.embedder`` name, and the one function that makes a workspace's embedder.

    embedder = make_embedder(load_settings())   # cached MiniLM unless settings.embedder == "gemini"
"""

from __future__ import annotations

from collections.abc import Callable

from sherlock.config import Settings
from sherlock.embed.base import Embedder
from sherlock.embed.cache import CachedEmbedder
from sherlock.embed.gemini import GeminiEmbedder
from sherlock.embed.minilm import MiniLMEmbedder
from sherlock.registry import lookup

#: ``settings.embedder`` value → the embedder class made from the settings.
EMBEDDERS: dict[str, Callable[[Settings], Embedder]] = {"minilm": MiniLMEmbedder, "gemini": GeminiEmbedder}


def make_embedder(settings: Settings) -> CachedEmbedder:
    """The embedder named by ``settings.embedder``, its document vectors cached in SQLite at
    ``settings.cache_path`` and its query vectors in memory (see :class:`CachedEmbedder`).

    Nothing is loaded yet. Raises ``ValueError`` for an unknown name and :class:`EmbeddingError` for ``gemini``
    without an API key."""
    factory = lookup(EMBEDDERS, settings.embedder, "embedder")
    return CachedEmbedder(factory(settings), settings.cache_path)
