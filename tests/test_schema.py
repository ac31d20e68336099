"""The canonical incident schema: required fields, aliases, extras, dates, hashes."""

from datetime import date, datetime

import pytest
from pydantic import ValidationError

from sherlock.schema import Incident


def test_required_fields():
    with pytest.raises(ValidationError, match="title"):
        Incident.from_record({"id": "A-1", "title": "   "})
    with pytest.raises(ValidationError, match="id"):
        Incident.from_record({"title": "no id"})


def test_unknown_fields_are_kept_verbatim_in_extra():
    record = {"id": "A-1", "title": "t", "timeline": [{"t": "10:00", "e": "page"}], "priority": "high",
              "merchant_impact": {"count": 3}}
    incident = Incident.from_record(record)
    assert incident.extra == {"timeline": [{"t": "10:00", "e": "page"}], "merchant_impact": {"count": 3}}
    assert incident.severity == "high"  # the original project's `priority` means severity


def test_fix_applied_is_the_resolution_only_when_resolution_is_absent():
    only_fix = Incident.from_record({"id": "A-1", "title": "t", "fix_applied": "restarted the pod"})
    assert only_fix.resolution == "restarted the pod" and "fix_applied" not in only_fix.extra
    both = Incident.from_record({"id": "A-1", "title": "t", "resolution": "r", "fix_applied": "f"})
    assert both.resolution == "r" and both.extra == {"fix_applied": "f"}


@pytest.mark.parametrize("value, expected", [
    ("2024-03-12", date(2024, 3, 12)),
    ("2024-11-15T00:00:00.000000", datetime(2024, 11, 15)),
    ("2024-11-15 08:30:00", datetime(2024, 11, 15, 8, 30)),
    (None, None),
])
def test_dates_and_datetimes(value, expected):
    assert Incident(id="A-1", title="t", created_at=value).created_at == expected


def test_timezone_and_z_suffix():
    incident = Incident(id="A-1", title="t", created_at="2024-06-01T10:00:00Z")
    assert incident.created_at.utcoffset().total_seconds() == 0
    assert incident.created_date() == date(2024, 6, 1)


def test_bad_date_names_the_field():
    with pytest.raises(ValidationError) as error:
        Incident(id="A-1", title="t", created_at="12/03/2024")
    assert "created_at" in str(error.value) and "ISO date" in str(error.value)


@pytest.mark.parametrize("raw, expected", [
    ("UPI, Timeout", ["UPI", "Timeout"]), ("a;b", ["a", "b"]), (["x", " ", "y"], ["x", "y"]), (None, []),
])
def test_tags(raw, expected):
    assert Incident(id="A-1", title="t", tags=raw).tags == expected


def test_resolved_by_str_or_list():
    assert Incident(id="A-1", title="t", resolved_by="a@x").resolved_by == "a@x"
    assert Incident(id="A-1", title="t", resolved_by=["a@x", "b@x"]).resolved_by == ["a@x", "b@x"]


def test_content_hash_ignores_id_and_tracks_every_other_field():
    a = Incident(id="A-1", title="t", description="d")
    assert a.content_hash() == Incident(id="B-2", title="t", description="d").content_hash()
    assert a.content_hash() != Incident(id="A-1", title="t", description="d2").content_hash()
    assert a.content_hash() != Incident(id="A-1", title="t", description="d", extra={"k": 1}).content_hash()


def test_text_fingerprint_folds_case_and_whitespace():
    a = Incident(id="A-1", title="UPI  timeout", status="open")
    b = Incident(id="B-2", title="upi timeout", status="resolved")
    assert a.text_fingerprint() == b.text_fingerprint()


def test_id_with_whitespace_is_rejected():
    with pytest.raises(ValidationError, match="whitespace"):
        Incident(id="A 1", title="t")
