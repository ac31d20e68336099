"""The audit log (sherlock/audit.py): rows added and read back newest first — on both backends of the store of record
(a SQLite database and a real PostgreSQL server, through ``store_url``), and by default in ``<home>/audit.sqlite``."""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, datetime

import pytest

from sherlock.audit import AuditEntry, entries, log_location, record, record_quietly
from sherlock.config import Settings, load_settings


@pytest.fixture
def settings(tmp_path):
    """A workspace without a store_url: its audit log is <home>/audit.sqlite."""
    return load_settings(home=tmp_path / "home")


@pytest.fixture
def shared(migrated_url, tmp_path):
    """A workspace whose store of record is an empty, migrated database (SQLite or PostgreSQL)."""
    return Settings(home=tmp_path / "home", store_url=migrated_url)


def test_entries_are_recorded_and_read_newest_first(shared):
    settings = shared
    assert entries(settings) == []
    before = datetime.now(UTC).replace(microsecond=0)
    first = record(settings, "alice@acme.com", "ingest", "incidents.csv", "app 10.0.0.7")
    record(settings, "local", "apply_weights", "search: dense 0.50 · bm25 0.40 · tfidf 0.10, wsum over minmax")
    record(settings, "bob@acme.com", "delete_incidents", "INC-1, INC-2", "cli")
    rows = entries(settings)
    assert [(row.actor, row.action, row.target, row.source) for row in rows] == [
        ("bob@acme.com", "delete_incidents", "INC-1, INC-2", "cli"),
        ("local", "apply_weights", "search: dense 0.50 · bm25 0.40 · tfidf 0.10, wsum over minmax", "app"),
        ("alice@acme.com", "ingest", "incidents.csv", "app 10.0.0.7")]
    assert rows[-1] == first and isinstance(first, AuditEntry)
    assert before <= datetime.fromisoformat(first.at) <= datetime.now(UTC)
    assert [row.action for row in entries(settings, limit=1)] == ["delete_incidents"]
    assert not settings.audit_path.exists()  # with store_url set, no audit.sqlite is written


def test_an_unknown_action_or_no_actor_is_refused_and_nothing_is_written(shared):
    with pytest.raises(ValueError, match="unknown action 'drop'; choose one of: ab_run, api_tokens, apply_weights"):
        record(shared, "alice@acme.com", "drop")
    with pytest.raises(ValueError, match="an audit entry needs an actor"):
        record(shared, "  ", "ingest")
    assert entries(shared) == []


RECORD_MANY = """
import sys
from sherlock.audit import entries, record
from sherlock.config import Settings
url, home, rows, number = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
settings = Settings(home=home, store_url=url)
entries(settings, limit=1)  # connected (and the schema checked) before the start
# go
for i in range(rows):
    record(settings, f"worker-{number}@acme.com", "ingest", f"batch {i}", f"api {number}")
"""


def test_two_processes_record_at_once(shared, run_together):
    """Two API workers auditing into one shared store at the same moment: every entry is kept, once, in order."""
    run_together(RECORD_MANY, shared.store_url, shared.home, 60)
    rows = entries(shared, limit=1000)
    assert len(rows) == 120
    for number in "01":  # newest first: each worker's entries in the reverse of the order it made them
        mine = [row.target for row in rows if row.source == f"api {number}"]
        assert mine == [f"batch {i}" for i in reversed(range(60))]


# -- by default: <home>/audit.sqlite -----------------------------------------------------------------------------------

def test_nothing_recorded_reads_as_empty_without_creating_the_file(settings):
    assert entries(settings) == []
    assert not settings.audit_path.exists()


def test_the_file_is_plain_sqlite_another_tool_can_read(settings):
    first = record(settings, "alice@acme.com", "online_experiment", "start fusion-online")
    assert settings.audit_path == settings.home / "audit.sqlite" and entries(settings) == [first]
    assert log_location(settings) == str(settings.audit_path)
    with sqlite3.connect(settings.audit_path) as connection:
        assert connection.execute("SELECT actor, action, target FROM audit").fetchall() == [
            ("alice@acme.com", "online_experiment", "start fusion-online")]
    connection.close()


def test_an_unreadable_file_names_itself_and_what_to_do(settings):
    settings.home.mkdir(parents=True)
    settings.audit_path.write_bytes(b"not a database" * 100)
    with pytest.raises(RuntimeError, match=r"audit\.sqlite: cannot open the audit log .*move it aside"):
        record(settings, "alice@acme.com", "ingest")


def test_a_log_that_cannot_be_written_is_a_warning_naming_the_store_without_its_password(tmp_path, caplog):
    settings = Settings(home=tmp_path / "home", store_url="postgresql://sherlock:s3cret@127.0.0.1:1/sherlock",
                        store_connect_timeout_s=2)
    assert log_location(settings) == "postgresql://sherlock:***@127.0.0.1:1/sherlock"
    with caplog.at_level(logging.WARNING, logger="sherlock.audit"):
        assert record_quietly(settings, "alice@acme.com", "ingest", "incidents.csv") is False
    assert "the audit log at postgresql://sherlock:***@127.0.0.1:1/sherlock could not be written" in caplog.text
    assert "s3cret" not in caplog.text and not settings.audit_path.exists()
