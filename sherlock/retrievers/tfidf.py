"""TF-IDF cosine similarity over the analyzed incident text; the index is fitted with scikit-learn's
``TfidfVectorizer``.

Weights are Salton & Buckley's (1988) tf-idf with scikit-learn's defaults: sublinear tf ``1 + ln(tf)``, smoothed idf
``ln((1 + N) / (1 + df)) + 1``, rows L2-normalised — so a document's score is the cosine of the two vectors, one
sparse dot product (one sparse product for a batch of queries).

Queries are vectorised here (:func:`query_matrix`), with the same arithmetic as the vectorizer's ``transform``, so a
search never imports scikit-learn (about a second of a cold CLI start); a test holds the two equal bit for bit.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable, Collection, Container, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import numpy as np
import scipy.sparse as sp

from sherlock.retrievers.base import Retriever, weighted_text
from sherlock.retrievers.lexical_index import (
    DocIndex,
    ScoreColumn,
    read_manifest,
    scores_at,
    sparse_columns,
    top_k_in_batches,
    write_dir_atomically,
)
from sherlock.run import Scores
from sherlock.schema import Incident
from sherlock.text import coverage_terms, query_tokens, tokenize

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import TfidfVectorizer

MANIFEST = "sherlock_tfidf.json"
MATRIX = "tfidf.npz"


def query_matrix(queries: Sequence[str], vocabulary: Mapping[str, int], idf: np.ndarray,
                 sublinear_tf: bool = True) -> sp.csr_matrix:
    """(len(queries), len(vocabulary)) L2-normalised tf-idf rows of the queries' :func:`sherlock.text.query_tokens`,
    as ``TfidfVectorizer.transform`` computes them (:func:`tfidf_rows`)."""
    return tfidf_rows([query_tokens(query) for query in queries], vocabulary, idf, sublinear_tf)


def tfidf_rows(token_lists: Sequence[Sequence[str]], vocabulary: Mapping[str, int], idf: np.ndarray,
               sublinear_tf: bool = True) -> sp.csr_matrix:
    """(len(token_lists), len(vocabulary)) L2-normalised tf-idf rows, as ``TfidfVectorizer.transform`` computes them:
    term counts (terms outside the vocabulary dropped), ``1 + ln(tf)`` when sublinear, times idf, divided by the
    row's Euclidean norm summed in column order (scikit-learn's ``inplace_csr_row_normalize_l2``)."""
    indptr: list[int] = [0]
    indices: list[int] = []
    data: list[float] = []
    for tokens in token_lists:
        counts = Counter(column for column in map(vocabulary.get, tokens) if column is not None)
        columns = sorted(counts)
        values = [((math.log(counts[c]) + 1.0) if sublinear_tf else float(counts[c])) * float(idf[c])
                  for c in columns]
        total = 0.0
        for value in values:
            total += value * value
        norm = math.sqrt(total)
        indices.extend(columns)
        data.extend(value / norm if norm else value for value in values)
        indptr.append(len(indices))
    return sp.csr_matrix((np.asarray(data, dtype=np.float64), np.asarray(indices, dtype=np.int32),
                          np.asarray(indptr, dtype=np.int32)), shape=(len(token_lists), len(vocabulary)))


def term_coverage(query: str, doc_ids: Sequence[str], vocabulary: Container[str],
                  term_idf: Callable[[Iterable[str]], dict[str, float]],
                  contains: Callable[[Iterable[str]], np.ndarray], drop_unknown: bool = False) -> np.ndarray:
    """Per document of ``doc_ids``, the IDF-weighted share of the query's terms it contains: each term of
    :func:`sherlock.text.coverage_terms` weighs its ``term_idf`` and counts when ``contains`` finds any of its
    spellings (synonyms count); with ``drop_unknown``, terms no spelling of which is in ``vocabulary`` are left out."""
    result = np.zeros(len(doc_ids))
    terms = coverage_terms(query, vocabulary)
    if drop_unknown:
        terms = {t: found_as for t, found_as in terms.items() if any(a in vocabulary for a in found_as)}
    weights = term_idf(terms)
    total = sum(weights.values())
    if not terms or total <= 0 or not vocabulary:
        return result
    for term, found_as in terms.items():
        result += weights[term] * contains(found_as)
    return result / total


class TfidfRetriever(Retriever):
    """Cosine similarity of L2-normalised tf-idf vectors (Salton & Buckley 1988) over ``weighted_text``."""

    name = "tfidf"

    def __init__(self, sublinear_tf: bool = True, min_df: int | float = 1, max_df: int | float = 1.0,
                 field_weights: dict[str, int] | None = None) -> None:
        self.sublinear_tf = sublinear_tf
        self.min_df = min_df
        self.max_df = max_df
        self.field_weights = field_weights

    def _vectorizer(self, vocabulary: dict[str, int] | None = None) -> TfidfVectorizer:
        from sklearn.feature_extraction.text import TfidfVectorizer
        return TfidfVectorizer(analyzer=tokenize, token_pattern=None, lowercase=False, sublinear_tf=self.sublinear_tf,
                               min_df=self.min_df, max_df=self.max_df, norm="l2", dtype=np.float64,
                               vocabulary=vocabulary)

    def fit(self, incidents: Sequence[Incident]) -> Self:
        self.docs_ = DocIndex([incident.id for incident in incidents])
        texts = [weighted_text(incident, self.field_weights) for incident in incidents]
        self.vocabulary_: Mapping[str, int] = {}
        self.idf_ = np.zeros(0)
        self.matrix_ = sp.csc_matrix((len(texts), 0))
        if texts:
            vectorizer = self._vectorizer()
            try:
                # column-major, so a query touches only its terms' columns (their posting lists)
                self.matrix_ = vectorizer.fit_transform(texts).tocsc()
                self.vocabulary_ = {str(term): int(column) for term, column in vectorizer.vocabulary_.items()}
                self.idf_ = np.asarray(vectorizer.idf_, dtype=np.float64)
            except ValueError as error:  # no term survives min_df/max_df, or no text at all
                if "empty vocabulary" not in str(error) and "no terms remain" not in str(error):
                    raise
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "docs_"):
            raise ValueError("this TfidfRetriever is not fitted: call .fit(incidents) or TfidfRetriever.load(dir)")

    def query_vectors(self, queries: Sequence[str]) -> sp.csr_matrix:
        """The queries' L2-normalised tf-idf rows in this index's vector space (:func:`query_matrix`)."""
        self._check_fitted()
        return query_matrix(queries, self.vocabulary_, self.idf_, self.sublinear_tf)

    def columns_for(self, vectors: sp.csr_matrix) -> list[ScoreColumn]:
        """Per row of ``vectors`` (query vectors of this space, or of a wider one whose first columns are this
        index's, as a delta segment's are), the rows with a nonzero cosine score and those scores."""
        width = self.matrix_.shape[1]
        if not width:
            return sparse_columns(sp.csc_matrix((len(self.docs_), vectors.shape[0])))
        if vectors.shape[1] != width:  # keep this index's columns; the wider space's own terms score nothing here
            vectors = vectors.tocoo()
            keep = vectors.col < width
            vectors = sp.csr_matrix((vectors.data[keep], (vectors.row[keep], vectors.col[keep])),
                                    shape=(vectors.shape[0], width))
        return sparse_columns(sp.csc_matrix(self.matrix_ @ vectors.T))

    def score_columns(self, queries: Sequence[str]) -> list[ScoreColumn]:
        """Per query, the rows with a nonzero cosine score and those scores."""
        if not self.vocabulary_:
            return sparse_columns(sp.csc_matrix((len(self.docs_), len(queries))))
        return self.columns_for(self.query_vectors(queries))

    def term_idf(self, terms: Iterable[str]) -> dict[str, float]:
        """Each term's IDF in this index; a term the corpus never uses gets the largest IDF (the rarest term's), and
        every term 1.0 when the index has no vocabulary."""
        terms = list(terms)
        if not self.vocabulary_:
            return dict.fromkeys(terms, 1.0)
        rarest = float(self.idf_.max())
        return {t: float(self.idf_[self.vocabulary_[t]]) if t in self.vocabulary_ else rarest for t in terms}

    def coverage(self, query: str, doc_ids: Sequence[str], drop_unknown: bool = False) -> np.ndarray:
        """Per document of ``doc_ids``, the IDF-weighted share of the query's terms it contains
        (:func:`sherlock.text.coverage_terms`: synonyms count; a term no document uses weighs as the rarest, or is left
        out with ``drop_unknown``); 0 for an id this index does not hold. Read from the posting lists, so a pool of
        hundreds costs well under 1 ms."""
        self._check_fitted()
        return term_coverage(query, doc_ids, self.vocabulary_, self.term_idf, self.holders(doc_ids), drop_unknown)

    def holders(self, doc_ids: Sequence[str], hidden: Collection[str] = ()) -> Callable[[Iterable[str]], np.ndarray]:
        """``contains(tokens)``: per document of ``doc_ids``, whether it uses any of ``tokens`` — read from the
        posting lists; False for an id this index does not hold or that is ``hidden``."""
        rows = np.array([-1 if d in hidden else self.docs_.row_of.get(d, -1) for d in doc_ids], dtype=np.int64)
        indptr, indices, width = self.matrix_.indptr, self.matrix_.indices, self.matrix_.shape[1]

        def contains(tokens: Iterable[str]) -> np.ndarray:
            has = np.zeros(len(self.docs_.ids) + 1, dtype=bool)  # the last slot stands for unknown ids
            for token in tokens:
                column = self.vocabulary_.get(token)
                if column is not None and column < width:
                    has[indices[indptr[column]:indptr[column + 1]]] = True
            return has[rows]

        return contains

    def search(self, query: str, k: int = 10, allowed: Collection[str] | None = None) -> Scores:
        return self.search_many([query], k, allowed)[0]

    def search_many(self, queries: Sequence[str], k: int = 10,
                    allowed: Collection[str] | None = None, batch_size: int = 256) -> list[Scores]:
        """``search`` for many queries: one sparse product per ``batch_size`` queries, one mask for all."""
        self._check_fitted()
        return top_k_in_batches(self.docs_, self.score_columns, queries, k, allowed, batch_size)

    def score(self, query: str, doc_ids: Iterable[str]) -> Scores:
        self._check_fitted()
        doc_ids = list(doc_ids)
        if not self.docs_.rows(doc_ids):
            return {}
        return scores_at(self.docs_, self.score_columns([query])[0], doc_ids)

    # -- persistence: the matrix as .npz, vocabulary + idf + ids as JSON; no pickle -------------------------------

    def save(self, directory: str | Path) -> Path:
        """Write ``tfidf.npz`` (document vectors) and ``sherlock_tfidf.json`` (hyper-parameters, ids in row order,
        vocabulary in column order, idf) to ``directory``, replaced atomically."""
        self._check_fitted()
        vocabulary = [term for term, _ in sorted(self.vocabulary_.items(), key=lambda kv: kv[1])]
        idf = self.idf_.tolist()

        def write(tmp: Path) -> None:
            sp.save_npz(tmp / MATRIX, self.matrix_)
            manifest: dict[str, Any] = {"format": "sherlock.tfidf", "version": 1, "params": self.get_params(),
                                        "ids": self.docs_.ids, "vocabulary": vocabulary, "idf": idf}
            (tmp / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")

        return write_dir_atomically(directory, write)

    @classmethod
    def load(cls, directory: str | Path) -> TfidfRetriever:
        """Load what ``save`` wrote."""
        manifest = read_manifest(directory, MANIFEST, "sherlock.tfidf")
        retriever = cls(**manifest["params"])
        retriever.docs_ = DocIndex(manifest["ids"])
        retriever.matrix_ = sp.load_npz(Path(directory) / MATRIX).tocsc()
        vocabulary = manifest["vocabulary"]
        if retriever.matrix_.shape != (len(manifest["ids"]), len(vocabulary)):
            raise ValueError(f"{directory}: {MATRIX} has shape {retriever.matrix_.shape} but {MANIFEST} lists "
                             f"{len(manifest['ids'])} ids and {len(vocabulary)} terms; rebuild the index")
        retriever.vocabulary_ = {term: column for column, term in enumerate(vocabulary)}
        retriever.idf_ = np.asarray(manifest["idf"], dtype=np.float64)
        return retriever
