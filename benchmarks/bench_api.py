"""HTTP API load: 8 concurrent clients for 30 s against ``POST /v1/search`` on a 10k-incident workspace, with queries
never seen before; then the same while a ninth client ingests one incident per second.

    .venv/bin/python benchmarks/bench_api.py [--workers 2] [--clients 8] [--seconds 30]

Target (issue #14, this 2-core machine): p95 <= 50 ms at 2 workers, 0 errors. A third row sends searches on a fixed
schedule (``--rate``, default 20/s) instead of a closed loop: the latency a caller sees at that load.

The server is a real ``sherlock serve`` process (token auth, rate limits, JSON request log on) over a copy of the
workspace benchmarks/bench_speed.py builds (benchmarks/results/speed-10000/home; the copy, under
benchmarks/results/api-10000, takes the ingests). The clients are asyncio tasks on httpx in this process, one
connection each, each sending its next request when the last is answered; they share the two cores with the server,
as a load generator on the same machine does.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] if ordered else float("nan")


def fresh_queries(corpus: Path, seed: int = 5) -> Iterator[str]:
    """An endless stream of distinct queries made of corpus words (so they match something) that no one has sent:
    4-7 words drawn from two random titles and descriptions, plus a made-up error code."""
    records = [json.loads(line) for line in corpus.read_text().splitlines()[:3000]]
    words = [[w for w in f"{r['title']} {r.get('description', '')}".split() if w.isalpha() and len(w) > 3]
             for r in records]
    rng = random.Random(seed)
    number = 0
    while True:
        number += 1
        pool = rng.choice(words) + rng.choice(words)
        yield " ".join(rng.sample(pool, min(len(pool), rng.randint(4, 7)))) + f" error E{number:05d}"


def prepare_home(source: Path, target: Path) -> Path:
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target)
    return target


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def client_loop(http: Any, queries: Any, deadline: float, latencies: list[float], errors: list[str]) -> None:
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        try:
            response = await http.post("/v1/search", json={"query": next(queries), "k": 10})
            if response.status_code != 200:
                errors.append(f"{response.status_code}: {response.text[:120]}")
        except Exception as exc:  # noqa: BLE001 - every failure is counted, none stops the run
            errors.append(f"{type(exc).__name__}: {exc}")
            continue
        latencies.append(time.perf_counter() - started)


async def ingest_loop(http: Any, incidents: list[dict], deadline: float, latencies: list[float],
                      errors: list[str]) -> None:
    """One new incident each second, on the clock (a slow ingest does not delay the next one)."""

    async def one(incident: dict) -> None:
        started = time.perf_counter()
        response = await http.post("/v1/incidents", json=incident)
        if response.status_code != 200:
            errors.append(f"ingest {response.status_code}: {response.text[:120]}")
        latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    tasks = []
    for number, incident in enumerate(incidents):
        if started + number >= deadline:
            break
        await asyncio.sleep(max(0.0, started + number - time.perf_counter()))
        tasks.append(asyncio.create_task(one(incident)))
    await asyncio.gather(*tasks)


async def phase(url: str, token: str, clients: int, seconds: float, queries: Any,
                incidents: list[dict] | None) -> dict:
    import httpx
    headers = {"Authorization": f"Bearer {token}"}
    latencies: list[float] = []
    ingests: list[float] = []
    errors: list[str] = []
    limits = httpx.Limits(max_connections=clients + 1)
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60, limits=limits) as http:
        started = time.perf_counter()
        deadline = started + seconds
        tasks = [client_loop(http, queries, deadline, latencies, errors) for _ in range(clients)]
        if incidents is not None:
            tasks.append(ingest_loop(http, incidents, deadline, ingests, errors))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - started
    return {"requests": len(latencies), "per_s": len(latencies) / elapsed,
            "p50_ms": percentile(latencies, 0.50) * 1000, "p95_ms": percentile(latencies, 0.95) * 1000,
            "p99_ms": percentile(latencies, 0.99) * 1000, "errors": len(errors), "error_examples": errors[:3],
            "ingested": len(ingests), "ingest_p95_ms": percentile(ingests, 0.95) * 1000 if ingests else None}


async def open_loop(url: str, token: str, rate: float, seconds: float, queries: Iterator[str]) -> dict:
    """Requests sent on a fixed schedule (``rate`` per second) whether or not earlier ones were answered: the latency
    a caller sees at that load, rather than the saturation a closed loop measures."""
    import httpx
    latencies: list[float] = []
    errors: list[str] = []

    async def one(http: Any, query: str) -> None:
        started = time.perf_counter()
        try:
            response = await http.post("/v1/search", json={"query": query, "k": 10})
            if response.status_code != 200:
                errors.append(f"{response.status_code}: {response.text[:120]}")
                return
        except Exception as exc:  # noqa: BLE001 - counted
            errors.append(f"{type(exc).__name__}: {exc}")
            return
        latencies.append(time.perf_counter() - started)

    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60,
                                 limits=httpx.Limits(max_connections=64)) as http:
        started = time.perf_counter()
        tasks = []
        for number in range(int(rate * seconds)):
            await asyncio.sleep(max(0.0, started + number / rate - time.perf_counter()))
            tasks.append(asyncio.create_task(one(http, next(queries))))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - started
    return {"requests": len(latencies), "per_s": len(latencies) / elapsed,
            "p50_ms": percentile(latencies, 0.50) * 1000, "p95_ms": percentile(latencies, 0.95) * 1000,
            "p99_ms": percentile(latencies, 0.99) * 1000, "errors": len(errors), "error_examples": errors[:3],
            "ingested": 0, "ingest_p95_ms": None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=RESULTS / "speed-10000" / "home")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=20.0, help="the open-loop phase's requests per second")
    args = parser.parse_args()
    if not (args.home / "store.sqlite").exists():
        raise SystemExit(f"{args.home}: no workspace; run benchmarks/bench_speed.py --sizes 10000 first")
    corpus = args.home.parent / "corpus-10000.jsonl"
    home = prepare_home(args.home, RESULTS / "api-10000" / "home")

    from sherlock.config import load_settings
    from sherlock.storage.tokens import TokenStore
    from tools.demo.generator import generate_incidents
    tokens = TokenStore(load_settings(home=home, demo=False).tokens_path)
    _, token = tokens.create("bench", "write", rate="1000000/minute")  # the benchmark measures speed, not limits
    tokens.close()
    new = [{**incident.to_json_dict(), "id": f"API-{n}"}
           for n, incident in enumerate(generate_incidents(n=int(args.seconds) + 5, seed=99), start=1)]

    port = free_port()
    log = RESULTS / "api-10000" / "serve.log"
    env = {**os.environ, "SHERLOCK_DEMO": "false"}
    command = [sys.executable, "-m", "sherlock", "--home", str(home), "serve", "--port", str(port),
               "--workers", str(args.workers)]
    with open(log, "wb") as out:
        server = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        import httpx
        deadline = time.monotonic() + 180
        while True:  # every worker opens the workspace: wait until /readyz has answered 200 several times running
            try:
                if all(httpx.get(f"{url}/readyz", timeout=5).status_code == 200 for _ in range(2 * args.workers)):
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the server did not come up; see {log}")
            time.sleep(0.5)
        queries = fresh_queries(corpus)
        asyncio.run(phase(url, token, args.clients, 5, queries, None))  # warm-up: each worker's first queries
        rows = [("search only", asyncio.run(phase(url, token, args.clients, args.seconds, queries, None))),
                ("search + 1 ingest/s", asyncio.run(phase(url, token, args.clients, args.seconds, queries, new))),
                (f"open loop, {args.rate:g} searches/s", asyncio.run(open_loop(url, token, args.rate, args.seconds,
                                                                                queries)))]
    finally:
        server.terminate()
        server.wait(timeout=30)

    print(f"\nHTTP API, {args.clients} clients x {args.seconds:g} s, POST /v1/search on 10,000 incidents, "
          f"{args.workers} worker(s), queries never seen before\n")
    print("| load | requests | per second | p50 ms | p95 ms | p99 ms | errors | ingested (p95 ms) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, row in rows:
        ingested = f"{row['ingested']} ({row['ingest_p95_ms']:.0f})" if row["ingested"] else "-"
        print(f"| {name} | {row['requests']:,} | {row['per_s']:.1f} | {row['p50_ms']:.1f} | {row['p95_ms']:.1f} | "
              f"{row['p99_ms']:.1f} | {row['errors']} | {ingested} |")
    for name, row in rows:
        for example in row["error_examples"]:
            print(f"error ({name}): {example}")
    (RESULTS / "api-10000" / "results.json").write_text(json.dumps(dict(rows), indent=2))


if __name__ == "__main__":
    main()
