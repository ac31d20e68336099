"""Backups: export a workspace with incidents, feedback, a query log and settings, import it into an empty one, and
get the same search results and the same rows; bad folders and full workspaces are refused with a reason."""

from __future__ import annotations

import json
import sqlite3

import pytest

from sherlock.config import load_settings
from sherlock.monitoring.querylog import QueryLog, query_log
from sherlock.monitoring.record import log_search
from sherlock.search.searcher import Searcher
from sherlock.storage.backup import BackupError, export_workspace, import_workspace
from sherlock.storage.backup_tables import PARTS, check_table, count_rows, dump_table, load_table, open_engines
from sherlock.storage.db.engine import open_url, write_transaction
from sherlock.storage.db.tables import feedback, incidents, queries
from sherlock.storage.feedback import FeedbackStore
from sherlock.storage.workspace import Workspace

QUERIES = ["UPI payment failed with error 5003", "refund failed insufficient funds 2C2P", "pinelabs RSA decryption",
           "webhook delivery failing", "what is the capital of Australia", "JSP-1052"]


@pytest.fixture
def original(make_home, juspay_issues):
    """A workspace with the juspay incidents (two sources), its own weights, feedback, pair votes and logged
    searches."""
    home = make_home("original")
    (home / "sherlock.toml").write_text("weights = [0.5, 0.4, 0.1]\n")
    workspace = Workspace(load_settings(home=home))
    workspace.ingest([juspay_issues, juspay_issues.parent / "tps_scaling_incident.json"])
    searcher = Searcher(workspace)
    feedback = FeedbackStore(workspace.settings.feedback_path)
    for query in QUERIES[:3]:
        response = searcher.search(query, k=5)
        log_id = log_search(workspace.settings, response, "cli", session="s1")
        feedback.record(query, [hit.id for hit in response.results], True, session_id="s1", log_id=log_id)
    feedback.record_pair("JSP-1055", "JSP-2001", True, session_id="s1")
    feedback.close()
    assert query_log(workspace.settings).flush()
    return workspace


@pytest.fixture
def shared_settings(migrated_url, make_home):
    """Settings of an empty workspace whose records live in the migrated store database of ``migrated_url``: one
    SQLite file holding every table, or PostgreSQL."""
    return load_settings(home=make_home("shared"), store_url=migrated_url)


def part_lines(folder) -> dict[str, list[dict]]:
    """Every row part of a backup folder, parsed."""
    files = [part.file for part in PARTS] + ["incidents.jsonl", "sources.jsonl"]
    return {name: [json.loads(line) for line in (folder / name).read_text().splitlines()] for name in files}


def rewrite_first_row(folder, part: str, **cells) -> None:
    """Change cells of the first row of ``part`` in a backup folder."""
    path = folder / part
    first, *rest = path.read_text().splitlines()
    path.write_text("\n".join([json.dumps({**json.loads(first), **cells}), *rest]) + "\n")


def results(workspace: Workspace) -> list[list[tuple[str, float]]]:
    searcher = Searcher(workspace)
    return [[(hit.id, hit.score) for hit in searcher.search(query, k=10).results] for query in QUERIES]


def test_an_imported_backup_searches_and_holds_what_the_original_did(original, make_home, tmp_path):
    folder = tmp_path / "backup"
    exported = export_workspace(original, folder)
    assert exported.counts == {"incidents": 78, "feedback": 3, "pair_feedback": 1, "query_log": 3,
                               "query_log_settings": 1}
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["format"] == "sherlock-backup" and manifest["counts"] == exported.counts
    assert "files/sherlock.toml" in exported.files and "files/query_log.key" in exported.files
    assert "experiments/fusion-online.toml" in exported.files

    target = make_home("restored")
    imported = import_workspace(load_settings(home=target), folder)
    assert imported.counts == exported.counts and not imported.notes
    restored = Workspace(load_settings(home=target))
    assert restored.settings.weights == (0.5, 0.4, 0.1)  # the settings came along
    assert list(restored.store.iter_with_sources()) == list(original.store.iter_with_sources())
    original.merge()  # the import builds one full index: compare with the original's full build
    assert results(restored) == results(original)
    before, after = FeedbackStore(original.settings.feedback_path), FeedbackStore(restored.settings.feedback_path)
    assert after.records() == before.records() and after.pairs() == before.pairs()
    old_log = QueryLog(original.settings.query_log_path, b"")
    new_log = QueryLog(restored.settings.query_log_path, b"")
    assert new_log.frame().equals(old_log.frame())
    assert (new_log.vectors() == old_log.vectors()).all() and new_log.settings_versions() == old_log.settings_versions()
    assert (target / "query_log.key").read_bytes() == (original.settings.home / "query_log.key").read_bytes()


def test_import_refuses_a_workspace_that_holds_anything(original, tmp_path):
    export_workspace(original, tmp_path / "backup")
    with pytest.raises(BackupError, match=r"already holds 78 incident\(s\), .*empty workspace"):
        import_workspace(original.settings, tmp_path / "backup")


def test_export_refuses_a_folder_with_files(original, tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    with pytest.raises(BackupError, match="not an empty folder"):
        export_workspace(original, tmp_path / "full")
    assert (tmp_path / "full" / "keep.txt").read_text() == "mine"


@pytest.mark.parametrize(("damage", "says"), [
    (lambda folder: (folder / "manifest.json").unlink(), "no manifest"),
    (lambda folder: (folder / "manifest.json").write_text('{"format": "sherlock-backup", "version": 99}'),
     "version 99"),
    (lambda folder: (folder / "feedback.jsonl").write_text('{"id": 1}\n{broken\n'),
     r"feedback.jsonl:1: required column\(s\) created_at, query, query_key, shown_ids missing"),
    (lambda folder: (folder / "pair_feedback.jsonl").write_text('{broken\n'), r"pair_feedback.jsonl:1: not valid"),
    (lambda folder: (folder / "incidents.jsonl").write_text('{"title": "no id"}\n'), r"incidents.jsonl:1: not a "),
    (lambda folder: rewrite_first_row(folder, "query_log.jsonl", ts="yesterday"),
     r"query_log.jsonl:1: column ts: expected a number, got 'yesterday'"),
    (lambda folder: rewrite_first_row(folder, "query_log.jsonl", vector={"base64": "*not*"}),
     r"query_log.jsonl:1: column vector: not base64"),
    (lambda folder: (folder / "pair_feedback.jsonl").write_text((folder / "pair_feedback.jsonl").read_text() * 2),
     r"pair_feedback.jsonl:2: pair_feedback id 1 appears twice"),
], ids=["no manifest", "newer version", "missing columns", "broken line", "bad incident", "wrong type", "bad blob",
        "repeated id"])
def test_a_damaged_backup_is_refused_saying_where(original, make_home, tmp_path, damage, says):
    folder = tmp_path / "backup"
    export_workspace(original, folder)
    damage(folder)
    target = load_settings(home=make_home("target"))
    with pytest.raises(BackupError, match=says):
        import_workspace(target, folder)
    assert Workspace(target).store.count() == 0  # refused before anything was written: the import can be retried


def test_a_sqlite_backup_restores_into_a_shared_store_and_back(original, shared_settings, make_home, tmp_path):
    """The migration of issue #16: export the workspace's own SQLite files, import into a workspace on a store
    database (PostgreSQL, or one SQLite file), export that, and import it back into SQLite files: the same rows."""
    exported = export_workspace(original, tmp_path / "from-sqlite")
    imported = import_workspace(shared_settings, tmp_path / "from-sqlite")
    assert imported.counts == exported.counts and not imported.notes
    engine = open_url(shared_settings.store_url)
    try:
        assert [count_rows(engine, [table]) for table in (feedback, queries)] == [3, 3]  # in the database itself
        assert count_rows(engine, [incidents]) == 78  # needs Workspace.store on the store database
        with write_transaction(engine) as connection:  # the restored ids do not collide with the next one
            inserted = connection.execute(feedback.insert().values(created_at="now", query="q", query_key="q",
                                                                     shown_ids="[]"))
            assert inserted.inserted_primary_key[0] == 4
            connection.execute(feedback.delete().where(feedback.c.id == 4))
    finally:
        engine.dispose()

    shared = Workspace(load_settings(home=shared_settings.home, store_url=shared_settings.store_url))
    assert export_workspace(shared, tmp_path / "from-shared").counts == exported.counts
    assert part_lines(tmp_path / "from-shared") == part_lines(tmp_path / "from-sqlite")
    with pytest.raises(BackupError, match=r"already holds .*4 feedback row\(s\), 4 logged queries \(in "):
        other_home = load_settings(home=make_home("other"), store_url=shared_settings.store_url)
        import_workspace(other_home, tmp_path / "from-sqlite")  # a new home, but the database holds rows

    back = load_settings(home=make_home("back"))
    assert import_workspace(back, tmp_path / "from-shared").counts == exported.counts
    before, after = FeedbackStore(original.settings.feedback_path), FeedbackStore(back.feedback_path)
    assert after.records() == before.records() and after.pairs() == before.pairs()
    old_log, new_log = QueryLog(original.settings.query_log_path, b""), QueryLog(back.query_log_path, b"")
    assert new_log.frame().equals(old_log.frame()) and (new_log.vectors() == old_log.vectors()).all()


def test_the_backend_is_the_target_s_not_the_backup_s(original, make_home, tmp_path):
    """A store_url in the backup's sherlock.toml would send the restored workspace to the original's database."""
    folder = tmp_path / "backup"
    export_workspace(original, folder)
    settings_file = folder / "files" / "sherlock.toml"
    settings_file.write_text('store_url = "postgresql://sherlock:pw@db.invalid/sherlock"\n'
                             + settings_file.read_text())
    target = make_home("restored")
    imported = import_workspace(load_settings(home=target), folder)
    assert imported.notes == ["files/sherlock.toml: store_url left out; this workspace keeps its own backend"]
    assert (target / "sherlock.toml").read_text() == "weights = [0.5, 0.4, 0.1]\n"
    assert Workspace(load_settings(home=target)).store.count() == 78


def test_a_store_url_in_sherlock_toml_never_goes_into_a_backup(migrated_url, tmp_path):
    """The store URL holds the database's password: the exported sherlock.toml keeps every other setting."""
    home = tmp_path / "team"
    home.mkdir()
    (home / "sherlock.toml").write_text(f'weights = [0.5, 0.4, 0.1]\nstore_url = "{migrated_url}"\n')
    workspace = Workspace(load_settings(home=home, demo=False))
    assert workspace.settings.store_url == migrated_url
    report = export_workspace(workspace, tmp_path / "backup")
    assert (tmp_path / "backup" / "files" / "sherlock.toml").read_text() == "weights = [0.5, 0.4, 0.1]\n"
    assert report.notes == ["files/sherlock.toml: store_url left out (it holds the database's password); the "
                            "restored workspace uses its own SHERLOCK_STORE_URL"]


def test_a_feedback_file_of_an_older_sherlock_exports_without_its_missing_columns(tmp_path):
    """A feedback.sqlite from before session_id, variant, experiment and log_id, never opened since: its rows export
    as they are, and restore with those columns unset."""
    old = load_settings(home=tmp_path / "old")
    old.home.mkdir()
    with sqlite3.connect(old.feedback_path) as connection:
        connection.executescript("""CREATE TABLE feedback (id INTEGER PRIMARY KEY AUTOINCREMENT, created_at TEXT NOT
            NULL, query TEXT NOT NULL, query_key TEXT NOT NULL, shown_ids TEXT NOT NULL, helpful INTEGER, right_id
            TEXT, settings TEXT NOT NULL DEFAULT '{}', provider TEXT);
            INSERT INTO feedback (created_at, query, query_key, shown_ids, helpful)
            VALUES ('2025-01-01T00:00:00.000+00:00', 'Refunds?', 'refunds', '["JSP-1"]', 1);""")
    connection.close()
    with open_engines(old) as engines:
        assert dump_table(engines["feedback"], feedback, tmp_path / "feedback.jsonl") == 1
    assert json.loads((tmp_path / "feedback.jsonl").read_text()) == {
        "id": 1, "created_at": "2025-01-01T00:00:00.000+00:00", "query": "Refunds?", "query_key": "refunds",
        "shown_ids": '["JSP-1"]', "helpful": 1, "right_id": None, "settings": "{}", "provider": None}
    new = load_settings(home=tmp_path / "new")
    with open_engines(new) as engines:
        assert check_table(engines["feedback"], feedback, tmp_path / "feedback.jsonl") == 1
        assert load_table(engines["feedback"], feedback, tmp_path / "feedback.jsonl") == 1
    [record] = FeedbackStore(new.feedback_path).records()
    assert (record.query, record.helpful, record.session_id, record.log_id) == ("Refunds?", True, None, None)
