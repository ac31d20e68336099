"""The workspace keeps derived indexes in step with the store, survives kill -9, and never mixes two homes."""

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time

import pytest

from sherlock.schema import Incident
from sherlock.search.searcher import Searcher

SERVICES = ["upi-switch", "refunds-api", "webhook-dispatcher", "card-vault"]


def incidents(n, prefix="W", salt=""):
    return [Incident(id=f"{prefix}-{i}", title=f"{SERVICES[i % 4]} incident {i} {salt}",
                     description=f"Errors on {SERVICES[i % 4]} after deploy {i}; retries exhausted {salt}",
                     resolution=f"rolled back release {i}", service=SERVICES[i % 4], severity=f"SEV{1 + i % 4}",
                     created_at=f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}") for i in range(n)]


def write_jsonl(path, items):
    path.write_text("\n".join(json.dumps(i.to_json_dict()) for i in items) + "\n")
    return path


def test_ingest_syncs_every_index_and_reingest_is_a_no_op(workspace_factory, tmp_path):
    ws = workspace_factory()
    path = write_jsonl(tmp_path / "a.jsonl", incidents(40))
    report = ws.ingest([path])
    assert report.sync.embedded == 40 and report.sync.lexical_rebuilt
    assert ws.dense.count() == 40 and ws.is_synced()
    again = ws.ingest([path])
    assert (again.sync.embedded, again.sync.lexical_rebuilt) == (0, False)


def test_a_changed_record_is_updated_everywhere(workspace_factory, tmp_path):
    ws = workspace_factory()
    ws.ingest([write_jsonl(tmp_path / "a.jsonl", incidents(20))])
    searcher = Searcher(ws)
    changed = incidents(20)[:1]
    changed[0] = changed[0].model_copy(update={"title": "Kafka consumer lag on settlement topic",
                                               "description": "settlement events delayed by kafka lag"})
    report = ws.ingest([write_jsonl(tmp_path / "b.jsonl", changed)])
    assert report.files[0].updated == ["W-0"] and report.sync.embedded == 1
    top = searcher.search("kafka consumer lag settlement", k=3).results[0]
    assert top.id == "W-0" and top.raw_scores["bm25"] and top.raw_scores["tfidf"] and top.raw_scores["dense"]
    assert ws.dense.hashes()["W-0"] == ws.store.hashes()["W-0"]


def test_a_searcher_sees_a_new_ingest_without_restart(workspace_factory, tmp_path):
    ws = workspace_factory()
    ws.ingest([write_jsonl(tmp_path / "a.jsonl", incidents(10))])
    searcher = Searcher(ws)
    assert searcher.search("NEW-1").abstained  # not there yet: an honest not-found
    ws.ingest([write_jsonl(tmp_path / "b.jsonl", [Incident(id="NEW-1", title="TLS certificate expired")])])
    assert searcher.search("NEW-1").results[0].id == "NEW-1"
    assert searcher.search("certificate expired", k=1).results[0].id == "NEW-1"


def test_reindex_rebuilds_from_the_store(workspace_factory, tmp_path):
    ws = workspace_factory()
    ws.ingest([write_jsonl(tmp_path / "a.jsonl", incidents(15))])
    report = ws.reindex()
    assert report.embedded == 15 and report.lexical_rebuilt and ws.dense.count() == 15 and ws.is_synced()


def test_damaged_lexical_index_is_rebuilt(workspace_factory, tmp_path):
    ws = workspace_factory()
    ws.ingest([write_jsonl(tmp_path / "a.jsonl", incidents(15))])
    for item in (ws.settings.lexical_path / "tfidf").iterdir():
        item.write_bytes(b"garbage")
    fresh = type(ws)(ws.settings)
    assert Searcher(fresh).search("upi-switch incident", k=3).results


def test_two_homes_never_interfere(workspace_factory, tmp_path):
    a, b = workspace_factory("a"), workspace_factory("b")
    a.ingest([write_jsonl(tmp_path / "a.jsonl", incidents(5, prefix="A"))])
    b.ingest([write_jsonl(tmp_path / "b.jsonl", incidents(7, prefix="B"))])
    assert (a.store.count(), b.store.count(), a.dense.count(), b.dense.count()) == (5, 7, 5, 7)
    assert Searcher(a).search("B-1").abstained and not Searcher(b).search("B-1").abstained
    written = {p.relative_to(tmp_path).parts[0] for p in tmp_path.rglob("*") if p.is_file()}
    assert written == {"a", "b", "a.jsonl", "b.jsonl"}


#: The ingest that is killed: the workspace's own, printing each ``progress(stage, done, total)`` as it is reported,
#: and "started" first (reading, validating and storing the file — one transaction — report no progress of their own).
INGEST = """
import sys
from sherlock.config import load_settings
from sherlock.storage.workspace import Workspace

def progress(stage, done, total):
    print(stage, done, total, sep="\\t", flush=True)

workspace = Workspace(load_settings(home=sys.argv[1], demo=False))
progress("started", 0, 1)
workspace.ingest([sys.argv[2]], progress=progress)
"""


def kill_at(process: subprocess.Popen, stage: str, done: int, timeout: float) -> list[str]:
    """SIGKILL ``process`` as soon as it reports ``stage`` with at least ``done`` done; return the lines it printed.
    The test fails if the process exits first or does not get there within ``timeout`` seconds."""
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        for line in process.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)  # the pipe closed: the process has exited

    threading.Thread(target=read, daemon=True).start()
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                line = lines.get(timeout=max(deadline - time.monotonic(), 0))
            except queue.Empty:
                pytest.fail(f"the ingest did not report {stage!r} within {timeout:.0f} s; it reported {seen}")
            if line is None:
                pytest.fail(f"the ingest exited (code {process.wait()}) before reporting {stage!r}; it reported {seen}")
            seen.append(line)
            reported, count, _ = line.split("\t")
            if reported == stage and int(count) >= done:
                return seen
    finally:
        process.kill()
        process.wait()


@pytest.mark.slow
@pytest.mark.parametrize(("stage", "done", "stored"), [
    pytest.param("started", 0, (0, 600), id="storing"),  # one transaction per file: all or nothing
    pytest.param("embedding", 1, (600,), id="embedding"),  # after the first batch of vectors (of ten)
    pytest.param("lexical index", 3, (600,), id="saving-lexical-index"),  # every index built, being written
])
def test_kill_9_mid_ingest_leaves_a_usable_workspace_and_a_rerun_completes(make_home, tmp_path, stage, done, stored):
    home = make_home()
    corpus = write_jsonl(tmp_path / "big.jsonl", incidents(600, salt="x" * 40))
    env = {**os.environ, "SHERLOCK_DEMO": "false"}
    with open(tmp_path / "ingest.log", "wb") as log:
        process = subprocess.Popen([sys.executable, "-c", INGEST, str(home), str(corpus)], env=env, text=True,
                                   stdout=subprocess.PIPE, stderr=log)
    kill_at(process, stage, done, timeout=300)
    assert process.returncode == -signal.SIGKILL
    from sherlock.config import load_settings
    from sherlock.storage.workspace import Workspace
    ws = Workspace(load_settings(home=home))
    assert ws.store.count() in stored
    rerun = subprocess.run([sys.executable, "-m", "sherlock", "--home", str(home), "ingest", str(corpus)], env=env,
                           capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    ws = Workspace(load_settings(home=home))
    assert ws.store.count() == 600 and ws.dense.count() == 600 and ws.is_synced()
    assert Searcher(ws).search("W-599").results[0].id == "W-599"


#: The first open of an empty home, as the app runs it: the demo corpus (here a file of the test's own) loaded and
#: indexed by ``prepare``, printing each report like ``INGEST``.
FIRST_OPEN = """
import sys
from pathlib import Path
from sherlock.config import load_settings
from sherlock.storage import workspace

def progress(stage, done, total):
    print(stage, done, total, sep="\\t", flush=True)

workspace.DEMO_DIR = Path(sys.argv[2])
progress("started", 0, 1)
workspace.Workspace(load_settings(home=sys.argv[1], demo=True)).prepare(progress=progress)
"""


@pytest.mark.slow
@pytest.mark.parametrize(("stage", "done", "stored"), [
    pytest.param("started", 0, (0, 200), id="storing-the-demo"),
    pytest.param("embedding", 1, (200,), id="embedding-the-demo"),  # after the first batch of vectors (of four)
])
def test_kill_9_during_the_first_open_leaves_a_workspace_the_next_open_completes(make_home, tmp_path, monkeypatch,
                                                                                  stage, done, stored):
    from sherlock.config import load_settings
    from sherlock.storage import workspace
    home, demo = make_home(), tmp_path / "demo"
    demo.mkdir()
    write_jsonl(demo / "incidents.jsonl", incidents(200, salt="x" * 40))
    with open(tmp_path / "open.log", "wb") as log:
        process = subprocess.Popen([sys.executable, "-c", FIRST_OPEN, str(home), str(demo)], text=True,
                                   stdout=subprocess.PIPE, stderr=log)
    kill_at(process, stage, done, timeout=300)
    assert process.returncode == -signal.SIGKILL
    monkeypatch.setattr(workspace, "DEMO_DIR", demo)
    ws = workspace.Workspace(load_settings(home=home, demo=True))
    assert ws.store.count() in stored and not ws.is_prepared()
    ws.prepare()
    assert ws.store.count() == 200 and ws.dense.count() == 200 and ws.is_prepared()
    assert Searcher(ws).search("W-199").results[0].id == "W-199"


def test_concurrent_searches_while_an_ingest_lands(workspace_factory, tmp_path):
    ws = workspace_factory()
    ws.ingest([write_jsonl(tmp_path / "a.jsonl", incidents(30))])
    searcher = Searcher(ws)
    errors, answers = [], []

    def search(n):
        try:
            for i in range(15):
                answers.append(searcher.search(f"{SERVICES[(n + i) % 4]} errors after deploy", k=5).results[0].id)
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=search, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    ws.ingest([write_jsonl(tmp_path / "b.jsonl", incidents(10, prefix="LATE"))])
    for thread in threads:
        thread.join()
    assert errors == [] and len(answers) == 60
    assert searcher.search("LATE-3").results[0].id == "LATE-3"


def test_prepare_syncs_an_out_of_date_workspace_and_skips_the_demo_when_disabled(workspace_factory, tmp_path):
    ws = workspace_factory(demo=False)
    assert not ws.is_prepared()  # no index at the (empty) store's revision yet
    assert ws.prepare() is False and ws.store.count() == 0 and ws.is_prepared()  # demo off: nothing loaded
    ws.store.upsert(incidents(5))  # written behind the indexes' back, as a killed ingest would leave it
    assert not ws.is_synced() and not ws.is_prepared()
    ws.prepare()
    assert ws.is_synced() and ws.dense.count() == 5 and ws.is_prepared()


def test_embedding_progress_starts_at_zero_and_moves_every_model_batch(workspace_factory, tmp_path):
    ws = workspace_factory()
    reports = []
    ws.ingest([write_jsonl(tmp_path / "a.jsonl", incidents(150))], progress=lambda *report: reports.append(report))
    assert [r for r in reports if r[0] == "embedding"] == [("embedding", done, 150) for done in (0, 64, 128, 150)]
