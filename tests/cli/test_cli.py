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


# -- issue #11: filters that match nothing, settings errors, exact ids, stats ----------------------------------------

WEIGHTS_HELP = "three comma-separated non-negative numbers for dense,bm25,tfidf, e.g. 0.6,0.3,0.1"


@pytest.fixture
def juspay_home(juspay_workspace, monkeypatch):
    """The session's workspace of the original incidents, read only; no Gemini key, no demo."""
    for name in ("GEMINI_API_KEY", "GOOGLE_API_KEY", "SHERLOCK_GEMINI_API_KEY", "SHERLOCK_ANSWER_PROVIDER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SHERLOCK_DEMO", "false")
    return str(juspay_workspace.settings.home)


@pytest.mark.parametrize("argv, message", [
    (["--weights", "1,2"], f"sherlock search: error: weights: got '1,2'; give {WEIGHTS_HELP}"),
    (["--weights", "0.6,0.3,x"], f"sherlock search: error: weights: got '0.6,0.3,x'; give {WEIGHTS_HELP}"),
    (["--weights=-1,1,1"], "sherlock search: error: weights must be finite and >= 0, got (-1.0, 1.0, 1.0); "
                              f"give {WEIGHTS_HELP}"),
    (["--fusion", "borda"], "sherlock search: error: fusion: unknown fusion method 'borda'; choose one of: combmnz, "
                            "dbsf, rrf, wsum"),
    (["--norm", "min-max"], "sherlock search: error: norm: unknown normalisation 'min-max'; choose one of: dbsf, "
                            "minmax, none, rank, zscore"),
])
def test_bad_settings_flags_say_what_is_valid_in_one_line(juspay_home, cli, argv, message):
    code, out, err = cli("--home", juspay_home, "search", "refund failed", *argv)
    assert code == 2 and out == "" and err == message + "\n"


def test_bad_settings_from_the_environment_name_the_variable(juspay_home, cli, monkeypatch):
    monkeypatch.setenv("SHERLOCK_WEIGHTS", "1,2")
    code, _, err = cli("--home", juspay_home, "stats")
    assert code == 2 and err == f"sherlock stats: error: SHERLOCK_WEIGHTS: weights: got '1,2'; give {WEIGHTS_HELP}\n"
    monkeypatch.setenv("SHERLOCK_WEIGHTS", "0.5,0.4,0.1")  # the README's form works
    assert cli.json("--home", juspay_home, "stats", "--json")["fusion"]["weights"] == [0.5, 0.4, 0.1]


@pytest.mark.parametrize("command", [["search", "refund failed"], ["ask", "refund failed"]])
@pytest.mark.parametrize("k", ["0", "-2", "ten"])
def test_k_must_be_a_positive_number(juspay_home, capsys, command, k):
    from sherlock.cli import main
    with pytest.raises(SystemExit) as exit_:
        main(["--home", juspay_home, *command, "-k", k])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and f"argument -k: {k!r} is not a positive whole number" in err
    assert "Traceback" not in err


def test_search_text_for_exact_ids(juspay_home, cli):
    code, out, _ = cli("--home", juspay_home, "search", "INC-99999")
    assert code == 0 and out == "[exact_id] not found: no incident INC-99999 in this workspace\n"
    code, out, _ = cli("--home", juspay_home, "search", "JSP-1052", "-k", "3")
    lines = out.splitlines()
    assert code == 0 and lines[0].startswith("[exact_id] found JSP-1052, ")
    assert lines[1] == ("  JSP-1052  Pinelabs Online Gateway RSA Decryption Failure - MessageNotRecognized Error"
                        "  (exact id)")
    assert lines[2] == "Related (similar incidents to JSP-1052; their similarity scores):" and len(lines) == 5
    assert all(re.fullmatch(r"  \d\. JSP-\d+  .+  score=\d+\.\d{3}", line) for line in lines[3:])
    assert "confidence" not in out and "score=1.000" not in out


def test_a_filter_matching_nothing_says_so_and_suggests(juspay_home, cli):
    code, out, _ = cli("--home", juspay_home, "search", "why do refunds fail?", "--filter", "tag=Refnds")
    assert code == 0 and out.splitlines()[1:] == [
        "No incident matches the filters tag=Refnds: no tag Refnds (did you mean Refunds, Redis, Refund-API?)."]
    data = cli.json("--home", juspay_home, "search", "why do refunds fail?", "--filter", "tag=Refnds", "--json")
    assert data["abstained"] is True and data["results"] == [] and data["confidence"] == 0.0
    assert data["reason"].startswith("no incident matches the filters tag=Refnds: no tag Refnds (did you mean")
    assert data["filter_suggestions"] == {"tag": ["Refunds", "Redis", "Refund-API"]}
    code, out, _ = cli("--home", juspay_home, "ask", "why do refunds fail?", "--filter", "tag=Refnds")
    assert code == 0 and out.splitlines() == [
        "No matching past incident.",
        "No incident matches the filters tag=Refnds: no tag Refnds (did you mean Refunds, Redis, Refund-API?)."]
    data = cli.json("--home", juspay_home, "ask", "why do refunds fail?", "--filter", "tag=Refnds", "--json")
    assert data["abstained"] is True and data["reason"].startswith("no incident matches the filters tag=Refnds")
    assert data["filter_suggestions"] == {"tag": ["Refunds", "Redis", "Refund-API"]}


def test_the_readme_tag_filter_answers(juspay_home, cli):
    # README: sherlock ask "why do refunds fail?" -k 5 --filter tag=Refund --json (the incidents say "Refunds")
    data = cli.json("--home", juspay_home, "ask", "why do refunds fail?", "-k", "5", "--filter", "tag=Refund",
                    "--json")
    assert data["abstained"] is False and data["citations"] and data["reason"] is None
    tags = [{tag.lower() for tag in hit_tags(juspay_home, hit["id"])} for hit in data["results"]]
    assert all(t & {"refund", "refunds"} for t in tags) and any("refunds" in t for t in tags)


def hit_tags(home: str, incident_id: str) -> list[str]:
    from sherlock.config import load_settings
    from sherlock.storage.store import Store
    store = Store(load_settings(home=home).store_path)
    try:
        return store.get(incident_id).tags
    finally:
        store.close()


def test_stats_text_is_a_readable_table(home, cli):
    code, out, _ = cli("--home", home, "stats")
    lines = out.splitlines()
    assert code == 0 and "{" not in out and "'" not in out
    assert lines[:6] == [
        f"workspace  {home}",
        f"store      {home}/store.sqlite",
        "incidents  77 (created 2024-03-12 … 2025-09-16), store revision 1",
        "vectors    77 (all-MiniLM-L6-v2), indexes in sync",
        "fusion     wsum over minmax scores, weights dense 0.6, bm25 0.3, tfidf 0.1",
        f"MLflow     sqlite:///{home}/mlflow.db"]
    assert lines[6:] == ["", "service  incidents", "-------  ---------", "(none)   77",
                         "", "severity  incidents", "--------  ---------", "(none)    65", "high      5",
                         "medium    4", "critical  3",
                         "", "category        incidents", "--------------  ---------", "(none)          76",
                         "infrastructure  1"]
