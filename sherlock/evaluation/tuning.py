"""Fusion-weight tuning: score a labelled query set once, evaluate every point of the weight simplex exactly, and
report a k-fold cross-validated score next to the default, the current setting and each retriever alone.

    pool = searcher.score_pools(queries, n=200)          # the one slow step: every retriever, every pool document
    result = tune(pool, qrels, metric="ndcg@10")           # every weight point × normalisation, vectorised
    apply_result(settings, result)                        # search, chat and the CLI use the new weights

Unlike a re-fuse-per-point grid search (ranx's ``optimize_fusion``), weights are enumerated with integer numerators
(so 0.6/0.3/0.1 is always a candidate, exactly), every point is scored in one numpy pass
(:mod:`sherlock.evaluation.grid`),
and the reported score is held out: weights are chosen on the training folds and scored on the remaining one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sherlock.config import Settings, write_settings_file
from sherlock.evaluation.grid import PaddedPool, evaluate_points, features
from sherlock.evaluation.metrics import Judged, parse_metric
from sherlock.evaluation.query_sets import query_set_hash
from sherlock.evaluation.tuning_mlflow import log_to_mlflow
from sherlock.run import Qrels
from sherlock.search.fusion import DEFAULT_WEIGHTS, FUSERS, RETRIEVERS
from sherlock.search.fusion import check_options as check_fusion_options
from sherlock.search.normalise import NORMALIZERS
from sherlock.search.ranking import CandidatePool

__all__ = [
    "DEFAULT",
    "FUSIONS",
    "NORMS",
    "RETRIEVERS",
    "CandidatePool",
    "TuneResult",
    "apply_result",
    "check_options",
    "cross_validate",
    "log_to_mlflow",
    "simplex_points",
    "tune",
    "with_current",
]

FUSIONS = tuple(FUSERS)
NORMS = tuple(NORMALIZERS)
#: The original SherlockAI's setting: weighted sum 0.6/0.3/0.1 over min-max scores.
DEFAULT = (DEFAULT_WEIGHTS, "wsum", "minmax")
#: Fusion methods that ignore the ``norm`` option (RRF works on ranks, DBSF is its own normalisation).
NORM_FREE = {"rrf", "dbsf"}
#: A fusion setting: (weights, fusion, norm).
Setting = tuple[tuple[float, float, float], str, str]


def simplex_points(step: float = 0.05) -> np.ndarray:
    """Every (dense, bm25, tfidf) weight triple on a grid of ``step`` that sums to 1, as (P, 3) — numerators are
    integers, so 0.6/0.3/0.1 is exactly ``(12, 6, 2) / 20`` (the same floats as the literals). ``step`` 0.05 gives
    (20 + 1)(20 + 2) / 2 = 231 points; the order is by dense weight, then BM25 weight, ascending."""
    n = round(1 / step) if step > 0 else 0
    if n < 1 or abs(n * step - 1) > 1e-9:
        raise ValueError(f"step must divide 1 into a whole number of parts (0.1, 0.05, 0.025, …), got {step!r}")
    return np.array([(i / n, j / n, (n - i - j) / n) for i in range(n + 1) for j in range(n + 1 - i)])


def cross_validate(scores: np.ndarray, folds: int = 5, seed: int = 0,
                   prefer: np.ndarray | None = None) -> list[dict[str, Any]]:
    """k-fold cross-validation of a choice among candidates. ``scores`` is (C, Q): each candidate's per-query metric.
    Queries are shuffled with ``seed`` and split into ``folds``; in each fold the candidate with the best mean on the
    *training* queries only is chosen (ties: lowest ``prefer``, then first) and scored on the held-out queries."""
    n_queries = scores.shape[1]
    if isinstance(folds, bool) or not isinstance(folds, int | np.integer) or folds < 2:
        raise ValueError(f"folds must be an integer >= 2, got {folds!r}")
    if folds > n_queries:
        raise ValueError(f"{folds} folds need at least {folds} judged queries, got {n_queries}; use fewer folds")
    order = np.random.default_rng(seed).permutation(n_queries)
    results = []
    for number, test in enumerate(np.array_split(order, folds), start=1):
        train = np.setdiff1d(order, test)
        chosen = select(scores[:, train].mean(axis=1), prefer)
        results.append({"fold": number, "candidate": chosen, "train_queries": len(train), "test_queries": len(test),
                        "train": float(scores[chosen, train].mean()), "test": float(scores[chosen, test].mean()),
                        "test_rows": test.tolist()})
    return results


def select(means: np.ndarray, prefer: np.ndarray | None = None, tolerance: float = 1e-12) -> int:
    """Index of the best mean; among means within ``tolerance`` of it, the lowest ``prefer`` (then the first)."""
    best = np.flatnonzero(means >= means.max() - tolerance)
    if prefer is not None and len(best) > 1:
        return int(best[np.argmin(prefer[best])])
    return int(best[0])


@dataclass
class TuneResult:
    """The best setting on all queries, its cross-validated score and the references, plus what the page plots."""

    metric: str
    fusion: str
    norm: str
    weights: tuple[float, float, float]
    score: float
    cv_mean: float
    cv_std: float
    cv_folds: list[dict]
    default_score: float
    current_score: float
    single: dict[str, float]
    surface: pd.DataFrame
    per_query: pd.DataFrame
    single_per_query: pd.DataFrame
    mlflow_run_id: str | None = None
    params: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The ``sherlock tune --json`` contract."""
        return {"weights": list(self.weights), "fusion": self.fusion, "norm": self.norm, "metric": self.metric,
                "score": self.score, "cv": {"mean": self.cv_mean, "std": self.cv_std},
                "default_score": self.default_score, "single": dict(self.single), "mlflow_run_id": self.mlflow_run_id}


def _judged(pool: CandidatePool, qrels: Qrels, k: int | None) -> tuple[np.ndarray, Judged]:
    """Rows of the pool's queries that have a relevant document (others are skipped, as by ``evaluate``)."""
    relevant = {qid: {d: g for d, g in qrels.get(qid, {}).items() if g > 0} for qid in pool.qids}
    rows = np.array([i for i, qid in enumerate(pool.qids) if relevant[qid]], dtype=np.int64)
    if not len(rows):
        raise ValueError(f"none of the {len(pool.qids)} scored queries has a relevant document (grade > 0) in the "
                         "qrels; check that the qrels' query ids match the queries'")
    judged = Judged.build([pool.doc_ids[i] for i in rows], [relevant[pool.qids[i]] for i in rows],
                          pool.padded.raw.shape[1], k)
    return rows, judged


def check_options(metric: str = "ndcg@10", fusion: str = "wsum", norms: Sequence[str] = ("minmax", "zscore", "rank"),
                  step: float = 0.05, folds: int = 5) -> list[str]:
    """Validate tuning options before any slow work (``ValueError`` saying what to fix); returns the normalisations
    to evaluate (just the first for ``rrf``/``dbsf``, which ignore it)."""
    parse_metric(metric)
    simplex_points(step)
    if isinstance(folds, bool) or not isinstance(folds, int | np.integer) or folds < 2:
        raise ValueError(f"folds must be an integer >= 2, got {folds!r}")
    norms = list(dict.fromkeys([norms] if isinstance(norms, str) else norms))
    if not norms:
        raise ValueError(f"give at least one normalisation: {', '.join(NORMS)}")
    for norm in norms:
        check_fusion_options(fusion, norm)
    return norms[:1] if fusion in NORM_FREE else norms


def tune(pool: CandidatePool, qrels: Qrels, metric: str = "ndcg@10", fusion: str = "wsum",
         norms: Sequence[str] = ("minmax", "zscore", "rank"), step: float = 0.05, folds: int = 5, seed: int = 0,
         current: Setting | None = None, rrf_k: int = 60) -> TuneResult:
    """Evaluate every simplex point under each normalisation (once for ``rrf``/``dbsf``, which ignore it), pick the
    best on all judged queries, and cross-validate that choice. ``current`` is the workspace's (weights, fusion,
    norm); ties between points go to the one nearest the current weights (the default when not given)."""
    norms = check_options(metric, fusion, norms, step, folds)
    points = simplex_points(step)
    rows, judged = _judged(pool, qrels, parse_metric(metric)[1])
    padded = pool.padded.take(rows)
    surface = np.stack([evaluate_points(padded, judged, points, fusion, norm, metric, rrf_k,
                                        feats=features(padded, fusion, norm, rrf_k)) for norm in norms])
    scores = surface.reshape(len(norms) * len(points), len(rows))  # candidate = (norm, point), norm-major
    current = current or DEFAULT
    anchor = np.asarray(current[0], dtype=float) / max(sum(current[0]), 1e-12)
    prefer = np.tile(np.abs(points - anchor).sum(axis=1), len(norms)) + np.repeat(np.arange(len(norms)) * 1e-6,
                                                                                  len(points))
    best = select(scores.mean(axis=1), prefer)
    cv = cross_validate(scores, folds, seed, prefer)
    qids = [pool.qids[i] for i in rows]
    for fold in cv:
        chosen = fold.pop("candidate")
        fold["norm"], fold["weights"] = norms[chosen // len(points)], points[chosen % len(points)].tolist()
        fold["test_qids"] = [qids[i] for i in fold.pop("test_rows")]
    tests = np.array([fold["test"] for fold in cv])
    default_pq, current_pq = (setting_scores(padded, judged, setting, metric, rrf_k) for setting in (DEFAULT, current))
    norm = norms[best // len(points)]
    in_norm = surface[best // len(points)]
    one_hot = {name: int(np.flatnonzero(points[:, r] == 1.0)[0]) for r, name in enumerate(RETRIEVERS)}
    best_pq = scores[best]
    grid = pd.DataFrame(np.tile(points, (len(norms), 1)), columns=list(RETRIEVERS))
    grid["norm"], grid["fusion"], grid["score"] = np.repeat(norms, len(points)), fusion, scores.mean(axis=1)
    per_query = pd.DataFrame({"qid": qids, "query": [pool.queries[q] for q in qids], "best": best_pq,
                              "current": current_pq, "default": default_pq, "delta": best_pq - current_pq})
    single_pq = pd.DataFrame({"qid": qids, **{name: in_norm[i] for name, i in one_hot.items()}})
    params = {"metric": metric, "fusion": fusion, "norms": ",".join(norms), "step": step, "points": len(points),
              "folds": folds, "seed": seed, "rrf_k": rrf_k, "queries": len(rows), "candidates": pool.n,
              "corpus_revision": pool.revision, "current": json.dumps([list(current[0]), *current[1:]]),
              "query_set_hash": query_set_hash({q: pool.queries[q] for q in qids}, qrels)}
    return TuneResult(metric=metric, fusion=fusion, norm=norm,
                      weights=(float(points[best % len(points)][0]), float(points[best % len(points)][1]),
                               float(points[best % len(points)][2])), score=float(best_pq.mean()),
                      cv_mean=float(tests.mean()), cv_std=float(tests.std(ddof=1)), cv_folds=cv,
                      default_score=float(default_pq.mean()), current_score=float(current_pq.mean()),
                      single={name: float(in_norm[i].mean()) for name, i in one_hot.items()},
                      surface=grid, per_query=per_query, single_per_query=single_pq, params=params)


def setting_scores(padded: PaddedPool, judged: Judged, setting: Setting, metric: str, rrf_k: int) -> np.ndarray:
    """The per-query ``metric`` of one (weights, fusion, norm) setting on the judged rows of a pool."""
    weights, method, norm = setting
    return evaluate_points(padded, judged, np.asarray([weights], dtype=float), method, norm, metric, rrf_k)[0]


def with_current(result: TuneResult, pool: CandidatePool, qrels: Qrels, current: Setting) -> TuneResult:
    """``result`` with ``current`` as the workspace's setting — after the tuned weights were applied, or the settings
    changed elsewhere — scored on the same judged queries: ``current_score`` and the per-query ``current`` and
    ``delta`` columns follow it; everything chosen and logged stays as it was."""
    rows, judged = _judged(pool, qrels, parse_metric(result.metric)[1])
    scores = setting_scores(pool.padded.take(rows), judged, current, result.metric,
                            int(result.params.get("rrf_k", 60)))
    per_query = result.per_query.assign(current=scores, delta=result.per_query["best"].to_numpy() - scores)
    return replace(result, current_score=float(scores.mean()), per_query=per_query)


def apply_result(settings: Settings, result: TuneResult, mode: str = "search") -> Path:
    """Write the tuned weights, fusion and normalisation to ``<home>/sherlock.toml`` (search, chat and the CLI read
    it; a ``SHERLOCK_WEIGHTS``/``_FUSION``/``_NORM`` environment variable still overrides it). ``mode="similar"``
    writes the similar-incidents mode's own ``similar_weights``/``similar_fusion``/``similar_norm``."""
    if mode not in ("search", "similar"):
        raise ValueError(f"unknown tuning mode {mode!r}; use 'search' or 'similar'")
    prefix = "similar_" if mode == "similar" else ""
    return write_settings_file(settings.home, {f"{prefix}weights": list(result.weights),
                                               f"{prefix}fusion": result.fusion, f"{prefix}norm": result.norm})
