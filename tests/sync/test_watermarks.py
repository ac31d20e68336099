"""Sync state on both backends: the workspace's own ``sync.sqlite`` by default (files written before the port read
as before), or the shared store of ``SHERLOCK_STORE_URL`` — migrated, refused when it is not."""

from __future__ import annotations

import sqlite3

import pytest

from sherlock.config import load_settings
from sherlock.storage.db.migrate import SchemaOutdatedError
from sherlock.sync.watermarks import SyncState, Watermarks, open_watermarks, state_path

#: The schema sync.sqlite had before the store of record moved to SQLAlchemy (sherlock/storage/sqlite.py's days).
SCHEMA_BEFORE = """
CREATE TABLE IF NOT EXISTS sync_state (
    source     TEXT PRIMARY KEY,
    watermark  TEXT,
    progress   TEXT,
    synced_at  TEXT
);
"""
PROGRESS = {"since": "2026-01-31T00:00:00+00:00", "cursor": "page/2?q=zahlungsausfall—支付", "stored": 500}


@pytest.fixture
def settings(migrated_url, tmp_path, monkeypatch):
    """Settings whose store_url is an empty store database, migrated (SQLite file or PostgreSQL)."""
    monkeypatch.setenv("SHERLOCK_STORE_URL", migrated_url)
    return load_settings(tmp_path / "home")


@pytest.fixture
def marks(settings):
    marks = open_watermarks(settings)
    yield marks
    marks.close()


def test_a_source_that_never_synced_has_an_empty_state(marks):
    assert marks.get("jira") == SyncState("jira") and marks.all() == []


def test_progress_then_finish_then_a_sync_that_saw_nothing(marks):
    marks.save_progress("jira", PROGRESS)
    assert marks.get("jira") == SyncState("jira", None, PROGRESS, None)

    marks.finish("jira", "2026-02-01T09:30:00+00:00")
    done = marks.get("jira")
    assert (done.watermark, done.progress) == ("2026-02-01T09:30:00+00:00", None) and done.synced_at

    marks.save_progress("jira", {"stored": 1})
    marks.finish("jira", None)  # nothing new seen: the watermark stays
    again = marks.get("jira")
    assert (again.watermark, again.progress) == ("2026-02-01T09:30:00+00:00", None)


def test_every_source_by_name(marks):
    marks.finish("pagerduty", "2026-02-01T00:00:00+00:00")
    marks.save_progress("github", {"page": 3})
    marks.finish("jira", "2026-01-01T00:00:00+00:00")
    assert [state.source for state in marks.all()] == ["github", "jira", "pagerduty"]
    assert marks.all()[0] == SyncState("github", None, {"page": 3}, None)


def test_two_processes_on_one_shared_store_see_one_state(settings):
    """Two handles on the shared store (two app servers, or a sync job and the app) read each other's writes."""
    first, second = Watermarks(state_path(settings), settings), Watermarks(state_path(settings), settings)
    try:
        first.finish("jira", "2026-02-01T09:30:00+00:00")
        assert second.get("jira").watermark == "2026-02-01T09:30:00+00:00"
    finally:
        first.close()
        second.close()
    assert not state_path(settings).exists()  # with store_url set, no sync.sqlite is written


def test_a_shared_store_not_yet_migrated_is_refused(backend_url, tmp_path, monkeypatch):
    monkeypatch.setenv("SHERLOCK_STORE_URL", backend_url)
    with pytest.raises(SchemaOutdatedError, match=r"has no Sherlock tables yet \(schema revision none\); this "
                                                  r"Sherlock needs 0002: run `sherlock db upgrade`"):
        open_watermarks(load_settings(tmp_path / "home"))


def test_by_default_the_state_is_the_workspace_file_written_as_before(tmp_path, monkeypatch):
    """A sync.sqlite made by the previous code, with a run part-way, reads and updates as it did."""
    monkeypatch.delenv("SHERLOCK_STORE_URL", raising=False)
    settings = load_settings(tmp_path / "home")
    state_path(settings).parent.mkdir(parents=True)
    with sqlite3.connect(state_path(settings)) as old:
        old.executescript(SCHEMA_BEFORE)
        old.execute("INSERT INTO sync_state VALUES ('jira', '2026-01-01T00:00:00+00:00', '{\"page\": 2}', NULL)")
    old.close()

    marks = open_watermarks(settings)
    try:
        assert marks.get("jira") == SyncState("jira", "2026-01-01T00:00:00+00:00", {"page": 2}, None)
        marks.finish("jira", "2026-02-01T00:00:00+00:00")
    finally:
        marks.close()
    with sqlite3.connect(state_path(settings)) as reopened:
        assert reopened.execute("SELECT source, watermark, progress FROM sync_state").fetchall() == [
            ("jira", "2026-02-01T00:00:00+00:00", None)]
        assert reopened.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    reopened.close()


def test_a_new_workspace_file_gets_the_table(tmp_path):
    marks = Watermarks(tmp_path / "fresh" / "sync.sqlite")
    try:
        marks.save_progress("github", {"page": 1})
    finally:
        marks.close()
    with sqlite3.connect(tmp_path / "fresh" / "sync.sqlite") as created:
        columns = [row[1] for row in created.execute("PRAGMA table_info(sync_state)")]
    created.close()
    assert columns == ["source", "watermark", "progress", "synced_at"]


def test_a_file_that_is_not_a_database_says_what_to_do(tmp_path):
    broken = tmp_path / "sync.sqlite"
    broken.write_text("this is a text file, not SQLite\n" * 100)
    with pytest.raises(RuntimeError) as refused:
        Watermarks(broken)
    assert str(refused.value) == (f"{broken}: cannot open the sync state (file is not a database); move it aside: "
                                  "the next sync of each source then starts from scratch")
