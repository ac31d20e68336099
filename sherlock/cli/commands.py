"""The core commands: ingest, search, show, stats, reindex, ask, feedback, patterns. Heavy modules are imported inside
each command, so ``sherlock search`` loads only what one query needs."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from sherlock.cli.output import key_values, print_json, progress, table
from sherlock.config import load_settings
from sherlock.storage.db.urls import redact


def open_workspace(args: argparse.Namespace, **overrides: Any) -> Any:
    from sherlock.storage.workspace import Workspace
    return Workspace(load_settings(args.home, **overrides))


def ready(workspace: Any) -> None:
    """Load the demo corpus into an empty workspace (if enabled) and bring indexes up to date."""
    if workspace.settings.demo and not workspace.store.count():
        print("Empty workspace: loading the demo corpus (set SHERLOCK_DEMO=false to skip).", file=sys.stderr)
    workspace.prepare(progress=progress())


def parse_mapping(items: Sequence[str]) -> dict[str, str]:
    """``--map SOURCE=CANONICAL`` options as ``{source: canonical}``."""
    mapping: dict[str, str] = {}
    for item in items:
        source, sep, target = item.partition("=")
        if not sep or not source.strip() or not target.strip():
            raise ValueError(f"bad --map {item!r}: use SOURCE_FIELD=CANONICAL_FIELD, e.g. summary=description")
        mapping[source.strip()] = target.strip()
    return mapping


def cmd_ingest(args: argparse.Namespace) -> int:
    from sherlock.storage.ingest import exit_code
    workspace = open_workspace(args)
    report = workspace.ingest(args.paths, args.format, parse_mapping(args.map), args.strict, progress=progress())
    if args.json:
        print_json(report.as_dict())
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
        for duplicate in report.possible_duplicates:
            if not duplicate.reason.startswith("same text"):  # those are listed per file above
                print(f"  possible duplicate: {duplicate.id} of {duplicate.of} ({duplicate.reason})")
        for link in report.links:
            print(f"  linked: {link}")
        if report.redacted:  # counts per rule (sherlock.redaction), never the secrets
            print(f"redacted: {report.redacted.describe()}")
        if report.sync:
            print(f"indexes at revision {report.sync.revision}: {report.sync.embedded} embedded, "
                  f"{report.sync.deleted} removed ({report.sync.seconds:.1f}s)")
    return exit_code(report.files)


def cmd_search(args: argparse.Namespace) -> int:
    from sherlock.search.searcher import Searcher
    from sherlock.storage.store import Filters
    if args.queries is None and not args.query:
        raise ValueError("give a QUERY, or --queries FILE --run-out RUN.tsv for batch mode")
    options: dict[str, Any] = {"filters": Filters.parse(args.filter),
                               "entity_boost": False if args.no_entity_boost else None}
    # the fusion flags are settings: validated (with a message saying what is valid) before the workspace loads
    workspace = open_workspace(args, weights=args.weights, fusion=args.fusion, norm=args.norm)
    ready(workspace)
    searcher = Searcher(workspace)
    if args.queries is not None:
        return search_batch(args, searcher, options)
    response = searcher.search(args.query, k=args.k or 10, **options)
    from sherlock.monitoring.record import log_search
    log_search(workspace.settings, response, channel="cli")
    if args.json:
        print_json(response.as_dict())
    else:
        print(search_text(response))
    return 0


def search_text(response: Any) -> str:
    """One search response as text: an exact ticket id as found (no score: it was looked up, not ranked) with its
    related incidents and their fused scores under "Related"; otherwise the ranked results with their scores, or why
    nothing matched and the nearest misses."""
    lines = []
    if response.strategy == "exact_id":
        exact = [hit for hit in response.results if not hit.related]
        if not exact:
            return f"[exact_id] {response.reason}"
        note = f"; {response.reason}" if response.reason else ""
        lines.append(f"[exact_id] found {', '.join(hit.id for hit in exact)}{note}, {response.took_ms:.0f} ms")
        lines += [f"  {hit.id}  {hit.title}  (exact id)" for hit in exact]
        related = [hit for hit in response.results if hit.related]
        if related:
            lines.append(f"Related (similar incidents to {exact[0].id}; their similarity scores):")
            lines += [f"{rank:>3}. {hit.id}  {hit.title}  score={hit.score:.3f}"
                      for rank, hit in enumerate(related, start=1)]
        return "\n".join(lines)
    lines.append(f"[{response.strategy}] confidence {response.confidence:.2f}, {response.took_ms:.0f} ms")
    if response.abstained:
        lines.append(no_match_text(response.reason))
        if response.results:
            lines.append("Nearest misses (not matches):")
    lines += [f"{rank:>3}. {hit.id}  {hit.title}  score={hit.score:.3f}"
              for rank, hit in enumerate(response.results, start=1)]
    return "\n".join(lines)


def no_match_text(reason: str | None) -> str:
    """Why a search abstained, as a sentence starting "No ...": the searcher's reasons mostly start with "no"."""
    text = reason or "no matching past incident"
    text = text if text.lower().startswith("no ") else f"no matching past incident: {text}"
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", "?")) else ".")


def search_batch(args: argparse.Namespace, searcher: Any, options: dict[str, Any]) -> int:
    from sherlock.evaluation.query_sets import read_queries
    from sherlock.run import write_trec_run
    if args.run_out is None:
        raise ValueError("batch mode needs --run-out RUN.tsv")
    queries = read_queries(args.queries)
    run = searcher.rank(queries, k=args.k or 100, **options)
    write_trec_run(run, args.run_out, tag="sherlock")
    summary = {"queries": len(queries), "run": str(args.run_out), "k": args.k or 100}
    print_json(summary) if args.json else print(f"ranked {len(queries)} queries → {args.run_out}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    workspace = open_workspace(args)
    ready(workspace)
    incident = workspace.store.get(args.id)
    if incident is None:
        print(f"sherlock show: no incident {args.id!r} in {workspace.settings.home}", file=sys.stderr)
        return 1
    data = incident.to_json_dict()
    if args.json:
        print_json(data)
        return 0
    for key, value in data.items():
        if value in (None, "", [], {}):
            continue
        text = json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else str(value)
        print(f"{key:>12}: {text}")
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    workspace = open_workspace(args)
    ready(workspace)
    store, settings = workspace.store, workspace.settings
    first, last = store.date_span()
    data = {
        "incidents": store.count(), "revision": store.revision(), "home": str(settings.home),
        "store": redact(settings.store_url) if settings.store_url else str(settings.store_path),
        "services": store.facet_counts("service"), "severities": store.facet_counts("severity"),
        "categories": store.facet_counts("category"), "created_from": first, "created_to": last,
        "embedder": workspace.embedder.name, "vectors": workspace.dense.count(), "synced": workspace.is_synced(),
        "fusion": {"weights": list(settings.weights), "method": settings.fusion, "norm": settings.norm},
        "mlflow_tracking_uri": settings.tracking_uri,
    }
    if args.json:
        print_json(data)
        return 0
    print(stats_text(data))
    return 0


def stats_text(data: dict[str, Any]) -> str:
    """``sherlock stats`` as text: the workspace in aligned lines, then incidents per service, severity and
    category as tables."""
    weights = ", ".join(f"{name} {weight:g}" for name, weight in zip(("dense", "bm25", "tfidf"),
                                                                     data["fusion"]["weights"], strict=True))
    span = f"created {data['created_from']} … {data['created_to']}" if data["created_from"] else "no dates"
    summary = [("workspace", data["home"]), ("store", data["store"]),
               ("incidents", f"{data['incidents']} ({span}), store revision {data['revision']}"),
               ("vectors", f"{data['vectors']} ({data['embedder']}), indexes "
                           + ("in sync" if data["synced"] else "out of date: run `sherlock reindex`")),
               ("fusion", f"{data['fusion']['method']} over {data['fusion']['norm']} scores, weights {weights}"),
               ("MLflow", data["mlflow_tracking_uri"])]
    blocks = [key_values(summary)]
    for key, column in (("services", "service"), ("severities", "severity"), ("categories", "category")):
        if data[key]:
            blocks.append(table([[column, "incidents"], *([name, str(n)] for name, n in data[key].items())]))
    return "\n\n".join(blocks)


def cmd_reindex(args: argparse.Namespace) -> int:
    workspace = open_workspace(args)
    report = workspace.reindex(progress=progress())
    print(f"reindexed {workspace.store.count()} incidents: {report.embedded} embedded ({report.seconds:.1f}s)")
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    from sherlock.answer.answerer import Answerer
    from sherlock.search.searcher import Searcher
    from sherlock.storage.store import Filters
    filters = Filters.parse(args.filter)
    workspace = open_workspace(args, answer_provider=args.provider)
    ready(workspace)
    answer = Answerer(Searcher(workspace)).ask(args.question, k=args.k, filters=filters)
    from sherlock.monitoring.record import log_answer
    log_answer(workspace.settings, answer, channel="cli")
    if args.json:  # the search's reason and filter suggestions say why an abstained answer found nothing
        search = answer.search
        print_json({**answer.as_dict(), "reason": search.reason if search else None,
                    "filter_suggestions": search.filter_suggestions if search else {}})
        return 0
    print(answer.answer)
    if answer.note:
        print(f"Note: {answer.note}")
    if answer.abstained and answer.search and answer.search.strategy != "exact_id":
        print(no_match_text(answer.search.reason))
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
    from sherlock.storage.feedback import open_feedback
    workspace = open_workspace(args)
    ready(workspace)
    store = open_feedback(workspace.settings)
    queries, qrels = store.judgements()
    pairs = store.pair_qrels()
    data: dict[str, Any] = {"records": store.count(), "queries": len(queries),
                            "judgements": sum(len(judged) for judged in qrels.values()),
                            "pairs": sum(len(judged) for judged in pairs.values()),
                            "store": store.location}
    if args.action == "export":
        out = args.out or workspace.settings.home / "feedback"
        queries_path, qrels_path = store.export(out)
        pairs_path = store.export_pairs(out / "feedback_pairs.tsv")
        data.update(queries_path=str(queries_path), qrels_path=str(qrels_path), pairs_path=str(pairs_path))
    store.close()
    if args.json:
        print_json(data)
    elif args.action == "export":
        print(f"{data['queries']} labelled queries ({data['judgements']} judgements from {data['records']} "
              f"feedback records) → {data['queries_path']}, {data['qrels_path']}; {data['pairs']} labelled "
              f"incident pairs → {data['pairs_path']}")
    else:
        print(f"{data['records']} feedback records on {data['queries']} queries ({data['judgements']} judgements), "
              f"{data['pairs']} labelled incident pairs, in {data['store']}")
    return 0


def cmd_patterns(args: argparse.Namespace) -> int:
    from sherlock.analytics.patterns import patterns_report
    from sherlock.cli.reports import patterns_text
    workspace = open_workspace(args)
    if workspace.settings.demo and not workspace.store.count():
        ready(workspace)  # only the store is read: a non-empty workspace is not re-indexed first
    report = patterns_report(workspace.store.iter_incidents(), freq=args.freq, by=args.by, since=args.since)
    print_json(report) if args.json else print(patterns_text(report))
    return 0
