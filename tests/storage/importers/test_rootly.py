"""Rootly JSON:API: relationships resolved through ``included``, nested severity, resolution and mitigation."""

import re

import pytest

from sherlock.storage.importers import rootly

RESOLVED = {"id": "abc", "type": "incidents", "attributes": {
    "sequential_id": 12, "title": "DB failover", "summary": "Primary *db-1* lost quorum", "status": "resolved",
    "severity": {"data": {"id": "s1", "type": "severities", "attributes": {"name": "SEV1", "severity": "high"}}},
    "resolution_message": "Promoted replica `db-2`", "mitigation_message": "Paused writes",
    "started_at": "2024-01-01T10:00:00.000-08:00", "created_at": "2024-01-01T10:05:00.000-08:00",
    "resolved_at": "2024-01-01T19:30:00Z", "labels": {"platform": "linux"}, "services": [{"name": "db"}],
    "resolved_by": {"data": {"id": "u1", "type": "users", "attributes": {"full_name": "Ana Ops"}}},
    "url": "https://rootly.com/account/incidents/12-db-failover"}}


def test_backstage_sample(load):
    document = load("rootly/backstage_plugin_incidents_list.json")
    assert rootly.detect(document)
    [record] = [rootly.to_record(item) for item in rootly.records(document)]
    assert (record["id"], record["title"]) == ("RLY-11", "Backstage Plugin Test Incident")
    assert (record["severity"], record["extra"]["severity_level"]) == ("SEV0", 1)
    assert (record["status"], record["extra"]["status_raw"]) == ("open", "started")
    assert record["service"] == "backstage-plugin-test-service"  # from the envelope's included resources
    assert record["extra"]["team"] == "Backstage Plugin Test Team"
    assert record["extra"]["environments"] == ["development"] and record["category"] == "Default"
    assert record["created_at"] == "2025-09-05T09:33:44.675000+00:00"  # started_at 02:33:44.675-07:00
    assert record["extra"]["reported_at"] == "2025-09-05T09:33:44.799000+00:00"
    assert (record["resolution"], record["resolved_at"]) == ("", None)
    assert record["extra"]["source"] == "rootly"


def test_a_resolved_incident():
    record = rootly.to_record(RESOLVED)
    assert record["id"] == "RLY-12" and record["description"] == "Primary db-1 lost quorum"
    assert record["resolution"] == "Promoted replica db-2" and record["extra"]["mitigation_message"] == "Paused writes"
    assert (record["severity"], record["extra"]["severity_level"], record["status"]) == ("SEV1", 2, "resolved")
    assert record["created_at"] == "2024-01-01T18:00:00+00:00" and record["resolved_at"] == "2024-01-01T19:30:00+00:00"
    assert (record["tags"], record["service"], record["resolved_by"]) == (["platform:linux"], "db", "Ana Ops")


def test_mitigation_stands_in_for_a_missing_resolution():
    attributes = {**RESOLVED["attributes"], "resolution_message": None}
    assert rootly.to_record({**RESOLVED, "attributes": attributes})["resolution"] == "Paused writes"


def test_bare_attributes_and_cancelled():
    record = rootly.to_record({"sequential_id": 3, "title": "False alarm", "status": "cancelled", "severity": "sev2"})
    assert (record["id"], record["status"], record["severity"], record["extra"]["severity_level"]) == (
        "RLY-3", "canceled", "sev2", 2)


@pytest.mark.parametrize("attributes, message", [
    ({"title": "x"}, "Rootly incident has no 'sequential_id'; it makes the id RLY-<sequential_id>"),
    ({"sequential_id": 4, "title": ""}, "Rootly incident RLY-4 has no 'title'"),
])
def test_bad_incidents_say_what_is_missing(attributes, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        rootly.to_record({"id": "x", "type": "incidents", "attributes": attributes})
