"""The batched form of the ranking path (:mod:`sherlock.search.ranking`): many fusion weightings scored at once, the
engine behind :mod:`sherlock.evaluation.tuning`.

Every fusion method of :mod:`sherlock.search.fusion` is linear in the weights once each retriever's scores are turned
into per-document features: ``wsum`` and ``dbsf`` are Σ_i w_i · norm_i(d), ``rrf`` is Σ_i w_i · 1 / (k + rank_i(d)), and
``combmnz`` is the weighted sum times the number of positively weighted retrievers that scored d. So each query's
candidate pool is normalised once (queries padded to the largest pool), every weight point is one broadcast
multiply-add, the entity boost multiplies the fused score as search does, and the metric (the batched form of
:data:`sherlock.evaluation.metrics.METRICS`) is read off the top k of every (query, point) row, found by a partition,
not a sort.
Documents that cannot reach the top k under any weighting are dropped first (:func:`candidate_mask`).

The conventions are the pipeline's, and tests hold them to it:

- normalisations are the batched forms of ``sherlock.search.normalise.NORMALIZERS``; a missing score (NaN) takes the
  list's lowest normalised value (the ``floor`` policy); an empty list contributes 0.0; RRF ranks only positive
  scores (:func:`sherlock.search.fusion.rrf_denominators`);
- rank positions as :func:`sherlock.run.top_k` (descending score, ties by ascending doc id);
- the metric's ranking as :func:`sherlock.evaluation.metrics.rank` (descending score, ties by *descending* doc id,
  trec_eval): pools are stored in descending doc-id order so that "ties by lower position" is exactly that order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from sherlock.evaluation.metrics import METRICS, Judged, parse_metric
from sherlock.search.fusion import rrf_denominators
from sherlock.search.normalise import normalize_rows

#: Fused-score cells per chunk of queries: about 1.6 MB of float64, so each chunk's passes stay in cache (measured
#: on NFCorpus: 0.7 s for 3 × 231 points × 323 queries, against 1.1 s with 4M cells and 1.8 s with 16M).
CHUNK_CELLS = 200_000


@dataclass
class PaddedPool:
    """Candidate pools as arrays: ``raw`` (Q, N, 3) with NaN where a retriever has no score for a document, ``valid``
    (Q, N) marking real (not padding) positions, ``boost`` (Q, N) the entity-boost multipliers."""

    raw: np.ndarray
    valid: np.ndarray
    boost: np.ndarray

    @classmethod
    def from_lists(cls, raw: Sequence[np.ndarray], boost: Sequence[np.ndarray]) -> PaddedPool:
        width = max((len(r) for r in raw), default=0)
        padded = np.full((len(raw), width, 3), np.nan)
        valid = np.zeros((len(raw), width), dtype=bool)
        multipliers = np.ones((len(raw), width))
        for q, (scores, factors) in enumerate(zip(raw, boost, strict=True)):
            padded[q, :len(scores)] = scores
            valid[q, :len(scores)] = True
            multipliers[q, :len(factors)] = factors
        return cls(padded, valid, multipliers)

    def take(self, rows: Sequence[int] | np.ndarray) -> PaddedPool:
        rows = np.asarray(rows, dtype=np.int64)
        return PaddedPool(self.raw[rows], self.valid[rows], self.boost[rows])


def features(pool: PaddedPool, fusion: str, norm: str, rrf_k: int = 60) -> np.ndarray:
    """(Q, N, 3) per-document features whose weighted sum is the fused score of ``fusion`` (before CombMNZ's count
    and the entity boost)."""
    present = pool.valid[:, :, None] & ~np.isnan(pool.raw)
    columns = []
    for i in range(3):
        x, keep = pool.raw[:, :, i], present[:, :, i]
        if fusion == "rrf":
            columns.append(1.0 / rrf_denominators(x, keep, rrf_k))
        else:
            columns.append(normalize_rows(x, keep, "dbsf" if fusion == "dbsf" else norm))
    return np.stack(columns, axis=-1)


def top_k_positions(fused: np.ndarray, k: int) -> np.ndarray:
    """(..., k) positions of the k best cells of each row of ``fused``, best first, ties by lower position."""
    width = fused.shape[-1]
    if k >= width:
        return np.argsort(-fused, axis=-1, kind="stable")
    threshold = np.partition(fused, width - k, axis=-1)[..., width - k:width - k + 1]
    take = fused >= threshold
    surplus = take.sum(axis=-1) > k
    if surplus.any():  # ties at the threshold: keep the tied cells with the lowest positions
        rows, tied = fused[surplus], threshold[surplus]
        equal = rows == tied
        need = k - (rows > tied).sum(axis=-1, keepdims=True)
        take[surplus] = (rows > tied) | (equal & (np.cumsum(equal, axis=-1) <= need))
    positions = np.nonzero(take)[-1].reshape(*fused.shape[:-1], k)
    order = np.argsort(-np.take_along_axis(fused, positions, axis=-1), axis=-1, kind="stable")
    return np.take_along_axis(positions, order, axis=-1)


def fsum3(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """a + b + c as ``math.fsum`` gives it (the exact sum, rounded once), elementwise: two error-free TwoSums
    (Knuth) and the compensated result of Ogita, Rump & Oishi's Sum2 (SIAM J. Sci. Comput. 2005), which is the
    correctly rounded sum but in pathological cases. Plain ``(a + b) + c`` differs in the last bit often enough to
    reorder near-tied documents (rank-normalised scores are full of them) against what search ranks. The three
    inputs are overwritten."""
    s = np.add(a, b)
    t = np.subtract(s, a)           # b's share of s
    np.subtract(b, t, out=b)
    np.subtract(s, t, out=t)
    np.subtract(a, t, out=a)
    np.add(a, b, out=a)             # e: the rounding error of a + b
    t = np.add(s, c, out=t)
    np.subtract(t, s, out=b)        # c's share of t
    np.subtract(c, b, out=c)
    np.subtract(t, b, out=b)
    np.subtract(s, b, out=s)
    np.add(s, c, out=s)             # f: the rounding error of s + c
    np.add(a, s, out=a)
    return np.add(t, a, out=t)


def candidate_mask(feats: np.ndarray, pool: PaddedPool, eligible: np.ndarray, present: np.ndarray, fusion: str,
                   k: int) -> np.ndarray:
    """(Q, N): the ``eligible`` documents that can reach the top ``k`` at *any* non-negative weights; the rest are
    dropped before the grid is scored. A document is dropped only when k others beat it on every retriever's (boosted)
    feature by a relative margin of 1e-9, so it loses under every weighting whatever the rounding: the k others
    are the top k by a few fixed scorings (the smallest feature, the sum, tilted sums), whose feature-wise minimum
    the document must fall below. CombMNZ's voter count is the same for every document only when each was scored
    by all three retrievers, so queries with a missing score keep everything under ``combmnz``."""
    effective = feats * pool.boost[:, :, None]
    low = np.where(eligible[:, :, None], effective, np.inf).min(axis=1, keepdims=True)
    high = np.where(eligible[:, :, None], effective, -np.inf).max(axis=1, keepdims=True)
    scaled = (effective - low) / np.where(high > low, high - low, 1.0)
    keep = eligible.copy()
    prunable = eligible.sum(axis=1) > k
    if fusion == "combmnz":
        prunable &= (present.all(axis=-1) | ~eligible).all(axis=1)
    if not prunable.any():
        return keep
    for key in (scaled.min(axis=-1), scaled.sum(axis=-1), *(scaled @ np.array(w) for w in PRUNE_TILTS)):
        key = np.where(eligible, key, -np.inf)
        top = np.argpartition(-key, k - 1, axis=1)[:, :k]
        floor = np.take_along_axis(effective, top[:, :, None], axis=1).min(axis=1)  # (Q, 3)
        beaten = (effective < (floor - 1e-9 * np.maximum(1.0, np.abs(floor)))[:, None, :]).all(axis=-1)
        keep &= ~(beaten & prunable[:, None])
    return keep


#: Pruning costs about as much as fusing a dozen points, so smaller batches skip it.
PRUNE_MIN_POINTS = 16
#: Extra weightings whose top k serve as the "k others" of :func:`candidate_mask`.
PRUNE_TILTS = ((2.0, 1.0, 1.0), (1.0, 2.0, 1.0), (1.0, 1.0, 2.0))


def _chunks(widths: np.ndarray, n_points: int) -> list[np.ndarray]:
    """Queries grouped by kept pool width (ascending), each group small enough to fuse at once."""
    order = np.argsort(widths, kind="stable")
    groups, start = [], 0
    while start < len(order):
        end = start + 1
        while end < len(order) and (end + 1 - start) * n_points * max(int(widths[order[end]]), 1) <= CHUNK_CELLS:
            end += 1
        groups.append(order[start:end])
        start = end
    return groups


def evaluate_points(pool: PaddedPool, judged: Judged, weights: np.ndarray, fusion: str, norm: str, metric: str,
                    rrf_k: int = 60, feats: np.ndarray | None = None) -> np.ndarray:
    """(P, Q) per-query ``metric`` of every weight point (rows of ``weights``, (P, 3)) under one fusion and
    normalisation. ``feats`` may pass :func:`features` already computed for this pool, fusion and norm."""
    family, k = parse_metric(metric)
    weights = np.asarray(weights, dtype=float).reshape(-1, 3)
    feats = features(pool, fusion, norm, rrf_k) if feats is None else feats
    present = pool.valid[:, :, None] & ~np.isnan(pool.raw)
    # the documents a fused run holds: every pooled one, except that RRF leaves out those no retriever scored above 0
    eligible = (present & (np.nan_to_num(pool.raw) > 0)).any(axis=-1) if fusion == "rrf" else pool.valid
    judged = replace(judged, depth=eligible.sum(axis=1).astype(float))
    keep = eligible if k is None or len(weights) < PRUNE_MIN_POINTS else \
        candidate_mask(feats, pool, eligible, present, fusion, k)
    widths = keep.sum(axis=1)
    if fusion == "rrf":
        ranks = np.stack([rrf_denominators(pool.raw[:, :, r], present[:, :, r], rrf_k) for r in range(3)], axis=-1)
    voters = (weights > 0).astype(float)
    out = np.zeros((len(weights), len(widths)))
    for rows in _chunks(widths, len(weights)):
        width = max(int(widths[rows].max()), 1)
        cols = np.argsort(~keep[rows], axis=1, kind="stable")[:, :width]  # kept documents first, in pool order
        f = np.take_along_axis(feats[rows], cols[:, :, None], axis=1).transpose(0, 2, 1).copy()  # (q, 3, width)
        if fusion == "rrf":  # as fuse_rrf: w / (k + rank), added retriever by retriever
            d = np.take_along_axis(ranks[rows], cols[:, :, None], axis=1).transpose(0, 2, 1)
            fused = (weights[None, :, 0, None] / d[:, None, 0, :] + weights[None, :, 1, None] / d[:, None, 1, :]) \
                + weights[None, :, 2, None] / d[:, None, 2, :]
        else:  # as fuse_weighted_sum: math.fsum of w * norm
            fused = fsum3(*(weights[None, :, r, None] * f[:, None, r, :] for r in range(3)))
        if fusion == "combmnz":
            voted = np.take_along_axis(present[rows], cols[:, :, None], axis=1).astype(float)
            fused *= np.einsum("qnr,pr->qpn", voted, voters)
        boost = np.take_along_axis(pool.boost[rows], cols, axis=1)
        if (boost != 1.0).any():
            fused *= boost[:, None, :]
        kept = np.take_along_axis(keep[rows], cols, axis=1)
        if not kept.all():
            fused[~np.broadcast_to(kept[:, None, :], fused.shape)] = -np.inf
        positions = top_k_positions(fused, width if k is None else min(k, width))
        gains = np.where(kept, np.take_along_axis(judged.gains[rows], cols, axis=1), 0.0)  # -inf cells: not ranked
        top = np.take_along_axis(np.broadcast_to(gains[:, None, :], fused.shape), positions, axis=-1)
        out[:, rows] = METRICS[family].batched(top, judged.take(rows), k).T
    return out
