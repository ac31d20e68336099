"""Fusion-weight tuning: speed and quality on BEIR NFCorpus (323 test queries) and on the demo labelled set.

    .venv/bin/python benchmarks/bench_tune.py [--home DIR] [--demo-home DIR] [--data ../shared/data/beir/nfcorpus]

Targets (issue #4): the 231-point simplex × 3 normalisations × 323 queries evaluated in <= 2 s after the one-time
scoring; the whole ``sherlock tune`` on NFCorpus <= 60 s; on NFCorpus the cross-validated tuned setting >= the default
hybrid (>= 0.35); on the demo set the tuned weights beat each single retriever. Workspaces are kept between runs under
benchmarks/results/ (git-ignored): the NFCorpus one is bench_quality.py's.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from sherlock.config import load_settings
from sherlock.evaluation.grid import evaluate_points, features
from sherlock.evaluation.metrics import Judged
from sherlock.evaluation.query_sets import read_labelled_queries, read_qrels, read_queries
from sherlock.evaluation.tuning import check_options, simplex_points, tune
from sherlock.search.searcher import Searcher
from sherlock.storage.workspace import Workspace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_quality import DATA, table  # noqa: E402 - the quality benchmark's data path and table printer

NORMS = ("minmax", "zscore", "rank")


def open_workspace(home: Path, ingest: list[Path], fmt: str = "auto") -> Workspace:
    """The workspace at ``home``, ingesting ``ingest`` first when it is empty (as bench_quality.py does)."""
    workspace = Workspace(load_settings(home=home, demo=False))
    if not workspace.store.count():
        started = time.perf_counter()
        workspace.ingest(ingest, fmt=fmt)
        print(f"ingested {workspace.store.count()} documents into {home} ({time.perf_counter() - started:.0f}s)")
    elif not workspace.is_synced():
        workspace.sync()
    return workspace


def time_surface(pool, qrels, repeats: int = 3) -> tuple[float, float]:
    """Seconds to evaluate the 231-point simplex × 3 normalisations on every judged query (first run, best run)."""
    points = simplex_points(0.05)
    rows = [i for i, q in enumerate(pool.qids) if any(g > 0 for g in qrels.get(q, {}).values())]
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        padded = pool.padded.take(rows)
        judged = Judged.build([pool.doc_ids[i] for i in rows],
                              [{d: g for d, g in qrels[pool.qids[i]].items() if g > 0} for i in rows],
                              padded.raw.shape[1], 10)
        for norm in NORMS:
            evaluate_points(padded, judged, points, "wsum", norm, "ndcg@10", feats=features(padded, "wsum", norm))
        times.append(time.perf_counter() - started)
    return times[0], min(times)


def quality_rows(result, rrf) -> list[list[str]]:
    w = "/".join(f"{x:.2f}" for x in result.weights)
    return [["setting", "weights", "norm", result.metric],
            ["tuned wsum, 5-fold CV (held out)", "chosen per fold", "", f"{result.cv_mean:.4f} ± {result.cv_std:.4f}"],
            ["tuned wsum, all queries (in-sample)", w, result.norm, f"{result.score:.4f}"],
            ["tuned rrf, 5-fold CV (held out)", "chosen per fold", "", f"{rrf.cv_mean:.4f} ± {rrf.cv_std:.4f}"],
            ["tuned rrf, all queries (in-sample)", "/".join(f"{x:.2f}" for x in rrf.weights), "", f"{rrf.score:.4f}"],
            ["default 0.6/0.3/0.1", "0.60/0.30/0.10", "minmax", f"{result.default_score:.4f}"],
            *[[f"{name} only", "", result.norm, f"{score:.4f}"] for name, score in result.single.items()]]


def bench_nfcorpus(home: Path, data: Path) -> None:
    workspace = open_workspace(home, [data / "corpus.jsonl"], fmt="beir")
    qrels = read_qrels(data / "qrels" / "test.tsv")
    queries = {qid: text for qid, text in read_queries(data / "queries.jsonl").items() if qid in qrels}
    searcher = Searcher(workspace)
    started = time.perf_counter()
    pool = searcher.score_pools(queries, n=200)
    scoring_s = time.perf_counter() - started
    first_s, best_s = time_surface(pool, qrels)
    started = time.perf_counter()
    result = tune(pool, qrels, folds=5)
    tune_s = time.perf_counter() - started
    rrf = tune(pool, qrels, fusion="rrf", folds=5)
    env = {**os.environ, "SHERLOCK_HOME": str(home), "SHERLOCK_DEMO": "false"}
    started = time.perf_counter()
    cli = subprocess.run([sys.executable, "-m", "sherlock", "tune", "--queries", str(data / "queries.jsonl"),
                          "--qrels", str(data / "qrels" / "test.tsv"), "--json"], capture_output=True, text=True,
                         env=env, timeout=600)
    cli_s = time.perf_counter() - started
    if cli.returncode:
        raise SystemExit(f"sherlock tune failed:\n{cli.stderr}")
    sizes = [len(ids) for ids in pool.doc_ids]
    print(f"\nNFCorpus: {workspace.store.count()} docs, {len(queries)} test queries; candidate pools "
          f"{np.mean(sizes):.0f} docs on average (max {max(sizes)})")
    print(table([["step", "seconds", "target"],
                 ["one-time scoring (every query, all 3 retrievers, n=200)", f"{scoring_s:.2f}", ""],
                 ["231 points × 3 norms × 323 queries (first / best of 3)", f"{first_s:.2f} / {best_s:.2f}", "<= 2"],
                 ["tune(): surface + 5-fold CV + default/current/singles", f"{tune_s:.2f}", ""],
                 ["`sherlock tune` end to end (process, scoring, tuning, MLflow)", f"{cli_s:.1f}", "<= 60"]]))
    print()
    print(table(quality_rows(result, rrf)))
    verdict = result.cv_mean >= result.default_score >= 0.35
    print(f"target: tuned (CV) >= default >= 0.35: {result.cv_mean:.4f} >= {result.default_score:.4f} -> "
          f"{'met' if verdict else 'NOT met'}")


def bench_demo(home: Path) -> None:
    from sherlock.config import DEMO_DIR
    workspace = open_workspace(home, [DEMO_DIR / "incidents.jsonl"])
    queries, qrels = read_labelled_queries(DEMO_DIR / "queries.jsonl")
    pool = Searcher(workspace).score_pools(queries, n=200)
    result = tune(pool, qrels, folds=5)
    rrf = tune(pool, qrels, fusion="rrf", folds=5)
    print(f"\nDemo labelled set: {workspace.store.count()} incidents, {len(result.per_query)} judged queries")
    print(table(quality_rows(result, rrf)))
    beaten = {name: result.cv_mean > score for name, score in result.single.items()}
    print(f"target: tuned (CV) beats each single retriever: {beaten} -> "
          f"{'met' if all(beaten.values()) else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=ROOT / "benchmarks" / "results" / "nfcorpus-home")
    parser.add_argument("--demo-home", type=Path, default=ROOT / "benchmarks" / "results" / "demo-home")
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    check_options()
    bench_nfcorpus(args.home, args.data)
    bench_demo(args.demo_home)


if __name__ == "__main__":
    main()
