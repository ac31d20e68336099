"""Dates and times as postmortems write them → a calendar date, or an aware UTC datetime.

Read: ISO dates (``2020-02-03``, ``2020/02/03``) with an optional time (``2020-02-03 11:21``, ``…T11:21:00Z``,
``2018-07-08 ca. 18:30``, ``4:19pm``), and month names either way round (``Sep 27 2017 13:06``, ``3. February 2020``,
``October 21st, 2015``). A time's zone is its own (``Z``, ``+02:00``, ``UTC+2``, ``PST``) or the one the report
states ("All times in CET (GMT+1)", "Date and Time in CET", "all times in Pacific Time"); an abbreviation means its
fixed offset as written (CET is +01:00 even in summer: the author's words are kept), a region name ("Pacific") its
IANA zone with daylight saving. Without either the time is read as UTC, and reported as guessed. A bare date stays a
date: it has no time to convert.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from typing import NamedTuple
from zoneinfo import ZoneInfo

#: Zone abbreviations and their offsets in hours (IST is India's, CST the US's: the common readings).
ZONES = {
    "UTC": 0, "GMT": 0, "Z": 0, "WET": 0, "WEST": 1, "BST": 1, "CET": 1, "MET": 1, "CEST": 2, "MEST": 2, "EET": 2,
    "EEST": 3, "MSK": 3, "IST": 5.5, "SGT": 8, "HKT": 8, "JST": 9, "KST": 9, "AEST": 10, "AEDT": 11, "NZST": 12,
    "NZDT": 13, "EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8, "PDT": -7,
    "AKST": -9, "AKDT": -8, "HST": -10,
}
#: Region words and their IANA zones, most specific first.
REGIONS = (("central european", "Europe/Berlin"), ("pacific", "America/Los_Angeles"),
           ("mountain", "America/Denver"), ("eastern", "America/New_York"), ("central", "America/Chicago"))

MONTH = (r"(?P<month>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
         r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?")
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
DATES = (
    re.compile(r"(?<![\d-])(?P<year>\d{4})(?P<sep>[-/])(?P<month>\d{1,2})(?P=sep)(?P<day>\d{1,2})(?!\d)"),
    re.compile(rf"(?i)\b{MONTH}\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<year>\d{{4}})(?!\d)"),
    re.compile(rf"(?i)(?<!\d)(?P<day>\d{{1,2}})(?:st|nd|rd|th|\.)?\s+{MONTH},?\s+(?P<year>\d{{4}})(?!\d)"),
)
TIME = re.compile(r"(?:T|,?\s+(?:at\s+|ca\.?\s*|~\s*)?)(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?"
                  r"(?:\.\d+)?(?:\s*(?P<half>(?i:[ap]\.?m\b\.?)))?"
                  r"(?:\s*(?P<zone>Z\b|(?:UTC|GMT)(?:\s*[+-]\s*\d{1,2}(?::?\d{2})?)?|[+-]\d{2}:?\d{2}|[A-Z]{3,4}\b))?")
OFFSET = re.compile(r"(?:UTC|GMT)?\s*(?P<sign>[+-])\s*(?P<hours>\d{1,2})(?::?(?P<minutes>\d{2}))?")
STATED = re.compile(r"(?i)\btimes?\s+(?:are\s+|is\s+)?in\s+([^\n|]{1,60})")


class When(NamedTuple):
    """A date, or an aware UTC datetime; ``zone_guessed`` when a time had no zone and UTC was assumed."""

    value: date | datetime
    zone_guessed: bool


def first_when(text: str, zone: tzinfo | None = None) -> When | None:
    """The first valid date in ``text``, with the time written right after it when there is one (read in its own
    zone, else ``zone``, else UTC, guessed). None when ``text`` holds no date."""
    matches = sorted((match for pattern in DATES for match in pattern.finditer(text)), key=lambda m: m.start())
    for match in matches:
        day = _day(match)
        if day is None:
            continue
        clock = TIME.match(text, match.end())
        moment = _clock(clock) if clock else None
        if moment is None:
            return When(day, False)
        own = zone_of(clock.group("zone")) if clock and clock.group("zone") else None
        return in_utc(datetime.combine(day, moment), own or zone)
    return None


def in_utc(moment: datetime, zone: tzinfo | None = None) -> When:
    """``moment`` in UTC: its own zone if it has one, else ``zone``, else UTC (guessed)."""
    if moment.tzinfo is not None:
        return When(moment.astimezone(UTC), False)
    return When(moment.replace(tzinfo=zone or UTC).astimezone(UTC), zone is None)


def stated_zone(text: str) -> tzinfo | None:
    """The zone a report states its times in ("All times in PST (UTC-7)"), or None."""
    for match in STATED.finditer(text):
        zone = zone_of(match.group(1))
        if zone is not None:
            return zone
    return None


def zone_of(phrase: str) -> tzinfo | None:
    """A zone from words: an offset (``UTC+2``, ``+02:00``) first, then an IANA name, an abbreviation of
    :data:`ZONES`, a region of :data:`REGIONS`; None when none is there."""
    offset = re.search(r"(?:UTC|GMT)\s*[+-]\s*\d{1,2}(?::?\d{2})?|^[+-]\d{2}:?\d{2}$", phrase.strip())
    if offset:
        parts = OFFSET.fullmatch(offset.group(0).strip())
        if parts:
            size = timedelta(hours=int(parts["hours"]), minutes=int(parts["minutes"] or 0))
            return timezone(size if parts["sign"] == "+" else -size)
    for name in re.findall(r"\b[A-Z][A-Za-z_]+/[A-Z][A-Za-z_]+\b", phrase):
        try:
            return ZoneInfo(name)
        except (KeyError, ValueError):
            continue
    for token in re.findall(r"\b[A-Z]{1,5}\b", phrase):
        if token in ZONES:
            return timezone(timedelta(hours=ZONES[token]), token)
    lower = phrase.lower()
    for word, name in REGIONS:
        if word in lower:
            try:
                return ZoneInfo(name)
            except (KeyError, ValueError):
                return None
    return None


def _day(match: re.Match[str]) -> date | None:
    month = match.group("month")
    number = int(month) if month.isdigit() else MONTHS.index(month[:3].lower()) + 1
    try:
        return date(int(match.group("year")), number, int(match.group("day")))
    except ValueError:
        return None


def _clock(match: re.Match[str]) -> time | None:
    hour, minute = int(match.group("hour")), int(match.group("minute"))
    half = (match.group("half") or "").lower()[:1]
    if half and 1 <= hour <= 12:
        hour = hour % 12 + (12 if half == "p" else 0)
    try:
        return time(hour, minute, int(match.group("second") or 0))
    except ValueError:
        return None
