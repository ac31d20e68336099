"""The store of record on PostgreSQL vs SQLite at 10k incidents: ingest throughput and warm search latency, with the
time spent inside the store.

    .venv/bin/python benchmarks/bench_store.py [--store-url postgresql+psycopg://USER@HOST:PORT/DB] [--size 10000]
        [--queries 200] [--rounds 2]

Target (issue #16): search latency on PostgreSQL close to SQLite's at 10k incidents (same ingest, same queries), and
the store the bottleneck of neither ingest nor search.

One corpus (the demo generator, seed 11: bench_speed's ``corpus-10000.jsonl`` when it exists) is ingested into two
fresh workspaces under benchmarks/results/store/ (git-ignored): one on its SQLite file, one with ``store_url`` on a
fresh PostgreSQL database (migrated first). Document vectors come from a copied embedding cache (bench_speed's 10k
workspace, else a seed workspace built once here), so the ingests time the store and the indexes, not the model.
Every public :class:`~sherlock.storage.store.Store` method is wrapped in a timer (the outermost call only, the
iterators' ``next`` included), so each number below also says how much of it the store took.

(a) ingest: ``Workspace.ingest`` end to end per backend (incidents/s; the store's share of it), then ``Store.upsert``
    alone: the same incidents into an empty store in batches of 2,500 (median of 3 fresh stores), and again unchanged.
(b) warm search: the same ``--queries`` (the demo's labelled queries, as bench_speed) on both workspaces in one
    process, after a warm-up pass that leaves every query's embedding in each embedder's LRU; ``--rounds`` timed
    passes, alternating which backend goes first. Mean/p50/p95, the store's milliseconds and calls per search, and the
    mean per-query difference (PostgreSQL − SQLite) with a BCa bootstrap 95% interval.
(c) the same with a filter on the corpus's most common service (``Store.filter_ids`` runs per search).
(d) the store calls a search makes (``revision``, ``get_many`` of 10 ids, ``filter_ids``), alone, 300 times each.
Both backends must return the same result ids, in order, for every search.

With ``--store-url`` the benchmark creates (and drops at the end) the databases ``bench_store_*`` on that server (the
user needs CREATEDB); without it, it starts a throwaway server (initdb in /tmp, ``pg_ctl start -F``: no fsync, as the
test fixture) and stops it at the end. Results: benchmarks/results/store/results.json.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import statistics
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sherlock.cli.output import table

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
FOLDER = RESULTS / "store"
BACKENDS = ("sqlite", "postgresql")
UPSERT_BATCH = 2_500


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


# -- PostgreSQL: fresh databases -----------------------------------------------------------------------------------



def _libpq(url: str) -> str:
    """``url`` as psycopg takes it (no SQLAlchemy driver name)."""
    from sqlalchemy.engine import make_url
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def fresh_database(server_url: str, name: str) -> str:
    """The URL of a new, migrated database ``name`` on ``server_url``'s server (dropped first if it exists)."""
    import psycopg
    from sqlalchemy.engine import make_url

    from sherlock.storage.db.engine import open_url
    from sherlock.storage.db.migrate import upgrade
    with psycopg.connect(_libpq(server_url), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    engine = open_url(url)
    upgrade(engine)
    engine.dispose()
    return url


def drop_database(server_url: str, name: str) -> None:
    import psycopg
    with psycopg.connect(_libpq(server_url), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- the store's share: every public Store method timed ------------------------------------------------------------

class StoreTimer:
    """Seconds and calls per :class:`Store` method, counting only the outermost store call of each thread (a method
    that calls another is counted once) and, for the iterators a method returns, the time of each ``next``."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: Counter[str] = Counter()
        self._local = threading.local()
        self._lock = threading.Lock()
        self._originals: dict[str, Callable[..., Any]] = {}

    def install(self) -> StoreTimer:
        from sherlock.storage.store import Store
        for name, method in vars(Store).items():
            if callable(method) and not name.startswith("_") and name != "close":
                self._originals[name] = method
                setattr(Store, name, self._timed(name, method))
        return self

    def uninstall(self) -> None:
        from sherlock.storage.store import Store
        for name, method in self._originals.items():
            setattr(Store, name, method)

    def snapshot(self) -> tuple[dict[str, float], Counter[str]]:
        with self._lock:
            return dict(self.seconds), Counter(self.calls)

    def _outermost(self) -> bool:
        return getattr(self._local, "depth", 0) == 0

    def _add(self, name: str, seconds: float, call: bool) -> None:
        with self._lock:
            self.seconds[name] += seconds
            self.calls[name] += call

    def _timed(self, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        timer = self

        @functools.wraps(method)
        def timed(*args: Any, **kwargs: Any) -> Any:
            if not timer._outermost():
                return method(*args, **kwargs)
            timer._local.depth = 1
            started = time.perf_counter()
            try:
                result = method(*args, **kwargs)
            finally:
                timer._local.depth = 0
                timer._add(name, time.perf_counter() - started, True)
            return timer._iterate(name, result) if isinstance(result, Iterator) else result
        return timed

    def _iterate(self, name: str, iterator: Iterator[Any]) -> Iterator[Any]:
        while True:
            outermost = self._outermost()
            self._local.depth = getattr(self._local, "depth", 0) + 1
            started = time.perf_counter()
            try:
                item = next(iterator)
            except StopIteration:
                return
            finally:
                self._local.depth -= 1
                if outermost:
                    self._add(name, time.perf_counter() - started, False)
            yield item


# -- the corpus, the embedding cache, the workspaces ---------------------------------------------------------------

def corpus(size: int) -> Path:
    """bench_speed's corpus of ``size`` incidents when it exists, else the same one (seed 11) generated here."""
    shared = RESULTS / f"speed-{size}" / f"corpus-{size}.jsonl"
    if shared.exists():
        return shared
    from tools.demo.generator import generate_incidents
    path = FOLDER / f"corpus-{size}.jsonl"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        incidents = generate_incidents(n=size, seed=11)
        path.write_text("\n".join(json.dumps(i.to_json_dict()) for i in incidents) + "\n")
    return path


def seed_home(size: int, corpus_path: Path) -> Path:
    """A home whose ``cache`` holds every document vector of the corpus (and whose ``models`` the ONNX graph):
    bench_speed's workspace when it exists, else one ingested here once and kept."""
    from sherlock.config import load_settings
    shared = RESULTS / f"speed-{size}" / "home"
    if (shared / "cache" / "embeddings.sqlite").exists():
        return shared
    home = FOLDER / f"seed-{size}" / "home"
    if not (home / "cache" / "embeddings.sqlite").exists():
        from sherlock.storage.workspace import Workspace
        print(f"building the embedding cache in {home.relative_to(ROOT)} (once; the model embeds {size:,} incidents)",
              flush=True)
        Workspace(load_settings(home=home, demo=False).model_copy(update={"store_url": None})).ingest([corpus_path])
    return home


def new_workspace(backend: str, url: str | None, cache_from: Path) -> Any:
    """A fresh workspace under FOLDER with ``cache_from``'s embedding cache and models."""
    from sherlock.config import load_settings
    from sherlock.storage.workspace import Workspace
    home = FOLDER / f"{backend}-home"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    settings = load_settings(home=home, demo=False).model_copy(update={"store_url": url})
    shutil.copytree(cache_from / settings.cache_path.parent.name, settings.cache_path.parent)
    if (cache_from / settings.models_path.name).exists():
        shutil.copytree(cache_from / settings.models_path.name, settings.models_path)
    return Workspace(settings)


def count_model_calls(workspace: Any) -> Counter[str]:
    """How many document texts reach the model (a cache miss each) from now on."""
    counts: Counter[str] = Counter()
    inner = workspace.embedder.inner
    embed = inner.embed

    def counted(texts: Any) -> Any:
        counts["texts"] += len(texts)
        return embed(texts)
    inner.embed = counted
    return counts


# -- (a) ingest ----------------------------------------------------------------------------------------------------

def bench_ingest(workspace: Any, corpus_path: Path, timer: StoreTimer) -> dict[str, Any]:
    misses = count_model_calls(workspace)
    seconds_before, calls_before = timer.snapshot()
    started = time.perf_counter()
    report = workspace.ingest([corpus_path])
    elapsed = time.perf_counter() - started
    seconds_after, calls_after = timer.snapshot()
    by_method = {name: seconds_after[name] - seconds_before.get(name, 0.0) for name in seconds_after}
    calls = calls_after - calls_before
    store_s = sum(by_method.values())
    incidents = workspace.store.count()
    return {"incidents": incidents, "seconds": elapsed, "per_s": incidents / elapsed, "store_s": store_s,
            "upsert_s": by_method.get("upsert", 0.0), "store_share": store_s / elapsed,
            "sync_s": report.sync.seconds if report.sync else None, "model_texts": misses["texts"],
            "store_by_method": {name: {"s": round(s, 3), "calls": calls[name]}
                                for name, s in sorted(by_method.items(), key=lambda item: -item[1]) if calls[name]}}


def bench_upsert(incidents: list[Any], open_empty: Callable[[int], Any], repeats: int = 3) -> dict[str, Any]:
    """``Store.upsert`` of ``incidents`` in batches of :data:`UPSERT_BATCH` into ``repeats`` empty stores, then once
    more unchanged (content hashes compared, nothing written)."""
    fresh, unchanged = [], []
    for repeat in range(repeats):
        store = open_empty(repeat)
        started = time.perf_counter()
        for start in range(0, len(incidents), UPSERT_BATCH):
            store.upsert(incidents[start:start + UPSERT_BATCH], source="bench")
        fresh.append(time.perf_counter() - started)
        started = time.perf_counter()
        for start in range(0, len(incidents), UPSERT_BATCH):
            store.upsert(incidents[start:start + UPSERT_BATCH], source="bench")
        unchanged.append(time.perf_counter() - started)
        if store.count() != len(incidents):
            raise SystemExit(f"upsert stored {store.count()} of {len(incidents)} incidents")
        store.close()
    return {"fresh_s": fresh, "unchanged_s": unchanged, "fresh_per_s": len(incidents) / statistics.median(fresh),
            "unchanged_per_s": len(incidents) / statistics.median(unchanged)}


# -- (b), (c) search -----------------------------------------------------------------------------------------------

def bench_search(searchers: dict[str, Any], queries: list[str], filters: Any, rounds: int,
                 timer: StoreTimer) -> dict[str, Any]:
    """Warm, interleaved searches on every backend; per backend and query the mean total and store milliseconds."""
    for searcher in searchers.values():  # warm: model, snapshot, stemmer, each query's embedding in the LRU
        searcher.search("warm up: payment gateway timeout, zyxqv", filters=filters)
        for query in queries:
            searcher.search(query, k=10, filters=filters)
    total: dict[str, list[list[float]]] = {b: [[] for _ in queries] for b in searchers}
    store: dict[str, list[list[float]]] = {b: [[] for _ in queries] for b in searchers}
    calls: dict[str, Counter[str]] = {b: Counter() for b in searchers}
    method_s: dict[str, dict[str, float]] = {b: defaultdict(float) for b in searchers}
    agree = [True] * len(queries)
    answers: dict[str, tuple[bool, tuple[str, ...]]] = {}
    for round_number in range(rounds):
        for number, query in enumerate(queries):
            order = list(searchers) if (number + round_number) % 2 == 0 else list(reversed(searchers))
            for backend in order:
                seconds_before, calls_before = timer.snapshot()
                started = time.perf_counter()
                response = searchers[backend].search(query, k=10, filters=filters)
                elapsed = time.perf_counter() - started
                seconds_after, calls_after = timer.snapshot()
                store_s = sum(seconds_after.values()) - sum(seconds_before.values())
                total[backend][number].append(elapsed * 1000)
                store[backend][number].append(store_s * 1000)
                calls[backend].update(calls_after - calls_before)
                for name, seconds in seconds_after.items():
                    method_s[backend][name] += seconds - seconds_before.get(name, 0.0)
                answers[backend] = (response.abstained, tuple(hit.id for hit in response.results))
            if len(set(answers.values())) > 1:
                agree[number] = False
    searches = rounds * len(queries)
    out: dict[str, Any] = {"queries": len(queries), "rounds": rounds, "agree": sum(agree),
                           "disagree": [q for q, same in zip(queries, agree, strict=True) if not same][:10]}
    for backend in searchers:
        per_query = [statistics.mean(values) for values in total[backend]]
        flat = [v for values in total[backend] for v in values]
        store_flat = [v for values in store[backend] for v in values]
        out[backend] = {
            "per_query_ms": per_query, "mean_ms": statistics.mean(flat), "p50_ms": percentile(flat, 0.5),
            "p95_ms": percentile(flat, 0.95), "store_ms": statistics.mean(store_flat),
            "store_p95_ms": percentile(store_flat, 0.95), "store_share": sum(store_flat) / sum(flat),
            "store_calls": sum(calls[backend].values()) / searches,
            "by_method": {name: {"calls": calls[backend][name] / searches, "ms": method_s[backend][name] * 1000 /
                                 searches} for name in sorted(calls[backend])}}
    return out


def compare(search: dict[str, Any]) -> dict[str, Any]:
    """PostgreSQL − SQLite per query: mean, BCa bootstrap and t 95% intervals, paired t p."""
    from scipy import stats

    from sherlock.evaluation.stats import bootstrap_ci, paired_t
    a, b = search["sqlite"]["per_query_ms"], search["postgresql"]["per_query_ms"]
    diffs = [y - x for x, y in zip(a, b, strict=True)]
    mean = statistics.mean(diffs)
    half = stats.t.ppf(0.975, len(diffs) - 1) * statistics.stdev(diffs) / len(diffs) ** 0.5
    return {"diff_ms": mean, "ci95_bootstrap": list(bootstrap_ci(diffs)), "ci95_t": [mean - half, mean + half],
            "p_paired_t": paired_t(a, b), "ratio": statistics.mean(b) / statistics.mean(a)}


def bench_calls(stores: dict[str, Any], ids: list[str], filters: Any, repeats: int = 300) -> dict[str, Any]:
    """Median milliseconds of single store calls, the ones a search makes, alternating the backends."""
    calls: dict[str, Callable[[Any], Any]] = {
        "revision()": lambda store: store.revision(), "get_many(10 ids)": lambda store: store.get_many(ids),
        "filter_ids(service)": lambda store: store.filter_ids(filters)}
    out: dict[str, Any] = {}
    for name, call in calls.items():
        timings: dict[str, list[float]] = {backend: [] for backend in stores}
        for repeat in range(repeats):
            for backend in (BACKENDS if repeat % 2 == 0 else tuple(reversed(BACKENDS))):
                started = time.perf_counter()
                call(stores[backend])
                timings[backend].append((time.perf_counter() - started) * 1000)
        out[name] = {backend: {"p50_ms": statistics.median(values), "p95_ms": percentile(values, 0.95)}
                     for backend, values in timings.items()}
    return out


def print_search(title: str, search: dict[str, Any], difference: dict[str, Any]) -> None:
    print(f"\n{title}: {search['queries']} queries x {search['rounds']} rounds, warm, interleaved")
    rows = [["backend", "mean ms", "p50 ms", "p95 ms", "store ms/search", "store p95 ms", "store share",
             "store calls/search", "search - store ms"]]
    for backend in BACKENDS:
        r = search[backend]
        rows.append([backend, f"{r['mean_ms']:.2f}", f"{r['p50_ms']:.2f}", f"{r['p95_ms']:.2f}", f"{r['store_ms']:.2f}",
                     f"{r['store_p95_ms']:.2f}", f"{r['store_share']:.1%}", f"{r['store_calls']:.1f}",
                     f"{r['mean_ms'] - r['store_ms']:.2f}"])
    print(table(rows))
    methods = sorted({name for backend in BACKENDS for name in search[backend]["by_method"]})
    rows = [["store method", *(f"{b} calls/search" for b in BACKENDS), *(f"{b} ms/search" for b in BACKENDS)]]
    for name in methods:
        cells = [search[b]["by_method"].get(name, {"calls": 0.0, "ms": 0.0}) for b in BACKENDS]
        rows.append([name, *(f"{c['calls']:.1f}" for c in cells), *(f"{c['ms']:.3f}" for c in cells)])
    print(table(rows))
    low, high = difference["ci95_bootstrap"]
    t_low, t_high = difference["ci95_t"]
    print(f"PostgreSQL - SQLite per query: {difference['diff_ms']:+.2f} ms, BCa bootstrap 95% [{low:+.2f}, "
          f"{high:+.2f}], t 95% [{t_low:+.2f}, {t_high:+.2f}], paired t p = {difference['p_paired_t']:.2g}; "
          f"ratio of means {difference['ratio']:.2f}x")
    print(f"same result ids (in order) and abstention on both backends: {search['agree']} of {search['queries']} "
          "queries")


# -- the run -------------------------------------------------------------------------------------------------------

def run(server_url: str, args: argparse.Namespace, results: dict[str, Any]) -> None:
    import sqlite3

    import psycopg

    from sherlock.storage.db.stores import forget_shared_engines
    from sherlock.storage.demo import load_demo_queries
    from sherlock.storage.filters import Filters
    from sherlock.storage.store import Store

    corpus_path = corpus(args.size)
    cache_from = seed_home(args.size, corpus_path)
    results["corpus"], results["cache_from"] = str(corpus_path.relative_to(ROOT)), str(cache_from.relative_to(ROOT))
    with psycopg.connect(_libpq(server_url)) as connection:
        results["postgresql_version"] = connection.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
    results["sqlite_version"] = sqlite3.sqlite_version
    print(f"corpus {results['corpus']} ({args.size:,} incidents); embedding cache from {results['cache_from']}; "
          f"PostgreSQL {results['postgresql_version']}, SQLite {results['sqlite_version']}", flush=True)

    timer = StoreTimer().install()
    created = ["bench_store_workspace"]
    try:
        url = fresh_database(server_url, "bench_store_workspace")
        workspaces = {"sqlite": new_workspace("sqlite", None, cache_from)}
        ingest = results["ingest"] = {}
        ingest["sqlite"] = bench_ingest(workspaces["sqlite"], corpus_path, timer)
        # the second workspace takes the first's cache, so whatever the first embedded is not embedded again
        workspaces["postgresql"] = new_workspace("postgresql", url, workspaces["sqlite"].settings.home)
        ingest["postgresql"] = bench_ingest(workspaces["postgresql"], corpus_path, timer)
        results["load_average_after_ingest"] = os.getloadavg()[0]

        incidents = workspaces["sqlite"].store.all()  # as ingest stored them: redacted, linked

        def empty_postgresql(repeat: int) -> Any:
            name = f"bench_store_upsert_{repeat}"
            created.append(name)
            settings = workspaces["postgresql"].settings.model_copy(update={"store_url": fresh_database(server_url,
                                                                                                        name)})
            return Store(settings.store_path, settings)  # the path is unused: the store is the database

        def empty_sqlite(repeat: int) -> Any:
            path = FOLDER / "upsert" / f"store-{repeat}.sqlite"
            path.parent.mkdir(parents=True, exist_ok=True)
            for stale in path.parent.glob(f"{path.name}*"):  # the file, its -wal and -shm of an earlier run
                stale.unlink()
            return Store(path)

        timer.uninstall()  # the store alone, unwrapped
        upsert = results["upsert"] = {"sqlite": bench_upsert(incidents, empty_sqlite),
                                      "postgresql": bench_upsert(incidents, empty_postgresql)}
        timer.install()
        print(f"\n(a) ingest of {args.size:,} incidents (embedding cache warm), and Store.upsert alone in batches of "
              f"{UPSERT_BATCH:,}")
        rows = [["backend", "ingest s", "incidents/s", "store s", "of which upsert s", "store share", "sync s",
                 "texts embedded", "upsert alone /s (fresh)", "upsert alone /s (unchanged)"]]
        for backend in BACKENDS:
            i, u = ingest[backend], upsert[backend]
            rows.append([backend, f"{i['seconds']:.1f}", f"{i['per_s']:.0f}", f"{i['store_s']:.2f}",
                         f"{i['upsert_s']:.2f}", f"{i['store_share']:.1%}", f"{i['sync_s']:.1f}",
                         str(i["model_texts"]), f"{u['fresh_per_s']:.0f}", f"{u['unchanged_per_s']:.0f}"])
        print(table(rows))
        for backend in BACKENDS:
            top = ", ".join(f"{name} {v['s']:.2f} s/{v['calls']}"
                            for name, v in list(ingest[backend]["store_by_method"].items())[:6])
            print(f"store time in the {backend} ingest by method (seconds/calls): {top}")

        from sherlock.search.searcher import Searcher
        searchers = {backend: Searcher(workspaces[backend]) for backend in BACKENDS}
        texts = [q.query for q in load_demo_queries()]
        queries = [texts[i % len(texts)] + ("" if i < len(texts) else f" #{i}") for i in range(args.queries)]
        plain = results["search"] = bench_search(searchers, queries, None, args.rounds, timer)
        results["search_diff"] = compare(plain)
        print_search("(b) warm search, no filter", plain, results["search_diff"])
        services = workspaces["sqlite"].store.filter_values("service")
        service = next(iter(services))
        results["filter"] = {"service": service, "matching": services[service]}
        filtered = results["search_filtered"] = bench_search(searchers, queries, Filters(service=(service,)),
                                                             args.rounds, timer)
        results["search_filtered_diff"] = compare(filtered)
        print_search(f"(c) warm search, service={service} ({services[service]:,} of {args.size:,} incidents)",
                     filtered, results["search_filtered_diff"])
        timer.uninstall()
        ids = [incident.id for incident in incidents[:: max(1, len(incidents) // 10)]][:10]
        single = results["store_calls"] = bench_calls({b: workspaces[b].store for b in BACKENDS}, ids,
                                                      Filters(service=(service,)))
        print("\n(d) single store calls, warm (300 each, alternating backends)")
        rows = [["call", *(f"{b} p50 ms" for b in BACKENDS), *(f"{b} p95 ms" for b in BACKENDS)]]
        for name, r in single.items():
            rows.append([name, *(f"{r[b][stat]:.3f}" for stat in ("p50_ms", "p95_ms") for b in BACKENDS)])
        print(table(rows))
    finally:
        timer.uninstall()
        forget_shared_engines()
        for name in created:
            drop_database(server_url, name)
        for folder in ("sqlite-home", "postgresql-home", "upsert"):
            shutil.rmtree(FOLDER / folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store-url", help="postgresql+psycopg://USER@HOST:PORT/DB of a server started for the run "
                                            "(default: a throwaway server started here)")
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    FOLDER.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"size": args.size, "cores": os.cpu_count(),
                               "load_average_at_start": os.getloadavg()}
    print(f"{os.cpu_count()} cores, load average {' '.join(f'{v:.2f}' for v in os.getloadavg())} at the start "
          "(1/5/15 min; other work on the machine skews every timing here)", flush=True)
    started = time.perf_counter()
    if args.store_url:
        results["server"] = "given"
        run(args.store_url, args, results)
    else:
        results["server"] = "throwaway (pg_ctl start -F: no fsync)"
        from tools.postgres import throwaway_postgres
        with throwaway_postgres(prefix="sherlock-bench-pg-") as url:
            run(url, args, results)
    results["load_average_at_end"] = os.getloadavg()
    results["seconds"] = round(time.perf_counter() - started, 1)
    path = FOLDER / "results.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nload average {' '.join(f'{v:.2f}' for v in os.getloadavg())} at the end; {results['seconds']:.0f} s in "
          f"all; results in {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
