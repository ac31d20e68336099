"""Lexical retrieval: BM25 quality on BEIR NFCorpus, and BM25 / TF-IDF speed on a 100k-document corpus.

    .venv/bin/python benchmarks/bench_lexical.py [--docs 100000] [--rank-bm25-queries 20]

(a) Quality: nDCG@10 on the 323 NFCorpus test queries, title + text indexed as one field, scored with
    ``sherlock.evaluation.metrics`` (ranx shown alongside as a cross-check). Anserini's BM25 flat baseline (Lucene,
    k1=0.9,
    b=0.4, Porter stemming) scores 0.3218; the target is within 0.01 of it.
(b) Speed: a synthetic corpus of ``--docs`` short incident-like documents (an NFCorpus title, repeated as the title
    field weight does, plus a ~50-word window of an NFCorpus abstract), queried with the NFCorpus test queries.
    bm25s-backed BM25 against the rank_bm25 backend (the same formula, rank-bm25's term-at-a-time loop, timed on a
    sample of queries because it is slow), plus TF-IDF.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sherlock.evaluation.metrics import evaluate
from sherlock.evaluation.query_sets import read_qrels, read_queries
from sherlock.retrievers.base import weighted_text
from sherlock.retrievers.bm25 import BM25Retriever
from sherlock.retrievers.tfidf import TfidfRetriever
from sherlock.schema import Incident
from sherlock.text import tokenize

NFCORPUS = Path(__file__).resolve().parents[2] / "shared" / "data" / "beir" / "nfcorpus"
ANSERINI_FLAT_NDCG10 = 0.3218
TITLE_AND_TEXT = {"title": 1, "description": 1}


def read_corpus(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def beir_incidents(corpus: list[dict]) -> list[Incident]:
    return [Incident(id=doc["_id"], title=doc.get("title") or doc["_id"], description=doc.get("text") or "")
            for doc in corpus]


def ranx_ndcg10(qrels, run) -> float | None:
    try:
        from ranx import Qrels, Run
        from ranx import evaluate as ranx_evaluate
    except ImportError:
        return None
    return float(ranx_evaluate(Qrels(qrels), Run(run), "ndcg@10", make_comparable=True))


def quality(corpus: list[dict]) -> list[tuple[str, str, str]]:
    queries = read_queries(NFCORPUS / "queries.jsonl")
    qrels = read_qrels(NFCORPUS / "qrels" / "test.tsv")
    test_ids = sorted(qrels)
    texts = [queries[qid] for qid in test_ids]
    incidents = beir_incidents(corpus)
    rows = []
    systems = [
        ("BM25 lucene k1=0.9 b=0.4 (Anserini's)", BM25Retriever(k1=0.9, b=0.4, field_weights=TITLE_AND_TEXT)),
        ("BM25 lucene k1=1.2 b=0.75 (our default)", BM25Retriever(field_weights=TITLE_AND_TEXT)),
        ("TF-IDF cosine, sublinear tf", TfidfRetriever(field_weights=TITLE_AND_TEXT)),
    ]
    for label, retriever in systems:
        retriever.fit(incidents)
        run = dict(zip(test_ids, retriever.search_many(texts, k=100), strict=True))
        ours = evaluate(qrels, run, ["ndcg@10"])["ndcg@10"]
        cross = ranx_ndcg10(qrels, run)
        rows.append((label, f"{ours:.4f}", "-" if cross is None else f"{cross:.4f}"))
    print(f"\n(a) NFCorpus: {len(corpus)} docs, {len(test_ids)} test queries; Anserini BM25 flat nDCG@10 = "
          f"{ANSERINI_FLAT_NDCG10}")
    table(["system", "nDCG@10 (sherlock.evaluation.metrics)", "nDCG@10 (ranx)"], rows)
    return rows


def synthetic_incidents(corpus: list[dict], n: int, seed: int = 13) -> list[Incident]:
    rng = random.Random(seed)
    words = [doc["text"].split() for doc in corpus]
    incidents = []
    for i in range(n):
        text = words[rng.randrange(len(words))]
        start = rng.randrange(max(1, len(text) - 50))
        incidents.append(Incident(id=f"SYN-{i}", title=corpus[rng.randrange(len(corpus))]["title"] or f"doc {i}",
                                  description=" ".join(text[start:start + 50])))
    return incidents


def latencies_ms(search, queries: list[str]) -> list[float]:
    timings = []
    for query in queries:
        start = time.perf_counter()
        search(query)
        timings.append((time.perf_counter() - start) * 1e3)
    return timings


def summary(timings: list[float]) -> tuple[str, str, str]:
    p95 = float(np.percentile(timings, 95))
    return f"{statistics.fmean(timings):.2f}", f"{statistics.median(timings):.2f}", f"{p95:.2f}"


def seconds(run) -> tuple[float, object]:
    start = time.perf_counter()
    result = run()
    return time.perf_counter() - start, result


def speed(corpus: list[dict], n_docs: int, n_slow: int) -> None:
    queries = read_queries(NFCORPUS / "queries.jsonl")
    test_queries = [queries[qid] for qid in sorted(read_qrels(NFCORPUS / "qrels" / "test.tsv"))]
    incidents = synthetic_incidents(corpus, n_docs)
    texts = [weighted_text(incident) for incident in incidents]
    words = sum(len(text.split()) for text in texts) / len(texts)
    tokenize_s, _ = seconds(lambda: [tokenize(text) for text in texts])  # first pass: cold stem/analyzer caches

    bm25_s, bm25 = seconds(lambda: BM25Retriever().fit(incidents))
    slow_s, slow = seconds(lambda: BM25Retriever(backend="rank_bm25").fit(incidents))
    tfidf_s, tfidf = seconds(lambda: TfidfRetriever().fit(incidents))

    sample = test_queries[:n_slow]
    fast = latencies_ms(lambda q: bm25.search(q, k=10), test_queries)
    reference = latencies_ms(lambda q: slow.search(q, k=10), sample)
    for query in sample:  # same formula, so the same top 10
        if list(bm25.search(query, k=10)) != list(slow.search(query, k=10)):
            print(f"WARNING: backends disagree on {query!r}")
    batched_s, _ = seconds(lambda: bm25.search_many(test_queries, k=10))
    native = bm25.index_
    native_ms = latencies_ms(lambda q: native.retrieve([tokenize(q)], k=10, show_progress=False), test_queries)
    tfidf_ms = latencies_ms(lambda q: tfidf.search(q, k=10), test_queries)
    tfidf_batched_s, _ = seconds(lambda: tfidf.search_many(test_queries, k=10))
    allowed = {incident.id for incident in incidents[::10]}
    filtered_ms = latencies_ms(lambda q: bm25.search(q, k=10, allowed=allowed), test_queries[:50])

    print(f"\n(b) speed at {n_docs:,} synthetic docs (~{words:.0f} words each incl. the repeated title), "
          f"{len(test_queries)} NFCorpus queries ({n_slow} for rank_bm25)")
    table(["step", "seconds"], [
        ("tokenize all docs (cold caches)", f"{tokenize_s:.2f}"),
        ("BM25 fit, bm25s (incl. tokenize)", f"{bm25_s:.2f}"),
        ("BM25 fit, rank_bm25 (incl. tokenize)", f"{slow_s:.2f}"),
        ("TF-IDF fit (incl. tokenize)", f"{tfidf_s:.2f}"),
    ])
    print()
    table(["per-query latency, k=10", "mean ms", "p50 ms", "p95 ms"], [
        ("BM25 bm25s index, search()", *summary(fast)),
        ("BM25 bm25s index, search_many() per query", f"{batched_s * 1e3 / len(test_queries):.2f}", "-", "-"),
        ("BM25 bm25s index, search(allowed=10% of ids)", *summary(filtered_ms)),
        ("  bm25s native retrieve() (for reference)", *summary(native_ms)),
        ("BM25 rank_bm25 backend, search()", *summary(reference)),
        ("TF-IDF search()", *summary(tfidf_ms)),
        ("TF-IDF search_many() per query", f"{tfidf_batched_s * 1e3 / len(test_queries):.2f}", "-", "-"),
    ])
    fast_sample = statistics.fmean(fast[:n_slow])
    print(f"\nspeed-up of bm25s over rank_bm25 on the same {n_slow} queries: "
          f"{statistics.fmean(reference) / fast_sample:.0f}x (mean latency; target >= 50x)")


def table(header: list[str], rows: list[tuple]) -> None:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    line = " | ".join(f"{{:{'<' if i == 0 else '>'}{w}}}" for i, w in enumerate(widths))
    print(line.format(*header))
    print("-+-".join("-" * w for w in widths))
    for row in rows:
        print(line.format(*row))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=100_000, help="synthetic corpus size for the speed test")
    parser.add_argument("--rank-bm25-queries", type=int, default=20, help="queries timed on the slow backend")
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--skip-speed", action="store_true")
    args = parser.parse_args(argv)
    corpus = read_corpus(NFCORPUS / "corpus.jsonl")
    if not args.skip_quality:
        quality(corpus)
    if not args.skip_speed:
        speed(corpus, args.docs, args.rank_bm25_queries)


if __name__ == "__main__":
    main()
