"""Score normalisation: map one retriever's raw scores onto a comparable scale before fusion.

Each entry of ``NORMALIZERS`` holds one method in two forms side by side, kept equal by one parametrised test:

- ``scalar(scores)`` for one ranked list, ``{doc_id: score}`` → ``{doc_id: normalised}`` (search, batch ranking, A/B);
- ``batched(x, present)`` for many lists at once, (Q, N) arrays where ``present`` marks the real cells (the tuning
  grid, :mod:`sherlock.search.grid`). Absent cells may hold anything and their output is ignored.

Both use ``math.fsum`` for means and deviations and the same tie order as :func:`sherlock.run.top_k` (descending
score, ties by ascending doc id; batched rows hold documents in *descending* doc-id order, so ties go to the higher
position), so they agree to the last bit.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sherlock.registry import lookup
from sherlock.run import Scores, top_k

# One list ---------------------------------------------------------------------------------------------------------

def normalize_minmax(scores: Scores) -> Scores:
    """(s - min) / (max - min), so the best document gets 1.0 and the worst 0.0. If every score is equal (including a
    single document) all get 1.0: the retriever gave no preference, and its documents were still retrieved."""
    if not scores:
        return {}
    low, high = min(scores.values()), max(scores.values())
    if high == low:
        return {doc_id: 1.0 for doc_id in scores}
    return {doc_id: (s - low) / (high - low) for doc_id, s in scores.items()}


def normalize_zscore(scores: Scores) -> Scores:
    """(s - mean) / std with the population std (ddof=0, as ranx's ``zmuv``); a zero std maps every score to 0.0."""
    if not scores:
        return {}
    mean = math.fsum(scores.values()) / len(scores)
    std = math.sqrt(math.fsum((s - mean) ** 2 for s in scores.values()) / len(scores))
    if std == 0.0:
        return {doc_id: 0.0 for doc_id in scores}
    return {doc_id: (s - mean) / std for doc_id, s in scores.items()}


def normalize_rank(scores: Scores) -> Scores:
    """(n - rank + 1) / n with 1-based ranks (ranx's ``rank`` norm): 1.0 for the best of n documents, 1/n for the
    worst. Ties are ranked by :func:`sherlock.run.top_k` (doc id), so equal scores get distinct values."""
    n = len(scores)
    return {doc_id: (n - rank) / n for rank, (doc_id, _) in enumerate(top_k(scores, n))}


def normalize_dbsf(scores: Scores) -> Scores:
    """Distribution-based normalisation (Mazzeschi 2023, as in Qdrant's DBSF): map [mean - 3σ, mean + 3σ] onto [0, 1]
    with the sample std (ddof=1, as Qdrant), clipped to [0, 1] (Qdrant does not clip, so its outliers beyond 3σ fall
    outside [0, 1]). A single document or a zero std gives 0.5, as in Qdrant."""
    if len(scores) < 2:
        return {doc_id: 0.5 for doc_id in scores}
    mean = math.fsum(scores.values()) / len(scores)
    std = math.sqrt(math.fsum((s - mean) ** 2 for s in scores.values()) / (len(scores) - 1))
    if std == 0.0:
        return {doc_id: 0.5 for doc_id in scores}
    low, width = mean - 3.0 * std, 6.0 * std
    return {doc_id: min(1.0, max(0.0, (s - low) / width)) for doc_id, s in scores.items()}


def normalize_none(scores: Scores) -> Scores:
    """The raw scores, unchanged (a copy)."""
    return dict(scores)


# Many lists: rows of (Q, N) arrays ------------------------------------------------------------------------------------

def row_stats(x: np.ndarray, present: np.ndarray, ddof: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row: count, mean and std of the present scores, summed with ``math.fsum`` as the scalar forms do."""
    count, mean, std = present.sum(axis=1), np.zeros(len(x)), np.zeros(len(x))
    for q in range(len(x)):
        values = x[q, present[q]]
        n = len(values)
        if n == 0 or n - ddof <= 0:
            continue
        mean[q] = math.fsum(values.tolist()) / n
        std[q] = math.sqrt(math.fsum(((values - mean[q]) ** 2).tolist()) / (n - ddof))
    return count, mean, std


def rank_positions(x: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """0-based position of each kept cell in :func:`sherlock.run.top_k` order (descending score, ties by ascending
    doc id = descending pool position); other cells sort last."""
    index = np.broadcast_to(np.arange(x.shape[1]), x.shape)
    order = np.lexsort((-index, np.where(keep, -x, np.inf)), axis=-1)
    positions = np.empty_like(order)
    np.put_along_axis(positions, order, np.broadcast_to(np.arange(x.shape[1]), x.shape), axis=-1)
    return positions


def batched_minmax(x: np.ndarray, present: np.ndarray) -> np.ndarray:
    """:func:`normalize_minmax` per row."""
    low = np.where(present, x, np.inf).min(axis=1, keepdims=True)
    high = np.where(present, x, -np.inf).max(axis=1, keepdims=True)
    flat = high == low
    width = np.where(flat | ~np.isfinite(high - low), 1.0, high - low)
    with np.errstate(invalid="ignore"):
        return np.where(flat, 1.0, (x - low) / width)


def batched_zscore(x: np.ndarray, present: np.ndarray) -> np.ndarray:
    """:func:`normalize_zscore` per row."""
    _, mean, std = row_stats(x, present, ddof=0)
    zero = std == 0.0
    return np.where(zero[:, None], 0.0, (x - mean[:, None]) / np.where(zero, 1.0, std)[:, None])


def batched_rank(x: np.ndarray, present: np.ndarray) -> np.ndarray:
    """:func:`normalize_rank` per row."""
    n = present.sum(axis=1, keepdims=True)
    return (n - rank_positions(x, present)) / np.maximum(n, 1)


def batched_dbsf(x: np.ndarray, present: np.ndarray) -> np.ndarray:
    """:func:`normalize_dbsf` per row."""
    count, mean, std = row_stats(x, present, ddof=1)
    flat = (count < 2) | (std == 0.0)
    low, width = (mean - 3.0 * std)[:, None], np.where(flat, 1.0, 6.0 * std)[:, None]
    with np.errstate(invalid="ignore"):
        return np.where(flat[:, None], 0.5, np.minimum(1.0, np.maximum(0.0, (x - low) / width)))


def batched_none(x: np.ndarray, present: np.ndarray) -> np.ndarray:
    """:func:`normalize_none` per row."""
    return x.copy()


# The registry -------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Normalizer:
    """One normalisation in its two forms; calling it applies the scalar form."""

    scalar: Callable[[Scores], Scores]
    batched: Callable[[np.ndarray, np.ndarray], np.ndarray]

    def __call__(self, scores: Scores) -> Scores:
        return self.scalar(scores)


NORMALIZERS: dict[str, Normalizer] = {
    "minmax": Normalizer(normalize_minmax, batched_minmax),
    "zscore": Normalizer(normalize_zscore, batched_zscore),
    "rank": Normalizer(normalize_rank, batched_rank),
    "dbsf": Normalizer(normalize_dbsf, batched_dbsf),
    "none": Normalizer(normalize_none, batched_none),
}


def normalize(scores: Scores, method: str = "minmax") -> Scores:
    """Normalise one retriever's scores with the named method from ``NORMALIZERS``."""
    return lookup(NORMALIZERS, method, "normalisation").scalar(scores)


def normalize_rows(x: np.ndarray, present: np.ndarray, method: str = "minmax") -> np.ndarray:
    """Normalise each row of ``x`` over its ``present`` cells; absent cells get the row's lowest normalised value
    (the ``floor`` missing-document policy of :mod:`sherlock.search.fusion`), or 0.0 for an empty row."""
    values = lookup(NORMALIZERS, method, "normalisation").batched(np.where(present, x, 0.0), present)
    floor = np.where(present, values, np.inf).min(axis=1, keepdims=True)
    return np.where(present, values, np.where(np.isfinite(floor), floor, 0.0))
