"""One writer per workspace across processes: readers serve the last complete snapshot while a writer works, and
finish a writer's work when it was killed mid-way (the lock dies with its process)."""

import os
import signal
import subprocess
import sys
import textwrap
import time

from sherlock.storage.writer_lock import WriterLock

HOLD = textwrap.dedent("""
    import sys, time
    from sherlock.storage.writer_lock import WriterLock
    lock = WriterLock(sys.argv[1])
    lock.acquire()
    print("held", flush=True)
    time.sleep(120)
""")

WRITE_AND_HANG = textwrap.dedent("""
    import sys, time
    from sherlock.config import load_settings
    from sherlock.schema import Incident
    from sherlock.storage.workspace import Workspace
    workspace = Workspace(load_settings(home=sys.argv[1], demo=False))
    workspace._writer.acquire()  # as an ingest does, then dies before indexing what it stored
    workspace.store.upsert([Incident(id="OPS-31", title="Narwhal ledger export truncates every CSV at 4096 rows",
                                     description="The narwhal ledger export stops at 4096 rows in each CSV file")])
    print("stored", flush=True)
    time.sleep(120)
""")


def start(script: str, *args) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-c", script, *map(str, args)], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() in ("held", "stored")
    return process


def kill(process: subprocess.Popen) -> None:
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def test_the_lock_is_exclusive_across_processes_and_dies_with_its_holder(tmp_path):
    path = tmp_path / "write.lock"
    holder = start(HOLD, path)
    lock = WriterLock(path)
    try:
        assert lock.acquire(blocking=False) is False
    finally:
        kill(holder)
    assert lock.acquire(blocking=False) is True
    assert lock.acquire(blocking=False) is True  # re-entrant in its thread
    lock.release()
    lock.release()


def test_readers_serve_the_last_snapshot_while_a_writer_works_then_finish_a_killed_writers_work(
        workspace_factory, juspay_issues):
    from sherlock.search.searcher import Searcher
    workspace = workspace_factory("shared")
    workspace.ingest([juspay_issues])
    searcher = Searcher(workspace)
    before = searcher.search("UPI payment failed with error 5003", k=3)
    writer = start(WRITE_AND_HANG, workspace.settings.home)
    try:
        assert workspace.store.revision() > workspace.lexical().revision  # the store is ahead of the indexes
        during = searcher.search("narwhal ledger export truncates CSV", k=3)
        assert "OPS-31" not in [hit.id for hit in during.results]  # the last complete snapshot, no error
        assert searcher.search("UPI payment failed with error 5003", k=3).results[0].id == before.results[0].id
    finally:
        kill(writer)
    started = time.perf_counter()
    after = searcher.search("narwhal ledger export truncates CSV", k=3)
    assert after.results[0].id == "OPS-31" and workspace.is_synced()  # Chroma and the snapshot caught up here
    assert time.perf_counter() - started < 60
