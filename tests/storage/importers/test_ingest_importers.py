"""Ingest reads tools' JSON through their importers: the format reported is the tool, every sample lands with its
ids, a bad item is a rejection at the line its item starts on (or its index), skipped pull requests are no
rejections, and ``--format NAME`` forces an importer."""

import json

import pytest

from sherlock.storage.ingest import exit_code, ingest_file, read_file
from sherlock.storage.raw import array_item_lines

SAMPLES = [  # file, format, records, an id that lands
    ("pagerduty/xsoar_pagerduty_incidents_list.json", "pagerduty", 2, "PD-1578"),
    ("jira/apa_v3_search_adf.json", "jira", 2, "TEST-1"),
    ("jira/apa_agile_epic_BAR-22_issues.json", "jira", 1, "BAR-111"),
    ("jira/apa_v2_issue_FOO-123.json", "jira", 1, "FOO-123"),
    ("servicenow/xsoar_servicenow_table_api_incidents.json", "servicenow", 3, "INC0000001"),
    ("incidentio/incidents_list_v2_example.json", "incidentio", 1, "INC-123"),
    ("opsgenie/xsoar_opsgenie_incidents_list.json", "opsgenie", 1, "OG-86"),
    ("rootly/backstage_plugin_incidents_list.json", "rootly", 1, "RLY-11"),
    ("statuspage/telerik_platform_incidents.json", "statuspage", 6, "SP-029cvdcxb1yr"),
    ("github/betamax_issues_open_asc.json", "github", 13, "betamaxpy/betamax#143"),
    ("github/octokit_search_issues.json", "github", 2, "octokit-fixture-org/search-issues#1"),
]


@pytest.mark.parametrize("name, fmt, count, some_id", SAMPLES)
def test_every_sample_lands(store, exports, name, fmt, count, some_id):
    report = ingest_file(store, exports / name)
    assert (report.format, report.status, report.records, len(report.added), report.rejected) == (
        fmt, "ok", count, count, [])
    incident = store.get(some_id)
    assert incident is not None and incident.extra["source"] == fmt
    assert incident.created_at is None or incident.created_at.utcoffset().total_seconds() == 0


def test_stored_incidents_keep_text_times_and_levels(store, exports):
    ingest_file(store, exports / "servicenow/xsoar_servicenow_table_api_incidents.json")
    incident = store.get("INC0000001")
    assert incident.resolution == "Closed before close notes were made mandatory"
    assert incident.minutes_to_resolve() == pytest.approx((91 * 24 * 60) + (20 * 60) + 46 + 21 / 60)
    assert incident.extra["severity_level"] == 1 and incident.extra["time_zone_guessed"] == "UTC"


def write(tmp_path, name, document, indent=2):
    path = tmp_path / name
    path.write_text(json.dumps(document, indent=indent), encoding="utf-8")
    return path


def test_a_bad_item_in_an_envelope_is_rejected_at_its_line(store, tmp_path, load):
    document = load("pagerduty/xsoar_pagerduty_incidents_list.json")
    good = document["incidents"][0]
    bad = {key: value for key, value in good.items() if key != "incident_number"}
    document = {"limit": 3, "offset": 0, "incidents": [good, bad, {**good, "incident_number": 1580}], "more": False}
    path = write(tmp_path, "incidents.json", document)
    lines = list(array_item_lines(path.read_text(), "incidents"))
    assert path.read_text().split("\n")[lines[1] - 1].strip() == "{"  # the bad item's opening brace
    report = ingest_file(store, path)
    assert report.format == "pagerduty" and report.records == 3 and sorted(report.added) == ["PD-1578", "PD-1580"]
    [rejection] = report.rejected
    assert rejection.line == lines[1]
    assert str(rejection) == (f"{path}:{lines[1]}: pagerduty item 2: PagerDuty incident has no 'incident_number' "
                              "or 'number'; it makes the id PD-<number>")
    assert exit_code([report]) == 1


def test_pull_requests_are_no_rejections_and_a_bare_array_has_lines(store, tmp_path, load):
    issues = load("github/betamax_issues_open_asc.json")
    bad = {key: value for key, value in issues[0].items() if key != "title"}
    path = write(tmp_path, "issues.json", [issues[5], bad, issues[0]], indent=None)  # a PR, a bad issue, a good one
    report, good = read_file(path)
    assert report.format == "github" and report.records == 2 and [i.id for i in good] == ["betamaxpy/betamax#6"]
    assert [(r.line, r.reason) for r in report.rejected] == [
        (1, "github item 2: GitHub issue betamaxpy/betamax#6 has no 'title'")]


def test_a_single_object_is_one_record(store, exports):
    report = ingest_file(store, exports / "jira/apa_v2_issue_FOO-123.json")
    assert (report.format, report.records) == ("jira", 1) and store.get("FOO-123").title == "Sample"


def test_format_forces_an_importer(store, tmp_path, juspay_issues):
    report, good = read_file(juspay_issues, fmt="jira")
    assert report.format == "jira" and good == [] and len(report.rejected) == report.records == 77
    assert report.rejected[0].line == 2 and "Jira issue has no 'key'" in report.rejected[0].reason
    scalar = write(tmp_path, "scalar.json", 42)
    report, _ = read_file(scalar, fmt="github")
    assert report.status == "unusable" and "not a github export: expected a JSON array or object" in report.error


def test_canonical_json_still_reads_as_json(store, tmp_path):
    path = write(tmp_path, "x.json", {"incidents": [{"id": "A-1", "title": "disk full", "status": "resolved"}]})
    report = ingest_file(store, path)
    assert (report.format, report.status, report.added) == ("json", "ok", ["A-1"])


def test_unknown_format_lists_the_importers(tmp_path):
    with pytest.raises(ValueError, match="unknown format 'xmatters'; use one of auto, sherlock, json, jsonl, csv, "
                                         "beir, pagerduty, jira, servicenow, incidentio, opsgenie, rootly, "
                                         "statuspage, github, firehydrant"):
        read_file(write(tmp_path, "x.json", []), fmt="xmatters")
