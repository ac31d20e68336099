"""Jira: v2 and agile payloads (wiki markup, offsets without a colon), Cloud v3 (ADF), custom fields named by a
``names`` map, comments, and a ``jira:issue_created`` webhook's issue."""

import re

import pytest

from sherlock.storage.importers import jira

# A jira:issue_created webhook's ``issue`` (REST v2 shape: the description is wiki markup).
WEBHOOK_ISSUE = {
    "id": "10042", "self": "https://acme.atlassian.net/rest/api/2/issue/10042", "key": "OPS-42",
    "fields": {
        "summary": "Checkout failing with ERR_5003",
        "description": ("h2. What happened\n*Checkout* failed with {{ERR_5003}} for _some_ users\n"
                        "{code}java.net.SocketTimeoutException: Read timed out{code}"),
        "priority": {"id": "1", "name": "Highest"},
        "status": {"name": "Open", "statusCategory": {"key": "new", "name": "To Do"}},
        "labels": ["payments", "timeout"], "components": [{"id": "1", "name": "checkout-api"}],
        "issuetype": {"name": "Incident"}, "project": {"key": "OPS", "name": "Operations"},
        "reporter": {"displayName": "Ana Ops"}, "assignee": None,
        "created": "2024-05-01T10:15:00.000+0530", "resolutiondate": None, "customfield_10099": "EU-West",
    },
}

NAMES = {"customfield_10068": "Root cause", "customfield_10070": "Severity", "customfield_10071": "Resolution notes",
         "customfield_10099": "Region"}


def test_agile_issue_with_offsets_without_colon(load):
    document = load("jira/apa_agile_epic_BAR-22_issues.json")
    assert jira.detect(document)
    [record] = [jira.to_record(item) for item in jira.records(document)]
    assert (record["id"], record["title"], record["description"]) == ("BAR-111", "Sample Story in Epic",
                                                                     "Some Description")
    assert record["created_at"] == "2021-06-14T19:22:58.891000+00:00"   # 15:22:58.891-0400
    assert record["resolved_at"] == "2022-02-03T16:33:07.230000+00:00"  # 11:33:07.230-0500
    assert (record["severity"], record["extra"]["severity_level"]) == ("Normal", 3)
    assert (record["status"], record["extra"]["status_raw"]) == ("resolved", "Done")
    assert record["tags"] == ["test"] and record["resolved_by"] == "Some Person"
    extra = record["extra"]
    assert extra["source"] == "jira" and extra["resolution_name"] == "Done" and extra["issue_type"] == "Task"
    assert extra["url"] == "https://my.test.server.com/browse/BAR-111"
    assert extra["customfield_17883"] == {"self": "https://my.test.server.com/rest/api/2/customFieldOption/17583",
                                          "value": "In Progress", "id": "17583"}  # unknown custom field, verbatim
    assert extra["epic"] == "BAR-22"
    assert "customfield_18353" not in extra  # null fields are left out


def test_v2_issue_alone(load):
    document = load("jira/apa_v2_issue_FOO-123.json")
    assert jira.detect(document)
    [record] = [jira.to_record(item) for item in jira.records(document)]
    assert (record["id"], record["title"], record["description"]) == ("FOO-123", "Sample", "Some Issue Description")
    assert (record["status"], record["extra"]["status_raw"], record["extra"]["status_category"]) == (
        "open", "Backlog", "new")
    assert record["created_at"] == "2021-12-16T10:44:40.825000+00:00" and record["resolved_at"] is None
    assert record["resolved_by"] is None


def test_v3_search_with_adf(load):
    document = load("jira/apa_v3_search_adf.json")
    first, second = (jira.to_record(item) for item in jira.records(document))
    assert (first["id"], first["title"]) == ("TEST-1", "Test Issue")
    assert first["description"] == "This is a test issue description."  # not the ADF JSON
    assert (first["severity"], first["extra"]["severity_level"]) == ("Medium", 3)
    assert (first["status"], first["extra"]["status_raw"]) == ("open", "To Do")
    assert first["created_at"] == "2023-08-01T12:00:00+00:00"
    assert (second["id"], second["title"], second["description"], second["severity"]) == (
        "TEST-2", "Another Test Issue", "", None)
    assert (second["status"], second["extra"]["status_raw"]) == ("open", "In Progress")


def test_comments_as_text(load):
    comments = load("jira/apa_v3_issue_TEST-1_comments_adf.json")
    record = jira.to_record(jira.records(load("jira/apa_v3_search_adf.json"))[0])
    with_comments = jira.with_comments(record, comments)
    assert with_comments["extra"]["comments"] == ["This is a test comment.", "This is another test comment."]
    assert "comments" not in record["extra"]


def test_webhook_issue_created():
    record = jira.to_record(WEBHOOK_ISSUE)
    assert record["id"] == "OPS-42" and record["title"] == "Checkout failing with ERR_5003"
    assert record["description"] == ("What happened\nCheckout failed with ERR_5003 for some users\n"
                                     "java.net.SocketTimeoutException: Read timed out")
    assert (record["severity"], record["extra"]["severity_level"]) == ("Highest", 1)
    assert (record["status"], record["service"], record["tags"]) == ("open", "checkout-api", ["payments", "timeout"])
    assert record["created_at"] == "2024-05-01T04:45:00+00:00"
    assert record["extra"]["url"] == "https://acme.atlassian.net/browse/OPS-42"
    assert record["extra"]["customfield_10099"] == "EU-West"
    assert jira.detect({"webhookEvent": "jira:issue_created", "issue": WEBHOOK_ISSUE})


def test_named_custom_fields_fill_root_cause_resolution_and_severity():
    fields = {**WEBHOOK_ISSUE["fields"],
              "customfield_10068": {"type": "doc", "version": 1, "content": [
                  {"type": "paragraph", "content": [{"type": "text", "text": "Connection pool exhausted"}]}]},
              "customfield_10070": {"self": "x", "value": "Sev-2", "id": "10021"},
              "customfield_10071": "Raised *maxPoolSize* to 50"}
    document = {"names": NAMES, "issues": [{**WEBHOOK_ISSUE, "fields": fields}]}
    [record] = [jira.to_record(item) for item in jira.records(document)]  # names come from the envelope
    assert record["root_cause"] == "Connection pool exhausted"
    assert record["resolution"] == "Raised maxPoolSize to 50"
    assert (record["severity"], record["extra"]["severity_level"]) == ("Sev-2", 2)
    assert record["extra"]["priority"] == "Highest"
    assert record["extra"]["Region"] == "EU-West"  # an unknown custom field under its display name
    assert "customfield_10068" not in record["extra"] and "Root cause" not in record["extra"]


@pytest.mark.parametrize("status, resolution, expected", [
    ({"name": "Done", "statusCategory": {"key": "done"}}, {"name": "Won't Do"}, "canceled"),
    ({"name": "Closed", "statusCategory": {"key": "done"}}, {"name": "Fixed"}, "closed"),
    ({"name": "Resolved", "statusCategory": {"key": "done"}}, {"name": "Fixed"}, "resolved"),
    ({"name": "Investigating", "statusCategory": {"key": "indeterminate"}}, None, "open"),
    ({"name": "Declined"}, None, "canceled"),
    ({"name": "Done"}, None, "resolved"),
])
def test_status(status, resolution, expected):
    fields = {**WEBHOOK_ISSUE["fields"], "status": status, "resolution": resolution,
              "assignee": {"displayName": "Bo Dev"}}
    record = jira.to_record({**WEBHOOK_ISSUE, "fields": fields})
    assert (record["status"], record["extra"]["status_raw"]) == (expected, status["name"])
    assert record["resolved_by"] == ("Bo Dev" if expected in ("resolved", "closed") else None)


@pytest.mark.parametrize("issue, message", [
    ({"fields": {"summary": "x"}}, "Jira issue has no 'key'; the issue key (such as OPS-123) is its id"),
    ({"key": "OPS-1"}, "Jira issue OPS-1 has no 'fields' object"),
    ({"key": "OPS-1", "fields": {"summary": ""}}, "Jira issue OPS-1 has no 'summary'"),
    ({"key": "OPS-1", "fields": {"summary": "x", "created": "Today 12:51 AM"}}, "field 'created_at'"),
])
def test_bad_issues_say_what_is_missing(issue, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        jira.to_record(issue)
