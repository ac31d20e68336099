"""``sherlock export DIR`` and ``sherlock import DIR``: a workspace's state of record to plain files and back (see
:mod:`sherlock.storage.backup` for what a backup holds and leaves out)."""

from __future__ import annotations

import argparse
import sys

from sherlock.cli.output import print_json, progress
from sherlock.config import load_settings


def add_parsers(commands: argparse._SubParsersAction, export_help: str, import_help: str) -> None:
    export = commands.add_parser("export", help=export_help, description=export_help)
    export.add_argument("folder", metavar="DIR", help="a new or empty folder")
    export.add_argument("--json", action="store_true", help="print what was written as JSON")
    restore = commands.add_parser("import", help=import_help, description=import_help)
    restore.add_argument("folder", metavar="DIR", help="a folder written by `sherlock export`")
    restore.add_argument("--json", action="store_true", help="print what was restored as JSON")


def cmd_export(args: argparse.Namespace) -> int:
    from sherlock.storage.backup import export_workspace
    from sherlock.storage.workspace import Workspace
    workspace = Workspace(load_settings(args.home))
    report = export_workspace(workspace, args.folder, progress=progress())
    if args.json:
        print_json(report.as_dict())
    else:
        parts = ", ".join(f"{count:,} {part.replace('_', ' ')}" for part, count in report.counts.items())
        print(f"exported to {report.folder}: {parts}; {len(report.files)} file(s)")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from sherlock.storage.backup import import_workspace
    report = import_workspace(load_settings(args.home, demo=False), args.folder, progress=progress())
    if args.json:
        print_json(report.as_dict())
        return 0
    parts = ", ".join(f"{count:,} {part.replace('_', ' ')}" for part, count in report.counts.items())
    print(f"imported from {report.folder}: {parts}; {len(report.files)} file(s); indexes built")
    for note in report.notes:
        print(f"note: {note}", file=sys.stderr)
    return 0
