"""Score fusion: combine several retrievers' ``{doc_id: score}`` lists into one, per query.

``FUSERS`` combine the lists (``wsum``, ``rrf``, ``combmnz``, ``dbsf``), each a small pure function, after the
normalisations of :mod:`sherlock.search.normalise` (``NORMALIZERS``). ``RETRIEVERS``, ``DEFAULT_WEIGHTS`` and
:func:`validate_weights` are the one definition of what a weight triple is.

Missing-document policy (one rule for every score-based method): a document that a retriever did not return
contributes that retriever's *lowest normalised score* (``missing="floor"``, the default) — "at least as bad as the
worst thing it did return". Under min-max that is 0.0; under z-score it is the list's smallest z; an empty list
contributes 0.0. ``missing="zero"`` contributes 0.0 instead (what ranx and Qdrant do; identical to ``floor`` under
min-max). RRF works on ranks, so a missing document simply contributes nothing, whatever the policy.

Weights are used as given, never renormalised: ``wsum`` with weights (0.6, 0.3, 0.1) over min-max scores lies in
[0, 1] because the weights sum to 1, and doubling every weight doubles every fused score without changing the ranking.
The default, :class:`FusionConfig` ``()``, is the original SherlockAI's weighted sum 0.6/0.3/0.1 over min-max, in the
retriever order dense, bm25, tfidf.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from sherlock.registry import lookup
from sherlock.run import Run, Scores, top_k
from sherlock.search.normalise import NORMALIZERS, normalize, rank_positions

#: The retrievers, in the order of every weight triple (``weights = (dense, bm25, tfidf)``).
RETRIEVERS = ("dense", "bm25", "tfidf")
#: The original SherlockAI's fusion weights (dense, bm25, tfidf), a weighted sum over min-max scores.
DEFAULT_WEIGHTS = (0.6, 0.3, 0.1)


# Missing-document policy ----------------------------------------------------------------------------------------------

def missing_floor(normalised: Scores) -> float:
    """The list's lowest normalised score (0.0 for an empty list)."""
    return min(normalised.values(), default=0.0)


def missing_zero(normalised: Scores) -> float:
    """Always 0.0."""
    return 0.0


MISSING_POLICIES: dict[str, Callable[[Scores], float]] = {"floor": missing_floor, "zero": missing_zero}


# Fusion methods -------------------------------------------------------------------------------------------------------

def validate_weights(weights: Sequence[float], n_lists: int) -> tuple[float, ...]:
    """The weights as a tuple of floats, or ``ValueError`` saying what to fix."""
    weights = tuple(float(w) for w in weights)
    if len(weights) != n_lists:
        raise ValueError(f"got {len(weights)} weights for {n_lists} retrievers; give exactly one weight per retriever")
    if any(not math.isfinite(w) or w < 0 for w in weights):
        raise ValueError(f"weights must be finite and >= 0, got {weights}")
    if not any(weights):
        raise ValueError(f"weights are all zero {weights}; give at least one retriever a positive weight")
    return weights


def _union(lists: Sequence[Scores]) -> list[str]:
    """Every document id, in order of first appearance (so fused output is deterministic)."""
    return list(dict.fromkeys(doc_id for scores in lists for doc_id in scores))


def _weighted_sum(normalised: Sequence[Scores], weights: Sequence[float], fill: Sequence[float]) -> Scores:
    return {doc_id: math.fsum(w * s.get(doc_id, f) for s, w, f in zip(normalised, weights, fill, strict=True))
            for doc_id in _union(normalised)}


def fuse_weighted_sum(scores_by_retriever: Sequence[Scores], weights: Sequence[float], *, norm: str = "minmax",
                      missing: str = "floor", rrf_k: int = 60) -> Scores:
    """Weighted CombSUM (Fox & Shaw, "Combination of Multiple Searches", TREC-2 1994): Σ_i w_i · norm_i(d), a missing
    document taking the missing policy's value. ``rrf_k`` is accepted for a uniform signature and ignored."""
    normalised = [normalize(scores, norm) for scores in scores_by_retriever]
    policy = lookup(MISSING_POLICIES, missing, "missing-document policy")
    return _weighted_sum(normalised, weights, [policy(scores) for scores in normalised])


def fuse_combmnz(scores_by_retriever: Sequence[Scores], weights: Sequence[float], *, norm: str = "minmax",
                 missing: str = "floor", rrf_k: int = 60) -> Scores:
    """Weighted CombMNZ (Fox & Shaw 1994): the weighted CombSUM × the number of retrievers with a positive weight that
    returned the document. With unit weights and min-max this is the classic CombMNZ (ranx's ``mnz``)."""
    summed = fuse_weighted_sum(scores_by_retriever, weights, norm=norm, missing=missing)
    voters = [scores for scores, w in zip(scores_by_retriever, weights) if w > 0]
    return {doc_id: value * sum(doc_id in scores for scores in voters) for doc_id, value in summed.items()}


def fuse_rrf(scores_by_retriever: Sequence[Scores], weights: Sequence[float], *, norm: str = "minmax",
             missing: str = "floor", rrf_k: int = 60) -> Scores:
    """Weighted Reciprocal Rank Fusion (Cormack, Clarke & Büttcher, SIGIR 2009): Σ_i w_i / (k + rank_i(d)) over the
    retrievers that returned d, ranks 1-based (ties by :func:`sherlock.run.top_k`). Works on ranks, so ``norm`` is
    ignored, and a missing document contributes nothing whatever ``missing`` says. A retriever's ranked list is the
    documents it scored above zero: a score of 0 (no query term matched) or below is no evidence and gets no rank,
    so exact scores over a shared candidate pool fuse the same as each retriever's own result list."""
    fused: Scores = {}
    for scores, w in zip(scores_by_retriever, weights, strict=True):
        positive = {doc_id: score for doc_id, score in scores.items() if score > 0}
        for rank, (doc_id, _) in enumerate(top_k(positive, len(positive)), start=1):
            fused[doc_id] = fused.get(doc_id, 0.0) + w / (rrf_k + rank)
    return fused


def rrf_denominators(x: np.ndarray, present: np.ndarray, rrf_k: int) -> np.ndarray:
    """The batched form of :func:`fuse_rrf`'s ranks for (Q, N) rows: ``rrf_k + rank`` over the documents a retriever
    scored above zero (1-based ranks in :func:`sherlock.run.top_k` order), ``inf`` elsewhere — so ``w / d`` is each
    document's share of the fused score."""
    positive = present & (np.where(present, x, 0.0) > 0)
    return np.where(positive, rrf_k + 1.0 + rank_positions(x, positive), np.inf)


def fuse_dbsf(scores_by_retriever: Sequence[Scores], weights: Sequence[float], *, norm: str = "minmax",
              missing: str = "floor", rrf_k: int = 60) -> Scores:
    """Distribution-Based Score Fusion (Mazzeschi 2023; Qdrant's ``dbsf``): each list normalised by
    :func:`normalize_dbsf` (mean ± 3σ → [0, 1]), then the weighted sum. ``norm`` is ignored: DBSF is its own
    normalisation."""
    return fuse_weighted_sum(scores_by_retriever, weights, norm="dbsf", missing=missing)


FUSERS: dict[str, Callable[..., Scores]] = {
    "wsum": fuse_weighted_sum,
    "rrf": fuse_rrf,
    "combmnz": fuse_combmnz,
    "dbsf": fuse_dbsf,
}


# Public verbs ---------------------------------------------------------------------------------------------------------

def check_options(method: str = "wsum", norm: str = "minmax", rrf_k: int = 60, missing: str = "floor") -> None:
    """``ValueError`` listing the valid names when a fusion method, normalisation or missing policy is unknown, or
    when ``rrf_k`` is not a positive integer."""
    lookup(FUSERS, method, "fusion method")
    lookup(NORMALIZERS, norm, "normalisation")
    lookup(MISSING_POLICIES, missing, "missing-document policy")
    if isinstance(rrf_k, bool) or not isinstance(rrf_k, int) or rrf_k < 1:
        raise ValueError(f"rrf_k must be a positive integer (Cormack et al. use 60), got {rrf_k!r}")


def fuse_scores(scores_by_retriever: Sequence[Scores], weights: Sequence[float], method: str = "wsum",
                norm: str = "minmax", rrf_k: int = 60, missing: str = "floor") -> Scores:
    """Fuse one query's per-retriever score lists (in the order of ``weights``) into one ``{doc_id: score}``."""
    check_options(method, norm, rrf_k, missing)
    weights = validate_weights(weights, len(scores_by_retriever))
    return FUSERS[method](scores_by_retriever, weights, norm=norm, missing=missing, rrf_k=rrf_k)


def fuse(runs: Sequence[Run], weights: Sequence[float], method: str = "wsum", norm: str = "minmax", rrf_k: int = 60,
         missing: str = "floor") -> Run:
    """Fuse whole runs query by query. A query absent from a run counts as an empty list from that retriever."""
    check_options(method, norm, rrf_k, missing)
    weights = validate_weights(weights, len(runs))
    query_ids = dict.fromkeys(qid for run in runs for qid in run)
    return {qid: FUSERS[method]([run.get(qid, {}) for run in runs], weights, norm=norm, missing=missing, rrf_k=rrf_k)
            for qid in query_ids}


@dataclass(frozen=True)
class FusionConfig:
    """A validated fusion setting. ``fuse(runs, **config.as_dict())`` applies it; the default is the original
    SherlockAI's weighted sum 0.6/0.3/0.1 (dense, bm25, tfidf) over min-max scores."""

    weights: tuple[float, ...] = DEFAULT_WEIGHTS
    method: str = "wsum"
    norm: str = "minmax"
    rrf_k: int = 60
    missing: str = "floor"

    def __post_init__(self) -> None:
        check_options(self.method, self.norm, self.rrf_k, self.missing)
        object.__setattr__(self, "weights", validate_weights(self.weights, len(self.weights)))

    def as_dict(self) -> dict[str, Any]:
        """Plain values, keyed like :func:`fuse`'s keywords (and fit for MLflow's ``log_params``)."""
        return asdict(self)
