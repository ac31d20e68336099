"""The audit log (sherlock/audit.py): rows added to ``<home>/audit.sqlite`` and read back newest first."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest

from sherlock.audit import AuditEntry, entries, record
from sherlock.config import load_settings


@pytest.fixture
def settings(tmp_path):
    return load_settings(home=tmp_path / "home")


def test_nothing_recorded_reads_as_empty_without_creating_the_file(settings):
    assert entries(settings) == []
    assert not settings.audit_path.exists()


def test_entries_are_recorded_and_read_newest_first(settings):
    before = datetime.now(UTC).replace(microsecond=0)
    first = record(settings, "alice@acme.com", "ingest", "incidents.csv", "app 10.0.0.7")
    record(settings, "local", "apply_weights", "search: dense 0.50 · bm25 0.40 · tfidf 0.10, wsum over minmax")
    record(settings, "bob@acme.com", "delete_incidents", "INC-1, INC-2", "cli")
    assert settings.audit_path == settings.home / "audit.sqlite" and settings.audit_path.is_file()
    rows = entries(settings)
    assert [(row.actor, row.action, row.target, row.source) for row in rows] == [
        ("bob@acme.com", "delete_incidents", "INC-1, INC-2", "cli"),
        ("local", "apply_weights", "search: dense 0.50 · bm25 0.40 · tfidf 0.10, wsum over minmax", "app"),
        ("alice@acme.com", "ingest", "incidents.csv", "app 10.0.0.7")]
    assert rows[-1] == first and isinstance(first, AuditEntry)
    assert before <= datetime.fromisoformat(first.at) <= datetime.now(UTC)
    assert [row.action for row in entries(settings, limit=1)] == ["delete_incidents"]


def test_the_file_is_plain_sqlite_another_tool_can_read(settings):
    record(settings, "alice@acme.com", "online_experiment", "start fusion-online")
    with sqlite3.connect(settings.audit_path) as connection:
        assert connection.execute("SELECT actor, action, target FROM audit").fetchall() == [
            ("alice@acme.com", "online_experiment", "start fusion-online")]


def test_an_unknown_action_or_no_actor_is_refused_and_nothing_is_written(settings):
    with pytest.raises(ValueError, match="unknown action 'drop'; choose one of: ab_run, api_tokens, apply_weights"):
        record(settings, "alice@acme.com", "drop")
    with pytest.raises(ValueError, match="an audit entry needs an actor"):
        record(settings, "  ", "ingest")
    assert entries(settings) == []


def test_an_unreadable_file_names_itself_and_what_to_do(settings):
    settings.home.mkdir(parents=True)
    settings.audit_path.write_bytes(b"not a database" * 100)
    with pytest.raises(RuntimeError, match=r"audit\.sqlite: cannot open the audit log .*move it aside"):
        record(settings, "alice@acme.com", "ingest")
