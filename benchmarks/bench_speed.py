"""Speed and memory at 10k and 100k incidents: ingest, warm hybrid query latency, BM25 vs rank-bm25, RSS.

    .venv/bin/python benchmarks/bench_speed.py [--sizes 10000 100000] [--queries 200]

Targets (issue #2, this 2-core machine): marginal hybrid query cost (query embedding included) <= 15 ms at 10k and
p95 <= 50 ms at 100k; BM25 >= 50x faster than rank-bm25 at 100k; ingest of 10k short incidents < 240 s with the local
model; memory at 100k <= 2.5 GB RSS. Corpora come from the demo generator (tools/demo); workspaces are kept under
benchmarks/results/ (git-ignored) so a re-run reuses them.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def rss_mb() -> tuple[float, float]:
    """(current, peak) resident memory of this process in MB."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def build(size: int, home: Path) -> dict:
    """Generate ``size`` incidents and ingest them (skipped when the workspace already holds them)."""
    from sherlock.config import load_settings
    from sherlock.storage.workspace import Workspace
    from tools.demo.generator import generate_incidents

    workspace = Workspace(load_settings(home=home, demo=False))
    if workspace.store.count() == size and workspace.is_synced():
        return {"ingest_s": None}
    corpus = home.parent / f"corpus-{size}.jsonl"
    if not corpus.exists():
        incidents = generate_incidents(n=size, seed=11)
        corpus.write_text("\n".join(json.dumps(i.to_json_dict()) for i in incidents) + "\n")
    started = time.perf_counter()
    workspace.ingest([corpus])
    return {"ingest_s": round(time.perf_counter() - started, 1)}


def serve(home: Path, n_queries: int) -> dict:
    """Run in a fresh process: load the workspace, time warm queries, compare BM25 backends, report memory."""
    from sherlock.config import load_settings
    from sherlock.retrievers.bm25 import BM25Retriever
    from sherlock.search.searcher import Searcher
    from sherlock.storage.demo import load_demo_queries
    from sherlock.storage.workspace import Workspace

    workspace = Workspace(load_settings(home=home, demo=False))
    searcher = Searcher(workspace)
    texts = [q.query for q in load_demo_queries()]
    queries = [texts[i % len(texts)] + ("" if i < len(texts) else f" #{i}") for i in range(n_queries)]
    started = time.perf_counter()
    # warm: the model, the index snapshot and the stemmer (loaded by the first word the corpus does not use) are in
    searcher.search("warm up: payment gateway timeout, zyxqv")
    first_s = time.perf_counter() - started
    timings = []
    for query in queries:
        started = time.perf_counter()
        searcher.search(query, k=10)
        timings.append((time.perf_counter() - started) * 1000)
    # stage breakdown on the same queries
    snapshot = workspace.lexical()
    stages: dict[str, list[float]] = {"embed": [], "chroma": [], "bm25": [], "tfidf": []}
    for number, query in enumerate(queries[:100]):
        query = f"{query} (stage {number})"  # not yet in the embedding cache
        t0 = time.perf_counter()
        vector = workspace.embedder.embed_query(query)
        t1 = time.perf_counter()
        workspace.dense.search_vectors(vector[None, :], 100)
        t2 = time.perf_counter()
        snapshot.bm25.search(query, 100)
        t3 = time.perf_counter()
        snapshot.tfidf.search(query, 100)
        t4 = time.perf_counter()
        for name, value in zip(stages, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
            stages[name].append(value * 1000)
    current, peak = rss_mb()
    # BM25: bm25s (ours) vs rank-bm25 on the same corpus and queries
    incidents = workspace.store.all()
    reference = BM25Retriever(backend="rank_bm25").fit(incidents)
    sample = queries[:20]
    started = time.perf_counter()
    for query in sample:
        reference.search(query, 10)
    rank_bm25_ms = (time.perf_counter() - started) * 1000 / len(sample)
    started = time.perf_counter()
    for query in sample:
        snapshot.bm25.search(query, 10)
    bm25s_ms = (time.perf_counter() - started) * 1000 / len(sample)
    return {
        "incidents": workspace.store.count(), "first_query_s": round(first_s, 2),
        "mean_ms": round(statistics.mean(timings), 2), "p50_ms": round(percentile(timings, 0.5), 2),
        "p95_ms": round(percentile(timings, 0.95), 2),
        "stages_median_ms": {name: round(statistics.median(values), 2) for name, values in stages.items()},
        "rss_mb": round(current), "peak_rss_mb": round(peak),
        "bm25s_ms": round(bm25s_ms, 3), "rank_bm25_ms": round(rank_bm25_ms, 1),
        "bm25_speedup": round(rank_bm25_ms / bm25s_ms, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        print(json.dumps(serve(args.serve, args.queries)))
        return
    rows = []
    for size in args.sizes:
        home = ROOT / "benchmarks" / "results" / f"speed-{size}" / "home"
        home.parent.mkdir(parents=True, exist_ok=True)
        built = build(size, home)
        served = subprocess.run([sys.executable, __file__, "--serve", str(home), "--queries", str(args.queries)],
                                capture_output=True, text=True, check=True)
        rows.append({"size": size, **built, **json.loads(served.stdout.strip().splitlines()[-1])})
    header = ["incidents", "ingest s", "query mean ms", "p50 ms", "p95 ms", "embed/chroma/bm25/tfidf ms",
              "bm25s ms", "rank-bm25 ms", "speedup", "RSS MB", "peak RSS MB"]
    print("  ".join(header))
    for row in rows:
        stages = "/".join(f"{v:.1f}" for v in row["stages_median_ms"].values())
        ingest = "cached" if row["ingest_s"] is None else f"{row['ingest_s']:.0f}"
        print("  ".join(str(x) for x in (row["incidents"], ingest, row["mean_ms"], row["p50_ms"], row["p95_ms"],
                                          stages, row["bm25s_ms"], row["rank_bm25_ms"], f"{row['bm25_speedup']}x",
                                          row["rss_mb"], row["peak_rss_mb"])))
    print("targets: mean <= 15 ms at 10k; p95 <= 50 ms at 100k; bm25 speedup >= 50x at 100k; "
          "10k ingest < 240 s; RSS <= 2500 MB at 100k")


if __name__ == "__main__":
    main()
