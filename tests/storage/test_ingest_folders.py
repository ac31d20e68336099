"""Ingest reads folders: ``expand_paths`` lists a folder's files that ingest reads (recursively, sorted, hidden files
and README/index/template files left out), ``ingest_paths`` ingests them with each postmortem's path relative to
its folder, and ``ingest_file`` still refuses a folder with a reason a person can act on."""

import json

import pytest

from sherlock.storage.ingest import exit_code, expand_paths, ingest_file, ingest_paths
from sherlock.storage.store import Store


@pytest.fixture
def store(tmp_path):
    return Store(tmp_path / "store.sqlite")


@pytest.fixture
def postmortems(shared_data):
    return shared_data / "exports" / "postmortems-md"


REPORT = "# {title}\n\n## Summary\n\n{title} broke.\n"


def tree(root, files):
    """Write ``{relative path: text}`` under ``root``; return ``root``."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_a_folder_becomes_the_files_ingest_reads(tmp_path):
    root = tree(tmp_path / "incidents", {name: REPORT.format(title=name) for name in [
        "b.csv", "a.json", "c.md", "d.txt", "e.markdown", "f.jsonl", "g.ndjson", "sub/z.md", "sub/deeper/y.MD",
        "index-corruption.md",  # an incident about an index, not an index page
        "notes.pdf", "LICENSE", ".hidden.md", ".git/HEAD.md", "drafts/.cache/x.md",  # not read or hidden
        "README.md", "readme.txt", "index.md", "template-incident-report.md", "PMyyyy-nnn - Postmortem template.md",
        "sub/CHANGELOG.md",  # a repository's documents and templates
    ]})
    assert [path.relative_to(root).as_posix() for path in expand_paths([root])] == [
        "a.json", "b.csv", "c.md", "d.txt", "e.markdown", "f.jsonl", "g.ndjson", "index-corruption.md",
        "sub/deeper/y.MD", "sub/z.md"]


def test_files_named_directly_are_kept_as_given_and_once(tmp_path):
    root = tree(tmp_path, {"README.md": "x", "notes.pdf": "x", "x/a.md": "x"})
    given = [root / "notes.pdf", root / "x", root / "README.md", root / "x" / "a.md", str(root / "missing.json")]
    assert expand_paths(given) == [root / "notes.pdf", root / "x" / "a.md", root / "README.md",
                                   root / "missing.json"]  # ingest reports what is wrong with each


def test_a_folder_with_nothing_to_read_is_reported_not_skipped(store, tmp_path):
    empty = tree(tmp_path / "empty", {"README.md": "# About\n\nOur postmortems.\n", "diagram.png": ""})
    assert expand_paths([empty]) == [empty]
    (report,) = ingest_paths(store, [empty])
    assert report.outcome == "unusable" and report.error.startswith(f"{empty}: a folder with no file ingest reads")
    assert exit_code([report]) == 2
    assert ingest_file(store, empty).error == report.error
    folder = tree(tmp_path / "full", {"a.md": REPORT.format(title="A"), "b/c.md": REPORT.format(title="C")})
    assert ingest_file(store, folder).error == f"{folder}: a folder; read it with ingest_paths or expand_paths, " \
                                               "which list its 2 files"


def test_the_mybinder_folder(store, postmortems):
    folder = postmortems / "mybinder"
    paths = expand_paths([folder])
    assert len(paths) == 19 and paths == sorted(paths)
    assert folder / "template-incident-report.md" not in paths
    reports = ingest_paths(store, [folder])
    assert [(report.format, report.outcome) for report in reports] == [("markdown", "stored 1")] * 19
    assert store.count() == 19
    incident = store.get("2018-02-22-nginx-down")
    assert incident.title == "2018-02-22 NGINX crash" and incident.extra["path"] == "2018-02-22-nginx-down.md"
    assert str(incident.created_at) == "2018-02-23 00:30:00+00:00"  # "### 2018-02-22 16:30", all times in PST


def test_the_dfds_folder_leaves_out_its_readme_licence_and_template(shared_data):
    folder = shared_data / "postmortems" / "dfds-raw"
    names = [path.name for path in expand_paths([folder])]
    assert len(names) == 38 and all(name.startswith("PM20") for name in names)


def test_templates_are_rejected_not_stored(store, postmortems):
    reports = ingest_paths(store, [postmortems / "templates"])
    assert len(reports) == 7 and store.count() == 0
    assert all(report.outcome == "rejected" for report in reports) and exit_code(reports) == 1
    assert all("only headings, no text: an empty template?" in str(report.rejected[0]) for report in reports)


def test_postmortem_paths_are_relative_to_the_folder_ingested(store, tmp_path):
    root = tree(tmp_path / "pm", {"2019/disk.md": REPORT.format(title="Disk full"),
                                  "2020/q1/dns.md": REPORT.format(title="DNS down")})
    ingest_paths(store, [root, root / "2019" / "disk.md"])  # named twice: read once, with the folder's path
    assert {i.id: i.extra["path"] for i in store.all()} == {"disk": "2019/disk.md", "dns": "2020/q1/dns.md"}
    ingest_file(store, root / "2020" / "q1" / "dns.md")  # a file alone: its path is its name
    assert store.get("dns").extra["path"] == "dns.md"


def test_a_folder_mixing_formats(store, tmp_path):
    root = tree(tmp_path / "mixed", {
        "tickets.json": json.dumps([{"id": "OPS-1", "title": "Disk full"}]),
        "postmortems/OPS-2 cache stampede.md": REPORT.format(title="Cache stampede"),
        "broken.jsonl": '{"id": "OPS-3", "title": "ok"}\n{not json\n',
    })
    reports = ingest_paths(store, [root])
    assert [(r.format, r.outcome) for r in reports] == [
        ("jsonl", "partly stored (1 stored, 1 rejected)"), ("markdown", "stored 1"), ("json", "stored 1")]
    assert sorted(i.id for i in store.all()) == ["OPS-1", "OPS-2", "OPS-3"]
