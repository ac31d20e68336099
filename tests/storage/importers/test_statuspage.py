"""Statuspage: the updates' bodies as description, root cause and resolution (template sentences left out), impact
as severity, the postmortem as root cause."""

import re

import pytest

from sherlock.storage.importers import statuspage


@pytest.fixture(scope="module")
def telerik(load):
    document = load("statuspage/telerik_platform_incidents.json")
    return {record["id"]: record for record in map(statuspage.to_record, statuspage.records(document))}


def test_every_incident(load, telerik):
    assert statuspage.detect(load("statuspage/telerik_platform_incidents.json"))
    assert list(telerik) == ["SP-gzrdn0ymmjp1", "SP-dyydh2t8r73y", "SP-2c24gjf77hyd", "SP-029cvdcxb1yr",
                             "SP-29ynzc1r422z", "SP-f4xw1v6p19z4"]
    assert {record["status"] for record in telerik.values()} == {"resolved"}
    assert [(record["severity"], record["extra"]["severity_level"]) for record in telerik.values()] == [
        ("major", 2), ("none", 5), ("minor", 3), ("minor", 3), ("minor", 3), ("minor", 3)]


def test_updates_become_cause_fix_and_story(telerik):
    record = telerik["SP-029cvdcxb1yr"]
    assert record["title"] == "Telerik Platform iOS Services are currently unavailable"
    assert record["description"] == ("AppBuilder iOS cloud build and AppManager iOS codesigning features are "
                                     "currently unavailable.")
    assert record["root_cause"] == ("We have confirmed that the outage is caused by network related issues in our "
                                    "mac hosting provider.")
    assert record["resolution"].startswith("The issue was resolved. We are currently monitoring our systems.\n"
                                           "The root of the issue was related to a core switch backplane failure")
    assert record["created_at"] == "2016-03-15T08:08:37.381000+00:00"
    assert record["resolved_at"] == "2016-03-15T14:35:32.983000+00:00"
    assert [update["status"] for update in record["extra"]["updates"]] == [
        "investigating", "identified", "monitoring", "resolved"]  # oldest first


def test_template_sentences_are_left_out(telerik):
    record = telerik["SP-gzrdn0ymmjp1"]
    assert record["description"] == ("Our web servers are down. No data has been lost and the system should be "
                                     "caught up shortly.")
    assert (record["root_cause"], record["resolution"]) == ("", "")  # only "This incident has been resolved." etc.
    assert record["extra"]["url"] == "http://stspg.io/2R18" and record["extra"]["source"] == "statuspage"


def test_a_postmortem_is_the_root_cause_and_components_the_service():
    record = statuspage.to_record({
        "id": "p1", "name": "API errors", "status": "postmortem", "impact": "critical",
        "created_at": "2024-01-01T00:00:00Z", "resolved_at": "2024-01-01T01:00:00Z",
        "postmortem_body": "<p>Root cause: an <strong>expired certificate</strong> on the edge.</p>",
        "components": [{"name": "API"}, {"name": "Dashboard"}],
        "incident_updates": [{"status": "resolved", "body": "Renewed the certificate.",
                              "created_at": "2024-01-01T01:00:00Z"}],
    })
    assert record["root_cause"] == "Root cause: an expired certificate on the edge."
    assert record["resolution"] == "Renewed the certificate." and record["description"] == ""
    assert (record["status"], record["severity"], record["extra"]["severity_level"]) == ("resolved", "critical", 1)
    assert record["service"] == "API" and record["extra"]["components"] == ["API", "Dashboard"]


def test_public_api_envelope(load):
    document = {"page": {"id": "2lh8n3fl4jfr", "name": "Telerik"},
                "incidents": load("statuspage/telerik_platform_incidents.json")}
    assert statuspage.detect(document) and len(statuspage.records(document)) == 6


def test_a_bad_incident_says_what_is_missing():
    with pytest.raises(ValueError, match=re.escape("Statuspage incident has no 'id'; it makes the id SP-<id>")):
        statuspage.to_record({"name": "x", "impact": "none", "incident_updates": []})
