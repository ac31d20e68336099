"""Search over two segments, Lucene's way: a large main segment built once and a small delta segment of what changed
since, each scored on its own and their top-k merged, while the main's rows of updated and deleted incidents are
masked (never returned, never scored). Nothing of the main is copied, so layering a delta costs O(delta).

Per-segment top-k then a merged top-k gives exactly the global top-k in :func:`sherlock.run.top_k` order (score, then
doc id): every document of the global top k is in its own segment's top k.

The wrappers present the retrievers' public surface (``search``, ``search_many``, ``score``, ``get_params``; TF-IDF's
``coverage``, ``term_idf`` and ``vocabulary_``), so search code reads a layered snapshot as it reads a plain one.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import numpy as np

from sherlock.retrievers.lexical_index import DocIndex, ScoreColumn, scores_at
from sherlock.retrievers.tfidf import term_coverage
from sherlock.run import Scores, top_k

K = TypeVar("K")
V = TypeVar("V")


class Overlay(Mapping[K, V]):
    """A read-only mapping of ``top`` over ``base`` with the ``hidden`` keys of ``base`` gone: a main segment's
    lookup table (ids -> rows, vocabulary) seen with a delta's changes, built in O(len(top) + len(hidden))."""

    def __init__(self, base: Mapping[K, V], top: Mapping[K, V], hidden: Collection[K] = ()) -> None:
        self.base, self.top, self.hidden = base, top, frozenset(hidden)
        gone = sum(1 for key in self.hidden if key in base and key not in top)
        self._len = len(base) - gone + sum(1 for key in top if key not in base)

    def __getitem__(self, key: K) -> V:
        if key in self.top:
            return self.top[key]
        if key in self.hidden:
            raise KeyError(key)
        return self.base[key]

    def get(self, key: K, default: Any = None) -> Any:
        if key in self.top:
            return self.top[key]
        return default if key in self.hidden else self.base.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self.top or (key not in self.hidden and key in self.base)

    def __iter__(self) -> Iterator[K]:
        yield from self.top
        yield from (key for key in self.base if key not in self.top and key not in self.hidden)

    def __len__(self) -> int:
        return self._len


class Segmented:
    """A retriever over a ``main`` and a ``delta`` segment (each with ``docs_`` and per-query score columns), the
    ``masked`` ids of the main hidden. Subclasses say how a batch of queries is scored in each segment."""

    name = "segmented"

    def __init__(self, main: Any, delta: Any, masked: Collection[str]) -> None:
        self.main, self.delta = main, delta
        self.masked = frozenset(masked)
        self.live_ = np.ones(len(main.docs_), dtype=bool)  # the main's rows that are still current
        self.live_[main.docs_.rows(self.masked)] = False

    def get_params(self) -> dict[str, Any]:
        """The main segment's hyper-parameters (the delta is scored with them)."""
        return dict(self.main.get_params())

    def segment_columns(self, queries: Sequence[str]) -> list[tuple[ScoreColumn, ScoreColumn]]:
        """Per query, the (main, delta) score columns."""
        raise NotImplementedError

    def search(self, query: str, k: int = 10, allowed: Collection[str] | None = None) -> Scores:
        return self.search_many([query], k, allowed)[0]

    def search_many(self, queries: Sequence[str], k: int = 10, allowed: Collection[str] | None = None,
                    batch_size: int = 256) -> list[Scores]:
        """Each segment's top ``k`` (the main's masked rows left out), merged into the top ``k`` in
        :func:`sherlock.run.top_k` order."""
        main_docs: DocIndex = self.main.docs_
        delta_docs: DocIndex = self.delta.docs_
        allowed_rows = main_docs.mask(allowed)
        main_mask = self.live_ if allowed_rows is None else allowed_rows & self.live_
        delta_mask = delta_docs.mask(allowed)
        results: list[Scores] = []
        for start in range(0, len(queries), batch_size):
            for main_column, delta_column in self.segment_columns(queries[start:start + batch_size]):
                best = {**main_docs.top_k(*main_column, k, main_mask), **delta_docs.top_k(*delta_column, k, delta_mask)}
                results.append(dict(top_k(best, k)))
        return results

    def score(self, query: str, doc_ids: Iterable[str]) -> Scores:
        """Scores of the given documents; an id neither segment holds (or a masked one only the main holds) is left
        out, as the retrievers leave out unknown ids."""
        wanted = list(doc_ids)
        if not wanted:
            return {}
        main_column, delta_column = self.segment_columns([query])[0]
        found = scores_at(self.main.docs_, main_column, [d for d in wanted if d not in self.masked])
        found.update(scores_at(self.delta.docs_, delta_column, wanted))
        return {doc_id: found[doc_id] for doc_id in wanted if doc_id in found}


class SegmentedBM25(Segmented):
    """BM25 over a main :class:`~sherlock.retrievers.bm25.BM25Retriever` and a
    :class:`~sherlock.retrievers.delta.BM25Delta` scored with the main's statistics: segments score independently."""

    name = "bm25"

    def segment_columns(self, queries: Sequence[str]) -> list[tuple[ScoreColumn, ScoreColumn]]:
        return list(zip(self.main.score_columns(queries), self.delta.score_columns(queries), strict=True))


class SegmentedTfidf(Segmented):
    """TF-IDF cosine over a main :class:`~sherlock.retrievers.tfidf.TfidfRetriever` and a delta in its vector space
    (:func:`sherlock.retrievers.delta.fit_tfidf_delta`, whose space adds the delta's new terms as extra columns). A
    query is vectorised once in the delta's wider space, so both segments score it with one norm."""

    name = "tfidf"

    @property
    def vocabulary_(self) -> Mapping[str, int]:
        return self.delta.vocabulary_

    def segment_columns(self, queries: Sequence[str]) -> list[tuple[ScoreColumn, ScoreColumn]]:
        vectors = self.delta.query_vectors(queries)
        return list(zip(self.main.columns_for(vectors), self.delta.columns_for(vectors), strict=True))

    def term_idf(self, terms: Iterable[str]) -> dict[str, float]:
        """Each term's IDF in the combined space (see :meth:`~sherlock.retrievers.tfidf.TfidfRetriever.term_idf`)."""
        return dict(self.delta.term_idf(terms))

    def coverage(self, query: str, doc_ids: Sequence[str], drop_unknown: bool = False) -> np.ndarray:
        """:meth:`~sherlock.retrievers.tfidf.TfidfRetriever.coverage` over both segments: a document's terms are
        read from the segment that holds its current version."""
        in_main = self.main.holders(doc_ids, hidden=self.masked)
        in_delta = self.delta.holders(doc_ids)

        def contains(tokens: Iterable[str]) -> np.ndarray:
            tokens = list(tokens)
            return in_main(tokens) | in_delta(tokens)

        return term_coverage(query, doc_ids, self.vocabulary_, self.term_idf, contains, drop_unknown)
