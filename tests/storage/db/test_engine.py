"""Engines: connection failures a person can act on (where, why, what to do; never the password), a bounded connect
timeout, pre-ping after a lost connection, and SQLite files opened as the stores always opened them."""

from __future__ import annotations

import logging
import socket
import time

import pytest
from sqlalchemy import text

from sherlock.config import load_settings
from sherlock.storage.db.engine import StoreUnavailableError, make_engine, open_url
from sherlock.storage.db.migrate import schema_status

PASSWORD = "hunter2-s3cret"


@pytest.fixture
def closed_port() -> int:
    """A localhost port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def silent_server():
    """A localhost port that accepts TCP connections (the kernel's backlog) but never answers: a hung server."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]


def test_an_unreachable_server_is_named_with_what_to_do_and_no_password(closed_port, caplog):
    caplog.set_level(logging.DEBUG)
    engine = open_url(f"postgresql://alice:{PASSWORD}@127.0.0.1:{closed_port}/sherlock")
    with pytest.raises(StoreUnavailableError) as failed:
        schema_status(engine)
    assert str(failed.value) == (f"cannot reach PostgreSQL at 127.0.0.1:{closed_port} (Connection refused); is it "
                                 "running? check SHERLOCK_STORE_URL")
    assert failed.value.reason == "Connection refused"
    assert PASSWORD not in caplog.text


def test_a_hung_server_fails_within_the_connect_timeout(silent_server, tmp_path, monkeypatch):
    monkeypatch.setenv("SHERLOCK_STORE_URL", f"postgresql://alice:{PASSWORD}@127.0.0.1:{silent_server}/sherlock")
    monkeypatch.setenv("SHERLOCK_STORE_CONNECT_TIMEOUT_S", "2")
    engine = make_engine(load_settings(tmp_path))
    started = time.monotonic()
    with pytest.raises(StoreUnavailableError) as failed:
        schema_status(engine)
    assert 1.5 < time.monotonic() - started < 10
    message = str(failed.value)
    assert message.startswith(f"cannot connect to PostgreSQL at 127.0.0.1:{silent_server} as alice (")
    assert "timeout" in message and message.endswith("(store_connect_timeout_s bounds the wait)")
    assert PASSWORD not in message


def test_make_engine_needs_a_store_url(tmp_path, monkeypatch):
    monkeypatch.delenv("SHERLOCK_STORE_URL", raising=False)
    with pytest.raises(ValueError, match=r"SHERLOCK_STORE_URL is not set, so the workspace keeps its records in "
                                         r"SQLite files under .*; to use PostgreSQL set it"):
        make_engine(load_settings(tmp_path))


@pytest.mark.postgres
def test_a_missing_database_says_to_create_it(postgres_url):
    engine = open_url(postgres_url.rsplit("/", 1)[0] + "/no_such_db")
    with pytest.raises(StoreUnavailableError) as failed:
        schema_status(engine)
    host_port = postgres_url.split("@", 1)[1].split("/", 1)[0]
    assert str(failed.value) == (f'cannot connect to PostgreSQL at {host_port} as postgres (database "no_such_db" '
                                 'does not exist); create the database (createdb NAME) or check its name in '
                                 'SHERLOCK_STORE_URL')


@pytest.mark.postgres
def test_a_connection_the_server_dropped_is_replaced_by_the_pre_ping(postgres_url):
    """The server ends the pooled connection (as a restart would); the next checkout tests it, finds it dead and
    opens a new one, so the caller sees no error."""
    engine = open_url(postgres_url)
    try:
        with engine.connect() as connection:
            first = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
        killer = open_url(postgres_url)
        with killer.connect() as connection:
            assert connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first}).scalar_one()
        killer.dispose()
        with engine.connect() as connection:
            second = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
        assert second != first
    finally:
        engine.dispose()


def test_a_sqlite_file_opens_in_wal_mode_with_a_busy_timeout(tmp_path):
    engine = open_url(f"sqlite:///{tmp_path / 'new' / 'store.sqlite'}")  # the folder is created
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar_one() == 1  # NORMAL
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar_one() == 30_000
    finally:
        engine.dispose()
