"""Retrieval metrics for many rankings at once, from the gains of each (query, weight point)'s top k — the families of
:mod:`sherlock.evaluation.metrics` with its semantics (trec_eval's): nDCG with linear gain, log2 discount and the ideal from
*every* judged relevant document; recall and AP over all relevant documents; precision over k (or the run's length).
Checked against ``sherlock.evaluation.metrics`` on the same rankings in tests/test_tune.py."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

@dataclass
class Judged:
    """Per pooled query: ``gains`` (Q, N) the grade of each pool document (0 unless relevant), ``n_relevant`` and
    ``ideal`` (the ideal DCG at the cutoff, from every judged relevant document, as ``sherlock.evaluation.metrics.ndcg``)."""

    gains: np.ndarray
    n_relevant: np.ndarray
    ideal: np.ndarray
    depth: np.ndarray  # the length of each query's fused run, which a metric without a cutoff divides by

    @classmethod
    def build(cls, doc_ids: Sequence[Sequence[str]], relevant: Sequence[Mapping[str, int]], width: int,
              k: int | None) -> Judged:
        gains = np.zeros((len(doc_ids), width))
        for q, (ids, judged) in enumerate(zip(doc_ids, relevant, strict=True)):
            for j, doc_id in enumerate(ids):
                gains[q, j] = judged.get(doc_id, 0)
        ideal = [sum(g / math.log2(i + 2) for i, g in enumerate(sorted(judged.values(), reverse=True)[:k]))
                 for judged in relevant]
        return cls(gains, np.array([len(j) for j in relevant], dtype=float), np.array(ideal),
                   np.array([len(ids) for ids in doc_ids], dtype=float))

    def take(self, rows: np.ndarray) -> Judged:
        return Judged(self.gains[rows], self.n_relevant[rows], self.ideal[rows], self.depth[rows])


def _ndcg(top: np.ndarray, judged: Judged, k: int | None) -> np.ndarray:
    dcg = (top / np.log2(np.arange(top.shape[-1]) + 2.0)).sum(axis=-1)
    return dcg / judged.ideal[:, None]


def _mrr(top: np.ndarray, judged: Judged, k: int | None) -> np.ndarray:
    hits = top > 0
    return np.where(hits.any(axis=-1), 1.0 / (hits.argmax(axis=-1) + 1.0), 0.0)


def _recall(top: np.ndarray, judged: Judged, k: int | None) -> np.ndarray:
    return (top > 0).sum(axis=-1) / judged.n_relevant[:, None]


def _precision(top: np.ndarray, judged: Judged, k: int | None) -> np.ndarray:
    depth = judged.depth[:, None] if k is None else np.full((len(top), 1), float(k))
    return (top > 0).sum(axis=-1) / np.maximum(depth, 1.0)  # an empty run has precision 0


def _average_precision(top: np.ndarray, judged: Judged, k: int | None) -> np.ndarray:
    hits = top > 0
    precision_at = np.cumsum(hits, axis=-1) / np.arange(1.0, top.shape[-1] + 1)
    return (precision_at * hits).sum(axis=-1) / judged.n_relevant[:, None]


def _hit_rate(top: np.ndarray, judged: Judged, k: int | None) -> np.ndarray:
    return (top > 0).any(axis=-1).astype(float)


#: The families of ``sherlock.evaluation.metrics.METRICS``, computed from (queries, points, k) top-k gains.
GRID_METRICS: dict[str, Callable[[np.ndarray, Judged, int | None], np.ndarray]] = {
    "ndcg": _ndcg, "mrr": _mrr, "recall": _recall, "precision": _precision, "map": _average_precision,
    "hit_rate": _hit_rate}
