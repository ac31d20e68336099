"""Several processes on one store of record at once, on both backends (a SQLite file; a real PostgreSQL server):
4 writers each ingest a file of 2,500 incidents — the store half of ``sherlock ingest``: read, validate, redact,
upsert in one transaction — while 4 readers run the store reads a search makes. Nothing is lost or duplicated, no
reader fails, and every reader only ever sees whole files (0, 2,500, ... 10,000 incidents; revisions in step).

Then the freshness half: a process whose indexes were built at an old revision notices another process's write to
the shared store and serves it at its next search."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from sherlock.config import Settings
from sherlock.schema import Incident
from sherlock.storage.store import Filters, Store

WRITERS, READERS, PER_FILE = 4, 4, 2_500
SERVICES = ["upi-switch", "refunds-api", "card-vault", "k8s-platform"]

WRITER = """
import json, sys
from pathlib import Path
from sherlock.config import Settings
from sherlock.redaction.redactor import Redactor
from sherlock.storage.ingest import ingest_paths
from sherlock.storage.store import Store

home, url, path = sys.argv[1:4]
settings = Settings(home=home, store_url=url)
store = Store(Path(home) / "store.sqlite", settings)
(report,) = ingest_paths(store, [path], redactor=Redactor.from_settings(settings))
print(json.dumps({"added": len(report.added), "rejected": len(report.rejected)}))
"""

READER = """
import json, sys, time
from pathlib import Path
from sherlock.config import Settings
from sherlock.storage.store import Filters, Store

home, url, stop = sys.argv[1:4]
store = Store(Path(home) / "store.sqlite", Settings(home=home, store_url=url))
seen, errors, reads = [], [], 0
while True:
    last = Path(stop).exists()
    try:
        revision = store.revision()
        count = store.count()
        changed, deleted = store.changes_since(0)
        ids = store.filter_ids(Filters.parse(["service=upi-switch"]))
        found = store.get_many(changed[:50])
        if changed and store.get(changed[-1].lower()) is None:
            raise AssertionError(f"{changed[-1]} listed as changed but not found")
        seen.append([revision, count, len(changed), len(ids), len(found), len(deleted)])
        reads += 1
    except Exception as exc:
        errors.append(repr(exc))
    if last:
        break
print(json.dumps({"seen": seen, "errors": errors, "reads": reads}))
"""


def incidents(writer: int) -> list[Incident]:
    return [Incident(id=f"W{writer}-{i:05d}", title=f"{SERVICES[i % 4]} errors after deploy {i} (writer {writer})",
                     description=f"Retries exhausted on {SERVICES[i % 4]}; card 4111 1111 1111 1111 seen in logs",
                     service=SERVICES[i % 4], severity=f"SEV{1 + i % 4}", created_at=f"2024-{1 + i % 12:02d}-01")
            for i in range(PER_FILE)]


def test_four_writers_and_four_readers_at_once(migrated_url, tmp_path):
    files = []
    for writer in range(WRITERS):
        path = tmp_path / f"writer{writer}.jsonl"
        path.write_text("".join(json.dumps(incident.to_json_dict()) + "\n" for incident in incidents(writer)))
        files.append(path)
    stop = tmp_path / "stop"
    readers = [subprocess.Popen([sys.executable, "-c", READER, str(tmp_path / f"reader{n}"), migrated_url, str(stop)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for n in range(READERS)]
    time.sleep(1)  # the readers are reading before the first write
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path / f"writer{n}"), migrated_url, str(path)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for n, path in enumerate(files)]
    written = [process.communicate(timeout=600) for process in writers]
    stop.touch()
    read = [process.communicate(timeout=600) for process in readers]

    for process, (out, err) in zip(writers, written, strict=True):
        assert process.returncode == 0, err
        assert json.loads(out) == {"added": PER_FILE, "rejected": 0}
    store = Store(tmp_path / "check.sqlite", Settings(home=tmp_path / "check", store_url=migrated_url))
    expected = {incident.id for writer in range(WRITERS) for incident in incidents(writer)}
    stored = [incident.id for incident in store.iter_incidents()]
    assert len(stored) == len(set(stored)) == WRITERS * PER_FILE and set(stored) == expected
    assert store.count() == WRITERS * PER_FILE and store.revision() == WRITERS  # one transaction per file
    assert store.changes_since(0) == (sorted(expected), [])
    assert len(store.filter_ids(Filters.parse(["service=upi-switch"]))) == WRITERS * PER_FILE // 4
    assert "4111 1111 1111 1111" not in store.get("W0-00000").description  # redacted on the way in

    whole_files = {PER_FILE * n for n in range(WRITERS + 1)}
    for process, (out, err) in zip(readers, read, strict=True):
        assert process.returncode == 0, err
        report = json.loads(out)
        assert report["errors"] == [] and report["reads"] > 0
        for revision, count, changed, upi, found, deleted in report["seen"]:
            # each read sees whole files only; the calls are read one after another, each at least as late
            assert {revision * PER_FILE, count, changed, upi * 4} <= whole_files and deleted == 0
            assert revision * PER_FILE <= count <= changed <= upi * 4 and found == min(50, changed)
        counts = [row[1] for row in report["seen"]]
        assert counts == sorted(counts) and counts[-1] == WRITERS * PER_FILE  # never backwards; all seen at the end


def test_a_process_notices_another_process_write_to_the_shared_store(workspace_factory, migrated_url, tmp_path):
    """Two machines' workspaces (own homes, own embedded Chroma) on one shared store: what one stores, the other
    serves at its next search — its indexes catch up on their own (Chroma and a delta segment), with no sync run."""
    from sherlock.search.searcher import Searcher

    writer = workspace_factory("writer", store_url=migrated_url)
    reader = workspace_factory("reader", store_url=migrated_url)
    first = [Incident(id=f"INC-{n}", title=title, service="payments-api", description=description)
             for n, (title, description) in enumerate([
                 ("UPI collect requests time out", "NPCI switch latency spiked; collect requests timed out"),
                 ("Refund webhook retries exhausted", "merchant endpoint returned 500 for every refund webhook"),
                 ("Card vault pod OOMKilled", "memory limit too low after the tokenisation release")])]
    writer.put(first, source="test")
    searcher = Searcher(reader)
    assert searcher.search("refund webhook returned 500").results[0].id == "INC-1"
    assert reader.store.revision() == 1 and reader.is_synced()

    late = Incident(id="INC-9", title="Kafka consumer lag on settlement topic",
                    description="settlement consumers fell behind after a broker restart; lag reached two hours")
    writer.put([late], source="test")  # another process, another machine: nothing tells the reader
    response = searcher.search("settlement consumer lag after broker restart")
    assert response.results[0].id == "INC-9" and searcher.search("INC-9").results[0].id == "INC-9"
    assert reader.is_synced() and reader.dense.count() == 4  # its own Chroma caught up too
    assert writer._dense_key() != reader._dense_key()  # each Chroma's revision is kept apart in the shared store
