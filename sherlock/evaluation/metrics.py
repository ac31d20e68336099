"""Evaluate a run against relevance judgements, with trec_eval / ranx semantics.

``evaluate(qrels, run, ["ndcg@10", "mrr", "recall@100"])`` gives mean scores; ``evaluate_per_query`` gives
``{metric: {query_id: score}}``. Metric names are ``family[@k]`` strings, parsed only by :func:`parse_metric`;
families are the keys of ``METRICS``, and no ``@k`` means "the whole ranking". Each family has a scalar form (one
ranking) and a batched form (the tuning grid's many rankings at once) side by side; one parametrised test keeps them
equal.

Conventions (each chosen to agree with trec_eval, and with ranx wherever ranx is deterministic):

- A document is relevant when its grade is > 0; grades <= 0 are judged non-relevant.
- A run is ranked by descending score, ties by descending doc id (trec_eval's order). ranx has no fixed tie order
  (it uses an unstable sort), so only tie-free runs are guaranteed to score the same in both.
- Queries in the qrels but absent from the run score 0 and count in the mean (trec_eval ``-c``, ranx
  ``make_comparable``); queries only in the run are ignored.
- Queries whose judgements hold no relevant document are skipped: every metric is 0/0 for them, and counting them
  would lower the mean for a reason unrelated to the system. (ranx instead scores them 0 and counts them.)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from sherlock.run import Qrels, Run, Scores

Ranking = Sequence[str]
Relevant = Mapping[str, int]


# Per-query metrics: (ranked doc ids, {doc_id: grade > 0}, cutoff or None) -> float ------------------------------------

def ndcg(ranked: Ranking, relevant: Relevant, k: int | None = None) -> float:
    """nDCG@k (Järvelin & Kekäläinen, TOIS 2002) with linear gain and log2 discount: DCG = Σ_i rel_i / log2(i + 1)
    over ranks i <= k, divided by the DCG of the ideal ordering of *all* judged relevant documents cut at k
    (trec_eval's ``ndcg_cut``, ranx's ``ndcg``)."""
    dcg = sum(relevant[doc_id] / math.log2(i + 2) for i, doc_id in enumerate(ranked[:k]) if doc_id in relevant)
    ideal = sum(grade / math.log2(i + 2) for i, grade in enumerate(sorted(relevant.values(), reverse=True)[:k]))
    return dcg / ideal if ideal > 0 else 0.0


def reciprocal_rank(ranked: Ranking, relevant: Relevant, k: int | None = None) -> float:
    """1 / rank of the first relevant document within the top k, 0 if none (Voorhees, TREC-8 QA 1999)."""
    for rank, doc_id in enumerate(ranked[:k], start=1):
        if doc_id in relevant:
            return 1.0 / rank
    return 0.0


def recall(ranked: Ranking, relevant: Relevant, k: int | None = None) -> float:
    """Relevant documents in the top k / all relevant documents."""
    return len(relevant.keys() & ranked[:k]) / len(relevant) if relevant else 0.0


def precision(ranked: Ranking, relevant: Relevant, k: int | None = None) -> float:
    """Relevant documents in the top k / k (a run shorter than k is not excused); no cutoff divides by the run's
    length."""
    depth = len(ranked) if k is None else k
    return len(relevant.keys() & ranked[:k]) / depth if depth else 0.0


def average_precision(ranked: Ranking, relevant: Relevant, k: int | None = None) -> float:
    """AP@k: the sum of precision@i at each relevant rank i <= k, over *all* relevant documents (trec_eval's ``map``
    and ranx's ``map@k``); its mean over queries is MAP."""
    hit_ranks = [rank for rank, doc_id in enumerate(ranked[:k], start=1) if doc_id in relevant]
    return sum(hits / rank for hits, rank in enumerate(hit_ranks, start=1)) / len(relevant) if relevant else 0.0


def hit_rate(ranked: Ranking, relevant: Relevant, k: int | None = None) -> float:
    """1.0 if any relevant document is in the top k, else 0.0."""
    return float(not relevant.keys().isdisjoint(ranked[:k]))


# Many rankings at once: (queries, points, k) top-k gains -> (queries, points) ----------------------------------------

@dataclass
class Judged:
    """What the batched metrics need per pooled query: ``gains`` (Q, N) the grade of each pool document (0 unless
    relevant), ``n_relevant``, ``ideal`` (the ideal DCG at the cutoff, from every judged relevant document, as
    :func:`ndcg`) and ``depth`` (the length of each query's fused run, which a metric without a cutoff divides by)."""

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


def batched_ndcg(top: np.ndarray, judged: Judged, k: int | None) -> np.ndarray:
    dcg = (top / np.log2(np.arange(top.shape[-1]) + 2.0)).sum(axis=-1)
    return dcg / judged.ideal[:, None]


def batched_reciprocal_rank(top: np.ndarray, judged: Judged, k: int | None) -> np.ndarray:
    hits = top > 0
    return np.where(hits.any(axis=-1), 1.0 / (hits.argmax(axis=-1) + 1.0), 0.0)


def batched_recall(top: np.ndarray, judged: Judged, k: int | None) -> np.ndarray:
    return (top > 0).sum(axis=-1) / judged.n_relevant[:, None]


def batched_precision(top: np.ndarray, judged: Judged, k: int | None) -> np.ndarray:
    depth = judged.depth[:, None] if k is None else np.full((len(top), 1), float(k))
    return (top > 0).sum(axis=-1) / np.maximum(depth, 1.0)  # an empty run has precision 0


def batched_average_precision(top: np.ndarray, judged: Judged, k: int | None) -> np.ndarray:
    hits = top > 0
    precision_at = np.cumsum(hits, axis=-1) / np.arange(1.0, top.shape[-1] + 1)
    return (precision_at * hits).sum(axis=-1) / judged.n_relevant[:, None]


def batched_hit_rate(top: np.ndarray, judged: Judged, k: int | None) -> np.ndarray:
    return (top > 0).any(axis=-1).astype(float)


# The registry -------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Metric:
    """One metric family in its two forms: ``scalar(ranked, relevant, k)`` for one ranking, ``batched(top, judged,
    k)`` for the top-k gains of many rankings (the tuning grid). Calling it applies the scalar form."""

    scalar: Callable[[Ranking, Relevant, int | None], float]
    batched: Callable[[np.ndarray, Judged, int | None], np.ndarray]

    def __call__(self, ranked: Ranking, relevant: Relevant, k: int | None = None) -> float:
        return self.scalar(ranked, relevant, k)


METRICS: dict[str, Metric] = {
    "ndcg": Metric(ndcg, batched_ndcg),
    "mrr": Metric(reciprocal_rank, batched_reciprocal_rank),
    "recall": Metric(recall, batched_recall),
    "precision": Metric(precision, batched_precision),
    "map": Metric(average_precision, batched_average_precision),
    "hit_rate": Metric(hit_rate, batched_hit_rate),
}


def parse_metric(name: str) -> tuple[str, int | None]:
    """``"ndcg@10"`` -> ``("ndcg", 10)``, ``"mrr"`` -> ``("mrr", None)``; anything else is a ``ValueError``."""
    family, at, cutoff = name.strip().lower().partition("@")
    if family not in METRICS:
        raise ValueError(f"unknown metric {name!r}; valid families: {', '.join(METRICS)} "
                         "(optionally with a cutoff, e.g. 'ndcg@10')")
    if not at:
        return family, None
    if not (cutoff.isascii() and cutoff.isdigit()) or int(cutoff) < 1:
        raise ValueError(f"metric {name!r}: the cutoff after '@' must be a positive integer, e.g. '{family}@10'")
    return family, int(cutoff)


def rank(scores: Scores, k: int | None = None) -> list[str]:
    """Doc ids best first: descending score, ties by descending doc id (trec_eval); only the top ``k`` if given."""
    return [doc_id for _, doc_id in sorted(zip(scores.values(), scores.keys()), reverse=True)[:k]]


def evaluate_per_query(qrels: Qrels, run: Run, metrics: str | Sequence[str]) -> dict[str, dict[str, float]]:
    """``{metric: {query_id: score}}`` for every query of ``qrels`` with at least one relevant document."""
    names = [metrics] if isinstance(metrics, str) else list(metrics)
    if not names:
        raise ValueError("no metrics given; ask for at least one, e.g. ['ndcg@10', 'mrr']")
    parsed = {name: parse_metric(name) for name in names}
    cutoffs = [k for _, k in parsed.values()]
    # rank each query once, only as deep as a metric looks
    depth = None if None in cutoffs else max(k for k in cutoffs if k is not None)
    results: dict[str, dict[str, float]] = {name: {} for name in parsed}
    for qid, judged in qrels.items():
        relevant = {doc_id: grade for doc_id, grade in judged.items() if grade > 0}
        if not relevant:
            continue
        ranked = rank(run.get(qid, {}), depth)
        for name, (family, k) in parsed.items():
            results[name][qid] = METRICS[family].scalar(ranked, relevant, k)
    return results


def evaluate(qrels: Qrels, run: Run, metrics: str | Sequence[str]) -> dict[str, float]:
    """Mean of each metric over the evaluated queries (see the module docstring for which queries count)."""
    per_query = evaluate_per_query(qrels, run, metrics)
    if not next(iter(per_query.values())):
        raise ValueError("no query in the qrels has a relevant document (grade > 0); nothing to evaluate")
    return {name: math.fsum(scores.values()) / len(scores) for name, scores in per_query.items()}
