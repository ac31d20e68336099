"""Jira and ServiceNow CSV exports: detection by header, cells read by position (repeated Jira labels, two custom
fields of one name), comments' bodies, day/Mon/yy 12-hour dates to UTC flagged as guessed, severity levels and
status as the API importers give them, and every row at the line it starts on, multi-line cells included."""

import re

import pytest

from sherlock.schema import Incident
from sherlock.storage.importers import jira_csv, servicenow, servicenow_csv
from sherlock.storage.importers.csv_exports import (
    csv_header,
    detect_csv,
    read_export,
    read_jira_csv,
    read_servicenow_csv,
)
from sherlock.storage.raw import UnusableFileError

JIRA_SAMPLE = "jira/synthetic_jira_cloud_export.csv"
SERVICENOW_SAMPLE = "servicenow/synthetic_servicenow_incident_list.csv"


def write(tmp_path, text, name="export.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# -- detection ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("sample, fmt", [(JIRA_SAMPLE, "jira-csv"), (SERVICENOW_SAMPLE, "servicenow-csv")])
def test_samples_are_detected_by_their_header(exports, sample, fmt):
    assert detect_csv(csv_header(exports / sample)) == fmt


@pytest.mark.parametrize("header, fmt", [
    (["Summary", "Issue key", "Labels", "Labels"], "jira-csv"),
    ([" issue key ", "SUMMARY"], "jira-csv"),
    (["number", "short_description", "state"], "servicenow-csv"),
    (["id", "title", "description"], None),      # Sherlock's own CSV
    (["Issue key", "Description"], None),        # no Summary
    (["number", "title"], None),
    ([], None),
])
def test_detect_csv(header, fmt):
    assert detect_csv(header) == fmt


# -- Jira: the sample ---------------------------------------------------------------------------------------------

def test_jira_sample(exports):
    rows = list(read_jira_csv(exports / JIRA_SAMPLE))
    # OPS-2101's description spans lines 2-4, OPS-2103's lines 6-8
    assert [row.line for row in rows] == [2, 5, 6]
    first, second, third = (row.data for row in rows)
    assert [first["id"], second["id"], third["id"]] == ["OPS-2101", "OPS-2102", "OPS-2103"]
    assert first["title"] == "Checkout latency p99 above 4s in eu-west"
    assert first["description"] == ("What happened\n"
                                    "p99 of POST /checkout rose above 4s after the 02:50 deploy.\n"
                                    "upstream connect error or disconnect/reset before headers")
    assert third["description"] == ("Edge returned 502 Bad Gateway for /login.\n"
                                    "- auth pods restarting\n- readiness probe failing")
    # Labels,Labels: both cells, an empty second one left out
    assert (first["tags"], second["tags"], third["tags"]) == (["latency", "checkout"], ["settlement"],
                                                              ["auth", "edge"])
    # Comment cells are date;accountId;body: the bodies, in column order; OPS-2103's empty second cell is absent
    assert first["extra"]["comments"] == ["Paged pricing team",
                                          "Raised pool to 100 and added a config test, latency back to 600ms"]
    assert third["extra"]["comments"] == ["Rolled back ingress chart"]
    # two columns both called "Custom field (Category)": by position; the first also fills category
    assert (first["extra"]["Category"], first["extra"]["Category (2)"]) == ("Performance", "Customer facing")
    assert (second["extra"]["Category"], second["extra"]["Category (2)"]) == ("Payments", "Finance")
    assert [first["category"], second["category"], third["category"]] == ["Performance", "Payments", "Availability"]
    assert first["root_cause"] == "Connection pool of the pricing client capped at 10 after a config refactor"
    assert "Root cause" not in first["extra"]
    # 11/Jan/26 3:05 AM, read as UTC because the export names no zone
    assert (first["created_at"], first["resolved_at"]) == ("2026-01-11T03:05:00+00:00", "2026-01-11T04:20:00+00:00")
    assert (second["created_at"], second["resolved_at"]) == ("2026-02-02T23:47:00+00:00",  # 11:47 PM
                                                             "2026-02-03T06:15:00+00:00")
    assert first["extra"]["time_zone_guessed"] == "UTC"
    assert [(r["severity"], r["extra"]["severity_level"]) for r in (first, second, third)] == [
        ("High", 2), ("Highest", 1), ("Medium", 3)]
    assert [(r["status"], r["extra"]["status_raw"]) for r in (first, second, third)] == [
        ("resolved", "Done")] * 3
    assert second["extra"]["resolution_name"] == "Fixed" and second["resolved_by"] == "Marco Silva"
    assert (first["extra"]["jira_id"], first["extra"]["issue_type"], first["extra"]["reporter"]) == (
        "31001", "Incident", "Alert Bot")
    assert first["extra"]["source"] == "jira"
    assert "Updated" not in first["extra"]
    for record in (first, second, third):
        assert Incident.from_record(record).id == record["id"]


# -- Jira: rows built by hand ---------------------------------------------------------------------------------------

HEADER = ["Issue key", "Summary", "Status", "Resolution", "Priority", "Created"]


def jira_row(**cells):
    """A record from one row over :data:`HEADER` plus any extra columns, given as label=value pairs."""
    labels = {"key": "Issue key", "summary": "Summary", "status": "Status", "resolution": "Resolution",
              "priority": "Priority", "created": "Created"}
    values = {"Issue key": "OPS-1", "Summary": "disk full", **{labels.get(k, k): v for k, v in cells.items()}}
    header = [*HEADER, *[label for label in values if label not in HEADER]]
    return jira_csv.to_record(header, [values.get(label, "") for label in header])


@pytest.mark.parametrize("status, resolution, expected", [
    ("Done", "Done", "resolved"),
    ("Resolved", "Fixed", "resolved"),
    ("Closed", "Fixed", "closed"),
    ("Done", "Won't Do", "canceled"),
    ("Done", "Duplicate", "canceled"),
    ("Declined", "", "canceled"),
    ("In Progress", "", "open"),
    ("Open", "", "open"),
    ("Waiting for support", "", "open"),  # a workflow state of the team's own
])
def test_jira_status_normalised_with_resolution(status, resolution, expected):
    record = jira_row(status=status, resolution=resolution)
    assert (record["status"], record["extra"]["status_raw"]) == (expected, status)


@pytest.mark.parametrize("status, category, expected", [("Deployed", "Done", "resolved"),
                                                        ("Deployed", "In Progress", "open")])
def test_jira_status_category_column_decides_done(status, category, expected):
    record = jira_row(status=status, **{"Status Category": category})
    assert record["status"] == expected
    assert record["extra"]["status_category"] == {"Done": "done", "In Progress": "indeterminate"}[category]


@pytest.mark.parametrize("cell, iso", [
    ("25/Feb/26 10:17 PM", "2026-02-25T22:17:00+00:00"),
    ("01/Mar/26 12:05 AM", "2026-03-01T00:05:00+00:00"),   # 12 AM is midnight
    ("01/Mar/26 12:05 PM", "2026-03-01T12:05:00+00:00"),   # 12 PM is noon
    ("3/jan/2026 1:02:03 pm", "2026-01-03T13:02:03+00:00"),
])
def test_jira_dates_read_as_utc_and_flagged(cell, iso):
    record = jira_row(created=cell)
    assert record["created_at"] == iso and record["extra"]["time_zone_guessed"] == "UTC"


def test_jira_iso_date_with_offset_is_not_guessed():
    record = jira_row(created="2024-05-01T10:15:00+05:30")
    assert record["created_at"] == "2024-05-01T04:45:00+00:00" and "time_zone_guessed" not in record["extra"]


@pytest.mark.parametrize("cell, detail", [("31/Feb/26 1:00 AM", "day is out of range for month"),
                                          ("01/Mar/26 13:05 PM", "hour 13 is not on a 12-hour clock"),
                                          ("01/Foo/26 1:05 PM", "month must be in 1..12"),
                                          ("yesterday", "")])
def test_jira_bad_date_names_its_column(cell, detail):
    with pytest.raises(ValueError, match=re.escape(f"column 'Created': {cell!r} is not a date such as "
                                                   f"25/Feb/26 10:17 PM")) as caught:
        jira_row(created=cell)
    assert detail in str(caught.value)


def test_jira_custom_fields_named_and_kept():
    record = jira_row(priority="Low", **{
        "Custom field (Severity)": "SEV-1", "Custom field (Root cause)": "*Expired* cert",
        "Custom field (Resolution notes)": "Renewed it", "Custom field (Affected services)": "checkout-api",
        "Custom field (Region)": "eu-west", "Component/s": "edge", "Project key": "OPS"})
    assert (record["severity"], record["extra"]["severity_level"], record["extra"]["priority"]) == ("SEV-1", 1, "Low")
    assert (record["root_cause"], record["resolution"]) == ("Expired cert", "Renewed it")
    assert (record["service"], record["extra"]["components"]) == ("checkout-api", ["edge"])
    assert record["extra"]["Region"] == "eu-west" and record["extra"]["Project key"] == "OPS"
    assert not {"Severity", "Root cause", "Resolution notes", "Affected services"} & set(record["extra"])


def test_jira_repeated_columns():
    header = ["Issue key", "Summary", "Component/s", "Component/s", "Sprint", "Sprint", "Watchers", "Watchers"]
    record = jira_csv.to_record(header, ["OPS-7", "x", "edge", "auth", "S1", "", "ana", "bo"])
    assert record["service"] == "edge" and record["extra"]["components"] == ["edge", "auth"]
    assert record["extra"]["Sprint"] == ["S1"]     # a repeated label is a list, empty cells left out
    assert "Watchers" not in record["extra"]       # noise, as the REST importer drops watches


@pytest.mark.parametrize("cell, body", [
    ("11/Jan/26 3:30 AM;5f1e0c;Paged *pricing* team", "Paged pricing team"),
    ("11/Jan/26 3:30 AM;5f1e0c;retry; then roll back", "retry; then roll back"),  # the body keeps its ";"
    ("no prefix; just text", "no prefix; just text"),
])
def test_jira_comment_bodies(cell, body):
    assert jira_csv.comment_text(cell) == body


def test_jira_rows_start_lines_and_rejections(tmp_path):
    path = write(tmp_path, (
        "Summary,Issue key,Description,Labels,Labels\n"
        'First,OPS-1,"two\nlines",a,b\n'
        "\n"                                            # a blank line is no row
        'No key here,,"three\nline\ncell",,\n'
        "Last,OPS-3,plain,,c\n"
        "Shifted,OPS-4,x,a,b,extra\n"))
    rows = list(read_jira_csv(path))
    assert [row.line for row in rows] == [2, 5, 8, 9]
    assert rows[0].data["description"] == "two\nlines" and rows[0].data["tags"] == ["a", "b"]
    assert isinstance(rows[1].data, ValueError)
    assert str(rows[1].data) == "Jira CSV row has no 'Issue key'; the issue key (such as OPS-123) is its id"
    assert rows[2].data["id"] == "OPS-3" and rows[2].data["tags"] == ["c"]
    assert str(rows[3].data) == "6 cells but the header has 5 columns; check the row for an unquoted comma"


def test_jira_row_without_summary_is_rejected():
    with pytest.raises(ValueError, match="Jira issue OPS-1 has no 'Summary'"):
        jira_row(summary="")


# -- ServiceNow -------------------------------------------------------------------------------------------------

def test_servicenow_sample(exports):
    rows = list(read_servicenow_csv(exports / SERVICENOW_SAMPLE))
    assert [row.line for row in rows] == [2, 4, 6]   # close_notes span two lines
    first, second, third = (row.data for row in rows)
    assert [first["id"], second["id"], third["id"]] == ["INC0041001", "INC0041002", "INC0041003"]
    assert first["title"] == "Refund API returning 500 for partial refunds"
    assert first["description"] == ('Partial refunds above the captured amount crash the refund service with '
                                    '"IllegalArgumentException: amount".')
    # no cause column: the labelled close notes give root cause and resolution
    assert first["root_cause"] == "validation missing for partial refund amounts after the currency refactor."
    assert first["resolution"] == "added validation and a regression test; replayed the 212 failed refunds."
    assert [(r["severity"], r["extra"]["severity_level"]) for r in (first, second, third)] == [
        ("2 - High", 2), ("3 - Moderate", 3), ("1 - Critical", 1)]
    assert [(r["status"], r["extra"]["status_raw"]) for r in (first, second, third)] == [
        ("resolved", "Resolved"), ("closed", "Closed"), ("open", "In Progress")]
    assert (first["created_at"], first["resolved_at"]) == ("2026-01-20T07:12:09+00:00", "2026-01-20T09:40:51+00:00")
    assert first["extra"]["time_zone_guessed"] == "UTC" and third["resolved_at"] is None
    assert (first["category"], first["service"], first["extra"]["team"]) == ("Software", "refund-service",
                                                                            "Payments SRE")
    assert first["extra"]["close_code"] == "Solved (Permanently)" and first["extra"]["subcategory"] == "Payments"
    assert first["extra"]["source"] == "servicenow"
    for record in (first, second, third):
        assert Incident.from_record(record).id == record["id"]


@pytest.mark.parametrize("code, shown", [("1", "New"), ("2", "In Progress"), ("3", "On Hold"), ("6", "Resolved"),
                                         ("7", "Closed"), ("8", "Canceled")])
def test_servicenow_state_display_values_map_as_codes(tmp_path, code, shown):
    path = write(tmp_path, f"number,short_description,state\nINC1,x,{shown}\n")
    [row] = read_servicenow_csv(path)
    api = servicenow.to_record({"number": "INC1", "short_description": "x", "state": code})
    assert row.data["status"] == api["status"] and row.data["extra"]["status_raw"] == shown


@pytest.mark.parametrize("code, shown, level", [("1", "1 - Critical", 1), ("2", "2 - High", 2),
                                                ("3", "3 - Moderate", 3), ("4", "4 - Low", 4),
                                                ("5", "5 - Planning", 5)])
def test_servicenow_priority_display_values_map_as_codes(tmp_path, code, shown, level):
    path = write(tmp_path, f"number,short_description,priority\nINC1,x,{shown}\n")
    [row] = read_servicenow_csv(path)
    api = servicenow.to_record({"number": "INC1", "short_description": "x", "priority": code})
    assert row.data["extra"]["severity_level"] == api["extra"]["severity_level"] == level


def test_servicenow_rejections_at_their_lines(tmp_path):
    path = write(tmp_path, (
        "number,short_description,description,opened_at\n"
        'INC1,first,"a\nb",2026-01-05 10:00:00\n'
        ',no number,"c\nd",\n'
        "INC3,bad time,,05/01/2026 10am\n"
        "INC4,ok,,\n"))
    rows = list(read_servicenow_csv(path))
    assert [row.line for row in rows] == [2, 4, 6, 7]
    assert rows[0].data["created_at"] == "2026-01-05T10:00:00+00:00"
    assert str(rows[1].data) == ("ServiceNow incident has no 'number'; "
                                 "the number (such as INC0010001) is its id")
    assert str(rows[2].data).startswith("field 'created_at': '05/01/2026 10am' is not an ISO 8601 timestamp")
    assert rows[3].data["id"] == "INC4"


def test_servicenow_cause_column_wins_over_close_notes():
    record = servicenow_csv.to_record(["number", "short_description", "cause", "close_notes"],
                                      ["INC1", "x", "bad cert", "Root cause: cert\nResolution: renewed"])
    assert (record["root_cause"], record["resolution"]) == ("bad cert", "Root cause: cert\nResolution: renewed")


@pytest.mark.parametrize("notes, parts", [
    ("Root cause: A.\nResolution: B.", ("A.", "B.")),
    ("Restarted the pod.\nCause: leak\nin the cache\nFix: bounded it", ("leak\nin the cache",
                                                                        "Restarted the pod.\nbounded it")),
    ("Root cause: A\nWorkaround: retry", ("A", "Workaround: retry")),
    ("Resolution: restarted it", ("", "Resolution: restarted it")),   # no root cause: notes unchanged
])
def test_split_close_notes(notes, parts):
    assert servicenow.split_close_notes(notes) == parts


# -- files that are not exports ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, fmt, message", [
    ("", "jira-csv", "empty CSV; a jira-csv export starts with a header row"),
    ("id,title\nX-1,t\n", "jira-csv", "not a jira-csv export: the header has no 'issue key' or 'summary' column"),
    ("\nnumber,title\n", "servicenow-csv", ":2: not a servicenow-csv export: the header has no 'short_description'"),
])
def test_files_that_are_not_the_export(tmp_path, text, fmt, message):
    with pytest.raises(UnusableFileError, match=re.escape(message)):
        list(read_export(write(tmp_path, text), fmt))


def test_unknown_export_name(tmp_path):
    with pytest.raises(ValueError, match="unknown CSV export 'excel'; use one of: jira-csv, servicenow-csv"):
        list(read_export(write(tmp_path, "a\n"), "excel"))


@pytest.mark.parametrize("sample, fmt", [
    ("jira/synthetic_jira_cloud_export.csv", "jira-csv"),
    ("servicenow/synthetic_servicenow_incident_list.csv", "servicenow-csv"),
])
def test_ingest_detects_and_stores_each_export(exports, tmp_path, sample, fmt):
    from sherlock.storage.ingest import ingest_file
    from sherlock.storage.store import Store
    store = Store(tmp_path / "store.sqlite")
    report = ingest_file(store, exports / sample)
    assert report.format == fmt and report.status == "ok" and len(report.added) == report.records > 0
    stored = store.get(report.added[0])
    assert stored.extra["source"] == fmt.removesuffix("-csv")
    store.close()


def test_labelled_close_notes_split_alike_from_the_api_and_the_csv():
    notes = "Root cause: expired TLS certificate on the bank connector\nResolution: renewed it and restarted"
    api = servicenow.to_record({"number": "INC0099999", "short_description": "Payments down", "close_notes": notes})
    row = servicenow_csv.to_record(["number", "short_description", "close_notes"],
                                   ["INC0099999", "Payments down", notes])
    assert api["root_cause"] == row["root_cause"] == "expired TLS certificate on the bank connector"
    assert api["resolution"] == row["resolution"] == "renewed it and restarted"
    kept = servicenow.to_record({"number": "INC1", "short_description": "x", "cause": "disk full",
                                 "close_notes": "Root cause: other words"})
    assert kept["root_cause"] == "disk full" and kept["resolution"] == "Root cause: other words"  # a cause wins
