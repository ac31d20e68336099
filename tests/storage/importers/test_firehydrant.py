"""FireHydrant, from hand-built payloads of the documented ``GET /v1/incidents`` shape (no licensed sample exists):
mapping, milestones, detection beside Rootly's and Opsgenie's ``{"data": [...]}``, and ingest by shape."""

import json

import pytest

from sherlock.storage.importers import IMPORTERS, detect_source, firehydrant
from sherlock.storage.ingest import ingest_file

RESOLVED = {
    "id": "5d3c0f6a-8a43-4c43-9c0e-2f1d7a3b9e11", "number": 42, "name": "Checkout latency spike",
    "summary": "p99 of **checkout** above 4s", "description": "Caused by a cold `redis` cache.",
    "customer_impact_summary": "Payments slow for 20 minutes", "severity": "SEV1", "priority": "P2",
    "current_milestone": "postmortem_started", "started_at": "2024-05-01T10:00:00.000-07:00",
    "created_at": "2024-05-01T17:05:00Z",
    "milestones": [{"type": "started", "occurred_at": "2024-05-01T17:00:00Z"},
                   {"type": "acknowledged", "occurred_at": "2024-05-01T17:03:00Z"},
                   {"type": "resolved", "occurred_at": "2024-05-01T17:20:00Z"}],
    "services": [{"id": "s1", "name": "checkout"}, {"id": "s2", "name": "redis"}],
    "environments": [{"id": "e1", "name": "production"}], "tag_list": ["latency", "cache"],
    "incident_url": "https://app.firehydrant.io/incidents/5d3c0f6a-8a43-4c43-9c0e-2f1d7a3b9e11",
}
OPEN = {"id": "9b1e", "number": 43, "name": "Search down", "current_milestone": "investigating",
        "started_at": "2024-05-02T08:00:00Z", "milestones": [], "services": [], "tag_list": []}
LIST = {"data": [RESOLVED, OPEN], "pagination": {"count": 2, "page": 1, "items": 20, "pages": 1, "last": 1}}


def test_a_resolved_incident():
    record = firehydrant.to_record(RESOLVED)
    assert (record["id"], record["title"]) == ("FH-42", "Checkout latency spike")
    assert record["description"] == ("p99 of checkout above 4s\n\nCaused by a cold redis cache.\n\n"
                                     "Payments slow for 20 minutes")
    assert (record["severity"], record["extra"]["severity_level"]) == ("SEV1", 1)
    assert (record["status"], record["extra"]["status_raw"]) == ("resolved", "postmortem_started")
    assert record["created_at"] == "2024-05-01T17:00:00+00:00"  # started_at, 10:00 at -07:00
    assert record["resolved_at"] == "2024-05-01T17:20:00+00:00"  # the resolved milestone
    assert record["service"] == "checkout" and record["tags"] == ["latency", "cache"]
    extra = record["extra"]
    assert extra["source"] == "firehydrant" and extra["firehydrant_id"] == RESOLVED["id"]
    assert extra["url"] == RESOLVED["incident_url"] and extra["environments"] == ["production"]
    assert extra["priority"] == "P2" and extra["services"] == ["checkout", "redis"]
    assert extra["acknowledged_at"] == "2024-05-01T17:03:00+00:00"
    assert extra["reported_at"] == "2024-05-01T17:05:00+00:00"


@pytest.mark.parametrize("milestone, status", [
    ("started", "open"), ("detected", "open"), ("acknowledged", "open"), ("investigating", "open"),
    ("identified", "open"), ("mitigated", "open"), ("resolved", "resolved"), ("postmortem_started", "resolved"),
    ("postmortem_completed", "resolved"), ("closed", "closed"), ("a_custom_milestone", "open"), (None, None)])
def test_status_from_the_current_milestone(milestone, status):
    assert firehydrant.to_record({**OPEN, "current_milestone": milestone})["status"] == status


def test_an_open_incident_has_no_resolution_time_and_no_empty_fields():
    record = firehydrant.to_record(OPEN)
    assert (record["id"], record["status"], record["resolved_at"]) == ("FH-43", "open", None)
    assert record["description"] == "" and record["service"] is None and record["severity"] is None
    assert "environments" not in record["extra"] and "url" not in record["extra"]


@pytest.mark.parametrize("item, message", [
    ({"name": "x", "current_milestone": "started"}, "FireHydrant incident has no 'number'"),
    ({"number": 7}, "FireHydrant incident FH-7 has no 'name'"),
    ("FH-7", "expected a FireHydrant incident object, got str")])
def test_what_is_missing_is_named(item, message):
    with pytest.raises(ValueError, match=message):
        firehydrant.to_record(item)


@pytest.mark.parametrize("document", [LIST, RESOLVED, [OPEN]])
def test_the_envelope_one_incident_and_a_bare_array_are_firehydrants_alone(document):
    assert [name for name, entry in IMPORTERS.items() if entry.detect(document)] == ["firehydrant"]
    assert detect_source(document) == "firehydrant"


@pytest.mark.parametrize("document", [
    {"data": [{"id": "a", "type": "incidents", "attributes": {"sequential_id": 1, "title": "x", "number": 1,
                                                              "name": "x", "current_milestone": "started"}}]},
    {"data": [{"id": "a", "tinyId": "3", "message": "x", "status": "open"}]},
    {"data": [{"number": 1, "name": "x"}]},  # neither milestone nor URL: not enough to tell
    {"data": []}])
def test_rootly_opsgenie_and_bare_names_are_not_firehydrant(document):
    assert not firehydrant.detect(document)


def test_ingest_reads_a_list_by_its_shape_and_reports_lines(store, tmp_path):
    path = tmp_path / "firehydrant.json"
    broken = {"name": "no number", "current_milestone": "started"}
    path.write_text(json.dumps({"data": [RESOLVED, broken], "pagination": {}}, indent=2), encoding="utf-8")
    report = ingest_file(store, path)
    assert report.format == "firehydrant" and report.added == ["FH-42"]
    [rejection] = report.rejected
    assert "firehydrant item 2: FireHydrant incident has no 'number'" in rejection.reason
    assert rejection.line > 2
    assert store.get("FH-42").extra["url"] == RESOLVED["incident_url"]
