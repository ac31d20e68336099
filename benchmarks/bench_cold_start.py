"""Cold start: a fresh `sherlock search "…" --json` process, end to end (interpreter, imports, opening the workspace,
the ONNX model, one hybrid query, JSON out), and what it imports.

    .venv/bin/python benchmarks/bench_cold_start.py [--size 10000] [--runs 7]

Target (issue #10, this 2-core machine): <= 1.5 s wall on a 10k-incident workspace. The workspace is the one
bench_speed.py builds (benchmarks/results/speed-10000, reused when present). Two queries: one made of words the corpus
uses (their stems come with the index snapshot) and one with words it has never seen (the stemmer itself is loaded).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import time
from pathlib import Path

from bench_speed import build

ROOT = Path(__file__).resolve().parents[1]
QUERIES = {"corpus words": "UPI payment failed with error 5003 at the bank",
           "unseen words": "zygomorphic quasicrystal defenestration"}
#: Modules a single query does not need; none of them may be imported by a cold search.
HEAVY = ("mlflow", "pandas", "scipy.stats", "sklearn", "plotly", "streamlit", "nltk", "chromadb", "matplotlib")
PROBE = """
import contextlib, io, runpy, sys
home, query, heavy = sys.argv[1], sys.argv[2], sys.argv[3:]
sys.argv = ["sherlock", "--home", home, "search", query, "--json"]
with contextlib.redirect_stdout(io.StringIO()):
    try:
        runpy.run_module("sherlock", run_name="__main__")
    except SystemExit:
        pass
print(",".join(m for m in heavy if m in sys.modules))
"""


def timed(sherlock: Path, home: Path, query: str) -> tuple[float, float]:
    """(wall, CPU) seconds of one fresh process."""
    started = time.perf_counter()
    result = subprocess.run(["/usr/bin/time", "-f", "%U %S", str(sherlock), "--home", str(home), "search", query,
                             "--json"], capture_output=True, text=True, check=True)
    wall = time.perf_counter() - started
    user, system = (float(x) for x in result.stderr.strip().splitlines()[-1].split())
    json.loads(result.stdout)  # the contract is intact
    return wall, user + system


def imported(python: Path, home: Path, query: str) -> str:
    result = subprocess.run([str(python), "-c", PROBE, str(home), query, *HEAVY], capture_output=True, text=True,
                            check=True)
    return result.stdout.strip() or "none"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--venv", type=Path, default=ROOT / ".venv",
                        help="whose `sherlock` to time: the test venv (default) also holds numba, ranx's dependency, "
                             "which bm25s imports when it is there (~0.25 s); a `make run` venv does not")
    args = parser.parse_args()
    sherlock, python = args.venv / "bin" / "sherlock", args.venv / "bin" / "python"
    home = ROOT / "benchmarks" / "results" / f"speed-{args.size}" / "home"
    home.parent.mkdir(parents=True, exist_ok=True)
    build(args.size, home)
    timed(sherlock, home, "warm the page cache")  # the first run after a build reads every file from disk
    print(f"cold `sherlock search --json` on {args.size:,} incidents, {args.runs} runs each ({args.venv})")
    print(f"{'query':<14}{'wall min s':>11}{'wall median s':>15}{'CPU median s':>14}  heavy modules imported")
    for label, query in QUERIES.items():
        runs = [timed(sherlock, home, query) for _ in range(args.runs)]
        walls, cpus = [w for w, _ in runs], [c for _, c in runs]
        print(f"{label:<14}{min(walls):>11.2f}{statistics.median(walls):>15.2f}{statistics.median(cpus):>14.2f}  "
              f"{imported(python, home, query)}")
    print("target: <= 1.5 s wall (before this issue: 2.9-4.9 s)")


if __name__ == "__main__":
    main()
