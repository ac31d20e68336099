"""The Data page with AppTest, as a new user meets it: an empty workspace, then uploads of small real files written
here (a good CSV, a broken JSON, a CSV with a row missing its title, a CSV whose fields need mapping) through the file
uploader, the ingest report each leaves, and the corpus charts; and the page's pure helpers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from sherlock.config import load_settings
from sherlock.storage.store import Store
from ui.data import guess_source, mapping_from_choices, severity_order

ROOT = Path(__file__).resolve().parents[2]
PAGE = str(ROOT / "views" / "data.py")
GOOD_CSV = ("id,title,description,service,severity\n"
            "C-1,DNS failure,resolver timeouts,dns,SEV3\n"
            "C-2,Disk full,the data disk filled,storage,SEV3\n"
            "C-3,Card declines,issuer timeouts,cards,SEV4\n"
            "C-4,Login errors,token expiry,auth,SEV2\n"
            "C-5,Refunds stuck,queue backlog,payments,SEV1\n"
            "C-6,Slow search,cold cache,search,SEV3\n"
            "C-7,Webhook drops,retries exhausted,payments,SEV4\n"
            "C-8,Odd severity,tracker-specific level,payments,urgent\n"
            "C-9,No severity,nobody set one,payments,\n")
PART_CSV = "id,title,severity\nP-1,DNS failure,SEV2\nP-2,,SEV1\nP-3,Disk full,SEV3\n"
ODD_CSV = ("key,summary,details,sev\n"
           "K-1,Disk full on db-1,The data disk filled up,SEV2\n"
           "K-2,Card declines,Issuer timeouts,SEV1\n")


@pytest.fixture(autouse=True)
def _fresh(fresh_caches):
    """Every test here starts and ends with Streamlit's caches empty (``fresh_caches`` in conftest.py)."""


@pytest.fixture
def home(make_home, monkeypatch) -> Path:
    """An empty workspace (demo auto-load off), prepared (its empty indexes in step with its empty store) so the
    page opens it at once, as a user finds it after the first start."""
    from sherlock.storage.workspace import Workspace
    home = make_home()
    monkeypatch.setenv("SHERLOCK_HOME", str(home))
    Workspace(load_settings(home=home)).prepare()
    return home


def open_page() -> AppTest:
    app = AppTest.from_file(PAGE, default_timeout=120).run()
    assert not app.exception, app.exception
    return app


def ingest(app: AppTest, *files: tuple[str, str], strict: bool = False) -> AppTest:
    """Upload ``(name, text)`` files and press "Validate and ingest"."""
    app.file_uploader[0].set_value([(name, text.encode(), "text/plain") for name, text in files])
    app.checkbox[0].set_value(strict)
    app.run()
    next(b for b in app.button if b.label == "Validate and ingest").click().run()
    assert not app.exception, app.exception
    return app


def report_rows(app: AppTest) -> dict[str, dict]:
    """The ingest report's table, one dict per file name."""
    return {row["file"]: row for row in app.table[0].value.to_dict("records")}


def expanders(app: AppTest) -> dict[str, list[str]]:
    """Each expander's label and the text of what it holds (markdown as written, escapes included)."""
    return {e.label: [getattr(child, "value", "") for child in e.children.values()] for e in app.expander}


def everything_said(app: AppTest) -> str:
    """Every text element and table on the page, as one string."""
    kinds = ("markdown", "caption", "error", "warning", "info", "success")
    texts = [str(element.value) for kind in kinds for element in getattr(app, kind)]
    return "\n".join(texts + [table.value.to_string() for table in app.table])


def test_a_first_visit_to_an_empty_workspace(home):
    app = open_page()
    assert app.expander[0].label == "Add incidents" and app.expander[0].proto.expanded
    assert next(b for b in app.button if b.label == "Validate and ingest").disabled  # nothing uploaded yet
    assert app.info[-1].value.startswith("The workspace is empty")
    assert not app.table and not app.warning and not app.error  # no report before an ingest


def test_a_good_file_reads_as_stored_by_name_and_severities_in_order(home):
    app = ingest(open_page(), ("incidents.csv", GOOD_CSV))
    assert app.success[0].value == "Stored 9 incident(s)."
    row = report_rows(app)["incidents.csv"]
    assert (row["format"], row["outcome"], row["records"], row["added"], row["rejected"]) == (
        "csv", "stored 9", 9, 9, 0)
    said = everything_said(app)
    assert "uploads" not in said and str(home) not in said and "None" not in said  # a name, no server folder
    assert app.subheader[0].value == "Corpus · 9 incidents"
    severity_chart = json.loads(app.get("plotly_chart")[1].proto.spec)
    # by count the bars were SEV3, SEV4, ...: they go SEV1..SEV4, then values with no order, then none
    assert severity_chart["data"][0]["x"] == ["SEV1", "SEV2", "SEV3", "SEV4", "urgent", "(none)"]
    corpus = app.dataframe[0].value
    assert (corpus["category"] == "").all() and (corpus["created_at"] == "").all()  # blank, not the word None
    again = ingest(app, ("incidents.csv", GOOD_CSV))
    assert report_rows(again)["incidents.csv"]["outcome"] == "unchanged"
    assert again.success[0].value == "Nothing new: every record was already stored."


def test_the_original_sherlockai_files_and_an_empty_one(home, juspay_issues):
    tps = juspay_issues.parent / "tps_scaling_incident.json"
    app = ingest(open_page(), ("issues.json", juspay_issues.read_text()), (tps.name, tps.read_text()),
                 ("empty.jsonl", "\n"))
    assert app.success[0].value == "Stored 78 incident(s)."
    assert {name: row["outcome"] for name, row in report_rows(app).items()} == {
        "issues.json": "stored 77", "tps_scaling_incident.json": "stored 1", "empty.jsonl": "no records"}
    assert app.info[1].value.endswith("JSP\\-2001 = JSP\\-1055")  # same content under two ids (after the sync panel's)
    # 44 source fields, 11 canonical and 2 aliases (priority, fix_applied): 31 kept aside, the form folded away
    form = next(e for e in app.expander if e.label.startswith("Map the file's fields"))
    assert form.label.endswith("(31 not searched)") and not form.proto.expanded
    assert "No incident has a service." in [c.value for c in app.caption]  # said, not one "(none)" bar


def test_incident_tools_exports_are_read_as_they_come(home, shared_data):
    exports = shared_data / "exports"
    pagerduty = exports / "pagerduty/xsoar_pagerduty_incidents_list.json"
    github = exports / "github/octokit_search_issues.json"
    app = ingest(open_page(), (pagerduty.name, pagerduty.read_text()), (github.name, github.read_text()))
    rows = report_rows(app)
    assert (rows[pagerduty.name]["format"], rows[pagerduty.name]["added"]) == ("pagerduty", 2)
    assert (rows[github.name]["format"], rows[github.name]["added"]) == ("github", 2)
    assert {"pagerduty", "jira", "servicenow", "github"} <= set(app.selectbox[0].options)


def test_a_broken_file_shows_its_whole_reason_under_its_name(home):
    app = ingest(open_page(), ("broken.json", '[{"id": "A-1", "title": "never closed"'))
    assert report_rows(app)["broken.json"]["outcome"] == "unusable"
    assert app.error[0].value == "1 file(s) could not be read: the reasons are below."
    reason = expanders(app)["broken.json: unusable"][0]
    assert reason.startswith("broken\\.json\\:1\\: invalid JSON") and "format jsonl" in reason
    assert str(home) not in reason
    assert app.info[-1].value.startswith("The workspace is empty")


def test_a_partly_bad_file_is_partly_stored_with_each_rejected_line(home):
    app = ingest(open_page(), ("part.csv", PART_CSV))
    assert report_rows(app)["part.csv"]["outcome"] == "partly stored (2 stored, 1 rejected)"
    assert app.warning[0].value.startswith("1 record(s) rejected in 1 file(s)")
    caption, lines = expanders(app)["part.csv: partly stored (2 stored, 1 rejected)"]
    assert caption.startswith("The other records were stored")
    assert lines.startswith("- **line 3**: missing required field\\(s\\) 'title'")
    assert lines.endswith("map the field that holds it to 'title'")  # the whole reason, no CLI flag in it
    assert not any(e.label.startswith("Map the file") for e in app.expander)  # the file has a title field
    assert app.subheader[0].value == "Corpus · 2 incidents"


def test_strict_stores_nothing_and_says_so(home):
    app = ingest(open_page(), ("part.csv", PART_CSV), strict=True)
    assert report_rows(app)["part.csv"]["outcome"] == "rejected (strict: nothing stored)"
    caption = expanders(app)["part.csv: rejected (strict: nothing stored)"][0]
    assert caption.startswith("Strict mode stored nothing from this file")
    assert app.info[-1].value.startswith("The workspace is empty")


def test_fields_with_other_names_are_mapped_in_the_page_and_ingested_again(home):
    app = ingest(open_page(), ("export.csv", ODD_CSV))
    assert report_rows(app)["export.csv"]["outcome"] == "rejected"
    assert app.warning[1].value.startswith("No field of the file is named 'id' or 'title'")
    form = next(e for e in app.expander if e.label == "Map the file's fields to incident fields (4 not searched)")
    assert form.proto.expanded and "not searched: key, summary, details, sev." in form.caption[0].value
    pick = {box.label: box for box in app.selectbox if box.label != "Format"}
    assert (pick["id"].value, pick["severity"].value) == ("— not in the file —", "— not in the file —")
    go = next(b for b in app.button if b.label == "Ingest again with this mapping")
    assert go.disabled  # id and title are not picked yet
    for field, column in {"id": "key", "title": "summary", "description": "details", "severity": "sev"}.items():
        pick[field].set_value(column)
    app.run()
    next(b for b in app.button if b.label == "Ingest again with this mapping").click().run()
    assert not app.exception, app.exception
    assert report_rows(app)["export.csv"]["outcome"] == "stored 2"
    assert app.caption[0].value == ("Read with the field mapping key → id, summary → title, details → description, "
                                    "sev → severity")
    assert app.subheader[0].value == "Corpus · 2 incidents"
    stored = Store(load_settings(home=home).store_path).get("K-1")
    assert (stored.title, stored.description, stored.severity) == ("Disk full on db-1", "The data disk filled up",
                                                                   "SEV2")


# -- the preview, saved mappings and the sync panel ------------------------------------------------------------------

def choose(app: AppTest, *files: tuple[str, str]) -> AppTest:
    """Choose ``(name, text)`` files in the uploader, without ingesting them."""
    app.file_uploader[0].set_value([(name, text.encode(), "text/plain") for name, text in files]).run()
    assert not app.exception, app.exception
    return app


def previews(app: AppTest) -> list[str]:
    """Each previewed file's heading line (name, format, counts), markdown escapes removed."""
    return [m.value.replace("\\", "") for m in app.markdown if "· format `" in m.value]


def stored(home: Path) -> int:
    return Store(load_settings(home=home).store_path).count()


def test_the_preview_shows_each_files_format_and_first_records_and_stores_nothing(home, shared_data):
    pagerduty = shared_data / "exports/pagerduty/xsoar_pagerduty_incidents_list.json"
    long = "x" * 120
    csv = GOOD_CSV + f"C-10,Long one,{long},search,SEV2\n"
    app = choose(open_page(), (pagerduty.name, pagerduty.read_text()), ("incidents.csv", csv), ("part.csv", PART_CSV))
    assert previews(app) == [f"**{pagerduty.name}** · format `pagerduty` · 2 record(s): 2 to store",
                             "**incidents.csv** · format `csv` · 10 record(s): 10 to store",
                             "**part.csv** · format `csv` · 3 record(s): 2 to store, 1 rejected"]
    pd_rows, csv_rows, part_rows = (frame.value for frame in app.dataframe)
    assert list(pd_rows.columns) == ["id", "title", "service", "severity", "status", "created_at", "description",
                                     "root_cause", "resolution"]
    assert len(pd_rows) == 2 and (pd_rows["id"] != "").all() and (pd_rows["title"] != "").all()
    assert len(csv_rows) == 10  # the first ten of ten
    assert csv_rows.iloc[0].to_dict() == {"id": "C-1", "title": "DNS failure", "service": "dns", "severity": "SEV3",
                                          "status": "", "created_at": "", "description": "resolver timeouts",
                                          "root_cause": "", "resolution": ""}
    assert csv_rows.iloc[9]["description"] == "x" * 79 + "…"  # the first 80 characters
    assert list(part_rows["id"]) == ["P-1", "P-3"]
    rejected = next(e for e in app.expander if e.label == "1 rejected record(s)")
    assert rejected.code[0].value.startswith("part.csv:3: missing required field(s) 'title'")
    assert stored(home) == 0 and not (home / "uploads").exists()  # nothing stored before "Validate and ingest"
    next(b for b in app.button if b.label == "Validate and ingest").click().run()
    assert not app.exception, app.exception
    assert stored(home) == 14 and not previews(app)  # stored; the report says it now, not the preview
    assert report_rows(app)["part.csv"]["outcome"] == "partly stored (2 stored, 1 rejected)"
    assert not (home / "uploads").exists()  # the raw uploads are not kept: only what redaction let through is


def map_odd_fields(app: AppTest) -> AppTest:
    """Pick key, summary, details and sev for id, title, description and severity, and ingest again."""
    pick = {box.label: box for box in app.selectbox if box.label != "Format"}
    for field, column in {"id": "key", "title": "summary", "description": "details", "severity": "sev"}.items():
        pick[field].set_value(column)
    app.run()
    next(b for b in app.button if b.label == "Ingest again with this mapping").click().run()
    assert not app.exception, app.exception
    return app


def test_a_mapping_applied_once_is_saved_and_read_with_the_next_file_of_the_same_shape(home):
    app = map_odd_fields(ingest(open_page(), ("export.csv", ODD_CSV)))
    assert report_rows(app)["export.csv"]["outcome"] == "stored 2"
    saved = json.loads((home / "mappings.json").read_text())
    assert [entry["mapping"] for entry in saved.values()] == [
        {"key": "id", "summary": "title", "details": "description", "sev": "severity"}]
    # next month's export: the same fields, in another order and case
    following = "Summary,KEY,sev,details\nDNS failure,K-3,SEV3,resolver timeouts\n"
    app = choose(app, ("export-2.csv", following))
    assert previews(app) == ["**export-2.csv** · format `csv` · 1 record(s): 1 to store"]
    notice = next(i.value for i in app.info if i.value.startswith("Read with the field mapping saved"))
    assert "KEY → id" in notice.replace("\\", "")
    assert app.dataframe[0].value.iloc[0][["id", "title", "severity"]].to_list() == ["K-3", "DNS failure", "SEV3"]
    next(b for b in app.button if b.label == "Validate and ingest").click().run()
    assert report_rows(app)["export-2.csv"]["outcome"] == "stored 1"
    assert stored(home) == 3
    # and a way to clear it: the same shape is then read as it is (no id, no title)
    app = choose(app, ("export-3.csv", following.replace("K-3", "K-4")))
    next(b for b in app.button if b.label == "Forget this mapping").click().run()
    assert not app.exception, app.exception
    assert previews(app) == ["**export-3.csv** · format `csv` · 1 record(s): 0 to store, 1 rejected"]
    assert not any(i.value.startswith("Read with the field mapping saved") for i in app.info)
    assert json.loads((home / "mappings.json").read_text()) == {}


def sync_rows(app: AppTest) -> dict[str, str]:
    """Each source row of the sync panel: its name and the rest of its text, markdown escapes removed."""
    texts = [m.value.replace("\\", "") for m in app.markdown]
    return {name: " | ".join(texts[texts.index(f"**{name}**") + 1:texts.index(f"**{name}**") + 3])
            for name in ("pagerduty", "jira", "servicenow", "github", "incidentio")}


def test_the_sync_panel_says_what_each_source_needs(home):
    app = open_page()
    assert app.info[0].value.startswith("No source configured: set its URL and credentials")
    rows = sync_rows(app)
    assert rows["github"] == ("not configured: set SHERLOCK_GITHUB_TOKEN, SHERLOCK_GITHUB_REPO | "
                              "last sync never · watermark never")
    assert rows["jira"].startswith("not configured: set SHERLOCK_JIRA_URL")
    assert rows["pagerduty"].startswith("not configured: set SHERLOCK_PAGERDUTY_TOKEN")
    assert all(app.button(key=f"sync-{name}").disabled for name in rows)


@pytest.fixture
def saas(shared_data):
    """The live-sync tests' stand-in SaaS server (tests/sync/saas.py) on 127.0.0.1."""
    from tests.sync.saas import SaaS
    server = SaaS(shared_data / "exports").start()
    yield server
    server.stop()


def test_sync_now_stores_a_configured_sources_issues_and_shows_the_summary(home, saas, monkeypatch):
    from tests.sync.saas import CREDENTIALS
    monkeypatch.setenv("SHERLOCK_GITHUB_URL", saas.url)
    monkeypatch.setenv("SHERLOCK_GITHUB_TOKEN", CREDENTIALS["github_token"])
    monkeypatch.setenv("SHERLOCK_GITHUB_REPO", "betamaxpy/betamax")
    items = saas.seed("github", 4)
    issues = sum("pull_request" not in item for item in items)
    app = open_page()
    assert not any(i.value.startswith("No source configured") for i in app.info)
    assert sync_rows(app)["github"].startswith("configured | last sync never")
    app.button(key="sync-github").click().run()
    assert not app.exception, app.exception
    assert app.success[0].value.startswith(f"Synced github: fetched 4, added {issues}, updated 0, unchanged 0, "
                                           "rejected 0; watermark 2025")
    assert stored(home) == issues
    assert "watermark 2025-01-0" in sync_rows(app)["github"] and "last sync never" not in sync_rows(app)["github"]
    assert CREDENTIALS["github_token"] not in everything_said(app)
    assert app.subheader[0].value == f"Corpus · {issues} incidents"


def test_a_sync_that_fails_says_why(home, saas, monkeypatch):
    from tests.sync.saas import CREDENTIALS
    monkeypatch.setenv("SHERLOCK_GITHUB_URL", saas.url)
    monkeypatch.setenv("SHERLOCK_GITHUB_TOKEN", "wrong-token")
    monkeypatch.setenv("SHERLOCK_GITHUB_REPO", "betamaxpy/betamax")
    saas.seed("github", 2)
    app = open_page()
    app.button(key="sync-github").click().run()
    assert app.error[0].value.startswith("Sync of github stopped: GET /repos/betamaxpy/betamax/issues")
    assert "wrong-token" not in everything_said(app) and CREDENTIALS["github_token"] not in everything_said(app)


# -- the page's pure helpers ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("values, expected", [
    (["SEV3", "SEV4", "SEV2", "SEV1"], ["SEV1", "SEV2", "SEV3", "SEV4"]),
    (["SEV10", "SEV2", "(none)", "weird", "SEV1"], ["SEV1", "SEV2", "SEV10", "weird", "(none)"]),
    (["P2", "P0", "P1"], ["P0", "P1", "P2"]),
    (["low", "critical", "medium", "high", "other"], ["critical", "high", "medium", "low", "other"]),
])
def test_severity_order(values, expected):
    assert severity_order(values) == expected


def test_guess_source_by_name_case_and_alias():
    assert guess_source("title", ["ID", "Title"]) == "Title"
    assert guess_source("created_at", ["Created At"]) == "Created At"
    assert guess_source("severity", ["priority"]) == "priority"
    assert guess_source("severity", ["severity", "priority"]) == "severity"
    assert guess_source("resolution", ["notes"]) is None


def test_mapping_from_choices_keeps_a_displaced_field_out_of_the_way():
    columns = ["id", "key", "summary", "priority"]
    mapping = mapping_from_choices({"id": "key", "title": "summary", "severity": None}, columns)
    # "id" would otherwise overwrite the picked "key"; "priority" would otherwise become the severity
    assert mapping == {"key": "id", "summary": "title", "id": "unmapped_id", "priority": "unmapped_priority"}
    assert mapping_from_choices({"id": "id", "title": "title"}, ["id", "title"]) == {}
