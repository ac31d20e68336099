"""API tokens: shown once, stored hashed, ordered scopes, revocation — on both backends of the store of record (a
SQLite database and a real PostgreSQL server, through ``store_url``), and by default in the workspace's own
``tokens.sqlite``."""

import hashlib
import sqlite3
import threading

import pytest

from sherlock.config import Settings
from sherlock.storage.tokens import TokenStore, open_tokens


@pytest.fixture
def settings(migrated_url, tmp_path):
    """A workspace whose store of record is an empty, migrated database (SQLite or PostgreSQL)."""
    return Settings(home=tmp_path / "home", store_url=migrated_url)


@pytest.fixture
def tokens(settings):
    store = open_tokens(settings)
    yield store
    store.close()


def test_a_token_is_stored_only_as_its_hash(tmp_path):
    tokens = TokenStore(tmp_path / "tokens.sqlite")
    token, secret = tokens.create("slack-bot", "read")
    assert secret.startswith("shk_") and len(secret) == 47
    assert tokens.verify(secret) == token
    tokens.close()
    raw = (tmp_path / "tokens.sqlite").read_bytes() + b"".join(
        path.read_bytes() for path in tmp_path.glob("tokens.sqlite-*"))
    assert secret.encode() not in raw
    with sqlite3.connect(tmp_path / "tokens.sqlite") as connection:
        rows = connection.execute("SELECT hash FROM tokens").fetchall()
    connection.close()
    assert rows == [(hashlib.sha256(secret.encode()).hexdigest(),)]


@pytest.mark.parametrize("scope, allowed", [
    ("read", {"read"}), ("write", {"read", "write"}), ("admin", {"read", "write", "admin"}),
])
def test_scopes_are_ordered(tokens, scope, allowed):
    token, _ = tokens.create("t", scope)
    assert {needed for needed in ("read", "write", "admin") if token.allows(needed)} == allowed


def test_revoked_unknown_and_malformed_tokens_do_not_verify(tokens):
    _, secret = tokens.create("ci", "write", rate="10/minute")
    assert tokens.verify(secret).rate == "10/minute"
    assert tokens.verify("shk_" + "A" * 43) is None and tokens.verify("not-a-token") is None
    assert tokens.revoke("ci") and not tokens.revoke("ci") and not tokens.revoke("never-made")
    assert tokens.verify(secret) is None
    assert tokens.list()[0].revoked_at is not None
    _, again = tokens.create("ci", "read")  # a revoked name may be used again
    assert tokens.verify(again).scope == "read" and tokens.verify(secret) is None
    assert [(token.name, token.revoked_at) for token in tokens.list()] == [("ci", None)]


def test_tokens_are_listed_oldest_first(tokens):
    """In the order they were made — also within one second — and a reused name moves to the end."""
    for name in ("zulu", "alpha", "mike"):
        tokens.create(name, "read")
    assert [token.name for token in tokens.list()] == ["zulu", "alpha", "mike"]
    tokens.revoke("zulu")
    tokens.create("zulu", "write")
    assert [(token.name, token.scope) for token in tokens.list()] == [("alpha", "read"), ("mike", "read"),
                                                                      ("zulu", "write")]


def test_a_token_made_by_one_process_works_in_another(settings, tokens):
    """Two API servers on one shared store: a token made on either verifies on both, and a revocation on one stops
    it on the other at once."""
    other = open_tokens(settings)
    try:
        token, secret = tokens.create("slack-bot", "read")
        assert other.verify(secret) == token and other.list() == [token]
        assert other.revoke("slack-bot") and tokens.verify(secret) is None
    finally:
        other.close()
    assert not settings.tokens_path.exists()  # with store_url set, no tokens.sqlite is written


def test_one_name_made_at_once_makes_one_token(tokens):
    """Eight requests for the same new name at the same moment: one token is made, the others are refused."""
    made, refused = [], []
    start = threading.Barrier(8)

    def create() -> None:
        start.wait()
        try:
            made.append(tokens.create("bot", "read")[1])
        except ValueError as exc:
            refused.append(str(exc))

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(made) == 1 and len(refused) == 7 and all("revoke it first" in message for message in refused)
    assert tokens.verify(made[0]).name == "bot" and len(tokens.list()) == 1


@pytest.mark.parametrize("name, scope, rate, says", [
    ("bot", "root", None, "unknown scope 'root'"),
    ("has space", "read", None, "letters, digits"),
    ("bot", "read", "lots", "600/minute"),
])
def test_bad_requests_say_what_to_do(tokens, name, scope, rate, says):
    with pytest.raises(ValueError, match=says):
        tokens.create(name, scope, rate)
    assert tokens.list() == []


def test_a_live_name_is_not_reused(tokens):
    first, secret = tokens.create("bot", "read")
    with pytest.raises(ValueError, match="revoke it first"):
        tokens.create("bot", "admin")
    assert tokens.list() == [first] and tokens.verify(secret) == first  # the live token is untouched


def test_by_default_the_tokens_are_the_workspace_file(tmp_path):
    settings = Settings(home=tmp_path / "home")
    tokens = open_tokens(settings)
    token, secret = tokens.create("ci", "write")
    tokens.close()
    again = TokenStore(settings.tokens_path)
    assert again.verify(secret) == token and again.list() == [token]
    again.close()
