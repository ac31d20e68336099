"""Each source's paging against the stand-in SaaS server (a real local HTTP server that plays each vendor's API with
its documented paging and limits over the vendors' sample payloads — it stands in for the SaaS, it is not a mock of
Sherlock's code): every item once, in order, through the API's own paging mechanism; PagerDuty's date slices."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from sherlock.sync import NAMES
from sherlock.sync.base import utc
from sherlock.sync.run import SOURCES
from tests.sync.saas import BASE_TIME


def fetch(settings, source: str, since=None, until=None, query=None, cursor=None) -> list[Any]:
    """The pages a source's generator yields for these arguments."""
    chosen = SOURCES[source]
    with chosen.connect(settings) as client:
        return list(chosen.pages(client, settings, since, until, query, cursor))


def ids(source: str, pages: list[Any]) -> list[str | None]:
    records = [SOURCES[source].to_record(item) for page in pages for item in page.items]
    return [record["id"] if record else None for record in records]


def params(call) -> dict[str, str]:
    return {key: values[-1] for key, values in call.query.items()}


@pytest.mark.parametrize("source", [*NAMES, "jira-server"])
def test_every_item_comes_once_in_pages_of_the_asked_size(saas, sync_settings, source):
    name, version = ("jira", "2") if source == "jira-server" else (source, "3")
    seeded = saas.seed(name, 10)
    pages = fetch(sync_settings(jira_api_version=version), name)
    assert [len(page.items) for page in pages] == [3, 3, 3, 1]
    expected = [SOURCES[name].to_record(item) for item in seeded]
    assert ids(name, pages) == [record["id"] if record else None for record in expected]
    assert all(call.answered == 200 for call in saas.calls)


def test_pagerduty_pages_by_offset_asking_for_the_total_once(saas, sync_settings):
    saas.seed("pagerduty", 7)
    fetch(sync_settings(), "pagerduty", since=BASE_TIME, until=BASE_TIME + timedelta(days=30))
    listing = [params(call) for call in saas.seen("/incidents")]
    assert [(p["offset"], p["limit"], p.get("total")) for p in listing] == [("0", "3", "true"), ("3", "3", None),
                                                                            ("6", "3", None)]
    assert all(p["sort_by"] == "created_at:asc" for p in listing)
    # each resolved incident's notes, for its resolution
    assert len([call for call in saas.calls if call.path.endswith("/notes")]) == 7


def test_jira_cloud_follows_next_page_token_with_every_field_and_the_names(saas, sync_settings):
    saas.seed("jira", 7)
    pages = fetch(sync_settings(), "jira", query="project = OPS")
    bodies = [call.body for call in saas.seen("/rest/api/3/search/jql", "POST")]
    assert [bool(body.get("nextPageToken")) for body in bodies] == [False, True, True]
    assert all(body["fields"] == ["*all"] and body["expand"] == "names" for body in bodies)
    assert bodies[0]["jql"] == "(project = OPS) ORDER BY updated ASC"
    record = SOURCES["jira"].to_record(pages[0].items[0])
    assert record["root_cause"] == "Disk filled by debug logs left on after a deploy"  # a custom field, by its name


def test_jira_server_pages_by_start_at_up_to_the_total(saas, sync_settings):
    saas.seed("jira", 7)
    pages = fetch(sync_settings(jira_api_version="2"), "jira")
    assert [params(call)["startAt"] for call in saas.seen("/rest/api/2/search")] == ["0", "3", "6"]
    assert [page.total for page in pages] == [7, 7, 7]


def test_jira_times_are_written_in_the_api_users_time_zone(saas, sync_settings):
    saas.seed("jira", 10)  # one a day from 2025-01-01 00:00 UTC; the user's profile is in America/New_York
    pages = fetch(sync_settings(), "jira", since=BASE_TIME + timedelta(days=5), until=BASE_TIME + timedelta(days=8))
    assert ids("jira", pages) == ["OPS-6", "OPS-7", "OPS-8", "OPS-9"]
    jql = saas.seen("/rest/api/3/search/jql", "POST")[0].body["jql"]
    assert jql == 'updated >= "2025-01-05 19:00" AND updated <= "2025-01-08 19:00" ORDER BY updated ASC'


def test_servicenow_pages_by_offset_and_stops_at_the_total_count(saas, sync_settings):
    saas.seed("servicenow", 10)  # every third is inactive, as the sample's first incident
    pages = fetch(sync_settings(), "servicenow", since=BASE_TIME + timedelta(days=1), query="active=true")
    calls = [params(call) for call in saas.seen("/api/now/table/incident")]
    assert [call["sysparm_offset"] for call in calls] == ["0", "3"]  # 6 match: the total stops it, no empty page
    assert calls[0]["sysparm_query"] == "sys_updated_on>=2025-01-02 00:00:00^active=true^ORDERBYsys_updated_on"
    assert [page.total for page in pages] == [6, 6]


def test_github_follows_the_link_header_and_stops_at_until(saas, sync_settings):
    saas.seed("github", 16)  # the sample: 13 issues and 3 pull requests
    pages = fetch(sync_settings(), "github", until=BASE_TIME + timedelta(days=10, hours=12))
    calls = [params(call) for call in saas.seen("/repos/betamaxpy/betamax/issues")]
    assert [call.get("page", "1") for call in calls] == ["1", "2", "3", "4"]  # stopped at the first issue past until
    assert all(call["state"] == "all" and call["sort"] == "updated" and call["direction"] == "asc" for call in calls)
    found = ids("github", pages)
    assert len(found) == 11 and found.count(None) == 1  # one pull request, skipped by the importer


def test_github_query_adds_list_filters_but_not_paging_ones(saas, sync_settings):
    saas.seed("github", 4)
    fetch(sync_settings(), "github", query="labels=bug")
    assert params(saas.seen("/repos/betamaxpy/betamax/issues")[0])["labels"] == "bug"
    with pytest.raises(ValueError, match="cannot set per_page"):
        fetch(sync_settings(), "github", query="per_page=5")


def test_incidentio_follows_the_after_cursor_with_date_filters(saas, sync_settings):
    saas.seed("incidentio", 10)
    pages = fetch(sync_settings(), "incidentio", since=BASE_TIME + timedelta(days=3, hours=5))
    calls = [params(call) for call in saas.seen("/v2/incidents")]
    assert calls[0]["updated_at[gte]"] == "2025-01-04" and "after" not in calls[0]
    assert [call.get("after") for call in calls[1:]] == [page.resume["after"] for page in pages[:-1]]
    assert ids("incidentio", pages) == [f"INC-{n}" for n in range(4, 11)]


@pytest.mark.parametrize("source", NAMES)
def test_a_cursor_resumes_where_the_last_stored_page_ended(saas, sync_settings, source):
    saas.seed(source, 10)
    first = fetch(sync_settings(), source)
    again = fetch(sync_settings(), source, cursor=first[1].resume)
    done = set(ids(source, first[:2]))
    refetched = [found for found in ids(source, again) if found in done]
    assert len(refetched) <= 1  # at most the boundary item (a time cursor is inclusive)
    assert set(ids(source, again)) | done == set(ids(source, first))


def test_pagerduty_reads_thirteen_months_in_slices_of_at_most_six(saas, sync_settings):
    saas.seed("pagerduty", 40, step=timedelta(days=10))  # 390 days
    pages = fetch(sync_settings(), "pagerduty", since=BASE_TIME, until=BASE_TIME + timedelta(days=396))
    windows = sorted({(p["since"], p["until"]) for p in map(params, saas.seen("/incidents"))})
    assert len(windows) >= 3
    spans = [(utc(low), utc(high)) for low, high in windows]
    assert all(high - low <= timedelta(days=180) for low, high in spans)
    assert all(spans[i][1] == spans[i + 1][0] for i in range(len(spans) - 1))  # contiguous
    assert ids("pagerduty", pages) == [f"PD-{1001 + n}" for n in range(40)]


def test_a_pagerduty_slice_past_ten_thousand_is_split_in_half(saas, sync_settings):
    saas.data["pagerduty"] = [{"id": f"PB{n:05d}", "incident_number": n, "title": f"disk full {n}",
                               "status": "triggered", "urgency": "high", "service": {"summary": "payments"},
                               "created_at": (BASE_TIME + timedelta(minutes=3 * n)).strftime("%Y-%m-%dT%H:%M:%SZ")}
                              for n in range(12_000)]  # 25 days
    pages = fetch(sync_settings(sync_page_size=100), "pagerduty", since=BASE_TIME,
                  until=BASE_TIME + timedelta(days=30))
    numbers = [item["incident_number"] for page in pages for item in page.items]
    assert numbers == list(range(12_000))  # every one, once, in order
    calls = [params(call) for call in saas.seen("/incidents")]
    assert all(call.answered == 200 for call in saas.seen("/incidents"))  # never past offset+limit 10,000
    first = [call for call in calls if call.get("total") == "true"]
    assert (first[0]["since"], first[0]["until"]) == ("2025-01-01T00:00:00Z", "2025-01-31T00:00:00Z")
    assert len({(call["since"], call["until"]) for call in calls if call["offset"] != "0"}) == 2  # two halves read
