"""API tokens: shown once, stored hashed, ordered scopes, revocation."""

import sqlite3

import pytest

from sherlock.storage.tokens import TokenStore


@pytest.fixture
def tokens(tmp_path):
    store = TokenStore(tmp_path / "tokens.sqlite")
    yield store
    store.close()


def test_a_token_is_stored_only_as_its_hash(tokens, tmp_path):
    token, secret = tokens.create("slack-bot", "read")
    assert secret.startswith("shk_") and len(secret) == 47
    assert tokens.verify(secret) == token
    raw = (tmp_path / "tokens.sqlite").read_bytes() + b"".join(
        path.read_bytes() for path in tmp_path.glob("tokens.sqlite-*"))
    assert secret.encode() not in raw
    rows = sqlite3.connect(tmp_path / "tokens.sqlite").execute("SELECT hash FROM tokens").fetchall()
    import hashlib
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
    assert tokens.revoke("ci") and not tokens.revoke("ci")
    assert tokens.verify(secret) is None
    assert tokens.list()[0].revoked_at is not None
    _, again = tokens.create("ci", "read")  # a revoked name may be used again
    assert tokens.verify(again).scope == "read"


@pytest.mark.parametrize("name, scope, rate, says", [
    ("bot", "root", None, "unknown scope 'root'"),
    ("has space", "read", None, "letters, digits"),
    ("bot", "read", "lots", "600/minute"),
])
def test_bad_requests_say_what_to_do(tokens, name, scope, rate, says):
    with pytest.raises(ValueError, match=says):
        tokens.create(name, scope, rate)


def test_a_live_name_is_not_reused(tokens):
    tokens.create("bot", "read")
    with pytest.raises(ValueError, match="revoke it first"):
        tokens.create("bot", "admin")
