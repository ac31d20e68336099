"""PagerDuty: the REST v2 incidents list, notes as the resolution, and a v3 webhook's incident."""

import copy
import re

import pytest

from sherlock.storage.importers import pagerduty

# A v3 webhook's ``event.data`` for incident.triggered, in the shape PagerDuty's webhook docs give.
WEBHOOK_INCIDENT = {
    "id": "Q1VCBUBQJ7SPB3", "type": "incident", "self": "https://api.pagerduty.com/incidents/Q1VCBUBQJ7SPB3",
    "html_url": "https://acme.pagerduty.com/incidents/Q1VCBUBQJ7SPB3", "number": 2, "status": "triggered",
    "incident_key": "d3640fbd41094207a1c11e58e46b1662", "created_at": "2020-04-09T15:16:27-04:00",
    "title": "Checkout 5xx above 5%",
    "description": "<p>Errors from <code>POST /pay</code>:</p><pre>502 Bad Gateway</pre>",
    "service": {"id": "PF9KMXH", "type": "service_reference", "summary": "checkout-api"},
    "assignees": [{"id": "PTUXL6G", "type": "user_reference", "summary": "User 123"}],
    "escalation_policy": {"id": "PUS0KTE", "type": "escalation_policy_reference", "summary": "Default"},
    "teams": [{"id": "PFCVPS0", "type": "team_reference", "summary": "Payments"}],
    "priority": {"id": "PSO75BM", "type": "priority_reference", "summary": "P1"},
    "urgency": "high", "conference_bridge": None, "resolve_reason": None,
}


def test_rest_incidents_list(load):
    document = load("pagerduty/xsoar_pagerduty_incidents_list.json")
    assert pagerduty.detect(document)
    first, second = (pagerduty.to_record(item) for item in pagerduty.records(document))
    assert (first["id"], second["id"]) == ("PD-1578", "PD-1579")
    assert first["title"] == "this is a test"
    assert first["description"] == ""  # PagerDuty's default description repeats the title
    assert (first["service"], first["severity"], first["status"]) == ("API Service", "high", "resolved")
    assert first["created_at"] == "2023-11-19T05:51:15+00:00" and first["resolved_at"] == "2023-11-19T05:51:28+00:00"
    assert first["resolved_by"] is None  # resolved by the API service itself, not a person
    extra = first["extra"]
    assert extra["source"] == "pagerduty" and extra["status_raw"] == "resolved" and extra["severity_level"] == 2
    assert extra["urgency"] == "high" and extra["last_status_change_by"] == "API Service"
    assert extra["alert_details"] == {"description": "No description"}
    assert extra["url"] == "https://api.pagerduty.com/test"


def test_notes_fill_the_resolution_oldest_first(load):
    notes = load("pagerduty/pagerduty_mcp_server_incident_notes.json")
    record = pagerduty.to_record(pagerduty.records(load("pagerduty/xsoar_pagerduty_incidents_list.json"))[0])
    filled = pagerduty.with_notes(record, notes)
    # 15:28:42-05:00 comes before 15:28:51-05:00, though the API lists it second
    assert filled["resolution"] == ("Initial alert information indicates a 1-alarm fire\n"
                                    "Firefighters are on the scene.")
    assert "resolution" not in record  # the record given is left as it was
    again = pagerduty.with_notes({**record, "resolution": "Restarted the pump."}, {"notes": notes[:1]})
    assert again["resolution"] == "Restarted the pump.\nFirefighters are on the scene."


def test_v3_webhook_incident():
    record = pagerduty.to_record(WEBHOOK_INCIDENT)
    assert record["id"] == "PD-2" and record["title"] == "Checkout 5xx above 5%"
    assert record["description"] == "Errors from POST /pay:\n502 Bad Gateway"
    assert (record["severity"], record["extra"]["severity_level"]) == ("P1", 1)
    assert (record["status"], record["extra"]["status_raw"]) == ("open", "triggered")
    assert record["service"] == "checkout-api" and record["extra"]["team"] == "Payments"
    assert record["created_at"] == "2020-04-09T19:16:27+00:00" and record["resolved_at"] is None
    assert record["extra"]["pagerduty_id"] == "Q1VCBUBQJ7SPB3"  # how a later incident.annotated names it
    assert record["extra"]["url"] == "https://acme.pagerduty.com/incidents/Q1VCBUBQJ7SPB3"
    body = {"event": {"id": "01BZ", "event_type": "incident.triggered", "data": WEBHOOK_INCIDENT}}
    assert pagerduty.detect(body) and pagerduty.records(body) == [WEBHOOK_INCIDENT]


def test_webhook_without_a_priority_uses_the_urgency():
    record = pagerduty.to_record({**WEBHOOK_INCIDENT, "priority": None, "urgency": "low", "status": "acknowledged"})
    assert (record["severity"], record["extra"]["severity_level"], record["status"]) == ("low", 4, "open")


def test_resolved_by_a_person():
    incident = {**WEBHOOK_INCIDENT, "status": "resolved", "resolved_at": "2020-04-09T20:00:00Z",
                "last_status_change_by": {"id": "P1", "type": "user_reference", "summary": "Ana Ops"}}
    record = pagerduty.to_record(incident)
    assert (record["status"], record["resolved_by"]) == ("resolved", "Ana Ops")
    assert record["resolved_at"] == "2020-04-09T20:00:00+00:00"


@pytest.mark.parametrize("change, message", [
    ({"number": None}, "PagerDuty incident has no 'incident_number' or 'number'; it makes the id PD-<number>"),
    ({"title": ""}, "PagerDuty incident PD-2 has no 'title' or 'summary'"),
    ({"created_at": "yesterday"}, "field 'created_at': 'yesterday' is not an ISO 8601 timestamp"),
])
def test_bad_incidents_say_what_is_missing(change, message):
    incident = copy.deepcopy(WEBHOOK_INCIDENT)
    incident.update(change)
    with pytest.raises(ValueError, match=re.escape(message)):
        pagerduty.to_record(incident)


def test_not_an_object():
    with pytest.raises(ValueError, match="expected a PagerDuty incident object, got list"):
        pagerduty.to_record([1])


def analytics_page() -> dict:
    """A page of ``POST /analytics/raw/incidents`` as PagerDuty's API reference documents it (values ours: no
    licensed sample of this endpoint exists): flat names and naive times in the envelope's ``time_zone``."""
    return {"data": [{"id": "Q1ANALYTICS", "incident_number": 77,
                      "description": "Checkout returns 500 for card payments",
                      "created_at": "2024-03-10T01:30:00", "resolved_at": "2024-03-10T03:00:00",
                      "service_name": "checkout", "team_name": "payments", "priority_name": "P1", "urgency": "high",
                      "seconds_to_resolve": 1800, "major": True}],
            "time_zone": "America/New_York", "more": False, "order": "desc"}


def test_analytics_raw_incidents_read_their_times_in_the_payloads_zone():
    from sherlock.storage.importers import detect_source
    page = analytics_page()
    assert detect_source(page) == "pagerduty"
    record = pagerduty.to_record(pagerduty.records(page)[0])
    assert (record["id"], record["title"], record["service"], record["severity"]) == (
        "PD-77", "Checkout returns 500 for card payments", "checkout", "P1")
    # 01:30 is still EST (UTC-5); 03:00 is already EDT (UTC-4): half an hour apart, as seconds_to_resolve says
    assert record["created_at"].startswith("2024-03-10T06:30:00") and record["resolved_at"].startswith(
        "2024-03-10T07:00:00")
    assert record["status"] == "resolved" and record["extra"]["team"] == "payments"
    assert record["extra"]["time_zone"] == "America/New_York" and "time_zone_guessed" not in record["extra"]
    page["time_zone"] = "Mars/Olympus"
    with pytest.raises(ValueError, match="not an IANA time zone"):
        pagerduty.to_record(pagerduty.records(page)[0])
