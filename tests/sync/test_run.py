"""``sync_source`` into a real workspace from the stand-in SaaS server (a real local HTTP server playing each vendor's
API over the vendors' sample payloads — it stands in for the SaaS, it is not a mock of Sherlock's code): stored and
searchable by id, the incremental watermark (the next sync fetches only what changed; an edit updates the stored
incident, nothing is duplicated), resuming an interrupted sync, 429s, rejected items, PagerDuty notes and open
incidents, missing credentials."""

from __future__ import annotations

import pytest

from sherlock.sync.http import SyncError
from sherlock.sync.run import SOURCES, sync_source
from sherlock.sync.watermarks import Watermarks, state_path
from tests.sync.saas import CREDENTIALS

LIST_PATH = {"pagerduty": "/incidents", "jira": "/rest/api/3/search/jql", "servicenow": "/api/now/table/incident",
             "github": "/repos/betamaxpy/betamax/issues", "incidentio": "/v2/incidents"}


def ids_of(source: str, items: list[dict]) -> set[str]:
    records = (SOURCES[source].to_record(item) for item in items)
    return {record["id"] for record in records if record}


@pytest.mark.parametrize("source", ["pagerduty", "jira", "jira-server", "servicenow", "github", "incidentio"])
def test_the_next_sync_fetches_only_what_changed_and_an_edit_updates_in_place(saas, sync_workspace, source):
    name, version = ("jira", "2") if source == "jira-server" else (source, "3")
    workspace = sync_workspace(jira_api_version=version)
    seeded = saas.seed(name, 8)
    expected = ids_of(name, seeded)

    first = sync_source(workspace, name)
    assert (first.fetched, first.added, first.updated) == (8, len(expected), 0)
    assert first.skipped == 8 - len(expected) and not first.rejected  # GitHub: pull requests
    assert workspace.store.count() == len(expected) and first.watermark

    again = sync_source(workspace, name)
    # only the newest, within the overlap (incident.io filters by date: the watermark's day, from its first minute)
    overlap = 2 if name == "incidentio" else 1
    assert again.fetched <= overlap and (again.added, again.updated) == (0, 0)

    edited = 7 if name == "pagerduty" else 2  # PagerDuty lists by creation: an edit is seen near the watermark
    saas.touch(name, edited, title="Payments API 5xx: connection pool exhausted")
    [edited_id] = ids_of(name, [seeded[edited]])
    third = sync_source(workspace, name)
    assert (third.added, third.updated) == (0, 1)
    assert third.fetched <= overlap + 1
    assert workspace.store.count() == len(expected)  # nothing duplicated
    assert workspace.store.get(edited_id).title == "Payments API 5xx: connection pool exhausted"
    assert workspace.lexical().revision == workspace.store.revision()  # the indexes followed


@pytest.mark.parametrize("source", ["pagerduty", "jira", "servicenow", "github", "incidentio"])
def test_a_sync_stopped_by_the_api_resumes_where_it_stopped(saas, sync_workspace, source):
    workspace = sync_workspace()
    expected = ids_of(source, saas.seed(source, 12))
    saas.fail(LIST_PATH[source], 500, after=2, times=3)  # the third page fails through every retry
    with pytest.raises(SyncError, match="run the same sync again to resume") as caught:
        sync_source(workspace, source)
    assert LIST_PATH[source] in str(caught.value)  # the call, never a credential
    assert not [secret for secret in CREDENTIALS.values() if secret in str(caught.value)]
    stored_before = workspace.store.count()
    assert stored_before >= 5  # two pages of three (GitHub: one pull request among them)

    resumed = sync_source(workspace, source)
    assert resumed.resumed
    assert workspace.store.count() == len(expected)
    assert resumed.added == len(expected) - stored_before and resumed.updated == 0
    assert resumed.fetched - (resumed.added + resumed.skipped) <= 3  # at most one page fetched again
    assert resumed.pages <= 3  # the failed page, the last one, and at most one before them
    marks = Watermarks(state_path(workspace.settings))
    try:
        [state] = marks.all()
        assert (state.source, state.progress, state.watermark) == (source, None, resumed.watermark)
    finally:
        marks.close()


class Killed(Exception):
    """The process dying mid-run (nothing after it runs in the sync)."""


def test_a_crash_between_batches_costs_at_most_the_unstored_pages(saas, sync_workspace):
    workspace = sync_workspace(sync_batch_size=6)  # two pages of three a batch
    saas.seed("servicenow", 12)

    def crash(stage: str, done: int, total: int) -> None:
        if done == 9:  # the third page is in the batch, not stored
            raise Killed

    with pytest.raises(Killed):
        sync_source(workspace, "servicenow", progress=crash)
    assert workspace.store.count() == 6
    rerun = sync_source(workspace, "servicenow")
    assert rerun.resumed and workspace.store.count() == 12
    assert rerun.fetched <= 12 - 6 + 1  # the unstored pages, and the last stored incident (the cursor is inclusive)


def test_a_429_is_waited_out_as_retry_after_says(saas, sync_workspace, sleeps):
    workspace = sync_workspace()
    saas.seed("incidentio", 5)
    saas.fail("/v2/incidents", 429, after=1, retry_after="7")
    summary = sync_source(workspace, "incidentio", sleep=sleeps.append)
    assert sleeps == [7.0] and summary.retries == 1
    assert summary.added == 5


def test_an_api_that_stops_answering_times_out_and_says_which_call(saas, sync_workspace):
    workspace = sync_workspace(sync_timeout_s=0.3, sync_retries=1)
    saas.seed("github", 4)
    saas.hang("/repos/betamaxpy/betamax/issues", 5.0, times=2)
    with pytest.raises(SyncError, match=r"GET /repos/betamaxpy/betamax/issues: no answer within 0.3 s, 2 tries"):
        sync_source(workspace, "github")
    assert workspace.store.count() == 0


def test_items_that_cannot_be_incidents_are_rejected_with_the_reason_and_the_rest_stored(saas, sync_workspace):
    workspace = sync_workspace()
    issues = saas.seed("jira", 5)
    issues[1]["fields"]["summary"] = ""
    summary = sync_source(workspace, "jira")
    assert summary.added == 4
    assert summary.rejected == [{"item": "page 1 item 2", "reason": summary.rejected[0]["reason"]}]
    assert "summary" in summary.rejected[0]["reason"]


def test_pagerduty_notes_become_the_resolution_and_an_open_incident_holds_the_watermark(saas, sync_workspace):
    workspace = sync_workspace()
    incidents = saas.seed("pagerduty", 5)
    incidents[1]["status"] = "triggered"
    first = sync_source(workspace, "pagerduty")
    assert "Firefighters are on the scene." in workspace.store.get("PD-1001").resolution
    assert workspace.store.get("PD-1002").status == "open"
    assert first.watermark == "2025-01-02T00:00:00+00:00"  # PD-1002's creation, not the newest (2025-01-05)

    saas.touch("pagerduty", 1, status="resolved")
    second = sync_source(workspace, "pagerduty")
    assert second.updated == 1 and workspace.store.get("PD-1002").status == "resolved"
    assert second.watermark == "2025-01-05T00:00:00+00:00"


def test_an_explicit_window_and_query_reach_the_api_and_leave_the_watermark_ahead(saas, sync_workspace):
    from datetime import UTC, datetime
    workspace = sync_workspace()
    saas.seed("jira", 6)
    sync_source(workspace, "jira")
    older = sync_source(workspace, "jira", since=datetime(2025, 1, 2, tzinfo=UTC),
                        until=datetime(2025, 1, 3, 12, tzinfo=UTC), query="project = OPS")
    assert older.fetched == 2 and older.unchanged == 2
    assert older.watermark == "2025-01-06T00:00:00+00:00"  # never moved back


def test_a_missing_credential_names_the_variable_to_set(saas, sync_workspace):
    workspace = sync_workspace(pagerduty_token=None)
    with pytest.raises(ValueError, match="SHERLOCK_PAGERDUTY_TOKEN") as caught:
        sync_source(workspace, "pagerduty")
    assert "sherlock.toml" in str(caught.value)
    assert saas.calls == []
    with pytest.raises(ValueError, match="SHERLOCK_SERVICENOW_USER, SHERLOCK_SERVICENOW_PASSWORD"):
        sync_source(sync_workspace("other", servicenow_user=None, servicenow_password=None), "servicenow")


def test_an_unknown_source_lists_the_valid_ones(sync_workspace):
    with pytest.raises(ValueError, match="choose one of: github, incidentio, jira, pagerduty, servicenow"):
        sync_source(sync_workspace(), "opsgenie")


def test_a_sync_stores_redacted_incidents_and_counts_what_it_redacted(saas, sync_workspace):
    from sherlock.cli.sync import report
    workspace = sync_workspace()
    issues = saas.seed("jira", 4)
    issues[0]["fields"]["summary"] = "Card 4111 1111 1111 1111 declined"
    issues[2]["fields"]["summary"] = "Worker ran with password=hunter2-Pa55 and AKIAIOSFODNN7EXAMPLE"
    summary = sync_source(workspace, "jira")
    assert summary.added == 4 and summary.redacted == {"card_number": 1, "password": 1, "aws_access_key": 1}
    titles = {incident.title for incident in workspace.store.iter_incidents()}
    assert {"Card [card ••••1111] declined",
            "Worker ran with password=[redacted:password] and [redacted:aws_access_key]"} <= titles
    text = report(summary.as_dict())
    assert "redacted   1 aws_access_key, 1 card_number, 1 password" in text
    assert not any(secret in text for secret in ("4111", "hunter2", "AKIAIOSFODNN7EXAMPLE"))
