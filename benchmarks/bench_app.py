"""Chat-search targets: warm first page render, offline answer latency at 10k incidents, concurrent sessions.

    .venv/bin/python benchmarks/bench_app.py [--home benchmarks/results/speed-10000/home] [--queries 200]

Targets (issue #3): first page render < 3 s with a warm process; offline (extractive) answer, retrieval included,
< 1 s p95 on 10k incidents; 4 concurrent sessions searching without errors. Run benchmarks/bench_speed.py first: it
builds the 10k workspace this uses.
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=ROOT / "benchmarks" / "results" / "speed-10000" / "home")
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    if not (args.home / "store.sqlite").exists():
        raise SystemExit(f"{args.home}: no workspace; run benchmarks/bench_speed.py --sizes 10000 first")
    os.environ.update({"SHERLOCK_HOME": str(args.home), "SHERLOCK_DEMO": "false", "SHERLOCK_ANSWER_PROVIDER":
                       "extractive"})

    from streamlit.testing.v1 import AppTest

    from sherlock.answer.answerer import Answerer
    from sherlock.config import load_settings
    from sherlock.search.searcher import Searcher
    from sherlock.storage.demo import load_demo_queries
    from sherlock.storage.workspace import Workspace

    renders = []
    for _ in range(3):  # the first run loads the workspace and model; the later ones find them cached
        started = time.perf_counter()
        app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
        renders.append(time.perf_counter() - started)
        if app.exception:
            raise SystemExit(f"app raised: {app.exception[0].value}")

    workspace = Workspace(load_settings())
    answerer = Answerer(Searcher(workspace))
    texts = [q.query for q in load_demo_queries()]
    questions = [texts[i % len(texts)] + ("" if i < len(texts) else f" (again {i})") for i in range(args.queries)]
    answerer.ask("warm up")
    timings = []
    for question in questions:
        started = time.perf_counter()
        answerer.ask(question, k=5)
        timings.append((time.perf_counter() - started) * 1000)

    errors: list[BaseException] = []
    done = [0]

    def session(n: int) -> None:
        try:
            for i in range(25):
                answerer.ask(f"{questions[(n * 25 + i) % len(questions)]} (session {n})", k=5)
                done[0] += 1
        except BaseException as exc:  # noqa: BLE001 - counted and reported
            errors.append(exc)

    started = time.perf_counter()
    threads = [threading.Thread(target=session, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    concurrent_s = time.perf_counter() - started

    print(f"workspace: {workspace.store.count():,} incidents ({args.home})")
    print(f"{'measure':<44} {'value':>12}  target")
    print(f"{'app render, cold process (s)':<44} {renders[0]:>12.2f}")
    print(f"{'app render, warm process (s, best of 2)':<44} {min(renders[1:]):>12.2f}  < 3 s")
    print(f"{'offline answer p50 (ms)':<44} {percentile(timings, 0.5):>12.1f}")
    print(f"{'offline answer p95 (ms)':<44} {percentile(timings, 0.95):>12.1f}  < 1000 ms")
    print(f"{'offline answer mean (ms)':<44} {statistics.mean(timings):>12.1f}")
    print(f"{'4 concurrent sessions: answers / errors':<44} {f'{done[0]} / {len(errors)}':>12}  0 errors")
    print(f"{'4 concurrent sessions: wall time (s)':<44} {concurrent_s:>12.1f}")


if __name__ == "__main__":
    main()
