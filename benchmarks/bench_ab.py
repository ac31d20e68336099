"""Offline A/B speed: ``sherlock ab`` on BEIR NFCorpus (323 test queries), and listing 500 MLflow runs.

    .venv/bin/python benchmarks/bench_ab.py [--home DIR] [--data ../shared/data/beir/nfcorpus] [--runs 500]

Targets (issue #5): ``sherlock ab workspace rrf`` on NFCorpus with ndcg@10, mrr@10 and recall@10 (10,000 resamples,
MLflow logging included) <= 60 s end to end; ``list_runs`` over 500 runs < 2 s. The NFCorpus workspace is
bench_quality.py's, kept under benchmarks/results/ (git-ignored); the comparison is logged to its MLflow store, as the
command does. The 500 runs go to a temporary SQLite store.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sherlock.config import load_settings
from sherlock.evaluation.offline_ab_mlflow import EXPERIMENT, RUN_COLUMNS, list_runs
from sherlock.tracking import experiment_id, metric_key, mlflow_client

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_quality import DATA, table  # noqa: E402 - the quality benchmark's data path and table printer
from bench_tune import open_workspace  # noqa: E402 - builds the NFCorpus workspace when it is missing

METRICS = ("ndcg@10", "mrr@10", "recall@10")


def bench_cli(home: Path, data: Path) -> None:
    """``python -m sherlock ab workspace rrf`` on the NFCorpus test queries, timed from process start."""
    workspace = open_workspace(home, [data / "corpus.jsonl"], fmt="beir")
    documents = workspace.store.count()
    env = {**os.environ, "SHERLOCK_HOME": str(home), "SHERLOCK_DEMO": "false"}
    started = time.perf_counter()
    cli = subprocess.run([sys.executable, "-m", "sherlock", "ab", "workspace", "rrf", "--queries",
                          str(data / "queries.jsonl"), "--qrels", str(data / "qrels" / "test.tsv"), "--metrics",
                          ",".join(METRICS), "--json"], capture_output=True, text=True, env=env, timeout=600)
    wall = time.perf_counter() - started
    if cli.returncode:
        raise SystemExit(f"sherlock ab failed:\n{cli.stderr}")
    if "warning" in cli.stderr:
        print(cli.stderr.strip(), file=sys.stderr)
    data_out = json.loads(cli.stdout)
    seconds = data_out["seconds"]
    scoring = sum(v for k, v in seconds.items() if k.startswith("score_"))
    ranking = sum(v for k, v in seconds.items() if k.startswith("rank_"))
    print(f"\nNFCorpus: {documents} docs, {data_out['queries']} judged test queries; workspace (wsum 0.6/0.3/0.1 "
          f"min-max) vs rrf (equal weights, k = 60), {data_out['params']['resamples']} resamples; "
          f"{int(seconds['pools_scored'])} scored pool shared by both arms")
    print(table([["stage", "seconds", "target"],
                 ["scoring (each query's candidate pool, all 3 retrievers)", f"{scoring:.2f}", ""],
                 ["ranking (both arms fused from the pool)", f"{ranking:.2f}", ""],
                 [f"statistics ({len(METRICS)} metrics: t, Wilcoxon, permutation, Welch, BCa CI, Holm)",
                  f"{seconds['statistics']:.2f}", ""],
                 ["MLflow logging (parent + 2 arms, CSVs, plots)", f"{seconds.get('mlflow', float('nan')):.2f}", ""],
                 ["`sherlock ab` end to end (process start, loading, all of the above)", f"{wall:.1f}", "<= 60"]]))
    print()
    rows = [["metric", "A workspace", "B rrf", "B − A", "95% CI", "p permutation", "p Holm"]]
    for metric, entry in data_out["metrics"].items():
        rows.append([metric, f"{entry['a']:.4f}", f"{entry['b']:.4f}", f"{entry['diff']:+.4f}",
                     f"[{entry['ci95'][0]:+.4f}, {entry['ci95'][1]:+.4f}]", f"{entry['p_permutation']:.4f}",
                     f"{entry['p_holm']:.4f}{' *' if entry['significant'] else ''}"])
    print(table(rows))
    print(f"{data_out['primary']}: rrf wins {data_out['wins']}, ties {data_out['ties']}, loses {data_out['losses']}; "
          f"MLflow parent run {data_out['mlflow_run_ids'].get('parent', '(not logged)')}")
    print(f"target: end to end <= 60 s: {wall:.1f} s -> {'met' if wall <= 60 else 'NOT met'}")


def bench_list_runs(count: int) -> None:
    """``count`` runs shaped like A/B comparisons (a parent, then its two arms) in a fresh SQLite store; then the
    time ``list_runs`` takes to read them all back."""
    from mlflow.entities import Metric, Param

    with tempfile.TemporaryDirectory(prefix="sherlock-bench-ab-") as tmp:
        settings = load_settings(home=tmp, demo=False)
        client = mlflow_client(settings)
        experiment = experiment_id(client, settings, EXPERIMENT)
        started = time.perf_counter()
        parent = ""
        for i in range(count):
            arm = ("", "a", "b")[i % 3]
            tags = {"sherlock.kind": "ab-arm" if arm else "ab-offline", "sherlock.query_set": "nfcorpus",
                    "sherlock.query_set_hash": "0" * 16, "sherlock.corpus_revision": "1",
                    "sherlock.git_revision": "0" * 40, **({"mlflow.parentRunId": parent, "sherlock.arm": arm,
                                                           "sherlock.variant": f"v{i}"} if arm else {})}
            run_id = client.create_run(experiment, run_name=f"run {i}", tags=tags).info.run_id
            parent = parent if arm else run_id
            stats = ("a", "b", "diff", "ci95_lo", "ci95_hi", "p_paired_t", "p_wilcoxon", "p_permutation", "p_welch",
                     "cohens_d", "p_holm")
            names = [metric_key(m) for m in METRICS] if arm else [f"{metric_key(m)}.{s}" for m in METRICS
                                                                    for s in stats]
            client.log_batch(run_id, metrics=[Metric(name, 0.5, 0, 0) for name in names],
                             params=[Param(f"search.p{j}", str(j)) for j in range(17)])
            client.set_terminated(run_id)
        created = time.perf_counter() - started
        times, rows = [], 0
        for _ in range(3):
            started = time.perf_counter()
            runs = list_runs(settings)
            times.append(time.perf_counter() - started)
            rows = len(runs)
        if list(runs.columns[:len(RUN_COLUMNS)]) != RUN_COLUMNS:
            raise SystemExit("list_runs returned unexpected columns")
        page = page_render_seconds(Path(tmp))
    print(f"\nMLflow listing: {count} runs (parents and arms of {-(-count // 3)} comparisons) in a temporary SQLite "
          f"store (created with log_batch in {created:.1f} s)")
    print(table([["measure", "seconds", "target"],
                 [f"list_runs: {rows} rows × {len(runs.columns)} columns (first call / best of 3)",
                  f"{times[0]:.2f} / {min(times):.2f}", "< 2"],
                 ["Overview page, first render in a fresh process (opens the workspace)", f"{page['overview']:.2f}",
                  ""],
                 ["Experiments page, first visit (imports MLflow and the A/B code, reads the runs)",
                  f"{page['cold']:.2f}", ""],
                 ["Experiments page, rerun after a new A/B (runs read again, MLflow imported)",
                  f"{page['uncached']:.2f}", "< 2"],
                 ["Experiments page, rerun (runs cached for a minute)", f"{page['cached']:.2f}", ""]]))
    print(f"target: the page lists {count} runs in < 2 s: {page['uncached']:.2f} s -> "
          f"{'met' if page['uncached'] < 2 else 'NOT met'} (first visit, imports included: {page['cold']:.2f} s)")


PAGE_TIMING = """
import json, sys, time
from streamlit.testing.v1 import AppTest  # imported before the clock: a running server has streamlit loaded
times = {}
started = time.perf_counter()
AppTest.from_file(sys.argv[2], default_timeout=120).run()  # the Overview opens the workspace, as in a running app
times["overview"] = time.perf_counter() - started
app = AppTest.from_file(sys.argv[1], default_timeout=120)
for label in ("cold", "cached", "uncached"):
    if label == "uncached":
        import ui
        ui.ab_runs_frame.clear()
    started = time.perf_counter()
    app.run()
    times[label] = time.perf_counter() - started
    if app.exception:
        raise SystemExit(str(app.exception[0].value))
print(json.dumps(times))
"""


def page_render_seconds(home: Path) -> dict[str, float]:
    """The Experiments page rendered by AppTest in a fresh process over ``home``'s runs, after the Overview has opened
    the workspace: the first visit (MLflow and the A/B modules imported, runs read), a rerun with the runs cached,
    and one with the cache cleared (as after a new A/B)."""
    env = {**os.environ, "SHERLOCK_HOME": str(home), "SHERLOCK_DEMO": "false", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", PAGE_TIMING, str(ROOT / "pages" / "experiments.py"),
                           str(ROOT / "pages" / "home.py")], cwd=ROOT,
                          capture_output=True, text=True, env=env, timeout=600)
    if done.returncode:
        raise SystemExit(f"the Experiments page failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=ROOT / "benchmarks" / "results" / "nfcorpus-home")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--runs", type=int, default=500)
    args = parser.parse_args()
    bench_cli(args.home, args.data)
    bench_list_runs(args.runs)


if __name__ == "__main__":
    main()
