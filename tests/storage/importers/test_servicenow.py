"""ServiceNow Table API: raw codes, display values and ``all`` pairs; cause and close notes; naive UTC times flagged
as guessed; ``u_*`` custom fields verbatim."""

import re

import pytest

from sherlock.storage.importers import servicenow


def test_table_api_incidents(load):
    document = load("servicenow/xsoar_servicenow_table_api_incidents.json")
    assert servicenow.detect(document)
    first, second, third = (servicenow.to_record(item) for item in servicenow.records(document))
    assert [first["id"], second["id"], third["id"]] == ["INC0000001", "INC0000002", "INC0000003"]
    assert first["title"] == "Can't read email"
    assert first["description"] == "User can't access email on mail.company.com."  # trailing "\n\t\t" dropped
    assert first["resolution"] == "Closed before close notes were made mandatory"
    assert (first["severity"], first["extra"]["severity_level"]) == ("1", 1)
    assert (first["status"], first["extra"]["status_raw"]) == ("closed", "7")
    assert (second["status"], second["extra"]["status_raw"]) == ("open", "3")  # On Hold
    assert (third["status"], third["extra"]["status_raw"]) == ("open", "2")    # In Progress
    # the API's times carry no zone: read as UTC, and said so
    assert first["created_at"] == "2019-09-02T23:09:51+00:00" and first["resolved_at"] == "2019-12-03T19:56:12+00:00"
    assert first["extra"]["closed_at"] == "2019-09-03T23:10:06+00:00"
    assert first["extra"]["time_zone_guessed"] == "UTC"
    assert first["extra"]["close_code"] == "Closed/Resolved by Caller" and first["extra"]["source"] == "servicenow"
    assert first["category"] == "network" and first["resolved_by"] == "admin"
    assert second["resolved_at"] is None and second["extra"]["hold_reason"] == "4"
    assert third["service"] is None


def test_display_values_and_custom_fields():
    record = servicenow.to_record({
        "number": {"value": "INC0010001", "display_value": "INC0010001"},
        "short_description": "Email delivery delayed",
        "description": "<p>Queue depth at <b>40k</b></p>",
        "cause": "Expired TLS certificate on smtp-1",
        "close_notes": "Root cause: expired certificate.\r\nResolution: renewed it and restarted postfix.",
        "priority": "2 - High", "state": {"value": "6", "display_value": "Resolved"},
        "business_service": {"link": "https://x/api/now/table/cmdb_ci_service/abc", "value": "abc",
                             "display_value": "Email"},
        "opened_at": "2026-01-20 07:12:09", "resolved_at": "2026-01-20 09:00:00",
        "u_customer_impact": "Partial", "u_regions": ["eu", "us"],
    })
    assert record["id"] == "INC0010001" and record["description"] == "Queue depth at 40k"
    assert record["root_cause"] == "Expired TLS certificate on smtp-1"
    assert record["resolution"] == ("Root cause: expired certificate.\n"
                                    "Resolution: renewed it and restarted postfix.")
    assert (record["severity"], record["extra"]["severity_level"]) == ("2 - High", 2)
    assert (record["status"], record["extra"]["status_raw"]) == ("resolved", "Resolved")
    assert record["service"] == "Email"
    assert record["extra"]["u_customer_impact"] == "Partial" and record["extra"]["u_regions"] == ["eu", "us"]


@pytest.mark.parametrize("state, expected", [("1", "open"), ("6", "resolved"), ("7", "closed"), ("8", "canceled"),
                                             ("Canceled", "canceled"), ("6 - Resolved", "resolved")])
def test_states(state, expected):
    record = servicenow.to_record({"number": "INC1", "short_description": "x", "state": state})
    assert record["status"] == expected


@pytest.mark.parametrize("item, message", [
    ({"short_description": "x"}, "ServiceNow incident has no 'number'; the number (such as INC0010001) is its id"),
    ({"number": "INC1", "short_description": ""}, "ServiceNow incident INC1 has no 'short_description'"),
])
def test_bad_records_say_what_is_missing(item, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        servicenow.to_record(item)
