"""The CLI's --json output is a contract; exit codes; every command documented in the README."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sherlock.cli import COMMANDS, build_parser

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture
def home(make_home, juspay_issues, cli):
    home = make_home()
    cli.json("--home", home, "ingest", juspay_issues, "--json")
    return home


def test_ingest_json_report(make_home, juspay_issues, cli):
    report = cli.json("--home", make_home(), "ingest", juspay_issues,
                      juspay_issues.parent / "tps_scaling_incident.json", "--json")
    first, second = report["files"]
    assert (first["added"], first["status"], second["duplicate_content"]) == (
        77, "ok", [{"id": "JSP-2001", "same_as": "JSP-1055"}])
    assert report["sync"]["embedded"] == 78


def test_ingest_exit_codes(home, tmp_path, cli):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "X-1", "title": "fine"}\n{"id": "X-2"}\n')
    code, _, err = cli("--home", home, "ingest", bad)
    assert code == 1 and "bad.jsonl:2: missing required field(s) 'title'" in err
    assert cli("--home", home, "ingest", tmp_path / "missing.json")[0] == 2


def test_search_json_contract(home, cli):
    data = cli.json("--home", home, "search", "UPI payment failed with error 5003", "-k", "3", "--json")
    assert data["strategy"] == "hybrid" and data["abstained"] is False
    assert data["results"][0]["id"] == "JSP-1001" and len(data["results"]) == 3
    assert set(data["results"][0]["scores"]) == {"dense", "bm25", "tfidf"} and data["took_ms"] > 0


def test_search_options(home, cli):
    data = cli.json("--home", home, "search", "refund failed", "--weights", "0,1,0", "--fusion",
                    "rrf", "--norm", "rank", "--filter", "tag=Refund", "--json")
    assert data["settings"]["weights"] == [0.0, 1.0, 0.0] and data["settings"]["method"] == "rrf"
    assert data["filters"] == {"tag": ["Refund"]}


def test_search_exact_and_unknown_ids(home, cli):
    found = cli.json("--home", home, "search", "what can you tell me about JSP-1052", "--json")
    assert found["strategy"] == "exact_id" and found["results"][0]["id"] == "JSP-1052"
    missing = cli.json("--home", home, "search", "JIRA-9999 not working", "--json")
    assert missing["abstained"] is True and missing["results"] == []


def test_batch_search_writes_a_trec_run(home, tmp_path, cli):
    queries = tmp_path / "q.jsonl"
    queries.write_text('{"id": "a", "query": "UPI error 5003"}\n{"_id": "b", "text": "capital of Australia"}\n')
    code, _, _ = cli("--home", home, "search", "--queries", queries, "-k", "7", "--run-out", tmp_path / "run.tsv")
    lines = (tmp_path / "run.tsv").read_text().splitlines()
    assert code == 0 and len(lines) == 14
    assert re.fullmatch(r"a Q0 JSP-1001 1 [\d.]+ sherlock", lines[0])


def test_show_and_stats(home, cli):
    incident = cli.json("--home", home, "show", "jsp-1037", "--json")
    assert incident["id"] == "JSP-1037" and "extra" in incident
    assert cli("--home", home, "show", "NOPE-1")[0] == 1
    stats = cli.json("--home", home, "stats", "--json")
    assert stats["incidents"] == 77 and stats["vectors"] == 77 and stats["synced"] is True
    assert stats["mlflow_tracking_uri"].startswith("sqlite:///") and str(home) in stats["mlflow_tracking_uri"]


def test_reindex(home, cli):
    code, out, _ = cli("--home", home, "reindex")
    assert code == 0 and "reindexed 77 incidents" in out


def test_bad_usage_is_exit_2_with_a_message(home, cli):
    code, _, err = cli("--home", home, "search", "x", "--filter", "colour=red")
    assert code == 2 and "key one of" in err
    assert cli("--home", home, "search")[0] == 2


def test_python_dash_m_and_console_script(home):
    for command in ([sys.executable, "-m", "sherlock"], [str(Path(sys.executable).parent / "sherlock")]):
        result = subprocess.run([*command, "--home", str(home), "show", "JSP-1001", "--json"],
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["id"] == "JSP-1001"


def test_every_command_is_documented_in_the_readme():
    readme = README.read_text()
    subcommands = build_parser()._subparsers._group_actions[0].choices
    assert set(subcommands) == set(COMMANDS)
    for name in COMMANDS:
        assert f"sherlock {name}" in readme, f"README does not document `sherlock {name}`"
