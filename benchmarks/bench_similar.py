"""Similar incidents: "same root cause" quality on IDDS, near-duplicate precision/recall on DFDS, warm latency at 10k.

    .venv/bin/python benchmarks/bench_similar.py [--latency-home benchmarks/results/speed-10000/home] [--queries 200]

Targets (issue #13): nDCG@10 on a held-out "same root cause" split above every anchor — BM25, MiniLM dense, the
default hybrid search, and the best weighted sum of search found by an oracle grid on the held-out half itself; a
similar-incidents call for a stored incident at 10k p95 <= 50 ms warm. The sets are built by tools/similar_sets.py
from ../shared/data/postmortems; every default was chosen on the ``dev`` half, the ``held`` half is only reported.
Workspaces are kept under benchmarks/results/ (git-ignored).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sherlock.cli.output import table  # noqa: E402
from sherlock.config import load_settings  # noqa: E402
from sherlock.evaluation.metrics import evaluate, evaluate_per_query  # noqa: E402
from sherlock.evaluation.stats import bootstrap_ci  # noqa: E402
from sherlock.evaluation.tuning import tune  # noqa: E402
from sherlock.search.searcher import Searcher  # noqa: E402
from sherlock.search.similar import SimilarFinder  # noqa: E402
from sherlock.storage.duplicates import find_duplicates  # noqa: E402
from sherlock.storage.workspace import Workspace  # noqa: E402
from tools import similar_sets as sets  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"


def without_self(run: dict) -> dict:
    return {q: {d: s for d, s in ranked.items() if d != q} for q, ranked in run.items()}


def ndcg(qrels: dict, run: dict, qids: list[str]) -> float:
    return evaluate({q: qrels[q] for q in qids}, {q: run.get(q, {}) for q in qids}, ["ndcg@10"])["ndcg@10"]


def workspace_for(name: str, records: list[dict]) -> Workspace:
    workspace = Workspace(load_settings(home=RESULTS / f"{name}-home", demo=False))
    corpus = sets.write_jsonl(records, RESULTS / name / "incidents.jsonl")
    if workspace.store.count() != len(records) or not workspace.is_synced():
        workspace.ingest([corpus])
    return workspace


def idds_tables(workspace: Workspace, rows: list[dict]) -> None:
    qrels = sets.idds_qrels(rows)
    halves = {part: sorted(q for q in qrels if sets.half(q) == part) for part in ("dev", "held")}
    by_id = {row["id"]: row for row in rows}
    searcher, finder = Searcher(workspace), SimilarFinder(workspace)
    lexical = workspace.lexical()
    for task in ("new report (title + summary)", "stored incident (every field)"):
        stored = task.startswith("stored")
        incidents = workspace.store.get_many(qrels) if stored else {q: sets.idds_new_report(by_id[q]) for q in qrels}
        texts = {q: incidents[q].text() for q in qrels}
        started = time.perf_counter()
        runs = {
            "BM25 (the report as the query)": without_self(dict(zip(texts, lexical.bm25.search_many(
                list(texts.values()), 101), strict=True))),
            "dense MiniLM": without_self(dict(zip(texts, workspace.dense.search_many(list(texts.values()), 101),
                                                  strict=True))),
            "hybrid search, default 0.6/0.3/0.1": without_self(searcher.rank(texts, k=101)),
        }
        search_pool = searcher.score_pools(texts, n=200).excluding({q: {q} for q in texts})
        similar_pool = finder.score_pools(incidents, n=200)
        runs["similar incidents, default"] = similar_pool.rank(_similar_settings(finder), 100)
        took = time.perf_counter() - started
        rows_out = [["run", "nDCG@10 dev", "nDCG@10 held"]]
        for name, run in runs.items():
            rows_out.append([name, f"{ndcg(qrels, run, halves['dev']):.4f}", f"{ndcg(qrels, run, halves['held']):.4f}"])
        for label, pool in (("search", search_pool), ("similar", similar_pool)):
            oracle = {part: tune(pool, {q: qrels[q] for q in qids}, norms=("minmax",), folds=2)
                      for part, qids in halves.items()}
            rows_out.append([f"oracle: best weighted sum of {label}, tuned on the half itself",
                             f"{oracle['dev'].score:.4f} {_w(oracle['dev'].weights)}",
                             f"{oracle['held'].score:.4f} {_w(oracle['held'].weights)}"])
        rows_out.append(["similar - hybrid search, paired 95% bootstrap CI", _diff(qrels, runs, halves["dev"]),
                         _diff(qrels, runs, halves["held"])])
        print(f"\nIDDS same root cause, {task}: {len(halves['dev'])} dev / {len(halves['held'])} held queries, "
              f"{workspace.store.count()} incidents, {sum(map(len, qrels.values())) / len(qrels):.0f} relevant per "
              f"query on average ({took:.0f} s)")
        print(table(rows_out))


def _diff(qrels: dict, runs: dict, qids: list[str]) -> str:
    """The mean per-query nDCG@10 difference of the similar mode over hybrid search, with its bootstrap CI."""
    scores = {name: evaluate_per_query({q: qrels[q] for q in qids}, {q: runs[name].get(q, {}) for q in qids},
                                       "ndcg@10")["ndcg@10"]
              for name in ("similar incidents, default", "hybrid search, default 0.6/0.3/0.1")}
    diffs = [scores["similar incidents, default"].get(q, 0.0) - scores["hybrid search, default 0.6/0.3/0.1"].get(q, 0.0)
             for q in qids]
    low, high = bootstrap_ci(diffs)
    return f"{sum(diffs) / len(diffs):+.4f} [{low:+.4f}, {high:+.4f}]"


def _similar_settings(finder: SimilarFinder):
    s = finder.settings
    return s.model_copy(update={"weights": s.similar_weights, "fusion": s.similar_fusion, "norm": s.similar_norm,
                                "entity_boost": False, "coverage_weight": 0.0})


def _w(weights: tuple[float, ...]) -> str:
    return "(" + "/".join(f"{w:g}" for w in weights) + ")"


def dfds_table(workspace: Workspace, rows: list[dict]) -> None:
    truth = sets.dfds_duplicate_pairs(rows)
    ids = [row["id"] for row in rows]
    default = workspace.settings
    sweep = [["cosine >=", "reported", "correct", "precision", "recall"]]
    reported_at: dict[float, set] = {}
    for threshold in (0.99, 0.97, 0.95, 0.93, 0.90, 0.85, 0.80):
        workspace.settings = default.model_copy(update={"duplicate_similarity": threshold})
        try:
            reported = {tuple(sorted((d.id, d.of))) for d in find_duplicates(workspace, ids)}
        finally:
            workspace.settings = default
        reported_at[threshold] = reported
        hits = reported & truth
        precision = f"{len(hits) / len(reported):.2f}" if reported else "-"
        mark = " (default)" if threshold == default.duplicate_similarity else ""
        sweep.append([f"{threshold:.2f}{mark}", str(len(reported)), str(len(hits)), precision,
                      f"{len(hits) / len(truth):.2f}"])
    snapshot = workspace.lexical()
    similarity = {pair: float(snapshot.vector(pair[0]) @ snapshot.vector(pair[1])) for pair in truth}
    chosen = reported_at.get(default.duplicate_similarity, set())
    print(f"\nDFDS near-duplicates (same service, within {default.duplicate_window_days:g} days): {len(truth)} true "
          f"pairs (the same title) among {len(rows)} postmortems")
    print(table(sweep))
    print(table([["true pair", "cosine", "days apart", "reported at the default"]] + [
        [f"{a} ~ {b}", f"{similarity[(a, b)]:.3f}", _days(workspace, a, b), "yes" if (a, b) in chosen else "no"]
        for a, b in sorted(truth)]))


def _days(workspace: Workspace, a: str, b: str) -> str:
    found = workspace.store.get_many([a, b])
    first, second = found[a].created_date(), found[b].created_date()
    return str(abs((first - second).days)) if first and second else "?"


def latency_table(home: Path, n: int) -> None:
    if not (home / "store.sqlite").exists():
        print(f"\n(no workspace at {home}: run benchmarks/bench_speed.py first for the latency table)")
        return
    workspace = Workspace(load_settings(home=home, demo=False))
    finder = SimilarFinder(workspace)
    ids = sorted(workspace.store.hashes())[:: max(1, workspace.store.count() // n)][:n]
    finder.similar(ids[0])  # warm: snapshot, model, stems
    took = []
    for incident_id in ids:
        started = time.perf_counter()
        finder.similar(incident_id, k=10)
        took.append((time.perf_counter() - started) * 1000)
    took.sort()
    p95 = took[min(len(took) - 1, round(0.95 * (len(took) - 1)))]
    print(f"\nSimilar incidents for a stored incident, warm, {workspace.store.count()} incidents, {len(ids)} calls")
    print(table([["p50 ms", "p95 ms", "mean ms", "target p95"],
                 [f"{statistics.median(took):.1f}", f"{p95:.1f}", f"{statistics.fmean(took):.1f}", "<= 50 ms"]]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-home", type=Path, default=RESULTS / "speed-10000" / "home")
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    idds = sets.read_jsonl(sets.SHARED / "idds_cloud_incidents.jsonl")
    idds_tables(workspace_for("idds", [sets.idds_record(row) for row in idds]), idds)
    dfds = sets.read_jsonl(sets.SHARED / "dfds_postmortems.jsonl")
    dfds_table(workspace_for("dfds", [sets.dfds_record(row) for row in dfds]), dfds)
    latency_table(args.latency_home, args.queries)


if __name__ == "__main__":
    main()
