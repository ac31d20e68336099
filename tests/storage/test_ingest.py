"""Ingest: every format, every kind of bad record reported as FILE:LINE: reason, strict mode, idempotent upserts."""

import json

import pytest

from sherlock.cli.commands import parse_mapping
from sherlock.storage.ingest import exit_code, ingest_file, read_file
from sherlock.storage.store import Store


@pytest.fixture
def store(tmp_path):
    return Store(tmp_path / "store.sqlite")


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_original_sherlockai_file_as_it_is(store, juspay_issues):
    report = ingest_file(store, juspay_issues)
    assert (report.format, report.status, len(report.added), report.rejected) == ("json", "ok", 77, [])
    assert store.count() == 77
    jsp_1052 = store.get("JSP-1052")
    assert "snapdeal_test" in jsp_1052.description
    rich = [incident for incident in store.all() if "timeline" in incident.extra]
    assert len(rich) == 9  # every record with a timeline kept it verbatim
    by_fix = [i for i in store.all() if i.resolution and i.id in
              {r["id"] for r in json.loads(juspay_issues.read_text()) if "fix_applied" in r and "resolution" not in r}]
    assert len(by_fix) == 7  # the 7 records with only fix_applied got it as their resolution
    listed = [i for i in store.all() if isinstance(i.resolved_by, list)]
    assert len(listed) == 9


def test_reingest_unchanged_changes_nothing(store, juspay_issues):
    ingest_file(store, juspay_issues)
    revision = store.revision()
    report = ingest_file(store, juspay_issues)
    assert (len(report.added), len(report.updated), len(report.unchanged)) == (0, 0, 77)
    assert store.revision() == revision


def test_duplicate_content_under_another_id_is_flagged(store, juspay_issues):
    ingest_file(store, juspay_issues)
    report = ingest_file(store, juspay_issues.parent / "tps_scaling_incident.json")
    assert report.duplicate_content == [("JSP-2001", "JSP-1055")]
    assert store.get("JSP-2001") is not None  # flagged, still stored


def test_jsonl_bad_records_with_line_numbers(store, tmp_path):
    path = write(tmp_path, "incidents.jsonl", "\n".join([
        json.dumps({"id": "A-1", "title": "good one"}),
        "",
        "{not json",
        json.dumps({"id": "A-2"}),
        json.dumps({"title": "no id"}),
        json.dumps(["a", "list"]),
        json.dumps({"id": "A-3", "title": "bad date", "created_at": "yesterday"}),
        json.dumps({"id": "A-1", "title": "duplicate id"}),
        json.dumps({"id": "A-4", "title": "bad tags", "tags": 5}),
        json.dumps({"id": "A-5", "title": "good two"}),
    ]))
    report = ingest_file(store, path)
    reasons = {r.line: r.reason for r in report.rejected}
    assert set(reasons) == {3, 4, 5, 6, 7, 8, 9}
    assert "invalid JSON" in reasons[3]
    assert "'title'" in reasons[4] and "missing" in reasons[4]
    assert "'id'" in reasons[5] and "map the field that holds it to 'id'" in reasons[5]
    assert "--map" not in reasons[5] and "key=id" not in reasons[5]  # the reason names no one front end's syntax
    assert "expected an object" in reasons[6]
    assert "created_at" in reasons[7] and "ISO date" in reasons[7]
    assert "duplicate id 'A-1'" in reasons[8] and "line 1" in reasons[8]
    assert "tags" in reasons[9]
    assert str(report.rejected[0]).startswith(f"{path}:3: ")
    assert sorted(report.added) == ["A-1", "A-5"] and store.count() == 2
    assert store.get("A-1").title == "good one"  # the first of two duplicates is kept
    assert exit_code([report]) == 1


def test_json_array_reports_the_line_each_record_starts_on(store, tmp_path):
    text = '[\n  {"id": "A-1", "title": "ok"},\n  {"id": "A-2",\n   "title": ""},\n  {"id": "A-3", "title": "ok"}\n]'
    report = ingest_file(store, write(tmp_path, "x.json", text))
    assert [(r.line, "title" in r.reason) for r in report.rejected] == [(3, True)]
    assert store.count() == 2


def test_csv_with_header_tags_and_line_numbers(store, tmp_path):
    text = ("id,title,tags,severity,created_at\n"
            "C-1,DNS failure,\"dns, network\",SEV2,2024-05-01\n"
            "C-2,,x,SEV3,2024-05-02\n"
            "C-3,too,many,cells,2024-05-03,extra\n")
    report = ingest_file(store, write(tmp_path, "x.csv", text))
    assert report.format == "csv"
    assert [(r.line, r.reason.split(" ")[0]) for r in report.rejected] == [(3, "missing"), (4, "6")]
    assert store.get("C-1").tags == ["dns", "network"] and store.get("C-1").severity == "SEV2"


def test_beir_corpus_is_detected(store, tmp_path):
    path = write(tmp_path, "corpus.jsonl", json.dumps({"_id": "MED-1", "title": "", "text": "vitamin d"}) + "\n")
    report = ingest_file(store, path)
    assert report.format == "beir"
    assert store.get("MED-1").title == "MED-1" and store.get("MED-1").description == "vitamin d"


def test_map_renames_fields(store, tmp_path):
    path = write(tmp_path, "x.jsonl", json.dumps({"key": "K-1", "summary": "disk full", "fix": "cleaned"}) + "\n")
    report = ingest_file(store, path, mapping=parse_mapping(["key=id", "summary=title", "fix=resolution"]))
    assert report.status == "ok" and store.get("K-1").resolution == "cleaned"
    with pytest.raises(ValueError, match="SOURCE_FIELD=CANONICAL_FIELD"):
        parse_mapping(["nonsense"])


def test_strict_stores_nothing_from_a_file_with_a_bad_record(store, tmp_path):
    path = write(tmp_path, "x.jsonl", json.dumps({"id": "A-1", "title": "ok"}) + "\n" + json.dumps({"id": "A-2"}))
    report = ingest_file(store, path, strict=True)
    assert report.stored is False and len(report.rejected) == 1 and store.count() == 0


@pytest.mark.parametrize("name, text, message", [
    ("broken.json", '[{"id": "A-1",', "invalid JSON"),
    ("scalar.json", "42", "expected a JSON array"),
    ("latin1.jsonl", None, "not UTF-8"),
    ("empty.csv", "", "empty CSV"),
    ("notes.xml", "hello", "name its format: one of"),
])
def test_unusable_files(store, tmp_path, name, text, message):
    path = tmp_path / name
    if text is None:
        path.write_bytes('{"id": "A-1", "title": "caf\xe9"}'.encode("latin-1"))
    else:
        path.write_text(text)
    report, good = read_file(path)
    assert report.status == "unusable" and message in report.error and good == []
    assert exit_code([report]) == 2


def test_missing_file_is_unusable(store, tmp_path):
    report = ingest_file(store, tmp_path / "nope.json")
    assert "no such file" in report.error and exit_code([report]) == 2


def test_changed_record_is_updated(store, tmp_path):
    path = write(tmp_path, "x.jsonl", json.dumps({"id": "A-1", "title": "old"}))
    ingest_file(store, path)
    path.write_text(json.dumps({"id": "A-1", "title": "new"}))
    report = ingest_file(store, path)
    assert report.updated == ["A-1"] and store.get("A-1").title == "new"


def test_a_record_missing_both_required_fields_names_both(store, tmp_path):
    report = ingest_file(store, write(tmp_path, "x.jsonl", json.dumps({"key": "K-1"})))
    assert report.rejected[0].reason == ("missing required field(s) 'id' and 'title': fill in a value, or if the "
                                         "file names them differently, map the fields that hold them to 'id' and "
                                         "'title'")


GOOD = json.dumps({"id": "A-1", "title": "one"}) + "\n" + json.dumps({"id": "A-2", "title": "two"}) + "\n"
BAD = json.dumps({"id": "A-3"}) + "\n"


@pytest.mark.parametrize("first, second, strict, outcome, status, stored", [
    (None, GOOD, False, "stored 2", "ok", True),
    (None, GOOD + BAD, False, "partly stored (2 stored, 1 rejected)", "rejected", True),
    (None, BAD + BAD, False, "rejected", "rejected", True),
    (None, GOOD + BAD, True, "rejected (strict: nothing stored)", "rejected", False),
    (GOOD, GOOD, False, "unchanged", "ok", True),
    (GOOD, GOOD + BAD, False, "unchanged (1 rejected)", "rejected", True),
    (GOOD, GOOD + json.dumps({"id": "A-4", "title": "four"}), False, "stored 1 (2 unchanged)", "ok", True),
    (GOOD, GOOD.replace("two", "2") + json.dumps({"id": "A-4", "title": "four"}) + "\n" + BAD, False,
     "partly stored (2 stored, 1 unchanged, 1 rejected)", "rejected", True),
    (None, "\n\n", False, "no records", "ok", True),
])
def test_outcome_says_what_was_stored(store, tmp_path, first, second, strict, outcome, status, stored):
    path = tmp_path / "x.jsonl"
    if first is not None:
        ingest_file(store, write(tmp_path, "x.jsonl", first))
    report = ingest_file(store, write(tmp_path, "x.jsonl", second), strict=strict)
    assert (report.outcome, report.status, report.stored) == (outcome, status, stored)
    assert report.as_dict()["outcome"] == outcome and report.path == str(path)


def test_outcome_of_an_unusable_file(store, tmp_path):
    report = ingest_file(store, write(tmp_path, "x.json", "[{"))
    assert (report.outcome, report.stored) == ("unusable", False)


def test_report_lists_the_source_fields_before_mapping(store, tmp_path):
    text = "key,summary,sev\nK-1,disk full,SEV2\nK-2,,SEV1\n"
    report = ingest_file(store, write(tmp_path, "x.csv", text), mapping={"key": "id", "summary": "title"})
    assert report.fields == ["key", "summary", "sev"]
    assert report.outcome == "partly stored (1 stored, 1 rejected)" and store.get("K-1").extra == {"sev": "SEV2"}


def test_json_report_keeps_its_keys_and_adds_outcome_fields_and_redacted(store, juspay_issues):
    report = ingest_file(store, juspay_issues).as_dict()
    assert set(report) == {"path", "format", "status", "records", "added", "updated", "unchanged", "rejected",
                           "stored", "error", "duplicate_content", "outcome", "fields", "redacted"}
    assert report["redacted"] == {}  # no redactor given to ingest_file: Workspace.ingest passes its own
    assert (report["status"], report["outcome"], report["error"]) == ("ok", "stored 77", None)
    first = json.loads(juspay_issues.read_text())[0]
    assert report["fields"][:len(first)] == list(first)  # the first record's fields, then the others as first met
    assert len(report["fields"]) == 44 and {"timeline", "fix_applied", "request_ids"} <= set(report["fields"])
