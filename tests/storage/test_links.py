"""Links between incidents: mentions of ids and URLs across tools (either one arriving first), postmortem copies in
two folders kept apart, stored links kept on re-ingest, and the ingest report."""

import json
import shutil

import pytest

from sherlock.schema import Incident
from sherlock.storage.ingest import ingest_paths
from sherlock.storage.links import (
    SAME_FILE,
    Link,
    LinkingWriter,
    carry_links,
    link_incidents,
    mentions,
    note_copies,
    own_keys,
)
from sherlock.storage.store import Store

PD_URL = "https://acme.pagerduty.com/incidents/Q1ABCDEF"
PAGERDUTY = {"incidents": [{
    "id": "Q1ABCDEF", "incident_number": 77, "title": "Checkout 500s", "urgency": "high", "status": "resolved",
    "service": {"summary": "checkout"}, "html_url": PD_URL, "created_at": "2024-05-01T10:00:00Z",
    "incident_key": "OPS-12"}]}


def jira(key: str, description: str, **fields) -> dict:
    return {"key": key, "self": f"https://acme.atlassian.net/rest/api/2/issue/{key}",
            "fields": {"summary": f"ticket {key}", "description": description, **fields}}


def github(number: int, body: str) -> list[dict]:
    return [{"number": number, "title": f"issue {number}", "body": body, "state": "open", "labels": [],
             "user": {"login": "ana"}, "repository_url": "https://api.github.com/repos/acme/ops",
             "html_url": f"https://github.com/acme/ops/issues/{number}"}]


@pytest.fixture
def store(tmp_path) -> Store:
    return Store(tmp_path / "store.sqlite")


@pytest.fixture
def ingest(store, tmp_path):
    """Ingest as ``Workspace.ingest`` does, without the indexes: files through the linking writer, then links."""
    def run(*documents: tuple[str, object]) -> tuple[list, list[Link]]:
        paths = []
        for name, document in documents:
            path = tmp_path / name
            if not path.exists():
                path.write_text(json.dumps(document, indent=2), encoding="utf-8")
            paths.append(path)
        writer = LinkingWriter(store)
        reports = ingest_paths(writer, paths)
        note_copies(reports, writer.copies)
        changed = [doc_id for report in reports for doc_id in (*report.added, *report.updated)]
        return reports, link_incidents(store, changed, writer.copies)
    return run


def links_of(store: Store, incident_id: str) -> list[dict]:
    return store.get(incident_id).extra.get("links", [])


# -- references -----------------------------------------------------------------------------------------------------

def test_what_an_incident_mentions_and_what_names_it():
    incident = Incident(id="OPS-12", title="Paged by PD-77 (see OPS-12)", description=(
        f"PagerDuty: {PD_URL}/timeline, also {PD_URL}. Runbook https://Wiki.Acme.io/runbooks/db/. "
        "Like acme/ops#4 and INC0010001; not UTF-8 or SEV-1."),
        extra={"source": "jira", "url": "https://acme.atlassian.net/browse/OPS-12", "note": {"x": ["see FH-3"]}})
    assert mentions(incident) == {"id:PD-77", "id:acme/ops#4", "id:INC0010001", "id:FH-3", "pagerduty:Q1ABCDEF",
                                  "url:https://wiki.acme.io/runbooks/db"}
    assert own_keys(incident) == {"url:https://acme.atlassian.net/browse/OPS-12"}
    pagerduty = Incident(id="PD-77", title="x", extra={"pagerduty_id": "Q1ABCDEF", "url": PD_URL})
    assert own_keys(pagerduty) == {f"url:{PD_URL}", "pagerduty:Q1ABCDEF"}
    assert mentions(pagerduty) == set()  # its own URL and id are no mention


# -- links by reference ---------------------------------------------------------------------------------------------

def test_a_jira_ticket_links_the_pagerduty_incident_by_url_and_id_both_ways(store, ingest):
    _, made = ingest(("pagerduty.json", PAGERDUTY),
                     ("jira.json", {"issues": [jira("OPS-12", f"Paged: {PD_URL}"), jira("OPS-13", "PD-77 again")]}))
    assert made == [Link("OPS-12", "PD-77", "pagerduty", "mentions its URL"),
                    Link("OPS-13", "PD-77", "pagerduty", "mentions its id"),
                    Link("PD-77", "OPS-12", "jira", "mentions its id")]  # its incident_key names OPS-12
    assert links_of(store, "PD-77") == [{"id": "OPS-12", "source": "jira", "why": "mentions its URL"},
                                        {"id": "OPS-12", "source": "jira", "why": "mentions its id"},
                                        {"id": "OPS-13", "source": "jira", "why": "mentions its id"}]
    assert links_of(store, "OPS-13") == [{"id": "PD-77", "source": "pagerduty", "why": "mentions its id"}]


def test_the_mentioned_incident_may_arrive_later(store, ingest):
    _, made = ingest(("jira.json", {"issues": [jira("OPS-12", f"Paged: {PD_URL}")]}))
    assert made == [] and links_of(store, "OPS-12") == []
    _, made = ingest(("pagerduty.json", {"incidents": [{**PAGERDUTY["incidents"][0], "incident_key": ""}]}))
    assert made == [Link("OPS-12", "PD-77", "pagerduty", "mentions its URL")]
    assert links_of(store, "OPS-12") == [{"id": "PD-77", "source": "pagerduty", "why": "mentions its URL"}]
    assert links_of(store, "PD-77") == [{"id": "OPS-12", "source": "jira", "why": "mentions its URL"}]


def test_real_samples_a_github_issue_and_a_pagerduty_note_name_them(store, ingest, shared_data):
    exports = shared_data / "exports"
    shutil.copy(exports / "jira" / "apa_v2_issue_FOO-123.json", store.path.parent / "foo.json")
    shutil.copy(exports / "pagerduty" / "xsoar_pagerduty_incidents_list.json", store.path.parent / "pd.json")
    _, made = ingest(("foo.json", None), ("pd.json", None),
                     ("gh.json", github(5, "Tracked in FOO-123, paged as PD-1579.")),
                     ("gh2.json", github(6, "Duplicate of https://sample.atlassian.net/browse/FOO-123/")))
    assert made == [Link("acme/ops#5", "FOO-123", "jira", "mentions its id"),
                    Link("acme/ops#5", "PD-1579", "pagerduty", "mentions its id"),
                    Link("acme/ops#6", "FOO-123", "jira", "mentions its URL")]
    assert [link["id"] for link in links_of(store, "FOO-123")] == ["acme/ops#5", "acme/ops#6"]
    assert links_of(store, "PD-1578") == []


def test_reingest_keeps_the_links_and_changes_nothing(store, ingest):
    documents = (("pagerduty.json", PAGERDUTY), ("jira.json", {"issues": [jira("OPS-12", f"Paged: {PD_URL}")]}))
    ingest(*documents)
    revision = store.revision()
    reports, made = ingest(*documents)
    assert [report.outcome for report in reports] == ["unchanged", "unchanged"] and made == []
    assert store.revision() == revision and len(links_of(store, "PD-77")) == 2


def test_carry_links_adds_stored_links_to_a_record_that_comes_back_without_them(store):
    linked = Incident(id="A-1", title="x", extra={"links": [{"id": "B-1", "source": "jira", "why": "mentions its id"}]})
    store.upsert([linked])
    [back] = carry_links(store, [Incident(id="A-1", title="x")])
    assert back == linked and store.upsert([back]).unchanged == ["A-1"]


def test_a_batch_is_looked_up_by_key_never_by_scanning_the_store(store, ingest, monkeypatch):
    ingest(("pagerduty.json", PAGERDUTY))
    scans = []
    monkeypatch.setattr(Store, "iter_incidents", lambda *a, **k: scans.append(1) or iter(()))
    monkeypatch.setattr(Store, "find_extra", lambda *a, **k: scans.append(1))
    ingest(("jira.json", {"issues": [jira("OPS-12", f"Paged: {PD_URL}")]}))
    assert scans == [] and links_of(store, "OPS-12")[0]["id"] == "PD-77"


def test_a_pagerduty_incident_stored_before_linking_is_found_by_its_pagerduty_id(store, ingest):
    store.upsert([Incident(id="PD-77", title="old", extra={"source": "pagerduty", "pagerduty_id": "Q1ABCDEF"})])
    _, made = ingest(("jira.json", {"issues": [jira("OPS-12", f"Paged: {PD_URL}")]}))
    assert made == [Link("OPS-12", "PD-77", "pagerduty", "mentions its URL")]


# -- the same postmortem in two folders -----------------------------------------------------------------------------

@pytest.fixture
def two_folders(tmp_path, shared_data):
    source = shared_data / "exports" / "postmortems-md" / "mybinder" / "2018-01-18-reddit-hug.md"
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        shutil.copy(source, tmp_path / folder / source.name)
    return tmp_path / "a", tmp_path / "b"


def ingest_folders(store: Store, *folders):
    writer = LinkingWriter(store)
    reports = ingest_paths(writer, folders)
    note_copies(reports, writer.copies)
    changed = [doc_id for report in reports for doc_id in (*report.added, *report.updated)]
    return reports, link_incidents(store, changed, writer.copies), writer.copies


def test_the_same_postmortem_in_two_folders_is_kept_twice_reported_and_linked(store, two_folders):
    reports, made, [copy] = ingest_folders(store, *two_folders)
    original, second = reports[0].added[0], reports[1].added[0]
    assert second == copy.id and copy.original == original and copy.same_text
    assert second.startswith(f"{original}~") and len(second) == len(original) + 7
    assert reports[1].duplicate_content == [(second, original)]
    assert made == [Link(second, original, "markdown", SAME_FILE)]
    assert links_of(store, original) == [{"id": second, "source": "markdown", "why": SAME_FILE}]
    revision = store.revision()
    reports, made, copies = ingest_folders(store, *two_folders)  # again: the same ids, nothing changes
    assert [report.outcome for report in reports] == ["unchanged", "unchanged"] and made == []
    assert [copy.id for copy in copies] == [second] and store.revision() == revision


def test_a_different_postmortem_with_the_same_name_does_not_overwrite(store, two_folders):
    first, other = two_folders
    ingest_folders(store, first)
    [path] = other.iterdir()
    path.write_text("# Reddit hug\n\n## Summary\n\nAn entirely different outage of the hub.\n", encoding="utf-8")
    reports, made, [copy] = ingest_folders(store, other)
    assert not copy.same_text and reports[0].duplicate_content == [] and reports[0].added == [copy.id]
    assert "entirely different" not in store.get(copy.original).text()
    assert "entirely different" in store.get(copy.id).text()
    assert made == [Link(copy.id, copy.original, "markdown", SAME_FILE)]


def test_an_edited_postmortem_in_its_own_folder_is_updated_in_place(store, two_folders):
    first, _ = two_folders
    reports, _, _ = ingest_folders(store, first)
    [incident_id] = reports[0].added
    [path] = first.iterdir()
    path.write_text(path.read_text(encoding="utf-8") + "\n\n## Lessons\n\nCache the hub.\n", encoding="utf-8")
    reports, _, copies = ingest_folders(store, first)
    assert copies == [] and reports[0].updated == [incident_id] and store.count() == 1


# -- the workspace ----------------------------------------------------------------------------------------------------

def test_workspace_ingest_reports_and_stores_links_and_put_keeps_them(workspace_factory, tmp_path):
    workspace = workspace_factory()
    (tmp_path / "pd.json").write_text(json.dumps(PAGERDUTY), encoding="utf-8")
    (tmp_path / "jira.json").write_text(json.dumps({"issues": [jira("OPS-12", f"Paged: {PD_URL}")]}),
                                        encoding="utf-8")
    report = workspace.ingest([tmp_path / "pd.json", tmp_path / "jira.json"])
    assert report.as_dict()["links"] == [
        {"id": "OPS-12", "other": "PD-77", "source": "pagerduty", "why": "mentions its URL"},
        {"id": "PD-77", "other": "OPS-12", "source": "jira", "why": "mentions its id"}]
    assert workspace.is_synced() and str(report.links[0]) == "OPS-12 -> PD-77 (pagerduty): mentions its URL"
    stored = workspace.store.get("PD-77")
    result, _ = workspace.put([stored.model_copy(update={"extra": {
        key: value for key, value in stored.extra.items() if key != "links"}})], source="webhook:pagerduty")
    assert result.unchanged == ["PD-77"]
    new = Incident(id="GH-9", title="follow-up of OPS-12", extra={"source": "github"})
    workspace.put([new], source="webhook:github")
    assert {"id": "GH-9", "source": "github", "why": "mentions its id"} in workspace.store.get("OPS-12").extra["links"]
    assert workspace.is_synced()
