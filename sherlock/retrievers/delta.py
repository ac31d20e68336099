"""Delta segments: the lexical indexes of a few incidents computed with the corpus statistics of a fitted main index,
so that adding them costs O(delta) instead of a refit over the corpus (Lucene's segments share index-wide statistics
the same way; :mod:`sherlock.retrievers.segments` searches main and delta together).

* BM25 (:class:`BM25Delta`): each (document, term) weight is the main's ``idf x tf`` formula
  (:data:`sherlock.retrievers.bm25.METHODS`) with the main's average document length and, for a term the main
  knows, the main's idf — so a document scores in the delta exactly as it would in the main. A term the main never
  saw gets the idf of its delta document frequency among main + delta documents. ``statistics="combined"``
  instead takes every idf from main + delta frequencies (closer to a rebuild's idf for the delta's own documents, but
  no longer on the main's scale); ``benchmarks/bench_freshness.py`` measures both.
* TF-IDF (:func:`fit_tfidf_delta`): scikit-learn's ``transform`` arithmetic (:func:`sherlock.retrievers.tfidf.
  tfidf_rows`) with the main's vocabulary and idf; the delta's new terms are appended as extra columns with the
  smoothed idf ``ln((1 + N) / (1 + df)) + 1`` (N = main + delta documents, df = delta frequency).

Both are saved as ``.npz`` + JSON (no pickle); a TF-IDF delta stores only its new terms and is loaded over its main.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path
from typing import Any, Self

import numpy as np
import scipy.sparse as sp

from sherlock.retrievers.base import weighted_text
from sherlock.retrievers.bm25 import METHODS, BM25Retriever
from sherlock.retrievers.lexical_index import (
    DocIndex,
    ScoreColumn,
    check_choice,
    read_manifest,
    scores_at,
    term_weight_columns,
    top_k_in_batches,
    write_dir_atomically,
)
from sherlock.retrievers.segments import Overlay
from sherlock.retrievers.tfidf import TfidfRetriever, tfidf_rows
from sherlock.run import Scores
from sherlock.schema import Incident
from sherlock.text import query_tokens, tokenize

#: Where a delta's BM25 idf of a term the main knows comes from.
STATISTICS = ("main", "combined")
BM25_MANIFEST, BM25_WEIGHTS = "sherlock_bm25_delta.json", "bm25_delta.npz"
TFIDF_MANIFEST, TFIDF_MATRIX = "sherlock_tfidf_delta.json", "tfidf_delta.npz"


class BM25Delta:
    """BM25 weights of a few incidents with a fitted :class:`BM25Retriever`'s statistics (see the module docstring),
    kept as a (documents x delta terms) sparse matrix and searched as bm25s searches its own (one sparse product)."""

    name = "bm25"

    def __init__(self, statistics: str = "main") -> None:
        self.statistics = statistics

    def fit(self, incidents: Sequence[Incident], base: BM25Retriever,
            corpus_tokens: Sequence[Sequence[str]] | None = None) -> Self:
        """Weigh ``incidents`` with ``base``'s hyper-parameters and statistics (``corpus_tokens``: their tokens, when
        already at hand). Raises ``ValueError`` when ``base`` has none to offer (an empty index, or one saved before it
        recorded its average document length)."""
        check_choice("statistics", self.statistics, STATISTICS)
        if not base.avg_doc_len_:
            raise ValueError("the main BM25 index records no average document length (empty, or saved by an older "
                             "version); rebuild it (sherlock reindex) to add a delta segment")
        self.params_ = base.get_params()
        self.n_base_, self.avg_doc_len_ = int(base.n_docs_), float(base.avg_doc_len_)
        self.docs_ = DocIndex([incident.id for incident in incidents])
        if corpus_tokens is None:
            corpus_tokens = [tokenize(weighted_text(incident, base.field_weights)) for incident in incidents]
        self.vocabulary_: dict[str, int] = {}
        for tokens in corpus_tokens:
            for token in tokens:
                self.vocabulary_.setdefault(token, len(self.vocabulary_))
        terms = list(self.vocabulary_)
        delta_df = Counter(token for tokens in corpus_tokens for token in set(tokens))
        main_df = np.array(list(base.doc_freqs(terms).values()), dtype=np.float64)
        own_df = np.array([delta_df[term] for term in terms], dtype=np.float64)
        idf_fn, tf_fn = METHODS[base.method]
        n_all = self.n_base_ + len(incidents)
        if self.statistics == "combined":
            self.idf_ = idf_fn(main_df + own_df, n_all)
        else:  # np.maximum keeps each branch finite; np.where picks the one that applies
            self.idf_ = np.where(main_df > 0, idf_fn(np.maximum(main_df, 1.0), self.n_base_), idf_fn(own_df, n_all))
        rows: list[int] = []
        columns: list[int] = []
        tfs: list[float] = []
        lengths: list[int] = []
        for row, tokens in enumerate(corpus_tokens):
            for token, tf in Counter(tokens).items():
                rows.append(row)
                columns.append(self.vocabulary_[token])
                tfs.append(tf)
                lengths.append(len(tokens))
        cols = np.asarray(columns, dtype=np.int64)
        values = self.idf_[cols] * tf_fn(np.asarray(tfs, dtype=np.float64), np.asarray(lengths),
                                         self.avg_doc_len_, base.k1, base.b)
        self.weights_ = sp.csc_matrix((values, (np.asarray(rows, dtype=np.int64), cols)),
                                      shape=(len(incidents), len(terms)))
        return self

    def get_params(self) -> dict[str, Any]:
        return {**self.params_, "statistics": self.statistics}

    def score_columns(self, queries: Sequence[str]) -> list[ScoreColumn]:
        """Per query, the rows with a nonzero score and those scores."""
        return term_weight_columns(self.weights_, self.vocabulary_, [query_tokens(query) for query in queries])

    def search(self, query: str, k: int = 10, allowed: Collection[str] | None = None) -> Scores:
        return self.search_many([query], k, allowed)[0]

    def search_many(self, queries: Sequence[str], k: int = 10, allowed: Collection[str] | None = None,
                    batch_size: int = 256) -> list[Scores]:
        return top_k_in_batches(self.docs_, self.score_columns, queries, k, allowed, batch_size)

    def score(self, query: str, doc_ids: Iterable[str]) -> Scores:
        return scores_at(self.docs_, self.score_columns([query])[0], list(doc_ids))

    def save(self, directory: str | Path) -> Path:
        """Write ``bm25_delta.npz`` and ``sherlock_bm25_delta.json`` to ``directory`` (replaced atomically)."""
        vocabulary = sorted(self.vocabulary_, key=self.vocabulary_.__getitem__)

        def write(tmp: Path) -> None:
            sp.save_npz(tmp / BM25_WEIGHTS, self.weights_)
            manifest = {"format": "sherlock.bm25-delta", "version": 1, "params": self.get_params(),
                        "n_base": self.n_base_, "avg_doc_len": self.avg_doc_len_, "ids": self.docs_.ids,
                        "vocabulary": vocabulary, "idf": self.idf_.tolist()}
            (tmp / BM25_MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")

        return write_dir_atomically(directory, write)

    @classmethod
    def load(cls, directory: str | Path) -> BM25Delta:
        """Load what :meth:`save` wrote."""
        manifest = read_manifest(directory, BM25_MANIFEST, "sherlock.bm25-delta")
        params = dict(manifest["params"])
        delta = cls(statistics=params.pop("statistics"))
        delta.params_, delta.n_base_, delta.avg_doc_len_ = params, manifest["n_base"], manifest["avg_doc_len"]
        delta.docs_ = DocIndex(manifest["ids"])
        delta.vocabulary_ = {term: column for column, term in enumerate(manifest["vocabulary"])}
        delta.idf_ = np.asarray(manifest["idf"], dtype=np.float64)
        delta.weights_ = sp.load_npz(Path(directory) / BM25_WEIGHTS).tocsc()
        if delta.weights_.shape != (len(delta.docs_), len(delta.vocabulary_)):
            raise ValueError(f"{directory}: {BM25_WEIGHTS} has shape {delta.weights_.shape} but {BM25_MANIFEST} "
                             f"lists {len(delta.docs_)} ids and {len(delta.vocabulary_)} terms; rebuild the index")
        return delta


def fit_tfidf_delta(incidents: Sequence[Incident], base: TfidfRetriever,
                    corpus_tokens: Sequence[Sequence[str]] | None = None) -> TfidfRetriever:
    """A :class:`TfidfRetriever` over ``incidents`` in ``base``'s vector space plus their new terms as extra columns
    (see the module docstring): its ``vocabulary_`` is ``base``'s overlaid (not copied), its ``idf_`` extends
    ``base``'s, its rows are what ``base``'s vectorizer would make of them. ``corpus_tokens``: the incidents'
    tokens, when already at hand."""
    if corpus_tokens is None:
        corpus_tokens = [tokenize(weighted_text(incident, base.field_weights)) for incident in incidents]
    width = len(base.vocabulary_)
    new_df = Counter(token for tokens in corpus_tokens for token in set(tokens) if token not in base.vocabulary_)
    new_terms = sorted(new_df)  # scikit-learn orders its vocabulary alphabetically too
    n_all = len(base.docs_) + len(incidents)
    new_idf = np.log((1.0 + n_all) / (1.0 + np.array([new_df[t] for t in new_terms], dtype=np.float64))) + 1.0
    return _tfidf_delta(base, [incident.id for incident in incidents], new_terms, new_idf, corpus_tokens=corpus_tokens,
                        width=width)


def _tfidf_delta(base: TfidfRetriever, ids: list[str], new_terms: list[str], new_idf: np.ndarray, width: int,
                 corpus_tokens: Sequence[Sequence[str]] | None = None,
                 matrix: sp.spmatrix | None = None) -> TfidfRetriever:
    delta = TfidfRetriever(**base.get_params())
    delta.docs_ = DocIndex(ids)
    delta.vocabulary_ = Overlay(base.vocabulary_, {term: width + j for j, term in enumerate(new_terms)})
    delta.idf_ = np.concatenate([np.asarray(base.idf_, dtype=np.float64), new_idf])
    if matrix is None:
        matrix = tfidf_rows(corpus_tokens or [], delta.vocabulary_, delta.idf_, base.sublinear_tf)
    delta.matrix_ = sp.csc_matrix(matrix)
    return delta


def save_tfidf_delta(delta: TfidfRetriever, directory: str | Path) -> Path:
    """Write a :func:`fit_tfidf_delta` index's rows (``tfidf_delta.npz``) and its own terms and idf (JSON): the
    main's vocabulary is not repeated."""
    overlay = delta.vocabulary_
    if not isinstance(overlay, Overlay):
        raise ValueError("save_tfidf_delta saves an index made by fit_tfidf_delta; save a main index with .save()")
    width = len(overlay.base)
    new_terms = sorted(overlay.top, key=overlay.top.__getitem__)

    def write(tmp: Path) -> None:
        sp.save_npz(tmp / TFIDF_MATRIX, sp.csr_matrix(delta.matrix_))
        manifest = {"format": "sherlock.tfidf-delta", "version": 1, "base_width": width, "ids": delta.docs_.ids,
                    "new_terms": new_terms, "new_idf": delta.idf_[width:].tolist()}
        (tmp / TFIDF_MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")

    return write_dir_atomically(directory, write)


def load_tfidf_delta(directory: str | Path, base: TfidfRetriever) -> TfidfRetriever:
    """Load what :func:`save_tfidf_delta` wrote, over the main index it was fitted on (``ValueError`` when ``base`` is
    another one: its width differs)."""
    manifest = read_manifest(directory, TFIDF_MANIFEST, "sherlock.tfidf-delta")
    width = len(base.vocabulary_)
    if manifest["base_width"] != width:
        raise ValueError(f"{directory}: fitted on a main TF-IDF index of {manifest['base_width']} terms, not this one "
                         f"of {width}; rebuild the delta")
    matrix = sp.load_npz(Path(directory) / TFIDF_MATRIX)
    if matrix.shape != (len(manifest["ids"]), width + len(manifest["new_terms"])):
        raise ValueError(f"{directory}: {TFIDF_MATRIX} has shape {matrix.shape}, which its manifest does not "
                         f"describe; rebuild the delta")
    return _tfidf_delta(base, manifest["ids"], manifest["new_terms"], np.asarray(manifest["new_idf"], dtype=np.float64),
                        width=width, matrix=matrix)
