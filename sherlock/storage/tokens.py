"""API tokens: made by ``sherlock token create NAME --scope S``, shown once, stored as their SHA-256 hash.

A token is ``shk_`` and 43 URL-safe characters (32 random bytes). A fast hash is enough for a secret with 256 bits of
entropy (no password list can guess it; GitHub stores its tokens the same way), and it lets a request's token be found
by one indexed lookup. Scopes are ordered: ``write`` includes ``read``, ``admin`` includes both.

    tokens = TokenStore(settings.tokens_path)
    token, secret = tokens.create("slack-bot", "read")     # print the secret once; only its hash is kept
    tokens.verify(secret)                                   # -> Token(name="slack-bot", scope="read", ...)
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sherlock.registry import lookup
from sherlock.storage.sqlite import SQLiteFile

#: What each scope allows, least to most; a scope includes every one before it.
SCOPES = {
    "read": "search, ask, read incidents and their similar incidents",
    "write": "read, plus ingest incidents and record feedback",
    "admin": "write, plus delete incidents",
}
PREFIX = "shk_"

SCHEMA = """
CREATE TABLE IF NOT EXISTS tokens (
    name       TEXT PRIMARY KEY,
    hash       TEXT NOT NULL UNIQUE,
    scope      TEXT NOT NULL,
    rate       TEXT,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
"""


@dataclass(frozen=True)
class Token:
    """A token's public facts (never its secret). ``rate``: its own rate limit, or None for the workspace default."""

    name: str
    scope: str
    rate: str | None
    created_at: str
    revoked_at: str | None = None

    def allows(self, scope: str) -> bool:
        """Whether this token may do what ``scope`` guards (scopes are ordered; see :data:`SCOPES`)."""
        order = list(SCOPES)
        return self.revoked_at is None and order.index(self.scope) >= order.index(scope)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class TokenStore:
    """The workspace's tokens, in SQLite (safe across the API's threads and worker processes)."""

    def __init__(self, path: str | Path) -> None:
        self.db = SQLiteFile(path, SCHEMA, what="token store",
                             remedy="move it aside (every token must then be created again)")

    def close(self) -> None:
        self.db.close()

    def create(self, name: str, scope: str, rate: str | None = None) -> tuple[Token, str]:
        """A new token and its secret (returned once; only its hash is stored). Names are unique among tokens that
        were not revoked."""
        lookup(SCOPES, scope, "scope")
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", name):
            raise ValueError(f"token name {name!r}: use 1-64 letters, digits, '.', '_' or '-', e.g. slack-bot")
        if rate is not None:
            from sherlock.service.ratelimit import parse_rate
            parse_rate(rate)
        secret = PREFIX + secrets.token_urlsafe(32)
        token = Token(name, scope, rate, datetime.now(UTC).isoformat(timespec="seconds"))
        with self.db.connection() as connection, connection:
            existing = connection.execute("SELECT revoked_at FROM tokens WHERE name = ?", (name,)).fetchone()
            if existing and existing[0] is None:
                raise ValueError(f"a token named {name!r} exists; revoke it first (sherlock token revoke {name}) "
                                 "or choose another name")
            connection.execute("DELETE FROM tokens WHERE name = ?", (name,))
            connection.execute("INSERT INTO tokens VALUES (?, ?, ?, ?, ?, NULL)",
                               (name, digest(secret), scope, rate, token.created_at))
        return token, secret

    def verify(self, secret: str) -> Token | None:
        """The live token with this secret, or None (unknown, malformed or revoked)."""
        if not secret.startswith(PREFIX):
            return None
        with self.db.connection() as connection:
            row = connection.execute("SELECT name, scope, rate, created_at, revoked_at FROM tokens WHERE hash = ?",
                                     (digest(secret),)).fetchone()
        if row is None or row[4] is not None:
            return None
        return Token(*row)

    def list(self) -> list[Token]:
        """Every token, revoked ones included, oldest first."""
        with self.db.connection() as connection:
            rows = connection.execute("SELECT name, scope, rate, created_at, revoked_at FROM tokens "
                                      "ORDER BY rowid").fetchall()
        return [Token(*row) for row in rows]

    def revoke(self, name: str) -> bool:
        """Revoke the token ``name`` (it stops working at once, in every worker); False when there is none live."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self.db.connection() as connection, connection:
            cursor = connection.execute("UPDATE tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL",
                                        (now, name))
        return cursor.rowcount > 0
