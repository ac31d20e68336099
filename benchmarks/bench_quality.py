"""Retrieval quality on BEIR NFCorpus (323 test queries): each retriever alone and the default hybrid.

    .venv/bin/python benchmarks/bench_quality.py [--home DIR] [--data ../shared/data/beir/nfcorpus]

Targets (issue #2): BM25-only nDCG@10 within 0.01 of Anserini's 0.322; default hybrid (0.6/0.3/0.1 min-max) >= 0.35.
The workspace is kept between runs (embeddings are cached), under benchmarks/results/ (git-ignored).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from sherlock.cli.output import table
from sherlock.config import load_settings
from sherlock.evaluation.metrics import evaluate
from sherlock.evaluation.query_sets import read_qrels, read_queries
from sherlock.search.searcher import Searcher
from sherlock.storage.workspace import Workspace

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "beir" / "nfcorpus"
METRICS = ["ndcg@10", "mrr@10", "recall@100"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=ROOT / "benchmarks" / "results" / "nfcorpus-home")
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()

    workspace = Workspace(load_settings(home=args.home, demo=False))
    started = time.perf_counter()
    workspace.ingest([args.data / "corpus.jsonl"], fmt="beir")
    ingest_s = time.perf_counter() - started
    qrels = read_qrels(args.data / "qrels" / "test.tsv")
    queries = {qid: text for qid, text in read_queries(args.data / "queries.jsonl").items() if qid in qrels}
    searcher = Searcher(workspace)
    lexical = workspace.lexical()
    texts = list(queries.values())

    runs = {
        "bm25 only": dict(zip(queries, lexical.bm25.search_many(texts, 100), strict=True)),
        "tfidf only": dict(zip(queries, lexical.tfidf.search_many(texts, 100), strict=True)),
        "dense only (MiniLM)": dict(zip(queries, workspace.dense.search_many(texts, 100), strict=True)),
    }
    started = time.perf_counter()
    runs["hybrid default 0.6/0.3/0.1 minmax"] = searcher.rank(queries, k=100)
    hybrid_s = time.perf_counter() - started
    runs["hybrid default, no entity boost"] = searcher.rank(queries, k=100, entity_boost=False)
    runs["hybrid rrf"] = searcher.rank(queries, k=100, fusion="rrf")

    rows = [["run", *METRICS]]
    for name, run in runs.items():
        scores = evaluate(qrels, run, METRICS)
        rows.append([name, *(f"{scores[m]:.4f}" for m in METRICS)])
    print(f"NFCorpus: {workspace.store.count()} docs, {len(queries)} test queries "
          f"(ingest+index {ingest_s:.1f}s, hybrid batch ranking {hybrid_s:.1f}s)")
    print(table(rows))
    print("targets: bm25 only ndcg@10 = 0.322 ± 0.01 (Anserini); default hybrid ndcg@10 >= 0.35")


if __name__ == "__main__":
    main()
