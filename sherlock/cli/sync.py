"""``sherlock sync SOURCE [--since DATE] [--until DATE] [--query Q] [--json]``: fetch what changed in an incident
tool since the last sync (see :mod:`sherlock.sync`). Exit codes: 0 synced; 1 synced, some items rejected; 2 settings
or API error (the message names the variable to set, or the call that failed)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sherlock.cli.output import key_values, print_json
from sherlock.config import load_settings
from sherlock.redaction.redactor import RedactionCounts
from sherlock.sync import NAMES

QUERY_HELP = ("the tool's own filter: JQL for jira (project = OPS), an encoded query for servicenow "
              "(priority<=2), list parameters for pagerduty, github and incidentio (labels=incident)")


def add_parser(commands: argparse._SubParsersAction, help_text: str) -> None:
    sync = commands.add_parser("sync", help=help_text, description=help_text)
    sync.add_argument("source", metavar="SOURCE", choices=NAMES, help=" | ".join(NAMES))
    sync.add_argument("--since", type=since_time, metavar="DATE",
                      help="changed on or after (ISO date or date-time, UTC unless it has an offset); default: the "
                      "source's watermark, i.e. what changed since the last sync")
    sync.add_argument("--until", type=until_time, metavar="DATE", help="changed before (a date includes that day)")
    sync.add_argument("--query", help=QUERY_HELP)
    sync.add_argument("--json", action="store_true", help="print the summary as JSON")


def since_time(text: str) -> datetime:
    """``--since``: an ISO date (its midnight, UTC) or date-time (UTC unless it carries an offset)."""
    return _moment(text, day_end=False)


def until_time(text: str) -> datetime:
    """``--until``: as ``--since``, but a bare date means the end of that day."""
    return _moment(text, day_end=True)


def _moment(text: str, day_end: bool) -> datetime:
    try:
        if len(text.strip()) == 10:
            day = date.fromisoformat(text.strip())
            return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1 if day_end else 0)
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO date like 2025-01-31 or a date-time like "
                                         "2025-01-31T09:30:00Z") from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


def cmd_sync(args: argparse.Namespace) -> int:
    from sherlock.storage.workspace import Workspace
    from sherlock.sync.run import sync_source

    settings = load_settings(args.home)
    bars: dict[str, Any] = {}
    try:
        summary = sync_source(Workspace(settings), args.source, since=args.since, until=args.until,
                              query=args.query, progress=fetch_progress(bars))
    finally:
        for bar in bars.values():
            bar.close()
    if args.json:
        print_json(summary.as_dict())
    else:
        print(report(summary.as_dict()))
    return 1 if summary.rejected else 0


def report(summary: dict[str, Any]) -> str:
    """The summary as text: the counts, the window, the watermark, then each rejected item and why."""
    counts = ", ".join(f"{summary[name]} {name}" for name in ("added", "updated", "unchanged", "skipped"))
    retries = f", {summary['retries']} retr{'y' if summary['retries'] == 1 else 'ies'}" if summary["retries"] else ""
    pairs = [("source", summary["source"] + (" (resumed)" if summary["resumed"] else "")),
             ("fetched", f"{summary['fetched']} in {summary['pages']} page(s){retries}"),
             ("stored", counts), ("rejected", str(len(summary["rejected"]))),
             ("window", f"{summary['since'] or 'the beginning'} → {summary['until'] or 'now'}"
              + (f", query {summary['query']!r}" if summary["query"] else "")),
             ("watermark", summary["watermark"] or "none yet"), ("seconds", str(summary["seconds"]))]
    if summary.get("redacted"):
        pairs.insert(3, ("redacted", RedactionCounts(summary["redacted"]).describe()))
    lines = [key_values(pairs)]
    lines += [f"  {item['item']}: {item['reason']}" for item in summary["rejected"]]
    return "\n".join(lines)


def fetch_progress(bars: dict[str, Any]) -> Callable[[str, int, int], None]:
    """A ``progress(stage, done, total)`` callback drawing a tqdm bar per stage on stderr (hidden when stderr is not
    a terminal), kept in ``bars`` for the caller to close; ``total`` 0 means the API does not say how many."""
    from tqdm import tqdm

    def update(stage: str, done: int, total: int) -> None:
        if stage not in bars:
            bars[stage] = tqdm(total=total or None, desc=stage, unit="item", file=sys.stderr, leave=False,
                               disable=None)
        bar = bars[stage]
        bar.total = max(total, done) if total else None
        bar.n = done
        bar.refresh()

    return update
