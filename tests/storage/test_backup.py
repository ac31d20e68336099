"""Backups: export a workspace with incidents, feedback, a query log and settings, import it into an empty one, and
get the same search results and the same rows; bad folders and full workspaces are refused with a reason."""

from __future__ import annotations

import json

import pytest

from sherlock.config import load_settings
from sherlock.monitoring.querylog import QueryLog, query_log
from sherlock.monitoring.record import log_search
from sherlock.search.searcher import Searcher
from sherlock.storage.backup import BackupError, export_workspace, import_workspace
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
], ids=["no manifest", "newer version", "missing columns", "broken line", "bad incident"])
def test_a_damaged_backup_is_refused_saying_where(original, make_home, tmp_path, damage, says):
    folder = tmp_path / "backup"
    export_workspace(original, folder)
    damage(folder)
    target = load_settings(home=make_home("target"))
    with pytest.raises(BackupError, match=says):
        import_workspace(target, folder)
    assert Workspace(target).store.count() == 0  # refused before anything was written: the import can be retried
