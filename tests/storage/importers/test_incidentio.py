"""incident.io v2: the official list example, and a v2 incident as a webhook delivers it with custom fields."""

import re

import pytest

from sherlock.storage.importers import incidentio

# A v2 incident object (as public_incident.incident_created_v2 delivers it): Markdown summary, custom fields.
WEBHOOK_INCIDENT = {
    "id": "01HQ", "reference": "INC-7", "name": "Checkout latency", "mode": "standard", "visibility": "public",
    "summary": "**p99** above 2s after deploy `v2.3.1`\n\n- EU only",
    "severity": {"id": "01S", "name": "Critical", "rank": 3},
    "incident_status": {"id": "01T", "name": "Closed", "category": "closed"},
    "incident_type": {"id": "01Y", "name": "Default"},
    "custom_field_entries": [
        {"custom_field": {"id": "c1", "name": "Root cause", "field_type": "text"},
         "values": [{"value_text": "Connection pool exhausted"}]},
        {"custom_field": {"id": "c2", "name": "Affected services", "field_type": "multi_select"},
         "values": [{"value_option": {"id": "o1", "value": "checkout"}},
                    {"value_option": {"id": "o2", "value": "payments"}}]},
    ],
    "incident_timestamp_values": [
        {"incident_timestamp": {"id": "t1", "name": "Resolved at", "rank": 3},
         "value": {"value": "2024-02-01T11:00:00+01:00"}}],
    "created_at": "2024-02-01T09:00:00Z", "permalink": "https://app.incident.io/acme/incidents/7",
}


def test_list_example(load):
    document = load("incidentio/incidents_list_v2_example.json")
    assert incidentio.detect(document)
    [record] = [incidentio.to_record(item) for item in incidentio.records(document)]
    assert (record["id"], record["title"]) == ("INC-123", "Our database is sad")
    assert record["description"] == "Our database is really really sad, and we don't know why yet."
    assert (record["severity"], record["extra"]["severity_level"]) == ("Minor", 3)
    # the category (triage) is what incident.io means; the name is a label the account chose
    assert (record["status"], record["extra"]["status_raw"], record["extra"]["status_category"]) == (
        "open", "Closed", "triage")
    assert record["category"] == "Production Outage"
    assert record["created_at"] == "2021-08-17T13:28:57.801578+00:00" and record["resolved_at"] is None
    extra = record["extra"]
    assert extra["custom_fields"] == {"Affected Team": "Product"} and extra["team"] == "Product"
    assert extra["timestamps"] == {"Impact started": "2021-08-17T13:28:57.801578+00:00"}
    assert extra["roles"] == {"Incident Lead": "Lisa Karlin Curtis"}
    assert extra["duration_metrics"] == {"Lasted": 10800}
    assert extra["url"] == "https://app.incident.io/incidents/123" and extra["source"] == "incidentio"


def test_webhook_incident_with_custom_fields():
    record = incidentio.to_record(WEBHOOK_INCIDENT)
    assert record["id"] == "INC-7" and record["description"] == "p99 above 2s after deploy v2.3.1\n- EU only"
    assert record["root_cause"] == "Connection pool exhausted"
    assert record["service"] == "checkout"
    assert record["extra"]["custom_fields"]["Affected services"] == ["checkout", "payments"]
    assert (record["severity"], record["extra"]["severity_level"]) == ("Critical", 1)
    assert (record["status"], record["extra"]["status_raw"]) == ("closed", "Closed")
    assert record["created_at"] == "2024-02-01T09:00:00+00:00"
    assert record["resolved_at"] == "2024-02-01T10:00:00+00:00"  # "Resolved at" 11:00+01:00


@pytest.mark.parametrize("category, expected", [("live", "open"), ("learning", "resolved"), ("declined", "canceled"),
                                                ("merged", "canceled"), ("paused", "open")])
def test_status_categories(category, expected):
    incident = {**WEBHOOK_INCIDENT, "incident_status": {"name": category.title(), "category": category}}
    assert incidentio.to_record(incident)["status"] == expected


@pytest.mark.parametrize("change, message", [
    ({"reference": None}, "incident.io incident has no 'reference'; the reference (INC-123) is its id"),
    ({"name": ""}, "incident.io incident INC-7 has no 'name'"),
])
def test_bad_incidents_say_what_is_missing(change, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        incidentio.to_record({**WEBHOOK_INCIDENT, **change})
