"""Reading each tool's webhook event: which are stored, which open an incident, which are acknowledged and ignored."""

import pytest

from sherlock.service.webhooks import EVENTS, with_note


@pytest.mark.parametrize("source, payload, headers, name, kind", [
    ("pagerduty", {"event": {"event_type": "incident.triggered", "data": {"type": "incident", "id": "Q1"}}}, {},
     "incident.triggered", "opened"),
    ("pagerduty", {"event": {"event_type": "incident.resolved", "data": {"type": "incident", "id": "Q1"}}}, {},
     "incident.resolved", "updated"),
    ("pagerduty", {"event": {"event_type": "incident.annotated", "data": {"incident": {"id": "Q1"},
                                                                          "content": "restarted"}}}, {},
     "incident.annotated", "annotated"),
    ("pagerduty", {"event": {"event_type": "service.created", "data": {"type": "service"}}}, {},
     "service.created", "ignored"),
    ("github", {"action": "opened", "issue": {"number": 1}}, {"x-github-event": "issues"}, "issues.opened", "opened"),
    ("github", {"action": "closed", "issue": {"number": 1}}, {"x-github-event": "issues"}, "issues.closed", "updated"),
    ("github", {"action": "deleted", "issue": {"number": 1}}, {"x-github-event": "issues"}, "issues.deleted",
     "ignored"),
    ("github", {"zen": "hi"}, {"x-github-event": "ping"}, "ping", "ignored"),
    ("jira", {"webhookEvent": "jira:issue_created", "issue": {"key": "OPS-1"}}, {}, "jira:issue_created", "opened"),
    ("jira", {"webhookEvent": "jira:issue_updated", "issue": {"key": "OPS-1"}}, {}, "jira:issue_updated", "updated"),
    ("jira", {"webhookEvent": "comment_created"}, {}, "comment_created", "ignored"),
    ("incidentio", {"event_type": "public_incident.incident_created_v2",
                    "public_incident.incident_created_v2": {"reference": "INC-1"}}, {},
     "public_incident.incident_created_v2", "opened"),
    ("incidentio", {"event_type": "private_incident.incident_created_v2",
                    "private_incident.incident_created_v2": {"id": "01"}}, {},
     "private_incident.incident_created_v2", "ignored"),
])
def test_events_are_read_by_kind(source, payload, headers, name, kind):
    event = EVENTS[source](payload, headers)
    assert (event.name, event.kind) == (name, kind)
    assert (event.item is None) == (kind == "ignored")


def test_github_fills_the_repository_from_the_event():
    event = EVENTS["github"]({"action": "opened", "issue": {"number": 7}, "repository": {"full_name": "acme/ops"}},
                             {"x-github-event": "issues"})
    assert event.item["repository_url"] == "https://api.github.com/repos/acme/ops"


@pytest.mark.parametrize("source, payload, field", [
    ("pagerduty", {}, "body.event"),
    ("pagerduty", {"event": {"event_type": "incident.triggered"}}, "body.event.data"),
    ("jira", {"webhookEvent": "jira:issue_created"}, "body.issue"),
    ("incidentio", {"event_type": "public_incident.incident_updated_v2"}, "body.public_incident.incident_updated_v2"),
])
def test_a_malformed_event_names_the_missing_field(source, payload, field):
    with pytest.raises(ValueError, match=f"^{field}: expected an object"):
        EVENTS[source](payload, {"x-github-event": "issues"})


def test_a_note_is_added_to_the_resolution_once():
    from sherlock.schema import Incident
    incident = Incident(id="PD-1", title="UPI down", resolution="Restarted the connector")
    record = with_note(incident, "Rolled back 2.3.2")
    assert record["resolution"] == "Restarted the connector\nRolled back 2.3.2"
    assert with_note(Incident(**record), "Rolled back 2.3.2")["resolution"] == record["resolution"]
