"""Incident-pattern speed: `sherlock patterns` on 100k incidents; the patterns page's first render on the demo corpus.

    .venv/bin/python benchmarks/bench_patterns.py [--n 100000] [--demo-home benchmarks/results/demo-home]

Targets (issue #6): the `sherlock patterns` computation on 100k incidents < 5 s — incidents generated in memory with
tools.demo.generator.generate_incidents (no ingest, no embedding; reading them back from SQLite is timed separately for
reference) — and the page's first render < 3 s on the demo corpus, with AppTest. The demo workspace is kept under
benchmarks/results/ (git-ignored) and built with the demo corpus when missing.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NAN = float("nan")


Row = tuple[str, float, float, str]  # step, wall seconds, CPU seconds (this process), note


def timed(rows: list[Row], name: str, function, *args, note: str = "", **kwargs):  # noqa: ANN001, ANN201
    wall, cpu = time.perf_counter(), time.process_time()
    result = function(*args, **kwargs)
    rows.append((name, time.perf_counter() - wall, time.process_time() - cpu, note))
    return result


def bench_report(n: int) -> tuple[list[Row], float]:
    """Each step of the report on ``n`` incidents, then the whole report end to end (what the target is about)."""
    from sherlock.analytics import frame as analytics
    from sherlock.analytics import themes
    from sherlock.analytics.patterns import patterns_report
    from sherlock.analytics.spikes import find_spikes
    from sherlock.storage.demo import active_spikes
    from tools.demo.generator import generate_incidents

    print(f"generating {n:,} incidents …", flush=True)
    incidents = generate_incidents(n=n)
    rows: list[Row] = []
    frame = timed(rows, "incidents_frame (UTC timestamps)", analytics.incidents_frame, incidents)
    kept, excluded = timed(rows, "exclude (status / tags)", analytics.exclude, frame)
    vectors = timed(rows, "vectorize (TF-IDF)", themes.vectorize, kept, note=f"{len(kept):,} texts")
    kept = timed(rows, "assign_themes (sample 2,000 + assign)", themes.assign_themes, kept, vectors)
    kept = timed(rows, "mark_repeats (30 days, cosine ≥ 0.6)", themes.mark_repeats, kept, vectors)
    for freq in ("M", "W", "D"):
        timed(rows, f"volume by service ({freq})", analytics.volume, kept, freq, "service")
    timed(rows, "mttr by service", analytics.mttr, kept, "service")
    found = timed(rows, "spikes by family (weekly)", find_spikes, kept, "family")
    timed(rows, "theme_summary", themes.theme_summary, kept)
    timed(rows, "top_entities (monthly)", analytics.top_entities, kept, "M")
    injected = {(s.week_start.isoformat(), s.family) for s in active_spikes()}
    hits = injected & set(zip(found["period"], found["group"], strict=True))
    rows.append(("  injected spikes found", NAN, NAN, f"{len(hits)}/{len(injected)}, {len(found)} weeks flagged"))
    rows.append(("  themes / repeat rate", NAN, NAN,
                 f"{kept['theme'].nunique()} themes, {themes.repeat_rate(kept):.1%} repeats, excluded {excluded}"))
    text = timed(rows, "patterns_report + JSON, end to end", lambda: json.dumps(patterns_report(incidents)))
    rows[-1] = (*rows[-1][:3], f"{len(text) / 1e6:.1f} MB of JSON")
    return rows, rows[-1][1]


def bench_store_read(n: int, tmp: Path) -> tuple[float, float]:
    """Reading ``n`` incidents back from a SQLite store (what the CLI does before the analytics)."""
    from sherlock.storage.store import Store
    from tools.demo.generator import generate_incidents
    store = Store(tmp / f"store-{n}.sqlite")
    if store.count() != n:
        store.upsert(generate_incidents(n=n))
    wall, cpu = time.perf_counter(), time.process_time()
    count = sum(1 for _ in store.iter_incidents())
    assert count == n
    return time.perf_counter() - wall, time.process_time() - cpu


def bench_page(home: Path) -> list[Row]:
    """The page's first render (cold process: workspace opened, analytics computed, charts drawn), its first render
    in a warm process with the data cache empty, and a re-render with every cache warm."""
    from sherlock.config import load_settings
    from sherlock.storage.workspace import Workspace
    workspace = Workspace(load_settings(home=home, demo=False))
    if not workspace.store.count():
        print(f"building the demo workspace in {home} (embeds 2,000 incidents, once) …", flush=True)
        workspace.ensure_demo()
    workspace.sync()
    os.environ.update({"SHERLOCK_HOME": str(home), "SHERLOCK_DEMO": "false"})

    import streamlit as st
    from streamlit.testing.v1 import AppTest
    rows = []
    for name in ("first render, cold process", "first render, warm process (data cache empty)",
                 "re-render, caches warm"):
        if "data cache empty" in name:
            st.cache_data.clear()
        app = timed(rows, name, AppTest.from_file(str(ROOT / "pages" / "patterns.py"), default_timeout=120).run)
        if app.exception:
            raise SystemExit(f"the page raised: {app.exception[0].value}")
        rows[-1] = (*rows[-1][:3], f"{len(app.get('plotly_chart'))} charts, {len(app.download_button)} CSV downloads")
    return rows


def print_table(what: str, rows: list[Row]) -> None:
    print(f"| {what} | wall s | CPU s | note |\n|---|---|---|---|")
    for name, wall, cpu, note in rows:
        shown = ["" if value != value else f"{value:.2f}" for value in (wall, cpu)]  # NaN: an information row
        print(f"| {name} | {shown[0]} | {shown[1]} | {note} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--demo-home", type=Path, default=ROOT / "benchmarks" / "results" / "demo-home")
    parser.add_argument("--skip-page", action="store_true")
    args = parser.parse_args()

    rows, total = bench_report(args.n)
    results = ROOT / "benchmarks" / "results"
    results.mkdir(parents=True, exist_ok=True)
    read_wall, read_cpu = bench_store_read(args.n, results)
    rows.append((f"(reference) read {args.n:,} incidents from SQLite", read_wall, read_cpu, "not part of the target"))
    print(f"\n`sherlock patterns` on {args.n:,} incidents")
    print_table("step", rows)
    print(f"\nend to end {total:.2f} s (target < 5 s): {'PASS' if total < 5 else 'FAIL'}")

    if not args.skip_page:
        page = bench_page(args.demo_home)
        print("\nIncident patterns page on the demo corpus (AppTest)")
        print_table("render", page)
        first = page[0][1]
        print(f"\nfirst render {first:.2f} s (target < 3 s): {'PASS' if first < 3 else 'FAIL'}")


if __name__ == "__main__":
    main()
