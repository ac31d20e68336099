"""Run every benchmark in turn and print their tables (`make bench`). Each can also be run alone; see its docstring."""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = ["bench_quality.py", "calibrate_abstention.py", "bench_embed.py", "bench_lexical.py", "bench_speed.py",
              "bench_cold_start.py", "bench_app.py", "bench_tune.py", "bench_patterns.py", "bench_ab.py",
              "bench_similar.py", "bench_freshness.py", "bench_monitor.py"]


def main() -> int:
    failed = []
    for name in BENCHMARKS:
        print(f"\n=== {name} ===", flush=True)
        if subprocess.run([sys.executable, str(HERE / name)]).returncode != 0:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
