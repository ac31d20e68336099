"""The one ranking path: candidate pool → normalise → fuse → entity boost → top k.

Single search (:class:`sherlock.search.searcher.Searcher`), batch ranking, fusion tuning and A/B arms all rank with
:func:`rank_pool` over pools built by :func:`score_pool`; the tuning grid (:mod:`sherlock.evaluation.grid`) is the
batched form of the same steps, built from the same registries (``NORMALIZERS``' batched forms, the RRF ranks of
:func:`sherlock.search.fusion.rrf_denominators`, :func:`sherlock.search.entities.boost_factor`) and held equal to
:func:`rank_pool` by tests.

    pool = score_pool(snapshot, "UPI timeout", vector, n=100, allowed=None, dense_top=dense_hits)
    ranked = rank_pool(pool, FusionConfig(), k=10, boost={"JSP-1001": 1.15})
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from sherlock.run import Run, Scores, top_k
from sherlock.search.entities import boost_factor
from sherlock.search.fusion import RETRIEVERS, FusionConfig, fuse_scores

if TYPE_CHECKING:
    from sherlock.evaluation.grid import PaddedPool
    from sherlock.storage.snapshot import IndexSnapshot

Ranked = list[tuple[str, float]]


def score_pool(snapshot: IndexSnapshot, query: str, vector: np.ndarray, n: int, allowed: set[str] | None,
               dense_top: Scores, bm25_top: Scores | None = None, tfidf_top: Scores | None = None,
               ) -> dict[str, Scores]:
    """Raw scores of every retriever over one candidate pool: the union of each retriever's top ``n`` (``*_top``,
    searched here when not given), each pool document then scored exactly by all three. A document with no lexical
    match scores 0 for BM25 and TF-IDF rather than being "missing"; one without a vector is missing from ``dense``."""
    bm25_top = snapshot.bm25.search(query, n, allowed) if bm25_top is None else bm25_top
    tfidf_top = snapshot.tfidf.search(query, n, allowed) if tfidf_top is None else tfidf_top
    pool = list(dict.fromkeys([*dense_top, *bm25_top, *tfidf_top]))
    dense = {**snapshot.dense_scores(vector, [d for d in pool if d not in dense_top]), **dense_top}
    bm25 = dict.fromkeys(pool, 0.0) | snapshot.bm25.score(query, [d for d in pool if d not in bm25_top]) | bm25_top
    tfidf = dict.fromkeys(pool, 0.0) | snapshot.tfidf.score(query, [d for d in pool if d not in tfidf_top]) \
        | tfidf_top
    return {"dense": {d: dense[d] for d in pool if d in dense}, "bm25": bm25, "tfidf": tfidf}


def rank_pool(pool: Mapping[str, Scores], config: FusionConfig, k: int,
              boost: Mapping[str, float] | None = None) -> Ranked:
    """Fuse one pool's per-retriever scores with ``config``, multiply each document by its entity ``boost`` (1.0 when
    absent) and return the top ``k`` ``(doc_id, score)`` in :func:`sherlock.run.top_k` order."""
    fused = fuse_scores([pool.get(name, {}) for name in RETRIEVERS], config.weights, method=config.method,
                        norm=config.norm, rrf_k=config.rrf_k, missing=config.missing)
    if boost:
        fused = {doc_id: score * boost[doc_id] if boost.get(doc_id, 1.0) != 1.0 else score
                 for doc_id, score in fused.items()}
    return top_k(fused, k)


def boosts(entity_matches: Mapping[str, int], enabled: bool, multiplier: float,
           coverage: Mapping[str, float] | None = None, coverage_weight: float = 0.0) -> dict[str, float]:
    """Each document's multiplier: its entity boost, from how many query entities it mentions (none when disabled),
    times its :func:`coverage_factor`."""
    factors: dict[str, float] = {}
    if enabled and multiplier != 1.0:
        factors = {doc_id: boost_factor(count, multiplier) for doc_id, count in entity_matches.items() if count}
    if coverage and coverage_weight:
        for doc_id, share in coverage.items():
            factor = 1.0 - coverage_weight * (1.0 - share)  # coverage_factor, for one document
            if factor != 1.0:
                factors[doc_id] = factors.get(doc_id, 1.0) * factor
    return factors


def coverage_factor(coverage: np.ndarray, weight: float) -> np.ndarray:
    """``1 - weight * (1 - coverage)``: a document holding every query term (``coverage`` 1, IDF-weighted, synonyms
    counted — :meth:`sherlock.retrievers.tfidf.TfidfRetriever.coverage`) keeps its fused score; one holding none
    keeps ``1 - weight`` of it. Lucene's classic coordination factor (``coord``) in a softened form: without it a
    document repeating the query's common words ("pods OOMKilled" three times) outranks one that also has its rare,
    distinguishing word ("after deploy" ~ "after release 3.14.8"), and a dense match with no shared word at all
    still ranks, only lower."""
    return 1.0 - weight * (1.0 - coverage)


@dataclass
class CandidatePool:
    """Many queries' candidate pools (see :func:`score_pool`), kept as arrays for the tuning grid.

    ``doc_ids[i]`` is in descending doc-id order (trec_eval's tie order); ``raw[i]`` is (n_i, 3) raw scores in
    ``RETRIEVERS`` order, NaN where a retriever cannot score a document; ``entity_matches[i]`` how many query entities
    each document mentions; ``boost[i]`` the entity-boost multiplier of each document as search applies it."""

    qids: list[str]
    queries: dict[str, str]
    doc_ids: list[list[str]]
    raw: list[np.ndarray]
    boost: list[np.ndarray]
    n: int = 200
    revision: int | None = None
    entity_matches: list[np.ndarray] | None = None
    coverage: list[np.ndarray] | None = None
    #: fixed per-document multipliers kept through :meth:`with_boost` (the similar-incidents mode's same-service and
    #: cause-class factors)
    prior: list[np.ndarray] | None = None

    @classmethod
    def from_pools(cls, queries: Mapping[str, str], pools: Sequence[Mapping[str, Scores]],
                   matches: Sequence[Mapping[str, int]], settings: Any, n: int, revision: int | None = None,
                   coverage: Sequence[Mapping[str, float]] | None = None,
                   prior: Sequence[Mapping[str, float]] | None = None) -> CandidatePool:
        """Arrays from per-query pools (:func:`score_pool`), entity match counts and term coverage, boosted as
        ``settings`` says."""
        doc_ids, raw, counts, shares, factors = [], [], [], [], []
        for number, (pool, found) in enumerate(zip(pools, matches, strict=True)):
            ids = sorted(set().union(*pool.values()), reverse=True)
            doc_ids.append(ids)
            raw.append(np.array([[pool[r].get(d, np.nan) for r in RETRIEVERS] for d in ids], dtype=float)
                       .reshape(len(ids), len(RETRIEVERS)))
            counts.append(np.array([float(found.get(d, 0)) for d in ids]))
            covered = coverage[number] if coverage is not None else {}
            shares.append(np.array([float(covered.get(d, 1.0)) for d in ids]))
            fixed = prior[number] if prior is not None else {}
            factors.append(np.array([float(fixed.get(d, 1.0)) for d in ids]))
        built = cls(list(queries), dict(queries), doc_ids, raw, [], n=n, revision=revision, entity_matches=counts,
                    coverage=shares if coverage is not None else None, prior=factors if prior is not None else None)
        return built.with_boost(settings.entity_boost, settings.entity_multiplier, settings.coverage_weight)

    def with_boost(self, enabled: bool, multiplier: float, coverage_weight: float = 0.0) -> CandidatePool:
        """The same pool with the entity boost and coverage factor of another setting."""
        if self.entity_matches is None:
            raise ValueError("this pool was built without entity matches; score it again with Searcher.score_pools")
        on = enabled and multiplier != 1.0
        boost = [np.array([boost_factor(int(m), multiplier) for m in counts]) if on else np.ones(len(counts))
                 for counts in self.entity_matches]
        if coverage_weight and self.coverage is not None:
            boost = [factors * coverage_factor(shares, coverage_weight)
                     for factors, shares in zip(boost, self.coverage, strict=True)]
        if self.prior is not None:
            boost = [factors * fixed for factors, fixed in zip(boost, self.prior, strict=True)]
        return replace(self, boost=boost)

    def excluding(self, excluded: Mapping[str, Collection[str]]) -> CandidatePool:
        """The same pool without some documents per query (``{qid: doc ids}``) — e.g. each incident itself, when a
        set of stored incidents is searched with their own text."""
        keep = [np.array([d not in excluded.get(qid, ()) for d in ids], dtype=bool)
                for qid, ids in zip(self.qids, self.doc_ids, strict=True)]

        def take(arrays: list[np.ndarray]) -> list[np.ndarray]:
            return [a[mask] for a, mask in zip(arrays, keep, strict=True)]

        def maybe(arrays: list[np.ndarray] | None) -> list[np.ndarray] | None:
            return None if arrays is None else take(arrays)

        return replace(self, doc_ids=[[d for d, k in zip(ids, mask, strict=True) if k]
                                      for ids, mask in zip(self.doc_ids, keep, strict=True)],
                       raw=take(self.raw), boost=take(self.boost), entity_matches=maybe(self.entity_matches),
                       coverage=maybe(self.coverage), prior=maybe(self.prior))

    @cached_property
    def padded(self) -> PaddedPool:
        from sherlock.evaluation.grid import PaddedPool
        return PaddedPool.from_lists(self.raw, self.boost)

    @cached_property
    def _row(self) -> dict[str, int]:
        return {qid: i for i, qid in enumerate(self.qids)}

    def scores(self, qid: str) -> dict[str, Scores]:
        """One query's pool as ``{retriever: {doc_id: raw score}}`` (what :func:`score_pool` returned)."""
        if qid not in self._row:
            raise ValueError(f"query {qid!r} is not in this candidate pool ({len(self.qids)} queries)")
        i = self._row[qid]
        return {name: {d: float(s) for d, s in zip(self.doc_ids[i], self.raw[i][:, r], strict=True)
                       if not np.isnan(s)} for r, name in enumerate(RETRIEVERS)}

    def ranking(self, qid: str, weights: Sequence[float], fusion: str = "wsum", norm: str = "minmax", k: int = 10,
                rrf_k: int = 60) -> Ranked:
        """What hybrid search ranks for this query with these settings (:func:`rank_pool`), the top ``k``."""
        return self._ranked(qid, FusionConfig(tuple(weights), fusion, norm, rrf_k), k)

    def rank(self, settings: Any, k: int) -> Run:
        """Every query ranked with ``settings``' fusion and entity boost, ``k`` results each."""
        boosted = self.with_boost(settings.entity_boost, settings.entity_multiplier, settings.coverage_weight)
        config = FusionConfig(tuple(settings.weights), settings.fusion, settings.norm, settings.rrf_k)
        return {qid: dict(boosted._ranked(qid, config, k)) for qid in self.qids}

    def _ranked(self, qid: str, config: FusionConfig, k: int) -> Ranked:
        scores = self.scores(qid)
        i = self._row[qid]
        return rank_pool(scores, config, k, dict(zip(self.doc_ids[i], self.boost[i].tolist(), strict=True)))
