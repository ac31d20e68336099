"""The registry: each sample is recognised by exactly its own tool, Sherlock's canonical JSON and the notes/comments
payloads by none; unknown names are refused with the valid ones listed; the CLI offers every importer."""

import json

import pytest

from sherlock.cli.main import build_parser
from sherlock.storage.importers import IMPORTERS, detect_source, importer

SAMPLES = [
    ("pagerduty/xsoar_pagerduty_incidents_list.json", "pagerduty"),
    ("jira/apa_v3_search_adf.json", "jira"),
    ("jira/apa_agile_epic_BAR-22_issues.json", "jira"),
    ("jira/apa_v2_issue_FOO-123.json", "jira"),
    ("servicenow/xsoar_servicenow_table_api_incidents.json", "servicenow"),
    ("incidentio/incidents_list_v2_example.json", "incidentio"),
    ("opsgenie/xsoar_opsgenie_incidents_list.json", "opsgenie"),
    ("rootly/backstage_plugin_incidents_list.json", "rootly"),
    ("statuspage/telerik_platform_incidents.json", "statuspage"),
    ("github/betamax_issues_open_asc.json", "github"),
    ("github/octokit_search_issues.json", "github"),
]


def test_the_registry_names_the_nine_tools():
    assert list(IMPORTERS) == ["pagerduty", "jira", "servicenow", "incidentio", "opsgenie", "rootly", "statuspage",
                               "github", "firehydrant"]
    assert all(entry.name == name for name, entry in IMPORTERS.items())


@pytest.mark.parametrize("name, tool", SAMPLES)
def test_each_sample_is_recognised_by_its_tool_alone(load, name, tool):
    document = load(name)
    assert [candidate for candidate, entry in IMPORTERS.items() if entry.detect(document)] == [tool]
    assert detect_source(document) == tool


@pytest.mark.parametrize("name", ["pagerduty/pagerduty_mcp_server_incident_notes.json",
                                  "jira/apa_v3_issue_TEST-1_comments_adf.json"])
def test_notes_and_comments_are_no_incidents(load, name):
    assert detect_source(load(name)) is None


def test_canonical_json_is_no_tool(juspay_issues):
    records = json.loads(juspay_issues.read_text(encoding="utf-8"))
    assert detect_source(records) is None
    assert detect_source({"incidents": records}) is None  # the same envelope key as PagerDuty and incident.io
    assert detect_source(records[0]) is None
    shown = {"id": "PD-1", "title": "x", "status": "resolved", "extra": {"source": "pagerduty", "urgency": "high"}}
    assert detect_source({"incidents": [shown]}) is None  # an imported record, as `sherlock show --json` prints it


@pytest.mark.parametrize("document", [[], {}, 42, "text", {"incidents": []}, [1, 2]])
def test_nothing_recognisable(document):
    assert detect_source(document) is None


def test_an_unknown_importer_lists_the_valid_names():
    with pytest.raises(ValueError, match="unknown importer 'xmatters'; use one of: pagerduty, jira, servicenow, "
                                         "incidentio, opsgenie, rootly, statuspage, github, firehydrant"):
        importer("xmatters")


@pytest.mark.parametrize("name", list(IMPORTERS))
def test_the_cli_takes_every_importer_as_a_format(name):
    assert build_parser().parse_args(["ingest", "export.json", "--format", name]).format == name
