"""``sherlock db status|upgrade`` on both backends: exit codes, the --json contract, and no password in any output."""

from __future__ import annotations

import socket

import pytest

from sherlock.storage.db.urls import redact, store_url


@pytest.fixture
def store(backend_url, tmp_path, monkeypatch) -> str:
    """SHERLOCK_STORE_URL set to an empty database; returns the URL as the CLI shows it."""
    monkeypatch.setenv("SHERLOCK_STORE_URL", backend_url)
    return redact(store_url(backend_url))


def test_status_says_an_empty_store_is_outdated_and_exits_1(store, tmp_path, cli):
    code, out, _ = cli("--home", tmp_path, "db", "status")
    assert code == 1
    assert out.splitlines() == [f"store:   {store}", "schema:  revision none (empty)", "needed:  revision 0002",
                                "verdict: outdated: run `sherlock db upgrade`"]
    code, out, _ = cli("--home", tmp_path, "db", "status", "--json")
    assert code == 1 and '"outdated": true' in out and '"current": null' in out


def test_upgrade_then_again_is_a_no_op_and_status_is_up_to_date(store, tmp_path, cli):
    code, out, _ = cli("--home", tmp_path, "db", "upgrade")
    assert (code, out) == (0, f"{store}: upgraded the schema from revision none (empty) to 0002\n")
    assert cli.json("--home", tmp_path, "db", "upgrade", "--json") == {"store": store, "from": "0002", "to": "0002",
                                                                      "changed": False}
    code, out, _ = cli("--home", tmp_path, "db", "upgrade")
    assert (code, out) == (0, f"{store}: already at schema revision 0002; nothing to do\n")
    assert cli.json("--home", tmp_path, "db", "status", "--json") == {"store": store, "current": "0002",
                                                                     "head": "0002", "outdated": False}


def test_without_a_store_url_status_explains_and_upgrade_refuses(tmp_path, cli, monkeypatch):
    monkeypatch.delenv("SHERLOCK_STORE_URL", raising=False)
    code, out, _ = cli("--home", tmp_path, "db", "status")
    assert code == 0 and out.startswith(f"SHERLOCK_STORE_URL is not set: the records are in SQLite files under "
                                        f"{tmp_path.resolve()}")
    code, _, err = cli("--home", tmp_path, "db", "upgrade")
    assert code == 2 and err.startswith("sherlock db: error: SHERLOCK_STORE_URL is not set")


def test_an_unreachable_store_exits_2_naming_it_without_the_password(tmp_path, cli, monkeypatch):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("SHERLOCK_STORE_URL", f"postgresql://sherlock:hunter2@127.0.0.1:{port}/sherlock")
    for action in ("status", "upgrade"):
        code, out, err = cli("--home", tmp_path, "db", action)
        assert code == 2 and out == ""
        assert err == (f"sherlock db: error: cannot reach PostgreSQL at 127.0.0.1:{port} (Connection refused); is it "
                       "running? check SHERLOCK_STORE_URL\n")


def test_every_command_refuses_a_store_whose_schema_is_behind(store, tmp_path, cli, monkeypatch):
    monkeypatch.setenv("SHERLOCK_DEMO", "false")
    for argv in (["stats"], ["search", "refund failed"], ["ingest", "data/demo/incidents.jsonl"], ["token", "list"],
                 ["list"], ["monitor"]):
        code, out, err = cli("--home", tmp_path, *argv)
        assert (code, out) == (2, ""), argv
        assert err == (f"sherlock {argv[0]}: error: the store at {store} has no Sherlock tables yet (schema revision "
                       "none); this Sherlock needs 0002: run `sherlock db upgrade`\n")
    assert cli("--home", tmp_path, "db", "upgrade")[0] == 0
    code, out, _ = cli("--home", tmp_path, "stats")  # upgraded: the same command runs
    assert code == 0 and "incidents  0 (no dates), store revision 0" in out
    assert f"store      {store}" in out  # the shared store, its password hidden
