"""``sherlock token``: create (printed once), list (never the secret), revoke."""

import json

from sherlock.cli import main


def test_create_list_and_revoke(tmp_path, capsys):
    home = str(tmp_path / "home")
    assert main(["--home", home, "token", "create", "slack-bot", "--scope", "read"]) == 0
    out, err = capsys.readouterr()
    secret = out.strip()
    assert secret.startswith("shk_") and "not shown again" in err
    assert main(["--home", home, "token", "list"]) == 0
    listed = capsys.readouterr().out
    assert "slack-bot" in listed and "600/minute" in listed and secret not in listed
    assert main(["--home", home, "token", "create", "ci", "--scope", "write", "--rate", "5/second", "--json"]) == 0
    created = json.loads(capsys.readouterr().out)
    assert created["scope"] == "write" and created["rate"] == "5/second" and created["token"].startswith("shk_")
    assert main(["--home", home, "token", "revoke", "slack-bot"]) == 0
    assert main(["--home", home, "token", "revoke", "slack-bot"]) == 1
    assert "no live token named 'slack-bot'" in capsys.readouterr().err
    assert main(["--home", home, "token", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(row["name"], row["revoked_at"] is not None) for row in rows] == [("slack-bot", True), ("ci", False)]


def test_a_bad_rate_is_a_usage_error(tmp_path, capsys):
    assert main(["--home", str(tmp_path), "token", "create", "x", "--scope", "read", "--rate", "fast"]) == 2
    assert "give '<count>/<second|minute|hour|day>'" in capsys.readouterr().err


def test_serve_refuses_an_open_api_on_a_public_address(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SHERLOCK_API_AUTH", "off")
    assert main(["--home", str(tmp_path), "serve", "--host", "0.0.0.0", "--port", "1"]) == 2
    assert "anyone who reaches 0.0.0.0:1" in capsys.readouterr().err


def test_serve_gives_each_worker_its_share_of_the_cores(tmp_path, capsys, monkeypatch):
    import os

    import uvicorn

    from sherlock.embed.onnx_minilm import usable_cores
    started = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: started.update(options, threads=os.environ.get(
        "SHERLOCK_EMBED_THREADS")))
    monkeypatch.setenv("SHERLOCK_EMBED_THREADS", "0")  # restored after the test, as SHERLOCK_HOME: serve sets both
    monkeypatch.setenv("SHERLOCK_HOME", str(tmp_path))
    assert main(["--home", str(tmp_path), "serve", "--workers", "2", "--port", "8123"]) == 0
    assert started["workers"] == 2 and started["threads"] == str(max(1, usable_cores() // 2))
    assert "no API tokens yet" in capsys.readouterr().err
