"""The incident commands: ``similar`` (past incidents most like one, stored or new, or a batch to a TREC run),
``delete`` and ``list``."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path
from typing import Any

from sherlock.cli.commands import open_workspace, ready
from sherlock.cli.output import print_json, query_progress


def read_incidents(path: Path) -> list[Any]:
    """The canonical incidents of a JSON/JSONL/CSV file, validated as ingest validates them; a bad record is an
    error naming its file:line (nothing is stored)."""
    from sherlock.storage.ingest import read_file
    report, incidents = read_file(path)
    if report.error:
        raise ValueError(report.error)
    if report.rejected:
        shown = "; ".join(str(rejection) for rejection in report.rejected[:5])
        more = f" (and {len(report.rejected) - 5} more)" if len(report.rejected) > 5 else ""
        raise ValueError(f"{shown}{more}; fix the record(s) — canonical fields, at least id and title")
    if not incidents:
        raise ValueError(f"{path}: no incident in the file; give at least one with an id and a title")
    return incidents


def cmd_similar(args: argparse.Namespace) -> int:
    from sherlock.search.similar import SimilarFinder
    given = [name for name, value in (("ID", args.id), ("--incident", args.incident),
                                      ("--incidents", args.incidents)) if value]
    if len(given) != 1:
        raise ValueError("give one of: an incident ID, --incident FILE.json (a new incident), or --incidents "
                         f"FILE.jsonl --run-out RUN.tsv (a batch){'; got ' + ', '.join(given) if given else ''}")
    if args.incidents and args.run_out is None:
        raise ValueError("batch mode needs --run-out RUN.tsv")
    if args.run_out and not args.incidents:
        raise ValueError("--run-out is for batch mode: give --incidents FILE.jsonl")
    workspace = open_workspace(args)
    ready(workspace)
    finder = SimilarFinder(workspace)
    if args.incidents:
        from sherlock.run import write_trec_run
        batch = {incident.id: incident for incident in read_incidents(args.incidents)}
        k = args.k or 100
        run = finder.rank(batch, k=k, progress=query_progress("scoring incidents"))
        write_trec_run(run, args.run_out, tag="sherlock-similar")
        summary = {"incidents": len(batch), "run": str(args.run_out), "k": k}
        print_json(summary) if args.json else print(f"ranked {len(batch)} incidents → {args.run_out}")
        return 0
    target: Any = args.id
    if args.incident:
        incidents = read_incidents(args.incident)
        if len(incidents) > 1:
            raise ValueError(f"{args.incident}: holds {len(incidents)} incidents; --incident takes one (use "
                             "--incidents FILE.jsonl --run-out RUN.tsv for many)")
        target = incidents[0]
    response = finder.similar(target, k=args.k or 10)
    from sherlock.monitoring.record import log_search
    log_search(workspace.settings, response, channel="cli", kind="similar")
    if args.json:
        print_json(response.as_dict())
    else:
        print(similar_text(response))
    return 1 if response.abstained and (response.reason or "").startswith("not found") else 0


def similar_text(response: Any) -> str:
    """A similar-incidents response as text: each past incident with its score, why it looks alike, and its fix."""
    if response.abstained:
        return f"[similar] {response.reason}"
    lines = [f"[similar] past incidents like {response.query}, {response.took_ms:.0f} ms"]
    for rank, hit in enumerate(response.results, start=1):
        why = hit.why or {}
        lines.append(f"{rank:>3}. {hit.id}  {hit.title}  score={hit.score:.3f}")
        shared = [f"service {why['service']}"] if why.get("service") else []
        if why.get("entities"):
            shared.append("entities " + ", ".join(why["entities"]))
        if why.get("causes"):
            guessed = " (likely)" if why.get("causes_predicted") else ""
            shared.append("cause " + ", ".join(why["causes"]) + guessed)
        if why.get("terms"):
            shared.append("terms " + ", ".join(why["terms"][:6]))
        if why.get("days_apart") is not None:
            shared.append(f"{why['days_apart']} days apart")
        if shared:
            lines.append(f"       shares: {'; '.join(shared)}")
        for label in ("root_cause", "resolution"):
            if why.get(label):
                text = textwrap.shorten(why[label], 160, placeholder=" …")
                lines.append(f"       {'cause' if label == 'root_cause' else 'fix'}: {text}")
    return "\n".join(lines)


def cmd_delete(args: argparse.Namespace) -> int:
    workspace = open_workspace(args)
    ready(workspace)
    stored = workspace.store.get_many(args.ids)
    missing = [incident_id for incident_id in args.ids if incident_id not in stored]
    if missing:
        print(f"sherlock delete: no incident {', '.join(missing)} in {workspace.settings.home} (ids are exact)",
              file=sys.stderr)
    if not stored:
        return 1
    report = workspace.delete(list(stored))
    if args.json:
        print_json({"deleted": sorted(stored), "missing": missing, "sync": report.as_dict()})
    else:
        print(f"deleted {len(stored)} incident(s): {', '.join(sorted(stored))} ({report.seconds:.1f}s)")
    return 1 if missing else 0


def source_of(incident: Any) -> str:
    """Where an incident came from: the tool its importer named (``pagerduty``, ``jira``, ``markdown`` ...), else
    ``sherlock`` (canonical JSON, JSONL or CSV)."""
    return str(incident.extra.get("source") or "sherlock")


def cmd_list(args: argparse.Namespace) -> int:
    from sherlock.cli.output import table
    workspace = open_workspace(args)
    ready(workspace)
    shown = 0
    rows = [["id", "source", "created", "severity", "status", "title"]]
    for incident in workspace.store.iter_incidents():
        if args.source and source_of(incident) != args.source:
            continue
        if args.limit and shown >= args.limit:
            break
        shown += 1
        if args.json:  # one object per line, each as `sherlock show --json` prints it
            print(json.dumps(incident.to_json_dict(), ensure_ascii=False, default=str))
        else:
            created = incident.created_at.isoformat()[:16] if incident.created_at else ""
            rows.append([incident.id, source_of(incident), created, incident.severity or "", incident.status or "",
                         textwrap.shorten(incident.title, 70, placeholder="…")])
    if not args.json:
        if shown:
            print(table(rows))
        where = f" from {args.source}" if args.source else ""
        print(f"{shown} incident(s){where}" + (f" (the first {args.limit})" if args.limit and shown == args.limit
                                                else "") + f" in {workspace.settings.home}", file=sys.stderr)
    return 0 if shown else 1
