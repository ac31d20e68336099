"""Markdown postmortems: real reports (DFDS, mybinder.org) read in place from ``../shared/data`` with ids, titles,
times and sections worked out by hand from the files; every empty template rejected; heading matching, front
matter and the order of date sources on small documents written here."""

from datetime import UTC, date, datetime

import pytest

from sherlock.schema import Incident
from sherlock.storage.importers.postmortem import match_heading, normalise_heading, postmortem_record, read_markdown
from sherlock.storage.ingest import detect_format, ingest_file, read_file

MARKUP = ("#", "**", "](")


@pytest.fixture(scope="session")
def dfds(shared_data):
    return shared_data / "postmortems" / "dfds-raw"


@pytest.fixture(scope="session")
def mybinder(shared_data):
    return shared_data / "exports" / "postmortems-md" / "mybinder"


def incident_of(path) -> Incident:
    (record,) = read_markdown(path)
    assert not isinstance(record.data, Exception), record.data
    return Incident.from_record(record.data)


def no_markup(*texts: str) -> bool:
    return not any(mark in text for text in texts for mark in MARKUP)


# -- real reports -----------------------------------------------------------------------------------------------------

DFDS = [  # file stem, id, title, created_at (the first timeline row, in the zone the report states)
    ("PM2020-004 - CoreDNS upgrade issue", "PM2020-004", "CoreDNS upgrade issue",
     datetime(2020, 2, 3, 10, 21, tzinfo=UTC)),  # 11:21 "All times in CET."
    ("PM2019-010 - Hellman Kubernetes cluster node deletion", "PM2019-010", "Hellman Kubernetes cluster node deletion",
     datetime(2019, 12, 3, 23, 30, tzinfo=UTC)),  # "|   2019-12-04 00:30   |" under "Date and Time in CET"
    ("PM2021-011 - Log4Shell", "PM2021-011", "Log4Shell investigations", date(2021, 12, 10)),  # a date, no time
    ("PM2022-001 - Prometheus is down with connection refused errors", "PM2022-001",
     "Prometheus is down with connection refused errors", datetime(2022, 1, 25, 10, 21, tzinfo=UTC)),  # UTC
]


@pytest.mark.parametrize("stem, incident_id, title, created", DFDS, ids=[row[1] for row in DFDS])
def test_dfds_reports(dfds, stem, incident_id, title, created):
    incident = incident_of(dfds / f"{stem}.md")
    assert (incident.id, incident.title, incident.created_at) == (incident_id, title, created)
    assert incident.extra["source"] == "markdown" and incident.extra["path"] == f"{stem}.md"
    assert incident.extra["created_at_from"] == "timeline" and "time_zone_guessed" not in incident.extra
    assert incident.resolution == ""  # DFDS reports have no resolution section
    assert no_markup(incident.title, incident.description, incident.root_cause)


def test_dfds_sections_land_in_their_fields(dfds):
    incident = incident_of(dfds / "PM2020-004 - CoreDNS upgrade issue.md")
    assert incident.description.startswith("On Monday 3. February 2020, a planned upgrade of the Hellman")
    assert incident.description.endswith("implemented the vendor specific fix to solve the issue.")
    assert incident.root_cause == (  # "Contributing Factors"
        "- Amazon specific release notes differs from official CoreDNS release notes\n"
        "- Node rollover requires hands-on, which removes focus from observing cluster state\n"
        "- Missing physical war room")
    assert incident.category == "Kubernetes"  # "- Category: Kubernetes" under "# Stats"
    sections = incident.extra["sections"]
    assert list(sections) == ["Timeline", "Lessons Learned", "Action Items", "Stats"]
    assert "2020-02-03 11:52 | CoreDNS deployment manually downgraded, which solved the issue" in sections["Timeline"]


def test_dfds_bold_label_headings_inside_a_summary(dfds):
    """PM2019-009 writes "**The underlying issue**:" and "**What happened?**:" inside its Summary: the first is the
    root cause (before the Contributing Factors section), the second stays in the description."""
    incident = incident_of(dfds / "PM2019-009 - Kubernetes network infrastructure IP starvation.md")
    assert incident.root_cause.startswith("A quick TL;DR of the underlying technical issue.\nOur cluster runs in")
    assert "What happened?\nOn Saturday 30 November 2019, we got an automated warning" in incident.description
    assert "The underlying issue" not in incident.description and "TL;DR" not in incident.description
    assert incident.extra["sections"]["Contributing Factors"].startswith("- No monitoring of network subnet")
    assert no_markup(incident.description, incident.root_cause)


def test_dfds_links_become_their_text(dfds):
    incident = incident_of(dfds / "PM2019-010 - Hellman Kubernetes cluster node deletion.md")
    assert incident.root_cause.startswith("While we consider the lack of Least-privilege in Hellman Kubernetes")
    assert "(see post-mortem PM2019-009)" in incident.root_cause
    log4shell = incident_of(dfds / "PM2021-011 - Log4Shell.md")
    assert "CVE details: https://nvd.nist.gov/vuln/detail/CVE-2021-44228" in log4shell.description
    assert log4shell.id == "PM2021-011"  # CVE-2021-44228 is not an incident id


MYBINDER = [  # file stem, title, created_at, where it was read
    ("2017-09-27-hub-403", "2017-09-27, Hub 403", datetime(2017, 9, 27, 21, 6, tzinfo=UTC), "timeline"),  # Sep 27
    # 2017 13:06, "All times in PST" (-8)
    ("2018-01-18-reddit-hug", "2018-01-18, reddit hugs mybinder", datetime(2018, 1, 18, 12, 19, tzinfo=UTC),
     "timeline"),  # "### 2018-01-18 4:19", PST
    ("2022-01-27-prime-version", "2022-01-27, stale prime version", datetime(2022, 1, 27, 10, 0, tzinfo=UTC),
     "timeline"),  # 11:00 CET
    ("2018-07-30-jupyterlab-build-cpu-saturate", "2018-07-30 JupyterLab builds saturate BinderHub CPU",
     datetime(2018, 7, 30, 18, 20, tzinfo=UTC), "timeline"),  # "2018-07-30 ca. 11:20", "PST (UTC-7)": the offset
    ("2020-07-09-simultaneous-launches-scipy",
     "2020-07-09, Simultaneous launches (aka, SciPy gives Binder a lot of hugs at the same time)", date(2020, 7, 9),
     "title"),  # the timeline has times ("07:30am") but no date
    ("2019-02-20-no-logs", "incident date: 2019-02-20, kubectl logs unavailable", date(2019, 2, 20), "date line"),
]


@pytest.mark.parametrize("stem, title, created, source", MYBINDER, ids=[row[0] for row in MYBINDER])
def test_mybinder_reports(mybinder, stem, title, created, source):
    incident = incident_of(mybinder / f"{stem}.md")
    assert (incident.id, incident.title, incident.created_at) == (stem, title, created)
    assert incident.extra["created_at_from"] == source
    assert incident.description and no_markup(incident.description)
    assert "Timeline" in incident.extra["sections"]


def test_mybinder_summary_is_the_description(mybinder):
    incident = incident_of(mybinder / "2018-01-18-reddit-hug.md")
    assert incident.description == ("A repo is posted to reddit /r/python, it starts getting popular. Traffic starts\n"
                                    "building from around 6pm. Peaks at about 6am with 600 running pods.")
    assert (incident.root_cause, incident.resolution) == ("", "")  # no such headings in mybinder's template
    prime = incident_of(mybinder / "2022-01-27-prime-version.md")
    assert prime.description.endswith("restored without intervention.\nGrafana chart showing traffic to other "
                                      "federation members dropping for hours, then rising again")  # image: alt text


def test_code_blocks_survive_verbatim(mybinder):
    timeline = incident_of(mybinder / "2018-01-18-reddit-hug.md").extra["sections"]["Timeline"]
    assert ">>> requests.get('http://10.12.6.136:8888/')\n<Response [404]>\n" in timeline
    timeline = incident_of(mybinder / "2017-09-27-hub-403.md").extra["sections"]["Timeline"]
    assert ("   [W 2017-09-28 16:20:51.785 JupyterHub base:350] Failed login for unknown user\n"
            "   [W 2017-09-28 16:20:51.787 JupyterHub log:122] 403 GET /hub/login?next=%2Fhub%2Fuser%2F") in timeline
    timeline = incident_of(mybinder / "2022-01-27-prime-version.md").extra["sections"]["Timeline"]
    assert 'resource.type="k8s_pod" resource.labels.cluster_name="prod"\nresource.labels.pod_name=~"^binder.*"' \
        in timeline


def test_every_template_is_rejected_as_empty(shared_data):
    templates = sorted((shared_data / "exports" / "postmortems-md" / "templates").glob("*.md"))
    assert len(templates) == 7
    for path in templates:
        report, good = read_file(path)
        assert (report.format, report.records, good) == ("markdown", 1, []), path.name
        (rejection,) = report.rejected
        assert str(rejection) == f"{path}:1: only headings, no text: an empty template? Fill in its sections, or " \
                                 "leave the file out"


def test_ingest_one_report_end_to_end(store, dfds):
    path = dfds / "PM2020-004 - CoreDNS upgrade issue.md"
    assert detect_format(path) == "markdown"
    report = ingest_file(store, path)
    assert (report.format, report.status, report.added, report.rejected) == ("markdown", "ok", ["PM2020-004"], [])
    stored = store.get("PM2020-004")
    assert stored.root_cause.startswith("- Amazon specific release notes")
    assert stored.extra["sections"]["Stats"].endswith("- Time to recovery: 31 minutes")
    assert ingest_file(store, path).unchanged == ["PM2020-004"]


# -- headings ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("heading, kind", [
    ("Summary", "summary"), ("Incident summary", "summary"), ("Issue Summary", "summary"),
    ("Executive Summary", "summary"), ("1. Summary", "summary"), ("2) Impact:", "impact"),
    ("1.2 Root cause", "root_cause"), ("Root Cause(s)", "root_cause"), ("Root Causes", "root_cause"),
    ("ROOT CAUSE:", "root_cause"), ("🔥 Root cause 🔥", "root_cause"), ("Root-cause analysis", "root_cause"),
    ("What caused the incident?", "root_cause"), ("**Root cause**", "root_cause"),
    ("Root cause and mitigation", "root_cause_and_mitigation"),
    ("Root Cause & Mitigation", "root_cause_and_mitigation"),
    ("Resolution", "resolution"), ("Resolution and recovery", "resolution"),
    ("Mitigation & Resolution", "resolution"), ("Recovery", "resolution"), ("✅ Mitigation", "resolution"),
    ("Contributing Factors (findings)", "contributing_factors"), ("Five whys", "contributing_factors"),
    ("Fault", "contributing_factors"), ("Trigger(s)", "trigger"),
    ("Timeline", "timeline"), ("Incident Timeline", "timeline"), ("Date", "date"), ("Start Date/Time", "date"),
    ("Severity", "severity"), ("Lessons learnt", None), ("Action Items", None), ("Detection", None),
])
def test_heading_matching(heading, kind):
    rule = match_heading(heading)
    assert (rule.kind if rule else None) == kind


def test_heading_normalisation():
    assert normalise_heading("2) Root Cause(s):") == "root causes"
    assert normalise_heading("🔥 Mitigation & Resolution") == "mitigation and resolution"
    assert normalise_heading("IV. Start Date/Time") == "start date and time"
    assert normalise_heading("5 whys") == "5 whys"  # a number that is not numbering


def test_root_cause_and_mitigation_beats_resolution_beats_root_cause():
    text = ("# Storage outage\n\n## Root cause and mitigation\n\nA bad config push. We rolled it back.\n\n"
            "## Resolution\n\nRolled back the config.\n\n## Root cause\n\nThe push skipped the canary.\n")
    record = postmortem_record(text, "outage.md")
    assert record["root_cause"] == "A bad config push. We rolled it back."
    assert record["resolution"] == "Rolled back the config."
    assert record["extra"]["sections"] == {"Root cause": "The push skipped the canary."}


def test_bold_lines_and_labels_are_headings_when_the_table_knows_them():
    text = ("# Checkout errors\n\n**Summary**: Checkout failed for 20 minutes.\n\n**Root cause**\n\n"
            "The disk filled up:\n\n```\nOSError: [Errno 28] No space left on device\n```\n\n"
            "**Note**\n\nstill the root cause\n\nResolution:\nCleared /var/log and added an alert.\n")
    record = postmortem_record(text, "checkout.md")
    assert record["description"] == "Checkout failed for 20 minutes."
    assert record["root_cause"] == ("The disk filled up:\nOSError: [Errno 28] No space left on device\n"
                                    "Note\nstill the root cause")
    assert record["resolution"] == "Cleared /var/log and added an alert."


SRE_BOOK = """# Shakespeare Sonnet++ Postmortem (incident #465)

**Date**: 2015-10-21

**Authors**: jennifer, martym, agoogler

**Summary**: Shakespeare Search down for 66 minutes.

**Impact**: Estimated 1.21B queries lost, no revenue impact.

**Root Causes**: Cascading failure due to a resource leak.

**Trigger**: Latent bug triggered by sudden increase in traffic.

**Resolution**: Directed traffic to sacrificial cluster.

**Detection**: Borgmon detected high level of HTTP 500s and paged on-call.
"""


def test_sre_book_label_lines():
    """The SRE book's example writes its sections as bold labels: a label the table does not know (Detection)
    ends the one before it, and the text before the first section is kept as the intro."""
    record = postmortem_record(SRE_BOOK, "shakespeare.md")
    assert (record["description"], record["root_cause"], record["resolution"]) == (
        "Shakespeare Search down for 66 minutes.", "Cascading failure due to a resource leak.",
        "Directed traffic to sacrificial cluster.")
    assert record["created_at"] == "2015-10-21" and record["extra"]["created_at_from"] == "date line"
    assert record["extra"]["sections"] == {
        "Impact": "Estimated 1.21B queries lost, no revenue impact.",
        "Trigger": "Latent bug triggered by sudden increase in traffic.",
        "Detection": "Borgmon detected high level of HTTP 500s and paged on-call."}
    assert record["extra"]["intro"] == "Date: 2015-10-21\nAuthors: jennifer, martym, agoogler"


def test_setext_headings_in_a_text_file():
    text = "Database outage\n===============\n\nSummary\n-------\nPrimary failed over.\n\nRoot cause\n" \
           "----------\nDisk full.\n"
    record = postmortem_record(text, "db.txt")
    assert (record["title"], record["description"], record["root_cause"]) == (
        "Database outage", "Primary failed over.", "Disk full.")


def test_impact_describes_when_there_is_no_summary():
    record = postmortem_record("# API down\n\n## Impact\n\nAll API calls failed.\n\n## Trigger\n\nA deploy.\n",
                               "api.md")
    assert (record["description"], record["root_cause"]) == ("All API calls failed.", "A deploy.")


def test_plain_text_without_headings():
    record = postmortem_record("The VPN dropped every session at 09:00.\nRestarted the gateway.\n", "vpn_outage.txt")
    assert (record["id"], record["title"]) == ("vpn_outage", "Vpn outage")
    assert record["description"] == "The VPN dropped every session at 09:00.\nRestarted the gateway."


# -- front matter, ids and dates --------------------------------------------------------------------------------------

FRONT = """---
id: INC-2041
title: Payments API returning 502
date: 2024-03-12 14:05
resolved_at: 2024-03-12T15:35:00+01:00
severity: SEV2
tags: [payments, nginx, 2024]
service: payments-api
authors: [ana, bo]
---
# Something else

All times in CET.

## Summary

Upstream keepalive exhausted.
"""


def test_front_matter():
    record = postmortem_record(FRONT, "2024/payments.md")
    incident = Incident.from_record(record)
    assert (incident.id, incident.title, incident.severity, incident.tags, incident.service) == (
        "INC-2041", "Payments API returning 502", "SEV2", ["payments", "nginx", "2024"], "payments-api")
    assert incident.created_at == datetime(2024, 3, 12, 13, 5, tzinfo=UTC)  # 14:05 CET
    assert incident.minutes_to_resolve() == 90  # 13:05 to 15:35+01:00 (14:35) UTC
    assert incident.extra["authors"] == ["ana", "bo"] and incident.extra["severity_level"] == 2
    assert incident.extra["path"] == "2024/payments.md" and incident.extra["created_at_from"] == "front matter"


def test_bad_front_matter_is_named_at_its_line():
    with pytest.raises(ValueError, match="front matter is not valid YAML") as error:
        postmortem_record("---\ntitle: x\ntags: [a, b\n---\n# X\n\ntext\n", "x.md")
    assert error.value.line == 3  # the unclosed list
    with pytest.raises(ValueError, match="front matter 'date': 'last tuesday' is not a date") as error:
        postmortem_record("---\ntitle: x\ndate: last tuesday\n---\n# X\n\ntext\n", "x.md")
    assert error.value.line == 3


@pytest.mark.parametrize("title, stem, expected", [
    ("INC-123: Database failover", "db.md", "INC-123"),
    ("[OPS-45] Disk full on worker-3", "disk.md", "OPS-45"),
    ("CVE-2021-44228 response", "PM2021-011 - Log4Shell.md", "PM2021-011"),
    ("UTF-8 decoding errors", "utf8 errors.md", "utf8-errors"),
    ("SEV-1 outage", "2023-01-05-outage.md", "2023-01-05-outage"),
])
def test_ids(title, stem, expected):
    assert postmortem_record(f"# {title}\n\n## Summary\n\nIt broke.\n", stem)["id"] == expected


DATE_SOURCES = ("front matter", "date line", "timeline", "title", "file name")


def dated(first: str) -> str:
    """A report whose dates are given by ``first`` and every later source, none by an earlier one."""
    present = DATE_SOURCES[DATE_SOURCES.index(first):]
    front = "---\ndate: 2021-01-01\n---\n" if "front matter" in present else ""
    title = "2021-04-04, disk full" if "title" in present else "Disk full"
    date_line = "**Date**: 2021-02-02\n\n" if "date line" in present else ""
    timeline = ("## Timeline\n\nAll times in UTC.\n\n| Time | Event |\n|---|---|\n| 2021-03-03 10:00 | paged |\n"
                if "timeline" in present else "")
    return f"{front}# {title}\n\n{date_line}## Summary\n\nIt broke.\n\n{timeline}"


@pytest.mark.parametrize("source, expected", [
    ("front matter", date(2021, 1, 1)), ("date line", date(2021, 2, 2)),
    ("timeline", datetime(2021, 3, 3, 10, 0, tzinfo=UTC)), ("title", date(2021, 4, 4)), ("file name", date(2021, 5, 5)),
])
def test_dates_in_order_of_sources(source, expected):
    record = postmortem_record(dated(source), "2021-05-05-disk.md")  # the file name always has a date
    assert Incident.from_record(record).created_at == expected
    assert record["extra"]["created_at_from"] == source


def test_a_time_without_a_zone_is_utc_and_says_so():
    record = postmortem_record("# X\n\n## Timeline\n\n### 2021-03-03 10:00\n\nPaged.\n", "x.md")
    assert record["created_at"] == "2021-03-03T10:00:00+00:00"
    assert record["extra"]["time_zone_guessed"] == "UTC"


def test_a_date_line_that_is_no_date_is_named_at_its_line():
    with pytest.raises(ValueError, match="date '21/10/2015' is not a date this reader knows") as error:
        postmortem_record("# X\n\nDate: 21/10/2015\n\n## Summary\n\nIt broke.\n", "x.md")
    assert error.value.line == 3
    with pytest.raises(ValueError, match="is not a date") as error:
        postmortem_record("# X\n\n## Summary\n\nIt broke.\n\n### Date\n\n13/14/2015\n", "x.md")
    assert error.value.line == 7  # the heading of the section at fault
