"""Opsgenie incidents: the list envelope, priorities as severity, impact dates, extra properties verbatim."""

import re

import pytest

from sherlock.storage.importers import opsgenie


def test_incidents_list(load):
    document = load("opsgenie/xsoar_opsgenie_incidents_list.json")
    assert opsgenie.detect(document)
    [record] = [opsgenie.to_record(item) for item in opsgenie.records(document)]
    assert (record["id"], record["title"], record["description"]) == ("OG-86", "test", "")
    assert (record["severity"], record["extra"]["severity_level"]) == ("P3", 3)
    assert (record["status"], record["extra"]["status_raw"]) == ("open", "open")
    assert record["created_at"] == "2021-11-21T19:32:02.148000+00:00" and record["resolved_at"] is None
    assert record["extra"]["impact_started_at"] == "2021-11-21T19:32:02.148000+00:00"
    assert record["extra"]["opsgenie_id"] == "2a1c07ea-b9bd-4922-afcc-edf406b46904"
    assert record["extra"]["url"].startswith("https://demisto1.app.opsgenie.com/incident/detail/")
    assert record["extra"]["source"] == "opsgenie"


def test_a_closed_incident_with_custom_properties():
    record = opsgenie.to_record({
        "id": "x1", "tinyId": "87", "message": "Payments API down", "description": "502 from <b>lb-2</b>",
        "status": "closed", "priority": "P1", "tags": ["payments", "lb"], "createdAt": "2024-01-01T10:00:00.000Z",
        "impactStartDate": "2024-01-01T10:00:00.000Z", "impactEndDate": "2024-01-01T11:30:00.000Z",
        "impactedServices": ["svc-1"], "extraProperties": {"runbook": "https://wiki/pay", "region": "eu"},
    })
    assert (record["id"], record["description"], record["tags"]) == ("OG-87", "502 from lb-2", ["payments", "lb"])
    assert (record["severity"], record["extra"]["severity_level"], record["status"]) == ("P1", 1, "closed")
    assert record["resolved_at"] == "2024-01-01T11:30:00+00:00"
    assert record["extra"]["extra_properties"] == {"runbook": "https://wiki/pay", "region": "eu"}
    assert record["extra"]["impacted_services"] == ["svc-1"]


@pytest.mark.parametrize("item, message", [
    ({"message": "x"}, "Opsgenie incident has no 'tinyId'; it makes the id OG-<tinyId>"),
    ({"tinyId": "9", "message": ""}, "Opsgenie incident OG-9 has no 'message'"),
])
def test_bad_incidents_say_what_is_missing(item, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        opsgenie.to_record(item)
