"""``sherlock db upgrade|status``: the schema of the shared store of record (``SHERLOCK_STORE_URL``), kept by the
migrations that ship with Sherlock (see :mod:`sherlock.storage.db.migrate`).

Exit codes: 0 done / up to date; 1 ``status`` found the schema outdated (so a deploy script can run ``upgrade``);
2 no ``store_url`` to migrate, or the store cannot be reached (the message says where, without the password).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from sherlock.cli.output import print_json
from sherlock.config import Settings, load_settings

#: ``sherlock db status``'s exit status when the store needs ``sherlock db upgrade``.
OUTDATED_EXIT = 1


def add_parser(commands: argparse._SubParsersAction, help_text: str) -> None:
    db = commands.add_parser("db", help=help_text, description=help_text)
    actions = db.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, (what, _) in ACTIONS.items():
        action = actions.add_parser(name, help=what, description=what)
        action.add_argument("--json", action="store_true")


def cmd_db(args: argparse.Namespace) -> int:
    settings = load_settings(args.home)
    return ACTIONS[args.action][1](settings, args.json)


def db_upgrade(settings: Settings, as_json: bool) -> int:
    """Migrate the store to this Sherlock's head revision; running it again changes nothing."""
    from sherlock.storage.db.engine import describe, make_engine
    from sherlock.storage.db.migrate import upgrade
    engine = make_engine(settings)  # ValueError without store_url: nothing to migrate
    try:
        before, after = upgrade(engine)
        store = describe(engine)
    finally:
        engine.dispose()
    if as_json:
        print_json({"store": store, "from": before, "to": after, "changed": before != after})
    elif before == after:
        print(f"{store}: already at schema revision {after}; nothing to do")
    else:
        print(f"{store}: upgraded the schema from revision {before or 'none (empty)'} to {after}")
    return 0


def db_status(settings: Settings, as_json: bool) -> int:
    """The store's schema revision beside this Sherlock's; exit status 1 when it needs an upgrade."""
    if not settings.store_url:
        return _sqlite_files(settings, as_json)
    from sherlock.storage.db.engine import make_engine
    from sherlock.storage.db.migrate import schema_status
    engine = make_engine(settings)
    try:
        status = schema_status(engine)
    finally:
        engine.dispose()
    if as_json:
        print_json(status.as_dict())
    else:
        verdict = "outdated: run `sherlock db upgrade`" if status.outdated else "up to date"
        print(f"store:   {status.store}\nschema:  revision {status.current or 'none (empty)'}\n"
              f"needed:  revision {status.head}\nverdict: {verdict}")
    return OUTDATED_EXIT if status.outdated else 0


def _sqlite_files(settings: Settings, as_json: bool) -> int:
    note = (f"SHERLOCK_STORE_URL is not set: the records are in SQLite files under {settings.home}, and each store "
            "creates its own tables when it opens, so there is nothing to migrate")
    if as_json:
        print_json({"store": None, "current": None, "head": None, "outdated": False, "note": note})
    else:
        print(note)
    return 0


#: ``sherlock db ACTION``: what each does (its help) and its handler ``(settings, as_json) -> exit status``.
ACTIONS: dict[str, tuple[str, Callable[[Settings, bool], int]]] = {
    "upgrade": ("migrate the store at SHERLOCK_STORE_URL to this Sherlock's schema (safe to repeat; prints from → "
                "to)", db_upgrade),
    "status": ("the store's schema revision and this Sherlock's; exit status 1 when `sherlock db upgrade` is needed",
               db_status),
}
