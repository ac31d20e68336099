"""``sherlock export`` and ``sherlock import``: a round trip through the command line, and the refusals."""

from __future__ import annotations

import pytest


def test_export_then_import_into_an_empty_home_searches_alike(cli, juspay_home, make_home, tmp_path):
    folder = tmp_path / "backup"
    exported = cli.json("--home", juspay_home, "export", folder, "--json")
    assert exported["counts"]["incidents"] == 77 and (folder / "incidents.jsonl").is_file()
    target = make_home("restored")
    code, out, err = cli("--home", target, "import", folder)
    assert code == 0, err
    assert out.startswith(f"imported from {folder}: 77 incidents") and "indexes built" in out
    search = ["search", "pinelabs RSA decryption error", "-k", "5", "--json"]
    restored = [hit["id"] for hit in cli.json("--home", target, *search)["results"]]
    assert restored == [hit["id"] for hit in cli.json("--home", juspay_home, *search)["results"]]
    code, _, err = cli("--home", target, "import", folder)  # a second import would merge: refused
    assert code == 2 and "already holds 77 incident(s)" in err


@pytest.mark.postgres
@pytest.mark.parametrize("backend_url", ["postgresql"], indirect=True)
def test_a_sqlite_workspace_moves_to_postgresql(cli, juspay_home, make_home, tmp_path, backend_url, monkeypatch):
    """Issue #16's migration path: export the SQLite workspace, point SHERLOCK_STORE_URL at an empty database,
    `sherlock db upgrade`, `sherlock import`; the new workspace answers alike, and a second import is refused."""
    folder = tmp_path / "backup"
    assert cli("--home", juspay_home, "export", folder)[0] == 0
    monkeypatch.setenv("SHERLOCK_STORE_URL", backend_url)
    target = make_home("on-postgresql")
    code, _, err = cli("--home", target, "import", folder)
    assert code == 2 and "sherlock db upgrade" in err  # no tables yet: nothing written
    assert cli("--home", target, "db", "upgrade")[0] == 0
    code, out, err = cli("--home", target, "import", folder)
    assert code == 0, err
    assert out.startswith(f"imported from {folder}: 77 incidents")
    search = ["search", "pinelabs RSA decryption error", "-k", "5", "--json"]
    restored = [hit["id"] for hit in cli.json("--home", target, *search)["results"]]
    monkeypatch.delenv("SHERLOCK_STORE_URL")
    assert restored == [hit["id"] for hit in cli.json("--home", juspay_home, *search)["results"]]
    monkeypatch.setenv("SHERLOCK_STORE_URL", backend_url)
    code, _, err = cli("--home", make_home("another"), "import", folder)  # a new home on the same database
    assert code == 2 and "already holds 77 incident(s)" in err


def test_export_into_a_folder_with_files_is_refused(cli, juspay_home, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    code, _, err = cli("--home", juspay_home, "export", tmp_path)
    assert code == 2 and "not an empty folder" in err and (tmp_path / "notes.txt").read_text() == "mine"


def test_commands_that_change_the_workspace_are_audited(cli, make_home, juspay_issues, tmp_path):
    import getpass

    from sherlock.audit import entries
    from sherlock.config import load_settings
    home = make_home("audited")
    code, _, err = cli("--home", home, "ingest", juspay_issues)
    assert code == 0, err
    cli.json("--home", home, "search", "refund failed", "--json")  # reads: not audited
    assert cli("--home", home, "delete", "JSP-1001")[0] == 0
    assert cli("--home", home, "token", "create", "bot", "--scope", "read")[0] == 0
    logged = entries(load_settings(home=home))
    assert [(e.action, e.target) for e in logged] == [("api_tokens", "create bot"), ("delete_incidents", "JSP-1001"),
                                                      ("ingest", str(juspay_issues))]
    assert {e.actor for e in logged} == {getpass.getuser()} and all(e.source.startswith("cli ") for e in logged)
