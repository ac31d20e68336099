"""Timestamps to aware UTC: offsets with and without a colon, Z, microseconds, epochs, naive times in the source's
zone (flagged as guessed), bare dates left as dates; a bad value names its field."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from sherlock.storage.importers.times import Timestamp, parse_timestamp, utc_times


@pytest.mark.parametrize("value, iso, guessed", [
    ("2022-02-03T11:33:07.230-0500", "2022-02-03T16:33:07.230000+00:00", False),   # Jira: offset without a colon
    ("2021-06-14T15:22:58.891-04:00", "2021-06-14T19:22:58.891000+00:00", False),
    ("2021-08-17T13:28:57.801578Z", "2021-08-17T13:28:57.801578+00:00", False),    # incident.io: microseconds, Z
    ("2025-09-05T02:33:44.675-07:00", "2025-09-05T09:33:44.675000+00:00", False),  # Rootly
    ("2024-05-01T10:15:00+0530", "2024-05-01T04:45:00+00:00", False),
    ("2019-09-02 23:09:51", "2019-09-02T23:09:51+00:00", True),                    # ServiceNow: no zone
    (1700000000, "2023-11-14T22:13:20+00:00", False),                              # epoch seconds
    (1700000000123, "2023-11-14T22:13:20.123000+00:00", False),                    # epoch milliseconds
    ("2024-03-12", "2024-03-12", False),                                           # a date stays a date
    (datetime(2024, 1, 1, 12, tzinfo=timezone(timedelta(hours=2))), "2024-01-01T10:00:00+00:00", False),
])
def test_parse_timestamp(value, iso, guessed):
    assert parse_timestamp(value) == Timestamp(iso, guessed)


def test_a_naive_time_is_read_in_the_given_zone():
    assert parse_timestamp("2024-01-01 09:00:00", timezone(timedelta(hours=-5))).iso == "2024-01-01T14:00:00+00:00"
    assert parse_timestamp("2024-01-01 09:00:00", UTC).zone_guessed


@pytest.mark.parametrize("value", [None, ""])
def test_nothing_is_none(value):
    assert parse_timestamp(value) is None


@pytest.mark.parametrize("value", ["yesterday", "Today 12:51 AM", True, ["2024"]])
def test_bad_values_raise(value):
    with pytest.raises(ValueError):
        parse_timestamp(value)


def test_utc_times_names_guessed_fields_and_bad_ones():
    times, guessed = utc_times({"created_at": "2019-09-02 23:09:51", "resolved_at": "2019-09-03T00:00:00Z",
                                "closed_at": None})
    assert times == {"created_at": "2019-09-02T23:09:51+00:00", "resolved_at": "2019-09-03T00:00:00+00:00",
                     "closed_at": None}
    assert guessed == ["created_at"]
    with pytest.raises(ValueError, match="field 'resolved_at': 'soon' is not an ISO 8601 timestamp"):
        utc_times({"resolved_at": "soon"})
