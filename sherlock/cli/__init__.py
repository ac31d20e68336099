"""The ``sherlock`` command line. ``--json`` output is a stable contract that scripts and other pages rely on.

Exit codes: 0 success; 1 some records rejected (ingest) or nothing found (show); 2 bad usage or an unusable file.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sherlock.config import load_settings

COMMANDS = {
    "ingest": "validate incident files and add them to the workspace",
    "search": "search past incidents (one query, or a batch file to a TREC run)",
    "show": "print one incident with all its fields",
    "stats": "corpus and workspace statistics",
    "reindex": "rebuild the vector and lexical indexes from the store",
    "ask": "answer a question from past incidents, citing them (offline, or Gemini when a key is set)",
    "feedback": "export search feedback as labelled queries and qrels, or count it",
    "tune": "tune the fusion weights on labelled queries (every weight triple, cross-validated; --apply to use them)",
    "patterns": "incident patterns: volume, time to resolve, recurring themes, spikes, repeat rate",
    "ab": "offline A/B test of two search configurations on labelled queries (paired tests, bootstrap CI, MLflow)",
    "ab-online": "analyse a live chat A/B experiment: helpful rate per arm with CIs, each arm against the control",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sherlock", description="Search and learn from past incidents.")
    parser.add_argument("--home", help="workspace folder (default: $SHERLOCK_HOME or ./.sherlock)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ingest = commands.add_parser("ingest", help=COMMANDS["ingest"], description=COMMANDS["ingest"])
    ingest.add_argument("paths", nargs="+", metavar="PATH")
    ingest.add_argument("--format", default="auto", choices=["auto", "sherlock", "jsonl", "json", "csv", "beir"])
    ingest.add_argument("--map", action="append", default=[], metavar="SRC=DST",
                        help="rename a source field to a canonical one (repeatable), e.g. summary=description")
    ingest.add_argument("--strict", action="store_true", help="store nothing from a file with any bad record")
    ingest.add_argument("--json", action="store_true", help="print the ingest report as JSON")

    search = commands.add_parser("search", help=COMMANDS["search"], description=COMMANDS["search"])
    search.add_argument("query", nargs="?", help="the question, symptom or ticket id")
    search.add_argument("-k", type=int, default=None, help="results to return (default 10; 100 in batch mode)")
    search.add_argument("--weights", help="fusion weights dense,bm25,tfidf (default from settings: 0.6,0.3,0.1)")
    search.add_argument("--fusion", help="wsum | rrf | combmnz | dbsf")
    search.add_argument("--norm", help="minmax | zscore | rank")
    search.add_argument("--filter", action="append", default=[], metavar="KEY=VALUE",
                        help="service, severity, category, status, tag, from, to (repeatable)")
    search.add_argument("--no-entity-boost", action="store_true", help="switch the entity-aware boost off")
    search.add_argument("--queries", type=Path, help="batch mode: JSONL {id,query} or BEIR queries.jsonl")
    search.add_argument("--run-out", type=Path, help="batch mode: write a TREC run here")
    search.add_argument("--json", action="store_true")

    show = commands.add_parser("show", help=COMMANDS["show"], description=COMMANDS["show"])
    show.add_argument("id")
    show.add_argument("--json", action="store_true")

    stats = commands.add_parser("stats", help=COMMANDS["stats"], description=COMMANDS["stats"])
    stats.add_argument("--json", action="store_true")

    commands.add_parser("reindex", help=COMMANDS["reindex"], description=COMMANDS["reindex"])

    ask = commands.add_parser("ask", help=COMMANDS["ask"], description=COMMANDS["ask"])
    ask.add_argument("question", help="a symptom, a question or a ticket id")
    ask.add_argument("-k", type=int, default=5, help="incidents to retrieve and answer from (default 5)")
    ask.add_argument("--filter", action="append", default=[], metavar="KEY=VALUE",
                     help="service, severity, category, status, tag, from, to (repeatable)")
    ask.add_argument("--provider", choices=["auto", "extractive", "gemini"],
                     help="answer provider (default from settings: auto = Gemini when a key is set)")
    ask.add_argument("--json", action="store_true")

    feedback = commands.add_parser("feedback", help=COMMANDS["feedback"], description=COMMANDS["feedback"])
    actions = feedback.add_subparsers(dest="action", required=True, metavar="ACTION")
    export = actions.add_parser("export", help="write feedback_queries.jsonl and feedback_qrels.tsv")
    export.add_argument("--out", type=Path, help="output folder (default: <home>/feedback)")
    export.add_argument("--json", action="store_true")
    feedback_stats = actions.add_parser("stats", help="how much feedback the workspace holds")
    feedback_stats.add_argument("--json", action="store_true")

    tune = commands.add_parser("tune", help=COMMANDS["tune"], description=COMMANDS["tune"])
    tune.add_argument("--queries", type=Path, help="BEIR queries.jsonl or JSONL {id,query} with --qrels; without "
                      "--qrels, a labelled JSONL {id,query,relevant}")
    tune.add_argument("--qrels", type=Path, help="BEIR qrels .tsv (with its header) or TREC qrels")
    tune.add_argument("--demo", action="store_true", help="the demo corpus's labelled queries (data/demo)")
    tune.add_argument("--metric", default="ndcg@10", help="ndcg@k, mrr@k, recall@k, precision@k, map, hit_rate@k")
    tune.add_argument("--fusion", default="wsum", choices=["wsum", "rrf", "combmnz", "dbsf"])
    tune.add_argument("--norm", action="append", choices=["minmax", "zscore", "rank", "dbsf", "none"],
                      help="normalisation(s) to try (repeatable; default: minmax, zscore and rank)")
    tune.add_argument("--step", type=float, default=0.05, help="weight grid step (default 0.05: 231 points)")
    tune.add_argument("--folds", type=int, default=5, help="cross-validation folds (default 5)")
    tune.add_argument("--seed", type=int, default=0, help="seed of the fold split (default 0)")
    tune.add_argument("--candidates", type=int, default=200, help="per-retriever pool per query (default 200)")
    tune.add_argument("--apply", action="store_true", help="write the best weights, fusion and norm to the "
                      "workspace's sherlock.toml")
    tune.add_argument("--json", action="store_true")

    patterns = commands.add_parser("patterns", help=COMMANDS["patterns"], description=COMMANDS["patterns"])
    patterns.add_argument("--freq", default="M", choices=["M", "W", "D"], help="volume per month, week or day")
    patterns.add_argument("--by", default="service", choices=["service", "severity", "category"],
                          help="group MTTR and spikes by this field (default service)")
    patterns.add_argument("--since", type=_iso_date, metavar="DATE", help="only incidents created on or after")
    patterns.add_argument("--json", action="store_true")

    ab = commands.add_parser("ab", help=COMMANDS["ab"], description=COMMANDS["ab"])
    for arm, role in (("a", "control"), ("b", "treatment")):
        ab.add_argument(arm, metavar=arm.upper(), help=f"the {role}: a variant file, NAME for experiments/NAME.toml, "
                        "or 'workspace' (the workspace's own settings)")
    ab.add_argument("--queries", type=Path, help="as for tune: BEIR queries.jsonl or JSONL {id,query} with --qrels; "
                    "without --qrels, a labelled JSONL {id,query,relevant}")
    ab.add_argument("--qrels", type=Path, help="BEIR qrels .tsv (with its header) or TREC qrels")
    ab.add_argument("--demo", action="store_true", help="the demo corpus's labelled queries (data/demo)")
    ab.add_argument("--metrics", default="ndcg@10,mrr@10,recall@10",
                    help="comma-separated; the first decides wins/ties/losses (default ndcg@10,mrr@10,recall@10)")
    ab.add_argument("--resamples", type=int, default=10_000, help="bootstrap and permutation resamples (10000)")
    ab.add_argument("--seed", type=int, default=0, help="seed of the resampling (default 0)")
    ab.add_argument("--alpha", type=float, default=0.05, help="significance level after Holm (default 0.05)")
    ab.add_argument("--experiment", default="sherlock-ab", help="MLflow experiment (default sherlock-ab)")
    ab.add_argument("--no-mlflow", action="store_true", help="do not log the comparison to MLflow")
    ab.add_argument("--json", action="store_true")

    online = commands.add_parser("ab-online", help=COMMANDS["ab-online"], description=COMMANDS["ab-online"])
    online.add_argument("name", metavar="NAME", help="an online experiment: experiments/NAME.toml, or a path")
    online.add_argument("--no-mlflow", action="store_true", help="do not log the analysis to MLflow")
    online.add_argument("--json", action="store_true")
    return parser


def _iso_date(text: str) -> Any:
    from datetime import date
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO date like 2025-01-31") from None


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return HANDLERS[args.command](args)
    except (ValueError, RuntimeError, FileNotFoundError) as exc:
        print(f"sherlock {args.command}: error: {exc}", file=sys.stderr)
        return 2


# -- helpers ----------------------------------------------------------------------------------------------------

def _workspace(args: argparse.Namespace, **overrides: Any) -> Any:
    from sherlock.storage.workspace import Workspace
    return Workspace(load_settings(args.home, **overrides))


def _progress() -> Any:
    """A ``progress(stage, done, total)`` callback drawing one tqdm bar per stage on stderr."""
    from tqdm import tqdm
    bars: dict[str, Any] = {}

    def update(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = tqdm(total=total, desc=stage, unit="doc" if stage != "lexical index" else "step",
                                     file=sys.stderr, leave=False, disable=None)
        bar.total = total
        bar.n = done
        bar.refresh()
        if done >= total:
            bar.close()

    return update


def _ready(workspace: Any) -> None:
    """Load the demo corpus into an empty workspace (if enabled) and bring indexes up to date."""
    if workspace.settings.demo and not workspace.store.count():
        print("Empty workspace: loading the demo corpus (set SHERLOCK_DEMO=false to skip).", file=sys.stderr)
    workspace.prepare(progress=_progress())


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False, default=str))


# -- commands ---------------------------------------------------------------------------------------------------

def cmd_ingest(args: argparse.Namespace) -> int:
    from sherlock.storage.ingest import exit_code, parse_mapping
    workspace = _workspace(args)
    report = workspace.ingest(args.paths, args.format, parse_mapping(args.map), args.strict, progress=_progress())
    if args.json:
        _print_json(report.as_dict())
    else:
        for file in report.files:
            if file.error:
                print(f"{file.error}", file=sys.stderr)
                continue
            for rejection in file.rejected:
                print(rejection, file=sys.stderr)
            note = "" if file.stored else " (--strict: nothing stored from this file)"
            print(f"{file.path} [{file.format}]: {file.records} records, {len(file.added)} added, "
                  f"{len(file.updated)} updated, {len(file.unchanged)} unchanged, {len(file.rejected)} rejected{note}")
            for incident_id, other in file.duplicate_content:
                print(f"  same content: {incident_id} duplicates {other}")
        if report.sync:
            print(f"indexes at revision {report.sync.revision}: {report.sync.embedded} embedded, "
                  f"{report.sync.deleted} removed ({report.sync.seconds:.1f}s)")
    return exit_code(report.files)


def cmd_search(args: argparse.Namespace) -> int:
    from sherlock.search.searcher import Searcher
    from sherlock.storage.store import Filters
    if args.queries is None and not args.query:
        raise ValueError("give a QUERY, or --queries FILE --run-out RUN.tsv for batch mode")
    workspace = _workspace(args)
    _ready(workspace)
    searcher = Searcher(workspace)
    options = {"filters": Filters.parse(args.filter), "fusion": args.fusion, "norm": args.norm,
               "weights": load_settings(args.home, weights=args.weights).weights if args.weights else None,
               "entity_boost": False if args.no_entity_boost else None}
    if args.queries is not None:
        return _search_batch(args, searcher, options)
    response = searcher.search(args.query, k=args.k or 10, **options)
    if args.json:
        _print_json(response.as_dict())
        return 0
    print(f"[{response.strategy}] confidence {response.confidence:.2f}, {response.took_ms:.0f} ms")
    if response.abstained:
        print(f"No matching past incident. {response.reason or ''}".strip())
        if response.results:
            print("Nearest misses (not matches):")
    for rank, hit in enumerate(response.results, start=1):
        tag = " (related)" if hit.related else ""
        print(f"{rank:>3}. {hit.id}  {hit.title}{tag}  score={hit.score:.3f}")
    return 0


def _search_batch(args: argparse.Namespace, searcher: Any, options: dict[str, Any]) -> int:
    from sherlock.evaluation.metrics import read_queries
    from sherlock.run import write_trec_run
    if args.run_out is None:
        raise ValueError("batch mode needs --run-out RUN.tsv")
    queries = read_queries(args.queries)
    run = searcher.rank(queries, k=args.k or 100, **options)
    write_trec_run(run, args.run_out, tag="sherlock")
    summary = {"queries": len(queries), "run": str(args.run_out), "k": args.k or 100}
    _print_json(summary) if args.json else print(f"ranked {len(queries)} queries → {args.run_out}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    workspace = _workspace(args)
    _ready(workspace)
    incident = workspace.store.get(args.id)
    if incident is None:
        print(f"sherlock show: no incident {args.id!r} in {workspace.settings.home}", file=sys.stderr)
        return 1
    data = incident.to_json_dict()
    if args.json:
        _print_json(data)
        return 0
    for key, value in data.items():
        if value in (None, "", [], {}):
            continue
        text = json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else str(value)
        print(f"{key:>12}: {text}")
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    workspace = _workspace(args)
    _ready(workspace)
    store, settings = workspace.store, workspace.settings
    first, last = store.date_span()
    data = {
        "incidents": store.count(), "revision": store.revision(), "home": str(settings.home),
        "services": store.facet_counts("service"), "severities": store.facet_counts("severity"),
        "categories": store.facet_counts("category"), "created_from": first, "created_to": last,
        "embedder": workspace.embedder.name, "vectors": workspace.dense.count(), "synced": workspace.is_synced(),
        "fusion": {"weights": list(settings.weights), "method": settings.fusion, "norm": settings.norm},
        "mlflow_tracking_uri": settings.tracking_uri,
    }
    if args.json:
        _print_json(data)
        return 0
    print(f"{data['incidents']} incidents ({first} … {last}) in {data['home']}")
    print(f"vectors: {data['vectors']} ({data['embedder']}), indexes synced: {data['synced']}")
    print(f"fusion: {data['fusion']}")
    print(f"MLflow: {data['mlflow_tracking_uri']}")
    return 0


def cmd_reindex(args: argparse.Namespace) -> int:
    workspace = _workspace(args)
    report = workspace.reindex(progress=_progress())
    print(f"reindexed {workspace.store.count()} incidents: {report.embedded} embedded ({report.seconds:.1f}s)")
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    from sherlock.answer.answerer import Answerer
    from sherlock.search.searcher import Searcher
    from sherlock.storage.store import Filters
    filters = Filters.parse(args.filter)
    workspace = _workspace(args, answer_provider=args.provider)
    _ready(workspace)
    answer = Answerer(Searcher(workspace)).ask(args.question, k=args.k, filters=filters)
    if args.json:
        _print_json(answer.as_dict())
        return 0
    print(answer.answer)
    if answer.note:
        print(f"Note: {answer.note}")
    results = answer.search.results if answer.search else []
    if answer.abstained and results:
        print("Nearest misses (not matches):")
        for hit in results:
            print(f"  {hit.id}  {hit.title}")
    elif answer.citations:
        titles = {hit.id: hit.title for hit in results}
        print(f"Cited ({answer.provider}, {answer.took_ms:.0f} ms):")
        for doc_id in answer.citations:
            print(f"  [{doc_id}] {titles.get(doc_id, '')}")
    return 0


def cmd_feedback(args: argparse.Namespace) -> int:
    from sherlock.storage.feedback import FeedbackStore
    workspace = _workspace(args)
    _ready(workspace)
    store = FeedbackStore(workspace.settings.feedback_path)
    queries, qrels = store.judgements()
    data: dict[str, Any] = {"records": store.count(), "queries": len(queries),
                            "judgements": sum(len(judged) for judged in qrels.values()),
                            "store": str(workspace.settings.feedback_path)}
    if args.action == "export":
        queries_path, qrels_path = store.export(args.out or workspace.settings.home / "feedback")
        data.update(queries_path=str(queries_path), qrels_path=str(qrels_path))
    store.close()
    if args.json:
        _print_json(data)
    elif args.action == "export":
        print(f"{data['queries']} labelled queries ({data['judgements']} judgements from {data['records']} "
              f"feedback records) → {data['queries_path']}, {data['qrels_path']}")
    else:
        print(f"{data['records']} feedback records on {data['queries']} queries ({data['judgements']} judgements) "
              f"in {data['store']}")
    return 0


def cmd_patterns(args: argparse.Namespace) -> int:
    from sherlock.analytics.patterns import format_report, patterns_report
    workspace = _workspace(args)
    if workspace.settings.demo and not workspace.store.count():
        _ready(workspace)  # only the store is read: a non-empty workspace is not re-indexed first
    report = patterns_report(workspace.store.iter_incidents(), freq=args.freq, by=args.by, since=args.since)
    _print_json(report) if args.json else print(format_report(report))
    return 0


def cmd_tune(args: argparse.Namespace) -> int:
    from sherlock.search.searcher import Searcher
    from sherlock.evaluation.tuning import apply_result, check_options, log_to_mlflow, score_candidates, tune
    from sherlock.evaluation.query_sets import load_query_set, report, restrict, tqdm_progress
    norms = args.norm or ["minmax", "zscore", "rank"]
    check_options(args.metric, args.fusion, norms, args.step, args.folds)
    loaded = load_query_set(args.queries, args.qrels, args.demo)
    workspace = _workspace(args)
    _ready(workspace)
    settings = workspace.settings
    query_set = restrict(loaded, set(workspace.store.hashes()))
    for note in query_set.notes:
        print(f"sherlock tune: {note}", file=sys.stderr)
    pool = score_candidates(Searcher(workspace), query_set.queries, n=args.candidates,
                            progress=tqdm_progress("scoring queries"))
    result = tune(pool, query_set.qrels, metric=args.metric, fusion=args.fusion, norms=norms, step=args.step,
                  folds=args.folds, seed=args.seed, current=(settings.weights, settings.fusion, settings.norm),
                  rrf_k=settings.rrf_k)
    try:
        result.mlflow_run_id = log_to_mlflow(result, settings, query_set.name)
    except Exception as exc:  # noqa: BLE001 - the record of a run must not cost the run itself
        print(f"sherlock tune: warning: the run was not logged to MLflow ({exc})", file=sys.stderr)
    applied = apply_result(settings, result) if args.apply else None
    _print_json(result.as_dict()) if args.json else print(report(result, query_set.name, settings, applied))
    return 0


def cmd_ab(args: argparse.Namespace) -> int:
    import time

    from sherlock.evaluation.offline_ab import check_metrics, run_offline
    from sherlock.evaluation.offline_ab_mlflow import log_ab, report
    from sherlock.evaluation.query_sets import load_query_set, restrict, tqdm_progress
    from sherlock.evaluation.variants import resolve_variant
    metrics = check_metrics(args.metrics)
    if not 0 < args.alpha < 1 or args.resamples < 1:
        raise ValueError(f"--alpha must lie strictly between 0 and 1 and --resamples be >= 1 (got {args.alpha}, "
                         f"{args.resamples})")
    loaded = load_query_set(args.queries, args.qrels, args.demo)
    workspace = _workspace(args)
    arms = [resolve_variant(spec, workspace.settings.experiments_dir) for spec in (args.a, args.b)]
    for arm in arms:
        arm.settings(workspace.settings)  # an override the workspace cannot take fails here, before any scoring
    _ready(workspace)
    query_set = restrict(loaded, set(workspace.store.hashes()))
    for note in query_set.notes:
        print(f"sherlock ab: {note}", file=sys.stderr)
    bars: dict[str, Any] = {}

    def progress(stage: str, done: int, total: int) -> None:
        bars.setdefault(stage, tqdm_progress(stage))(done, total)

    result = run_offline(workspace, *arms, query_set.queries, query_set.qrels, metrics, args.resamples, args.seed,
                         args.alpha, query_set.name, progress)
    if not args.no_mlflow:
        started = time.perf_counter()
        try:
            log_ab(result, workspace.settings, args.experiment)
        except Exception as exc:  # noqa: BLE001 - the record of a run must not cost the run itself
            print(f"sherlock ab: warning: the comparison was not logged to MLflow ({exc})", file=sys.stderr)
        result.seconds["mlflow"] = round(time.perf_counter() - started, 3)
    _print_json(result.as_dict()) if args.json else print(report(result, workspace.settings))
    return 0


def cmd_ab_online(args: argparse.Namespace) -> int:
    from sherlock.storage.feedback import FeedbackStore
    from sherlock.evaluation.online_ab import analyse, format_result, load_online
    from sherlock.evaluation.online_ab_mlflow import log_online
    settings = load_settings(args.home)
    experiment = load_online(args.name, settings)
    store = FeedbackStore(settings.feedback_path)
    try:
        result = analyse(experiment, store)
    finally:
        store.close()
    if not args.no_mlflow:
        try:
            result.mlflow_run_id = log_online(result, settings)
        except Exception as exc:  # noqa: BLE001 - the record of an analysis must not cost the analysis itself
            print(f"sherlock ab-online: warning: the analysis was not logged to MLflow ({exc})", file=sys.stderr)
    if args.json:
        _print_json(result.as_dict())
        return 0
    print(format_result(result))
    if result.mlflow_run_id:
        print(f"MLflow run: {result.mlflow_run_id} (experiment sherlock-ab-online, {settings.tracking_uri})")
    return 0


HANDLERS = {"ingest": cmd_ingest, "search": cmd_search, "show": cmd_show, "stats": cmd_stats,
            "reindex": cmd_reindex, "ask": cmd_ask, "feedback": cmd_feedback, "tune": cmd_tune,
            "patterns": cmd_patterns, "ab": cmd_ab, "ab-online": cmd_ab_online}

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
