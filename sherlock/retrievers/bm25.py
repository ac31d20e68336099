"""BM25 over the analyzed incident text (``sherlock.text.tokenize``), indexed with bm25s by default.

bm25s (Lù 2024) precomputes every (document, term) BM25 weight into a sparse matrix at index time; a query then only
adds the columns of its terms — here one scipy sparse product for a whole batch of queries. The ``rank_bm25`` backend
scores term-at-a-time with rank-bm25's own statistics and loop; it is the slow reference for the oracle test and the
speed benchmark.

Variants (``method``, the names bm25s uses; Kamphuis et al., ECIR 2020, compare them):

* ``lucene`` (default): Lucene's BM25Similarity — ``idf_lucene`` x ``tf_saturation``; Anserini's baseline.
* ``robertson``: Robertson & Zaragoza (2009) idf, floored at 0 — ``idf_robertson`` x ``tf_saturation``.
* ``atire``: Trotman et al. (2014) — ``idf_atire`` x ``tf_saturation_k1_plus_1``.

Both backends compute exactly these formulas. The unmodified upstream classes agree with them only in part:
rank_bm25's ``BM25Okapi`` is ``(k1 + 1)`` x ``robertson`` while no query term is in more than half the documents
(it floors negative idfs at ``0.25 x mean idf`` instead of 0), and its ``BM25Plus`` equals bm25s's ``method="bm25+"``
exactly; the tests check both.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Collection, Iterable, Sequence
from pathlib import Path
from typing import Any, Self

import numpy as np
import scipy.sparse as sp

from sherlock.retrievers.base import Retriever, weighted_text
from sherlock.retrievers.lexical_index import (
    DocIndex,
    ScoreColumn,
    check_choice,
    read_manifest,
    term_weight_columns,
    top_k_in_batches,
    write_dir_atomically,
)
from sherlock.run import Scores
from sherlock.schema import Incident
from sherlock.text import query_tokens, tokenize

# -- scoring variants (pure functions; numpy arrays or scalars) ----------------------------------------------------


def idf_robertson(df: Any, n_docs: int) -> Any:
    """Robertson-Sparck Jones idf ``log((N - df + 0.5) / (df + 0.5))``, floored at 0 so a term in more than half the
    documents adds nothing (Robertson & Zaragoza 2009, "The Probabilistic Relevance Framework: BM25 and Beyond",
    eq. 3.3; the floor as in bm25s)."""
    return np.log(np.maximum(1.0, (n_docs - df + 0.5) / (df + 0.5)))


def idf_lucene(df: Any, n_docs: int) -> Any:
    """Lucene's BM25 idf ``log(1 + (N - df + 0.5) / (df + 0.5))``: always positive (Lucene ``BM25Similarity``;
    Kamphuis et al. 2020, "Which BM25 Do You Mean?")."""
    return np.log(1.0 + (n_docs - df + 0.5) / (df + 0.5))


def idf_atire(df: Any, n_docs: int) -> Any:
    """ATIRE's idf ``log(N / df)`` (Trotman, Jia & Crane 2012; Kamphuis et al. 2020)."""
    return np.log(n_docs / df)


def tf_saturation(tf: Any, doc_len: Any, avg_doc_len: float, k1: float, b: float) -> Any:
    """BM25's saturating term frequency ``tf / (tf + k1 (1 - b + b dl / avgdl))`` — Robertson & Zaragoza (2009)
    eq. 3.15 without the constant ``(k1 + 1)``, which Lucene drops since it does not change a ranking."""
    return tf / (tf + k1 * (1.0 - b + b * doc_len / avg_doc_len))


def tf_saturation_k1_plus_1(tf: Any, doc_len: Any, avg_doc_len: float, k1: float, b: float) -> Any:
    """Robertson & Zaragoza (2009) eq. 3.15 as written: ``tf (k1 + 1) / (tf + k1 (1 - b + b dl / avgdl))``."""
    return (k1 + 1.0) * tf_saturation(tf, doc_len, avg_doc_len, k1, b)


#: method -> (idf, tf) functions; the method names are bm25s's.
METHODS: dict[str, tuple[Callable[..., Any], Callable[..., Any]]] = {
    "lucene": (idf_lucene, tf_saturation),
    "robertson": (idf_robertson, tf_saturation),
    "atire": (idf_atire, tf_saturation_k1_plus_1),
}
BACKENDS = ("bm25s", "rank_bm25")
MANIFEST = "sherlock_bm25.json"


# -- the reference backend -----------------------------------------------------------------------------------------


@functools.cache
def _rank_bm25_class() -> type:
    from rank_bm25 import BM25  # imported lazily: only the reference backend needs it

    class RankBM25Variant(BM25):
        """rank-bm25's corpus statistics and term-at-a-time loop (as in ``BM25Okapi.get_scores``) with one of
        ``METHODS``' idf and tf functions."""

        def __init__(self, corpus: list[list[str]], k1: float, b: float, method: str) -> None:
            self.k1, self.b = k1, b
            self.idf_fn, self.tf_fn = METHODS[method]
            super().__init__(corpus)

        def _calc_idf(self, nd: dict[str, int]) -> None:
            self.idf = {word: float(self.idf_fn(df, self.corpus_size)) for word, df in nd.items()}

        def get_scores(self, query: list[str]) -> np.ndarray:
            score = np.zeros(self.corpus_size)
            doc_len = np.array(self.doc_len, dtype=float)
            for q in query:
                q_freq = np.array([doc.get(q) or 0 for doc in self.doc_freqs], dtype=float)
                score += self.idf.get(q, 0.0) * self.tf_fn(q_freq, doc_len, self.avgdl, self.k1, self.b)
            return score

        def get_batch_scores(self, query: list[str], doc_ids: list[int]) -> np.ndarray:
            score = np.zeros(len(doc_ids))
            doc_len = np.array(self.doc_len, dtype=float)[doc_ids]
            for q in query:
                q_freq = np.array([self.doc_freqs[di].get(q) or 0 for di in doc_ids], dtype=float)
                score += self.idf.get(q, 0.0) * self.tf_fn(q_freq, doc_len, self.avgdl, self.k1, self.b)
            return score

    return RankBM25Variant


# -- the retriever -------------------------------------------------------------------------------------------------


class BM25Retriever(Retriever):
    """BM25 (Robertson & Zaragoza 2009) over ``weighted_text`` of each incident; see the module docstring."""

    name = "bm25"

    def __init__(self, k1: float = 1.2, b: float = 0.75, backend: str = "bm25s", method: str = "lucene",
                 field_weights: dict[str, int] | None = None) -> None:
        self.k1 = k1
        self.b = b
        self.backend = backend
        self.method = method
        self.field_weights = field_weights

    def fit(self, incidents: Sequence[Incident]) -> Self:
        check_choice("backend", self.backend, BACKENDS)
        check_choice("method", self.method, METHODS)
        self.docs_ = DocIndex([incident.id for incident in incidents])
        corpus_tokens = [tokenize(weighted_text(incident, self.field_weights)) for incident in incidents]
        # the corpus statistics a delta segment is scored with (sherlock.retrievers.delta); the mean as bm25s takes it
        self.n_docs_ = len(corpus_tokens)
        self.avg_doc_len_: float | None = float(np.array([len(t) for t in corpus_tokens]).mean()) \
            if corpus_tokens else None
        if not any(corpus_tokens):  # no documents, or no indexable word in any: nothing can match
            self.index_: Any = None
        elif self.backend == "bm25s":
            import bm25s

            self.index_ = bm25s.BM25(k1=self.k1, b=self.b, method=self.method, dtype="float64",
                                     csc_backend="scipy")
            self.index_.index(corpus_tokens, show_progress=False)
        else:
            self.index_ = _rank_bm25_class()(corpus_tokens, self.k1, self.b, self.method)
        self._prepare()
        return self

    def _prepare(self) -> None:
        """The (documents x terms) weight matrix of a bm25s index, as scipy sees it (no copy)."""
        self._weights = None
        if self.backend == "bm25s" and self.index_ is not None:
            s = self.index_.scores
            self._weights = sp.csc_matrix((s["data"], s["indices"], s["indptr"]),
                                          shape=(s["num_docs"], len(s["indptr"]) - 1))

    def _check_fitted(self) -> None:
        if not hasattr(self, "docs_"):
            raise ValueError("this BM25Retriever is not fitted: call .fit(incidents) or BM25Retriever.load(dir)")

    def score_columns(self, queries: Sequence[str]) -> list[ScoreColumn]:
        """Per query, the rows with a nonzero score and those scores."""
        token_lists = [query_tokens(query) for query in queries]
        if self.index_ is None:
            empty = (np.zeros(0, dtype=np.int64), np.zeros(0))
            return [empty for _ in token_lists]
        if self._weights is None:  # rank_bm25: a dense vector per query
            columns = []
            for tokens in token_lists:
                scores = self.index_.get_scores(tokens)
                rows = np.flatnonzero(scores)
                columns.append((rows, scores[rows]))
            return columns
        return term_weight_columns(self._weights, self.index_.vocab_dict, token_lists)

    def doc_freqs(self, terms: Iterable[str]) -> dict[str, int]:
        """How many indexed documents contain each term (0 for a term the index never saw): the number of stored
        weights in the term's column. Only a ``bm25s`` index keeps its columns."""
        self._check_fitted()
        terms = list(terms)
        if self.index_ is None:
            return dict.fromkeys(terms, 0)
        if self._weights is None:
            raise ValueError("document frequencies are read from a backend='bm25s' index; refit with that backend")
        vocab, indptr, width = self.index_.vocab_dict, self._weights.indptr, self._weights.shape[1]
        columns = {term: vocab.get(term, width) for term in terms}
        return {term: int(indptr[c + 1] - indptr[c]) if c < width else 0 for term, c in columns.items()}

    def search(self, query: str, k: int = 10, allowed: Collection[str] | None = None) -> Scores:
        return self.search_many([query], k, allowed)[0]

    def search_many(self, queries: Sequence[str], k: int = 10,
                    allowed: Collection[str] | None = None, batch_size: int = 256) -> list[Scores]:
        """``search`` for many queries: one sparse product per ``batch_size`` queries, one mask for all."""
        self._check_fitted()
        return top_k_in_batches(self.docs_, self.score_columns, queries, k, allowed, batch_size)

    def score(self, query: str, doc_ids: Iterable[str]) -> Scores:
        self._check_fitted()
        rows = self.docs_.rows(doc_ids)
        if not rows:
            return {}
        if self.index_ is None:
            values = np.zeros(len(rows))
        elif self._weights is None:
            values = self.index_.get_batch_scores(query_tokens(query), rows)
        else:
            column_rows, column_values = self.score_columns([query])[0]
            dense = np.zeros(len(self.docs_))
            dense[column_rows] = column_values
            values = dense[rows]
        return {self.docs_.ids[row]: float(value) for row, value in zip(rows, values, strict=True)}

    # -- persistence: bm25s's own .npy + JSON files plus a JSON manifest; no pickle --------------------------------

    def save(self, directory: str | Path) -> Path:
        """Write the index to ``directory`` (replaced atomically): bm25s's arrays and vocabulary, plus
        ``sherlock_bm25.json`` with the hyper-parameters and the document ids in row order."""
        self._check_fitted()
        if self.backend != "bm25s":
            raise ValueError("only a backend='bm25s' index can be saved; rank_bm25 is the in-memory reference")

        def write(tmp: Path) -> None:
            if self.index_ is not None:
                self.index_.save(tmp, show_progress=False)
            manifest = {"format": "sherlock.bm25", "version": 1, "params": self.get_params(),
                        "has_bm25s_index": self.index_ is not None, "ids": self.docs_.ids,
                        "n_docs": self.n_docs_, "avg_doc_len": self.avg_doc_len_}
            (tmp / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")

        return write_dir_atomically(directory, write)

    @classmethod
    def load(cls, directory: str | Path, mmap: bool = False) -> BM25Retriever:
        """Load what ``save`` wrote (``mmap=True`` maps the arrays instead of reading them)."""
        import bm25s

        manifest = read_manifest(directory, MANIFEST, "sherlock.bm25")
        retriever = cls(**manifest["params"])
        retriever.docs_ = DocIndex(manifest["ids"])
        retriever.n_docs_ = len(manifest["ids"])
        retriever.avg_doc_len_ = manifest.get("avg_doc_len")  # absent from indexes saved before deltas existed
        retriever.index_ = None
        if manifest["has_bm25s_index"]:
            retriever.index_ = bm25s.BM25.load(directory, mmap=mmap, show_progress=False)
            num_docs = retriever.index_.scores["num_docs"]
            if num_docs != len(manifest["ids"]):
                raise ValueError(f"{directory}: the bm25s index has {num_docs} documents but {MANIFEST} lists "
                                 f"{len(manifest['ids'])} ids; the directory is inconsistent, rebuild the index")
        retriever._prepare()
        return retriever
