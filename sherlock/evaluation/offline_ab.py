"""Offline A/B comparison of two retrieval configurations on the same labelled queries.

    result = run_offline(workspace, load_variant("experiments/baseline.toml"), load_variant("experiments/rrf.toml"),
                         queries, qrels, metrics=("ndcg@10", "mrr@10", "recall@10"))
    result.as_dict()   # the ``sherlock ab --json`` contract

Each arm's rankings come from the ranking path's :class:`~sherlock.search.ranking.CandidatePool`: the pool of every
query is scored once per *index* setting (embedding model, BM25 parameters, pool size) and both arms are fused from
it, so an A/B of fusion settings costs one scoring pass, and each arm ranks exactly as ``Searcher.rank`` would with
its settings.
Per-query metrics are :func:`sherlock.evaluation.metrics.evaluate_per_query` (trec_eval semantics); the statistics are
:mod:`sherlock.evaluation.stats` (paired tests, a bootstrap CI of the difference, Holm across metrics).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from sherlock.evaluation import stats
from sherlock.evaluation.metrics import evaluate_per_query, parse_metric
from sherlock.evaluation.query_sets import query_set_hash
from sherlock.evaluation.variants import FUSION_KEYS, INDEX_SETTINGS, Variant
from sherlock.run import Qrels, Run
from sherlock.search.ranking import CandidatePool
from sherlock.search.searcher import Searcher
from sherlock.storage.workspace import Workspace

DEFAULT_METRICS = ("ndcg@10", "mrr@10", "recall@10")
ARMS = ("a", "b")

#: ``progress(stage, done, total)``, as everywhere in Sherlock.
Progress = Callable[[str, int, int], None]


@dataclass
class ABResult:
    """Both arms' per-query metrics and the comparison. ``scores[arm]`` is a frame indexed by query id with one
    column per metric; ``stats`` maps each metric to :func:`sherlock.evaluation.stats.compare_metrics`'s entry."""

    variants: dict[str, Variant]
    metrics: list[str]
    queries: dict[str, str]
    scores: dict[str, pd.DataFrame]
    stats: dict[str, dict[str, Any]]
    params: dict[str, Any]
    arm_params: dict[str, dict[str, str]]
    seconds: dict[str, float] = field(default_factory=dict)
    mlflow_run_ids: dict[str, str] = field(default_factory=dict)
    mlflow_experiment_id: str | None = None

    @property
    def name(self) -> str:
        return f"{self.variants['a'].name} vs {self.variants['b'].name}"

    @property
    def primary(self) -> str:
        """The first metric: the one wins/ties/losses are counted on."""
        return self.metrics[0]

    def outcome(self) -> tuple[int, int, int]:
        entry = self.stats[self.primary]
        return entry["wins"], entry["ties"], entry["losses"]

    def per_query(self) -> pd.DataFrame:
        """One row per query: its text and, per metric, arm A, arm B and B − A."""
        frame = pd.DataFrame({"qid": list(self.scores["a"].index)})
        frame["query"] = [self.queries.get(q, "") for q in frame["qid"]]
        for metric in self.metrics:
            a, b = self.scores["a"][metric].to_numpy(), self.scores["b"][metric].to_numpy()
            frame[f"{metric} a"], frame[f"{metric} b"], frame[f"{metric} diff"] = a, b, b - a
        return frame

    def better(self, metric: str) -> str | None:
        """``"a"`` or ``"b"``: the arm that is significantly better on ``metric``; ``None`` when neither is."""
        entry = self.stats[metric]
        return better_arm(entry["diff"], entry["significant"])

    def as_dict(self) -> dict[str, Any]:
        """The ``sherlock ab --json`` contract; ``arms`` gives each arm's variant and the weights, fusion and norm it
        ranked with (resolved: ``workspace`` is the workspace's setting at the time)."""
        wins, ties, losses = self.outcome()
        keys = ("a", "b", "diff", "ci95", "p_paired_t", "p_wilcoxon", "p_permutation", "p_welch", "cohens_d",
                "p_holm", "significant", "wins", "ties", "losses")
        arms = {arm: {"variant": self.variants[arm].name,
                      **{key: _plain(getattr(self.variants[arm].search, key)) for key in FUSION_KEYS}}
                for arm in ARMS}
        return {"metrics": {m: {**{k: self.stats[m][k] for k in keys}, "better": self.better(m)}
                            for m in self.metrics},
                "wins": wins, "ties": ties, "losses": losses, "primary": self.primary,
                "variants": {arm: self.variants[arm].name for arm in ARMS}, "arms": arms,
                "queries": len(self.scores["a"]), "params": self.params, "seconds": self.seconds,
                "mlflow_run_ids": dict(self.mlflow_run_ids)}


def better_arm(diff: float, significant: bool) -> str | None:
    """The arm a significant difference B − A favours (``"b"`` when positive, ``"a"`` when negative); ``None`` when
    the difference is not significant (or is zero)."""
    if not significant or diff == 0:
        return None
    return "b" if diff > 0 else "a"


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def check_metrics(metrics: str | Sequence[str]) -> list[str]:
    """Parse ``"ndcg@10,mrr@10"`` or a list; ``ValueError`` naming a metric that is not known."""
    names = [m.strip() for m in (metrics.split(",") if isinstance(metrics, str) else metrics) if m.strip()]
    if not names:
        raise ValueError("give at least one metric, e.g. ndcg@10,mrr@10,recall@10")
    for name in names:
        parse_metric(name)
    return list(dict.fromkeys(names))


def judged_queries(queries: dict[str, str], qrels: Qrels) -> dict[str, str]:
    """The queries that have at least one relevant document (others carry no signal and are skipped, as by
    ``evaluate``); ``ValueError`` when none has."""
    judged = {qid: text for qid, text in queries.items() if any(g > 0 for g in qrels.get(qid, {}).values())}
    if not judged:
        raise ValueError(f"none of the {len(queries)} queries has a relevant document (grade > 0) in the qrels; "
                         "check that the qrels' query ids match the queries'")
    return judged


def score_arms(workspace: Workspace, variants: dict[str, Variant], queries: dict[str, str], metrics: list[str],
               progress: Progress | None = None) -> tuple[dict[str, Run], dict[str, float]]:
    """Each arm's run over ``queries``; arms that index alike share one scored pool. Returns runs and timings."""
    settings = {arm: variant.settings(workspace.settings) for arm, variant in variants.items()}
    pools: dict[tuple, CandidatePool] = {}
    seconds: dict[str, float] = {}
    runs: dict[str, Run] = {}
    for arm, variant in variants.items():
        key = tuple(getattr(settings[arm], name) for name in INDEX_SETTINGS)
        if key not in pools:
            started = time.perf_counter()
            searcher = Searcher(workspace, settings[arm])

            def tick(done: int, total: int, arm: str = arm) -> None:
                if progress:
                    progress(f"scoring queries (arm {arm})", done, total)

            pools[key] = searcher.score_pools(queries, settings[arm].candidates, progress=tick)
            seconds[f"score_{arm}"] = round(time.perf_counter() - started, 3)
        started = time.perf_counter()
        runs[arm] = pools[key].rank(settings[arm], variant.depth(metrics))
        seconds[f"rank_{arm}"] = round(time.perf_counter() - started, 3)
    seconds["pools_scored"] = len(pools)
    return runs, seconds


def per_query_scores(qrels: Qrels, run: Run, metrics: list[str], qids: list[str]) -> pd.DataFrame:
    """A frame indexed by query id (in ``qids`` order) with one column per metric."""
    values = evaluate_per_query(qrels, run, metrics)
    return pd.DataFrame({m: [values[m].get(q, 0.0) for q in qids] for m in metrics},
                        index=pd.Index(qids, name="qid"))


def compare_scores(a: pd.DataFrame, b: pd.DataFrame, metrics: Sequence[str], resamples: int = 10_000,
                   seed: int = 0, alpha: float = 0.05) -> dict[str, dict[str, Any]]:
    """The statistics of two arms' per-query metrics, paired on the query ids they share (in ``a``'s order)."""
    common = [q for q in a.index if q in set(b.index)]
    if len(common) < 2:
        raise ValueError(f"the two runs share {len(common)} query ids; a paired comparison needs the same queries "
                         "(were they evaluated on the same query set?)")
    missing = [m for m in metrics if m not in a.columns or m not in b.columns]
    if missing:
        shared = sorted(set(a.columns) & set(b.columns))
        raise ValueError(f"metric {missing[0]!r} is not in both runs; they have {shared}")
    return stats.compare_metrics({m: a.loc[common, m].to_numpy(float) for m in metrics},
                                 {m: b.loc[common, m].to_numpy(float) for m in metrics},
                                 resamples=resamples, seed=seed, alpha=alpha)


def run_offline(workspace: Workspace, variant_a: Variant, variant_b: Variant, queries: dict[str, str], qrels: Qrels,
                metrics: str | Sequence[str] = DEFAULT_METRICS, resamples: int = 10_000, seed: int = 0,
                alpha: float = 0.05, query_set: str = "", progress: Progress | None = None) -> ABResult:
    """Compare ``variant_b`` against ``variant_a`` on the judged ``queries``: per-query metrics for both arms, then
    per metric both means, B − A with a seeded bootstrap CI, paired t / Wilcoxon / randomisation / Welch p-values,
    Cohen's d, Holm-adjusted p across the metrics, and win/tie/loss on the first metric."""
    metrics = check_metrics(metrics)
    if resamples < 1:
        raise ValueError(f"resamples must be positive, got {resamples}")
    # each arm as it ranks here, so the result names its weights, fusion and norm even when an arm is `workspace`
    variants = {arm: v.resolved(workspace.settings) for arm, v in (("a", variant_a), ("b", variant_b))}
    arm_params = {arm: v.params(workspace.settings, metrics) for arm, v in variants.items()}
    judged = judged_queries(queries, qrels)
    started = time.perf_counter()
    runs, seconds = score_arms(workspace, variants, judged, metrics, progress)
    qids = list(judged)
    scores = {arm: per_query_scores(qrels, runs[arm], metrics, qids) for arm in ARMS}
    began = time.perf_counter()
    comparison = compare_scores(scores["a"], scores["b"], metrics, resamples, seed, alpha)
    seconds["statistics"] = round(time.perf_counter() - began, 3)
    seconds["total"] = round(time.perf_counter() - started, 3)
    params = {"query_set": query_set, "query_set_hash": query_set_hash(judged, qrels), "queries": len(qids),
              "queries_given": len(queries), "corpus_revision": workspace.store.revision(),
              "metrics": ",".join(metrics), "resamples": resamples, "seed": seed, "alpha": alpha,
              "holm_over": stats.PRIMARY_TEST}
    return ABResult(variants, metrics, judged, scores, comparison, params, arm_params, seconds)
