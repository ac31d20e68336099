"""The ``sherlock`` command line: the parser and the dispatch. ``--json`` output is a stable contract that scripts and
other pages rely on.

Exit codes: 0 success; 1 some records rejected (ingest) or nothing found (show); 2 bad usage or an unusable file;
3 an alert fired (``monitor --check``).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sherlock.cli import backup, commands, db, experiments, incidents, monitor, serve, sync, tokens
from sherlock.storage.ingest import READERS

COMMANDS = {
    "ingest": "validate incident files and add them to the workspace",
    "search": "search past incidents (one query, or a batch file to a TREC run)",
    "show": "print one incident with all its fields",
    "list": "list the stored incidents (id, source, created, severity, status, title), or every field as JSON lines",
    "similar": "past incidents most like one incident (stored or new) and why, or a batch of incidents to a TREC run",
    "delete": "delete incidents from the workspace (their indexes follow)",
    "stats": "corpus and workspace statistics",
    "reindex": "rebuild the vector and lexical indexes from the store",
    "ask": "answer a question from past incidents, citing them (offline, or Gemini when a key is set)",
    "feedback": "export search feedback as labelled queries and qrels, or count it",
    "tune": "tune the fusion weights on labelled queries (every weight triple, cross-validated; --apply to use them)",
    "patterns": "incident patterns: volume, time to resolve, recurring themes, spikes, repeat rate",
    "ab": "offline A/B test of two search configurations on labelled queries (paired tests, bootstrap CI, MLflow)",
    "serve": "the HTTP API: search, ask, incidents, similar incidents (FastAPI on uvicorn; OpenAPI docs at /docs)",
    "token": "make, list and revoke the HTTP API's bearer tokens (scopes read, write, admin)",
    "sync": "fetch what changed in PagerDuty, Jira, ServiceNow, GitHub or incident.io since the last sync, over "
            "their REST APIs",
    "ab-online": "analyse a live chat A/B experiment: helpful rate per arm with CIs, each arm against the control",
    "monitor": "search monitoring from the query log: traffic, abstain rate, latency, helpful votes per settings "
               "version, content gaps, drift and alerts (--check exits 3 when one fires)",
    "export": "back up the workspace to a folder: incidents (canonical JSONL), feedback, query log, settings, "
              "experiment configs",
    "import": "restore a backup made by `sherlock export` into an empty workspace, and build its indexes",
    "db": "the shared store of record (SHERLOCK_STORE_URL, PostgreSQL): migrate its schema (upgrade) or check it "
          "(status)",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sherlock", description="Search and learn from past incidents.")
    parser.add_argument("--home", help="workspace folder (default: $SHERLOCK_HOME or ./.sherlock)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ingest = commands.add_parser("ingest", help=COMMANDS["ingest"], description=COMMANDS["ingest"])
    ingest.add_argument("paths", nargs="+", metavar="PATH")
    ingest.add_argument("--format", default="auto", choices=["auto", *READERS],
                        help="auto: from the extension and the content (an incident tool's export by its shape)")
    ingest.add_argument("--map", action="append", default=[], metavar="SRC=DST",
                        help="rename a source field to a canonical one (repeatable), e.g. summary=description")
    ingest.add_argument("--strict", action="store_true", help="store nothing from a file with any bad record")
    ingest.add_argument("--json", action="store_true", help="print the ingest report as JSON")

    search = commands.add_parser("search", help=COMMANDS["search"], description=COMMANDS["search"])
    search.add_argument("query", nargs="?", help="the question, symptom or ticket id")
    search.add_argument("-k", type=positive_int, default=None,
                        help="results to return (default 10; 100 in batch mode)")
    search.add_argument("--weights", help="fusion weights: three non-negative numbers dense,bm25,tfidf (default "
                        "from settings: 0.6,0.3,0.1)")
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

    listing = commands.add_parser("list", help=COMMANDS["list"], description=COMMANDS["list"])
    listing.add_argument("--source", help="only incidents from this tool (pagerduty, jira, servicenow, incidentio, "
                         "opsgenie, rootly, statuspage, github, markdown) or sherlock (canonical files)")
    listing.add_argument("--limit", type=int, default=0, help="at most this many (default: all)")
    listing.add_argument("--json", action="store_true", help="one JSON object per line, every field")

    similar = commands.add_parser("similar", help=COMMANDS["similar"], description=COMMANDS["similar"])
    similar.add_argument("id", nargs="?", metavar="ID", help="a stored incident (never returned as its own match)")
    similar.add_argument("--incident", type=Path, metavar="FILE", help="a new incident (JSON, canonical fields; "
                         "title and description are enough)")
    similar.add_argument("--incidents", type=Path, metavar="FILE", help="batch mode: one canonical incident per "
                         "line (JSONL); each line's own id is left out of its results")
    similar.add_argument("-k", type=positive_int, default=None, help="how many (default 10; batch mode 100)")
    similar.add_argument("--run-out", type=Path, help="batch mode: write a TREC run here")
    similar.add_argument("--json", action="store_true")

    delete = commands.add_parser("delete", help=COMMANDS["delete"], description=COMMANDS["delete"])
    delete.add_argument("ids", nargs="+", metavar="ID")
    delete.add_argument("--json", action="store_true")

    server = commands.add_parser("serve", help=COMMANDS["serve"], description=COMMANDS["serve"])
    server.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine)")
    server.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    server.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")

    stats = commands.add_parser("stats", help=COMMANDS["stats"], description=COMMANDS["stats"])
    stats.add_argument("--json", action="store_true")

    commands.add_parser("reindex", help=COMMANDS["reindex"], description=COMMANDS["reindex"])

    ask = commands.add_parser("ask", help=COMMANDS["ask"], description=COMMANDS["ask"])
    ask.add_argument("question", help="a symptom, a question or a ticket id")
    ask.add_argument("-k", type=positive_int, default=5, help="incidents to retrieve and answer from (default 5)")
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
    tune.add_argument("--similar", action="store_true", help="tune the similar-incidents mode on labelled incident "
                      "pairs: --qrels PAIRS (anchors are stored incidents, or those of --incidents FILE.jsonl), or "
                      "nothing for the incident page's \"same root cause\" votes")
    tune.add_argument("--incidents", type=Path, metavar="FILE", help="with --similar: the anchor incidents (JSONL)")
    tune.add_argument("--json", action="store_true")

    patterns = commands.add_parser("patterns", help=COMMANDS["patterns"], description=COMMANDS["patterns"])
    patterns.add_argument("--freq", default="M", choices=["M", "W", "D"], help="volume per month, week or day")
    patterns.add_argument("--by", default="service", choices=["service", "severity", "category"],
                          help="group MTTR and spikes by this field (default service)")
    patterns.add_argument("--since", type=iso_date, metavar="DATE", help="only incidents created on or after")
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

    tokens.add_parser(commands, COMMANDS["token"])
    sync.add_parser(commands, COMMANDS["sync"])

    online = commands.add_parser("ab-online", help=COMMANDS["ab-online"], description=COMMANDS["ab-online"])
    online.add_argument("name", metavar="NAME", help="an online experiment: experiments/NAME.toml, or a path")
    online.add_argument("--no-mlflow", action="store_true", help="do not log the analysis to MLflow")
    online.add_argument("--json", action="store_true")

    watch = commands.add_parser("monitor", help=COMMANDS["monitor"], description=COMMANDS["monitor"])
    watch.add_argument("--since", type=iso_date, metavar="DATE", help="from this day on (default: 30 days, 12 weeks "
                       "or 12 months back, or the first logged query when later)")
    watch.add_argument("--until", type=iso_date, metavar="DATE", help="up to and including this day (default: now)")
    watch.add_argument("--freq", default="W", choices=["D", "W", "M"], help="periods: day, week (from Monday) or "
                       "month (default W)")
    watch.add_argument("--json", action="store_true", help="print the report as JSON")
    watch.add_argument("--check", action="store_true", help=f"exit with status {monitor.ALERT_EXIT} when an alert "
                       "fires on the latest period (thresholds: the monitor_alert_* settings)")
    watch.add_argument("--prune", action="store_true", help="first delete logged queries older than "
                       "query_log_retention_days, and say how many")
    backup.add_parsers(commands, COMMANDS["export"], COMMANDS["import"])
    db.add_parser(commands, COMMANDS["db"])
    return parser


def positive_int(text: str) -> int:
    """``-k``: a whole number of results, at least 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number; give how many results, e.g. 10")
    return value


def iso_date(text: str) -> Any:
    from datetime import date
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO date like 2025-01-31") from None


#: Commands that change the workspace, as audit log entries: ``command → (action, target of the args)``; ``None``
#: when these args change nothing (``tune`` without ``--apply``).
AUDITED: dict[str, Callable[[argparse.Namespace], tuple[str, str] | None]] = {
    "ingest": lambda a: ("ingest", ", ".join(a.paths)),
    "import": lambda a: ("ingest", f"backup {a.folder}"),
    "delete": lambda a: ("delete_incidents", ", ".join(a.ids)),
    "reindex": lambda a: ("reindex", ""),
    "sync": lambda a: ("sync", a.source),
    "tune": lambda a: ("apply_weights", "sherlock tune --apply") if a.apply else None,
    "token": lambda a: ("api_tokens", f"{a.action} {a.name}") if a.action in ("create", "revoke") else None,
}


def audit(args: argparse.Namespace) -> None:
    """Record a command that changed the workspace in its audit log: who (the operating-system user) and where from
    (``cli`` and the host)."""
    import getpass
    import socket

    from sherlock.audit import record_quietly
    from sherlock.config import load_settings
    entry = AUDITED[args.command](args)
    if entry is not None:
        record_quietly(load_settings(args.home), getpass.getuser(), *entry, source=f"cli {socket.gethostname()}")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code = HANDLERS[args.command](args)
        if args.command in AUDITED and code in (0, 1):  # 1: an ingest that stored some records and rejected others
            audit(args)
        return code
    except (ValueError, RuntimeError, FileNotFoundError) as exc:
        print(f"sherlock {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `sherlock stats | head`: the reader has gone, which is not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


HANDLERS: dict[str, Callable[[argparse.Namespace], int]] = {
    "ingest": commands.cmd_ingest, "search": commands.cmd_search, "show": commands.cmd_show,
    "similar": incidents.cmd_similar, "delete": incidents.cmd_delete, "list": incidents.cmd_list,
    "stats": commands.cmd_stats, "reindex": commands.cmd_reindex, "ask": commands.cmd_ask,
    "feedback": commands.cmd_feedback, "patterns": commands.cmd_patterns, "tune": experiments.cmd_tune,
    "ab": experiments.cmd_ab, "ab-online": experiments.cmd_ab_online, "serve": serve.cmd_serve,
    "token": tokens.cmd_token, "sync": sync.cmd_sync, "monitor": monitor.cmd_monitor,
    "export": backup.cmd_export, "import": backup.cmd_import, "db": db.cmd_db}


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
