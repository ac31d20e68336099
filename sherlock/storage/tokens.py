"""API tokens: made by ``sherlock token create NAME --scope S``, shown once, stored as their SHA-256 hash.

A token is ``shk_`` and 43 URL-safe characters (32 random bytes). A fast hash is enough for a secret with 256 bits of
entropy (no password list can guess it; GitHub stores its tokens the same way), and it lets a request's token be found
by one indexed lookup. Scopes are ordered: ``write`` includes ``read``, ``admin`` includes both.

The ``tokens`` table lives in the workspace's own SQLite file (``settings.tokens_path``) by default, or — with
``SHERLOCK_STORE_URL`` set — in that shared database (:mod:`sherlock.storage.db`), so a token made on one machine
works on every API server of the team, and a revoked one stops working on all of them at once.

    tokens = open_tokens(settings)                         # settings.tokens_path, or the store_url's database
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
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from sherlock.registry import lookup
from sherlock.storage.db.engine import write_transaction
from sherlock.storage.db.stores import insert, open_store
from sherlock.storage.db.tables import STORE_TABLES, tokens

if TYPE_CHECKING:
    from sherlock.config import Settings

#: What each scope allows, least to most; a scope includes every one before it.
SCOPES = {
    "read": "search, ask, read incidents and their similar incidents",
    "write": "read, plus ingest incidents and record feedback",
    "admin": "write, plus delete incidents",
}
PREFIX = "shk_"


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


#: The columns a :class:`Token` is made of, in its fields' order (never the hash).
PUBLIC = (tokens.c.name, tokens.c.scope, tokens.c.rate, tokens.c.created_at, tokens.c.revoked_at)


def open_tokens(settings: Settings) -> TokenStore:
    """The workspace's tokens, on the backend ``settings`` choose (``store_url``, else ``settings.tokens_path``)."""
    return TokenStore(settings.tokens_path, settings)


class TokenStore:
    """The ``tokens`` table: of the SQLite file ``path`` (created if missing), or — given ``settings`` with a
    ``store_url`` — of that shared database (its schema checked, see :func:`sherlock.storage.db.stores.open_store`).
    Safe across the API's threads and worker processes."""

    def __init__(self, path: str | Path, settings: Settings | None = None) -> None:
        self._engine, self._shared = open_store(
            settings, STORE_TABLES["tokens"], path, what="token store",
            remedy="move it aside (every token must then be created again)")

    def close(self) -> None:
        """Release the SQLite file's connections (a shared store's engine stays open for the process's other
        stores)."""
        if not self._shared:
            self._engine.dispose()

    def create(self, name: str, scope: str, rate: str | None = None) -> tuple[Token, str]:
        """A new token and its secret (returned once; only its hash is stored). Names are unique among tokens that
        were not revoked: a revoked token's name is taken over by the new one, in one statement, so two processes
        creating the same name at once make one token and the other is refused."""
        lookup(SCOPES, scope, "scope")
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", name):
            raise ValueError(f"token name {name!r}: use 1-64 letters, digits, '.', '_' or '-', e.g. slack-bot")
        if rate is not None:
            from sherlock.service.ratelimit import parse_rate
            parse_rate(rate)
        secret = PREFIX + secrets.token_urlsafe(32)
        # microseconds: list() orders by creation time, and tokens made within one second must keep their order
        token = Token(name, scope, rate, datetime.now(UTC).isoformat(timespec="microseconds"))
        hashed = digest(secret)
        with write_transaction(self._engine) as connection:
            statement = insert(connection, tokens).values(name=name, hash=hashed, scope=scope, rate=rate,
                                                          created_at=token.created_at, revoked_at=None)
            connection.execute(statement.on_conflict_do_update(
                index_elements=[tokens.c.name], where=tokens.c.revoked_at.is_not(None),
                set_={column: statement.excluded[column] for column in
                      ("hash", "scope", "rate", "created_at", "revoked_at")}))
            # the row now holds our hash unless a live token kept the name (an INSERT's rowcount is not reliable
            # across drivers, and SQLite before 3.35 has no RETURNING)
            kept = connection.execute(select(tokens.c.hash).where(tokens.c.name == name)).scalar_one()
            if kept != hashed:
                raise ValueError(f"a token named {name!r} exists; revoke it first (sherlock token revoke {name}) "
                                 "or choose another name")
        return token, secret

    def verify(self, secret: str) -> Token | None:
        """The live token with this secret, or None (unknown, malformed or revoked)."""
        if not secret.startswith(PREFIX):
            return None
        with self._engine.connect() as connection:
            row = connection.execute(select(*PUBLIC).where(tokens.c.hash == digest(secret))).first()
        if row is None or row.revoked_at is not None:
            return None
        return Token(*row)

    def list(self) -> list[Token]:
        """Every token, revoked ones included, oldest first (by creation time, then name)."""
        with self._engine.connect() as connection:
            rows = connection.execute(select(*PUBLIC).order_by(tokens.c.created_at, tokens.c.name)).all()
        return [Token(*row) for row in rows]

    def revoke(self, name: str) -> bool:
        """Revoke the token ``name`` (it stops working at once, in every worker); False when there is none live."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with write_transaction(self._engine) as connection:
            revoked = connection.execute(update(tokens).where(tokens.c.name == name, tokens.c.revoked_at.is_(None))
                                         .values(revoked_at=now))
        return revoked.rowcount > 0
