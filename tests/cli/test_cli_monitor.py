"""`sherlock monitor`: --json is the library's report, the text summary, --check's exit status, --prune, an empty
workspace's advice, and that no index or model is opened."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from sherlock.config import load_settings
from sherlock.monitoring.events import QueryEvent, hash_key
from sherlock.monitoring.querylog import QueryLog
from sherlock.monitoring.report import monitor_report

ROOT = Path(__file__).resolve().parents[2]
WINDOW = ("--since", "2025-03-03", "--until", "2025-03-16")
MONDAY = datetime(2025, 3, 3, tzinfo=UTC).timestamp()


@pytest.fixture(autouse=True)
def no_demo_autoload(monkeypatch):
    monkeypatch.setenv("SHERLOCK_DEMO", "false")


def write_log(home: Path, rows: list[tuple[float, bool, float, str]]) -> None:
    """``(ts, abstained, latency_ms, question)`` rows into the workspace's own query log."""
    settings = load_settings(home=home)
    log = QueryLog(settings.query_log_path, hash_key(settings))
    log.record_many(QueryEvent(channel="cli", kind="search", query=question, strategy="hybrid", abstained=abstained,
                               latency_ms=latency, settings={"weights": [0.6, 0.3, 0.1], "fusion": "wsum",
                                                             "norm": "minmax"},
                               dense_top=0.2 if abstained else 0.7, ts=ts)
                    for ts, abstained, latency, question in rows)
    assert log.flush()
    log.close()


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    """Two weeks of 30 queries; in the second, 18 abstain (60%: above the default 50% alert)."""
    folder = tmp_path_factory.mktemp("monitor-cli-home")
    questions = ["what is the capital of australia", "weather in sydney today", "upi refunds failing"]
    write_log(folder, [(MONDAY + week * 7 * 86400 + 3600 * i, i < (3 if week == 0 else 18), 80.0 + i,
                        questions[i % 3]) for week in (0, 1) for i in range(30)])
    return folder


def test_json_is_the_library_report(cli, home):
    report = cli.json("--home", home, "monitor", *WINDOW, "--json")
    assert report == monitor_report(load_settings(home=home), date(2025, 3, 3), date(2025, 3, 16), "W")
    assert (report["queries"], report["abstained"], [p["queries"] for p in report["by_period"]]) == (60, 21, [30, 30])
    daily = cli.json("--home", home, "monitor", *WINDOW, "--freq", "D", "--json")
    assert len(daily["by_period"]) == 14 and daily["freq"] == "D"


def test_the_text_summary(cli, home):
    code, out, _ = cli("--home", home, "monitor", *WINDOW)
    assert code == 0
    assert "Search monitoring 2025-03-03 … 2025-03-16, per week" in out and "60 queries" in out
    assert "Latest week against the one before:" in out
    assert "abstain rate   60.0%" in out and "10.0%" in out and "+50.0 pts" in out
    for section in ("Per week:", "Settings versions (newest first):", "weights 0.6,0.3,0.1 · wsum · minmax",
                    "Gaps —", "Drift 2025-03-10 against 2025-03-03", "Alerts:", "abstain_rate:"):
        assert section in out, section
    assert '"what is the capital of australia"' in out  # a gap theme's example


def test_check_exits_3_when_an_alert_fires_and_0_otherwise(cli, home, monkeypatch):
    code, out, _ = cli("--home", home, "monitor", *WINDOW, "--check")
    assert code == 3 and "abstain_rate: 2025-03-10: 60.0% of 30 queries abstained" in out
    code, out, err = cli("--home", home, "monitor", *WINDOW, "--check", "--json")
    assert code == 3 and json.loads(out)["alerts"][0]["name"] == "abstain_rate" and "alert abstain_rate" in err
    monkeypatch.setenv("SHERLOCK_MONITOR_ALERT_ABSTAIN_RATE", "0.6")  # 60% is not above 60%
    code, out, _ = cli("--home", home, "monitor", *WINDOW, "--check")
    assert code == 0 and "Alerts: none" in out
    code, _, _ = cli("--home", home, "monitor", "--since", "2025-03-03", "--until", "2025-03-09", "--check")
    assert code == 0  # week 1 alone: 10% abstained


def test_prune_removes_what_is_older_than_the_retention(cli, tmp_path):
    now = time.time()
    write_log(tmp_path, [(now - 400 * 86400, False, 50.0, "old"), (now - 200 * 86400, False, 50.0, "older"),
                         (now - 86400, False, 50.0, "recent")])
    code, out, _ = cli("--home", tmp_path, "monitor", "--prune")
    assert code == 0 and "pruned 2 logged queries older than 180 days" in out
    assert QueryLog(load_settings(home=tmp_path).query_log_path, b"k").count() == 1
    code, out, err = cli("--home", tmp_path, "monitor", "--prune", "--json")
    assert code == 0 and "pruned 0" in err and json.loads(out)["queries"] == 1


def test_an_empty_workspace_says_how_to_get_traffic(cli, tmp_path):
    code, out, _ = cli("--home", tmp_path, "monitor")
    assert code == 0 and "No searches logged yet" in out and "sherlock search" in out and "POST /search" in out
    code, out, err = cli("--home", tmp_path, "monitor", "--json", "--check")
    assert code == 0 and json.loads(out)["queries"] == 0 and "No searches logged yet" in err
    assert not (tmp_path / "query_log.sqlite").exists()  # looking does not create a log


def test_bad_windows_are_usage_errors(cli, home):
    code, _, err = cli("--home", home, "monitor", "--since", "2025-03-16", "--until", "2025-03-01")
    assert code == 2 and "since 2025-03-16 is not before until 2025-03-02" in err
    with pytest.raises(SystemExit):
        cli("--home", home, "monitor", "--since", "March")


def test_the_monitor_opens_no_index_and_loads_no_model(home):
    code = (f"import sys; from sherlock.cli import main; assert main(['--home', {str(home)!r}, 'monitor', "
            "'--json']) == 0; print(','.join(m for m in ('onnxruntime', 'chromadb', 'sherlock.storage.workspace', "
            "'sherlock.embed.minilm', 'bm25s') if m in sys.modules), file=sys.stderr)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stderr.strip() == ""
