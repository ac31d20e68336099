"""`sherlock patterns`: the --json contract on the demo corpus (written straight into the store: the command reads
only the store, so no index is built), the options, and the text output."""

from __future__ import annotations

import json
import re

import pytest

from sherlock.cli import main
from sherlock.config import load_settings
from sherlock.storage.demo import active_spikes, load_demo_incidents
from sherlock.storage.store import Store


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("patterns-home")
    store = Store(load_settings(home=home, demo=False).store_path)
    store.upsert(load_demo_incidents())
    store.close()
    return home


@pytest.fixture(autouse=True)
def no_demo_autoload(monkeypatch):
    monkeypatch.setenv("SHERLOCK_DEMO", "false")


def patterns(capsys, home, *options):
    capsys.readouterr()
    assert main(["--home", str(home), "patterns", *options, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_json_contract(demo_home, capsys):
    report = patterns(capsys, demo_home)
    assert {"volume", "mttr_minutes", "by_group", "themes", "spikes", "repeat_rate", "definitions"} <= set(report)
    assert report["incidents"] == 1990 and report["excluded"] == {"tag:game-day": 10}
    assert len(report["volume"]) == 24 and report["volume"][0] == {"period": "2024-01", "count": 64}
    assert sum(v["count"] for v in report["volume"]) == 1990
    assert set(report["mttr_minutes"]) == {"median", "p90", "mean", "resolved", "unresolved"}
    assert report["mttr_minutes"]["resolved"] + report["mttr_minutes"]["unresolved"] == 1990
    assert 0 < report["mttr_minutes"]["median"] < report["mttr_minutes"]["p90"]
    group = report["by_group"][0]
    assert {"group", "count", "mttr_median", "mttr_p90", "mttr_mean", "unresolved", "change"} <= set(group)
    theme = report["themes"][0]
    assert {"label", "size", "incident_ids", "days_since_last", "weeks_active", "mttr_median_minutes"} <= set(theme)
    assert theme["size"] == len(theme["incident_ids"]) and theme["label"]
    spike = report["spikes"][0]
    assert {"period", "group", "count", "expected", "incident_ids"} <= set(spike)
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", spike["period"]) and spike["count"] > spike["expected"]
    assert 0 <= report["repeat_rate"] <= 1
    assert report["change"]["current"] == {"from": "2025-12-01", "to": "2025-12-31"}


def test_weekly_change_compares_whole_weeks(demo_home, capsys):
    """The demo corpus ends on Wednesday 2025-12-31: that 3-day week is left out, the two weeks before it compared."""
    report = patterns(capsys, demo_home, "--freq", "W")
    change, weeks = report["change"], {row["period"]: row["count"] for row in report["volume"]}
    assert change["current"] == {"from": "2025-12-22", "to": "2025-12-28"}
    assert change["previous"] == {"from": "2025-12-15", "to": "2025-12-21"}
    assert change["partial"] == {"from": "2025-12-29", "to": "2025-12-31", "days": 3, "period_days": 7}
    count = change["metrics"]["count"]
    assert (count["current"], count["previous"]) == (weeks["2025-12-22"], weeks["2025-12-15"])  # the chart's bars
    assert change["metrics"]["resolved"]["current"] <= count["current"]  # the n of the MTTR figures
    assert patterns(capsys, demo_home)["change"]["partial"] is None  # December is complete


def test_text_output_gives_every_change_a_unit_and_an_n(demo_home, capsys):
    from sherlock.analytics.units import duration
    report = patterns(capsys, demo_home, "--freq", "W")
    assert main(["--home", str(demo_home), "patterns", "--freq", "W"]) == 0
    out = capsys.readouterr().out
    assert f"MTTR median {duration(report['mttr_minutes']['median'])}, p90 " in out  # 11.7 h, not 702 minutes
    assert "the week of 2025-12-29 has 3 of its 7 days so far and is left out" in out
    rows = {line.split("  ")[1]: line for line in out.splitlines() if line.startswith("  ") and " vs " in line
            and "(" in line}
    number = r"[+-]\d[\d,.]*"
    assert re.search(rf"\({number} incidents, {number}%\)$", rows["incidents"])
    for label in ("MTTR median", "MTTR p90"):
        assert re.search(rf" \d[\d.]* (min|h|d) vs \d[\d.]* (min|h|d) \({number} (min|h|d); "
                         rf"n = \d+ vs \d+ resolved\)$", rows[label]), rows[label]
    assert re.search(rf"\d+\.\d% vs \d+\.\d% \({number} pts; n = \d+ vs \d+ incidents\)$", rows["repeat rate"])


def test_the_injected_spikes_come_back_by_category(demo_home, capsys):
    report = patterns(capsys, demo_home, "--by", "category")
    weeks = {spike["period"] for spike in report["spikes"]}
    assert {spike.week_start.isoformat() for spike in active_spikes()} <= weeks
    assert {group["group"] for group in report["by_group"]} >= {"upi", "kubernetes", "webhooks", "settlements"}


@pytest.mark.parametrize(("freq", "pattern"), [("M", r"\d{4}-\d{2}"), ("W", r"\d{4}-\d{2}-\d{2}"),
                                               ("D", r"\d{4}-\d{2}-\d{2}")])
def test_period_labels(demo_home, capsys, freq, pattern):
    report = patterns(capsys, demo_home, "--freq", freq, "--since", "2025-06-01")
    assert all(re.fullmatch(pattern, v["period"]) for v in report["volume"])
    assert report["from"] >= "2025-06-01" and report["change"]["current"]["from"] == "2025-06-01"
    assert all(spike["period"] >= "2025-06-01" for spike in report["spikes"])


def test_severity_groups(demo_home, capsys):
    report = patterns(capsys, demo_home, "--by", "severity")
    medians = {g["group"]: g["mttr_median"] for g in report["by_group"]}
    assert set(medians) == {"SEV1", "SEV2", "SEV3", "SEV4"}
    assert medians["SEV1"] < medians["SEV2"] < medians["SEV3"] < medians["SEV4"]  # the generator's ordering


def test_text_output_and_bad_options(demo_home, capsys):
    assert main(["--home", str(demo_home), "patterns"]) == 0
    out = capsys.readouterr().out
    assert "1,990 incidents" in out and "MTTR median" in out and "Recurring themes" in out
    with pytest.raises(SystemExit) as exit_info:
        main(["--home", str(demo_home), "patterns", "--since", "2025-13-01"])
    assert exit_info.value.code == 2 and "not an ISO date" in capsys.readouterr().err


def test_empty_workspace(tmp_path, capsys):
    assert patterns(capsys, tmp_path / "empty")["incidents"] == 0
    assert main(["--home", str(tmp_path / "empty"), "patterns"]) == 0
    assert "No incidents" in capsys.readouterr().out
