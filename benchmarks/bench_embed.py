"""Embedding speed: MiniLMEmbedder end to end vs bare onnxruntime on the same batches, and query latency.

    .venv/bin/python benchmarks/bench_embed.py [--n 2000] [--queries 200] [--repeat 3]

``MiniLMEmbedder.embed`` (tokenize, sort by length, pad each batch to its longest text, run, restore order; no cache)
is compared with ``session.run`` alone on the very batches it would build, tokenized beforehand (same session; each
batch timed both ways back to back, best of ``--repeat``). The ratio is the share of raw throughput our wrapper keeps
(target >= 80%). Texts are synthetic, short incident-like sentences.
The model is built in a temporary workspace, so nothing is written to yours.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sherlock.config import load_settings
from sherlock.embed import onnx_minilm
from sherlock.embed.minilm import MiniLMEmbedder

SUBJECTS = ["UPI collect requests", "Card payments on HDFC BINs", "Refund API", "pinelabs_online webhooks",
            "Settlement batch job", "snapdeal_test checkout", "Payout service", "Razorpay callback handler",
            "Netbanking redirects", "Wallet top-ups", "3DS authentication", "Merchant onboarding KYC"]
SYMPTOMS = ["timing out at the NPCI switch", "failing with HTTP 502 from the gateway",
            "declined with issuer unavailable (91)", "stuck in pending state", "retrying in a loop",
            "returning duplicate transaction ids", "p99 latency above 4s", "dropping callbacks",
            "throwing NullPointerException in PaymentProcessor", "rate limited by the acquirer"]
CONTEXTS = ["after deploy of payments-svc v2.31", "during the IPL traffic peak", "since the cert rotation",
            "for about 12% of traffic", "only in ap-south-1", "after the Redis failover", "", "",
            "see JSP-1052", "on-call paged twice", "while the DB connection pool was exhausted"]


def incident_texts(n: int, seed: int = 7) -> list[str]:
    """``n`` short, varied incident titles (subject + symptom + optional context)."""
    rng = random.Random(seed)
    return [" ".join(filter(None, [rng.choice(SUBJECTS), rng.choice(SYMPTOMS), rng.choice(CONTEXTS)]))
            for _ in range(n)]


def planned_batches(embedder: MiniLMEmbedder, texts: list[str]) -> list[tuple[list[str], dict[str, np.ndarray]]]:
    """The batches that ``embedder.embed(texts)`` runs: each one's texts and its padded arrays, built ahead of time."""
    token_ids = [e.ids for e in embedder.tokenizer.encode_batch(texts)]
    order = sorted(range(len(texts)), key=lambda i: len(token_ids[i]))
    size = embedder.settings.embed_batch_size
    chunks = [order[s:s + size] for s in range(0, len(order), size)]
    return [([texts[i] for i in chunk], onnx_minilm.pad_batch([token_ids[i] for i in chunk])) for chunk in chunks]


def interleaved_best(embedder: MiniLMEmbedder, batches: list, repeat: int) -> tuple[float, float]:
    """Seconds for all batches through ``embedder.embed`` and through bare ``session.run``. Each batch is timed both
    ways back to back, ``repeat`` times, and the fastest of each kept: other processes on a small shared machine
    then slow both sides alike instead of skewing the ratio."""
    session = embedder.session  # the same session, so only the work around session.run differs
    ours_total = raw_total = 0.0
    for texts, arrays in batches:
        ours = raw = float("inf")
        for _ in range(repeat):
            start = time.perf_counter()
            embedder.embed(texts)
            middle = time.perf_counter()
            session.run(["sentence_embedding"], arrays)
            ours, raw = min(ours, middle - start), min(raw, time.perf_counter() - middle)
        ours_total, raw_total = ours_total + ours, raw_total + raw
    return ours_total, raw_total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2000, help="texts per throughput run")
    parser.add_argument("--queries", type=int, default=200, help="single-query latency samples")
    parser.add_argument("--repeat", type=int, default=3, help="timings per batch and method (the best is kept)")
    parser.add_argument("--batch-size", type=int, default=None, help="default: settings.embed_batch_size")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="sherlock-bench-") as home:
        settings = load_settings(home=home, embedder="minilm", embed_batch_size=args.batch_size)
        start = time.perf_counter()
        embedder = MiniLMEmbedder(settings).load()
        cold_s = time.perf_counter() - start
        texts = incident_texts(args.n)
        batches = planned_batches(embedder, texts)
        embedder.embed(texts[:256])  # warm-up
        ours_s, raw_s = interleaved_best(embedder, batches, args.repeat)

        latencies = []
        for query in incident_texts(args.queries, seed=11):
            start = time.perf_counter()
            embedder.embed_query(query)
            latencies.append((time.perf_counter() - start) * 1000)
        cuts = statistics.quantiles(latencies, n=100)

    ours_tps, raw_tps = args.n / ours_s, args.n / raw_s
    mean_tokens = np.mean([arrays["attention_mask"].sum() / len(arrays["attention_mask"]) for _, arrays in batches])
    rows = [
        ("texts", f"{args.n} (mean {mean_tokens:.1f} tokens, batch {settings.embed_batch_size})"),
        ("machine", f"{os.cpu_count()} CPUs, 1-min load average {os.getloadavg()[0]:.1f} at the end (ours included)"),
        ("first load (build ONNX + session)", f"{cold_s:.2f} s"),
        ("MiniLMEmbedder.embed (uncached)", f"{ours_tps:,.0f} texts/s"),
        ("raw onnxruntime session.run", f"{raw_tps:,.0f} texts/s"),
        ("ratio ours / raw (target >= 80%)", f"{100 * ours_tps / raw_tps:.1f} %"),
        ("embed_query latency p50", f"{cuts[49]:.2f} ms"),
        ("embed_query latency p95", f"{cuts[94]:.2f} ms"),
    ]
    width = max(len(name) for name, _ in rows)
    print(f"{'metric':<{width}}  value")
    print(f"{'-' * width}  {'-' * 40}")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
