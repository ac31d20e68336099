"""GitHub issues: pull requests skipped, ids with the repository, Markdown bodies as text, labels as tags (and
severity/service labels), search envelope, an ``issues`` webhook's issue."""

import re

import pytest

from sherlock.storage.importers import github

# An ``issues`` webhook's ``issue`` (action closed), with its repository_url.
WEBHOOK_ISSUE = {
    "url": "https://api.github.com/repos/acme/api/issues/77", "repository_url": "https://api.github.com/repos/acme/api",
    "html_url": "https://github.com/acme/api/issues/77", "id": 2001, "number": 77,
    "title": "Checkout returns 502", "user": {"login": "ana"}, "state": "closed", "state_reason": "completed",
    "labels": [{"name": "sev1"}, {"name": "service: payments"}, {"name": "incident"}],
    "assignees": [{"login": "bo"}], "milestone": None, "comments": 3,
    "created_at": "2024-03-01T08:00:00Z", "closed_at": "2024-03-01T09:15:00Z", "closed_by": {"login": "bo"},
    "body": "## Error\n```\nupstream connect error or disconnect/reset before headers\n```\nSee **lb-2** logs.",
}


def test_issue_list_skips_pull_requests(load):
    document = load("github/betamax_issues_open_asc.json")
    assert github.detect(document)
    items = github.records(document)
    records = [github.to_record(item) for item in items]
    assert len(items) == 16 and sum(record is not None for record in records) == 13
    skipped = [item["number"] for item, record in zip(items, records) if record is None]
    assert skipped == [123, 144, 149]
    kept = [record for record in records if record is not None]
    assert kept[0]["id"] == "betamaxpy/betamax#6" and kept[0]["title"] == "Hooks"
    assert kept[0]["tags"] == ["Enhancement"] and kept[0]["created_at"] == "2013-09-11T03:43:56+00:00"
    assert all((record["status"], record["extra"]["status_raw"]) == ("open", "open") for record in kept)
    assert all(record["resolved_at"] is None and record["extra"]["source"] == "github" for record in kept)


def test_error_strings_and_tracebacks_come_through(load):
    issue = next(item for item in load("github/betamax_issues_open_asc.json") if item["number"] == 143)
    record = github.to_record(issue)
    assert record["title"] == "AttributeError: 'BetamaxError' object has no attribute 'message'"
    assert "  File \"<stdin>\", line 1, in <module>" in record["description"]  # code block kept verbatim
    assert "I believe the __repr__() method is not needed" in record["description"]
    assert "<bountysource-plugin>" not in record["description"] and "**" not in record["description"]
    assert record["tags"] == ["Bug", "PR exists", "ready"]


def test_search_envelope(load):
    document = load("github/octokit_search_issues.json")
    assert github.detect(document)
    records = [github.to_record(item) for item in github.records(document)]
    assert [record["id"] for record in records] == ["octokit-fixture-org/search-issues#2",
                                                    "octokit-fixture-org/search-issues#1"]
    assert records[1]["title"] == "The doors don’t open"
    assert records[1]["description"] == "I tried \"open sesame\" as seen on Wikipedia but no luck!"


def test_webhook_issue():
    record = github.to_record(WEBHOOK_ISSUE)
    assert record["id"] == "acme/api#77"
    assert record["description"] == "Error\nupstream connect error or disconnect/reset before headers\nSee lb-2 logs."
    assert (record["severity"], record["extra"]["severity_level"], record["service"]) == ("sev1", 1, "payments")
    assert record["tags"] == ["sev1", "service: payments", "incident"]
    assert (record["status"], record["resolved_by"]) == ("closed", "bo")
    assert record["resolved_at"] == "2024-03-01T09:15:00+00:00"
    assert record["extra"]["url"] == "https://github.com/acme/api/issues/77"


def test_webhook_payload_without_repository_url_takes_the_repository():
    issue = {key: value for key, value in WEBHOOK_ISSUE.items() if key != "repository_url"}
    payload = {"action": "opened", "issue": issue, "repository": {"full_name": "acme/web"}}
    assert github.detect(payload)
    [item] = github.records(payload)
    assert github.to_record(item)["id"] == "acme/web#77"
    assert github.to_record(issue)["id"] == "GH-77"  # no repository anywhere


def test_closed_as_not_planned_is_canceled():
    record = github.to_record({**WEBHOOK_ISSUE, "state_reason": "not_planned"})
    assert (record["status"], record["extra"]["status_raw"]) == ("canceled", "closed")


def test_a_pull_request_is_skipped_and_a_bad_issue_named():
    assert github.to_record({**WEBHOOK_ISSUE, "pull_request": {"url": "x"}}) is None
    with pytest.raises(ValueError, match=re.escape("GitHub issue has no 'number'")):
        github.to_record({"title": "x"})
    with pytest.raises(ValueError, match=re.escape("GitHub issue acme/api#77 has no 'title'")):
        github.to_record({**WEBHOOK_ISSUE, "title": None})
