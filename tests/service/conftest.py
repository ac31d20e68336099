"""Fixtures of the HTTP API's tests: bearer tokens made in a workspace's token store."""

import itertools

import pytest

from sherlock.storage.tokens import open_tokens

_names = itertools.count(1)


@pytest.fixture(scope="session")
def bearer():
    """``bearer(settings, scope, rate=None)`` → the headers of a new token with that scope in that workspace."""

    def make(settings, scope: str, rate: str | None = None) -> dict[str, str]:
        tokens = open_tokens(settings)
        try:
            _, secret = tokens.create(f"test-{scope}-{next(_names)}", scope, rate)
        finally:
            tokens.close()
        return {"Authorization": f"Bearer {secret}"}

    return make
