"""``sherlock token create|list|revoke``: the HTTP API's bearer tokens (see :mod:`sherlock.storage.tokens`)."""

from __future__ import annotations

import argparse
import sys

from sherlock.cli.output import print_json, table
from sherlock.config import load_settings
from sherlock.storage.tokens import SCOPES, open_tokens


def add_parser(commands: argparse._SubParsersAction, help_text: str) -> None:
    token = commands.add_parser("token", help=help_text, description=help_text)
    actions = token.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="make a token (printed once; only its hash is kept)")
    create.add_argument("name", metavar="NAME", help="who or what uses it, e.g. slack-bot")
    create.add_argument("--scope", required=True, choices=list(SCOPES),
                        help="; ".join(f"{name}: {what}" for name, what in SCOPES.items()))
    create.add_argument("--rate", help="its own rate limit, e.g. 120/minute (default: the api_rate_limit setting)")
    create.add_argument("--json", action="store_true")
    listing = actions.add_parser("list", help="the tokens, revoked ones included (never their secrets)")
    listing.add_argument("--json", action="store_true")
    revoke = actions.add_parser("revoke", help="stop a token working, at once")
    revoke.add_argument("name", metavar="NAME")


def cmd_token(args: argparse.Namespace) -> int:
    settings = load_settings(args.home)
    tokens = open_tokens(settings)
    try:
        if args.action == "create":
            token, secret = tokens.create(args.name, args.scope, args.rate)
            if args.json:
                print_json({**token.as_dict(), "token": secret})
            else:
                print(f"token {token.name!r} ({token.scope}); copy it now, it is not shown again:", file=sys.stderr)
                print(secret)
            if settings.api_auth == "off":
                print("note: api_auth is off in this workspace, so the API does not ask for tokens", file=sys.stderr)
            return 0
        if args.action == "list":
            listed = tokens.list()
            if args.json:
                print_json([token.as_dict() for token in listed])
            elif not listed:
                print("no tokens yet; make one with: sherlock token create NAME --scope read")
            else:
                print(table([["name", "scope", "rate", "created", "revoked"]] +
                            [[t.name, t.scope, t.rate or settings.api_rate_limit, t.created_at, t.revoked_at or ""]
                             for t in listed]))
            return 0
        if not tokens.revoke(args.name):
            print(f"sherlock token: no live token named {args.name!r} (sherlock token list shows them)",
                  file=sys.stderr)
            return 1
        print(f"revoked {args.name!r}")
        return 0
    finally:
        tokens.close()
