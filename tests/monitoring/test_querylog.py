"""The query log: what a row holds, hashing, windows, pruning, and that logging never fails or blocks a query — on
both backends: the workspace's own ``query_log.sqlite`` (the default) and the shared PostgreSQL store of
``store_url``, where several processes log together."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime

import numpy as np
import psycopg
import pytest
from sqlalchemy import select

from sherlock.config import Settings, load_settings
from sherlock.monitoring.events import (
    PROJECTED_DIM,
    TOP_IDS,
    QueryEvent,
    hash_key,
    id_at,
    project,
    query_key,
    ranking_settings,
    settings_hash,
)
from sherlock.monitoring.querylog import QueryLog, query_log
from sherlock.monitoring.record import log_search
from sherlock.storage.db.engine import StoreUnavailableError, open_url
from sherlock.storage.db.migrate import upgrade
from sherlock.storage.db.stores import forget_shared_engines
from sherlock.storage.db.tables import queries

NOV_1 = datetime(2026, 11, 1, tzinfo=UTC).timestamp()


def event(query: str = "why do refunds fail?", **fields) -> QueryEvent:
    values = {"channel": "app", "kind": "search", "strategy": "hybrid", "abstained": False, "latency_ms": 12.5,
              "settings": {"weights": [0.6, 0.3, 0.1]}, "ts": NOV_1}
    return QueryEvent(query=query, **{**values, **fields})


@pytest.fixture
def settings(migrated_url, tmp_path) -> Settings:
    """A workspace on each backend: on SQLite its own ``<home>/query_log.sqlite``, as without ``store_url`` (the
    default); on PostgreSQL the shared store of ``store_url`` (an empty, migrated database)."""
    home = tmp_path / "home"
    if migrated_url.startswith("sqlite"):
        return load_settings(home=home, demo=False)
    return load_settings(home=home, demo=False, store_url=migrated_url)


@pytest.fixture
def log(settings):
    opened = QueryLog(settings.query_log_path, b"test-key", settings=settings)
    yield opened
    opened.close()


def rows(log: QueryLog) -> list[dict]:
    with log.read() as connection:
        return [row._asdict() for row in connection.execute(select(queries).order_by(queries.c.id))]


def test_a_row_holds_what_was_asked_and_answered(log):
    vector = np.linspace(-1, 1, 384, dtype=np.float32)
    ids = [f"JSP-{n}" for n in range(15)]
    row_id = log.record(event(session="s1", confidence=0.8, dense_top=0.61, coverage=0.5, top_ids=ids,
                              n_results=15, experiment="fusion", arm="b", provider="extractive", vector=vector))
    assert log.flush() and log.dropped == 0
    [row] = rows(log)
    assert row["id"] == row_id and row_id >> 20 == int(NOV_1 * 1000)
    assert (row["channel"], row["kind"], row["session"], row["query"], row["strategy"], row["abstained"]) == (
        "app", "search", "s1", "why do refunds fail?", "hybrid", 0)
    assert (row["confidence"], row["dense_top"], row["coverage"], row["n_results"], row["latency_ms"]) == (
        0.8, 0.61, 0.5, 15, 12.5)
    assert json.loads(row["top_ids"]) == ids[:TOP_IDS]
    assert (row["experiment"], row["arm"], row["provider"]) == ("fusion", "b", "extractive")
    assert row["query_key"] == query_key("Why do refunds fail", b"test-key")  # normalised before hashing
    assert row["settings_hash"] == settings_hash({"weights": [0.6, 0.3, 0.1]})
    stored = np.frombuffer(row["vector"], dtype=np.float16)
    assert stored.shape == (PROJECTED_DIM,)
    np.testing.assert_allclose(stored, project(vector), rtol=2e-3, atol=2e-3)
    assert log.settings_versions()[row["settings_hash"]]["settings"] == {"weights": [0.6, 0.3, 0.1]}


def test_the_projection_keeps_distances_roughly():
    rng = np.random.default_rng(1)
    vectors = rng.standard_normal((40, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    full = np.linalg.norm(vectors[:20] - vectors[20:], axis=1)
    projected = np.linalg.norm(np.stack([project(v) for v in vectors[:20]]) -
                               np.stack([project(v) for v in vectors[20:]]), axis=1)
    assert 0.7 < float(np.median(projected / full)) < 1.3


def test_hash_mode_keeps_no_text_and_the_key_decides_the_hash(settings):
    hashed = QueryLog(settings.query_log_path, b"key-1", keep_text=False, settings=settings)
    hashed.record(event("Card 4111 declined"))
    hashed.flush()
    [row] = rows(hashed)
    hashed.close()
    assert row["query"] is None and row["query_key"] == query_key("card 4111 declined", b"key-1")
    assert query_key("card 4111 declined", b"key-2") != row["query_key"]


def test_redaction_runs_before_the_text_is_stored(settings):
    redacting = QueryLog(settings.query_log_path, b"k", redact=lambda text: text.replace("hunter2", "[password]"),
                         settings=settings)
    redacting.record(event("login fails with password hunter2"))
    redacting.flush()
    assert rows(redacting)[0]["query"] == "login fails with password [password]"
    redacting.close()


def test_the_hash_key_is_made_once_readable_by_its_owner_only(tmp_path):
    settings = load_settings(home=tmp_path, demo=False)
    first = hash_key(settings)
    assert first == hash_key(settings) and len(first) == 64
    assert os.stat(tmp_path / "query_log.key").st_mode & 0o777 == 0o600
    assert hash_key(load_settings(home=tmp_path, demo=False, query_log_key="team-secret")) == b"team-secret"


def test_windows_select_by_time_and_prune_drops_the_old(log):
    now = time.time()
    for days_ago in (400, 200, 10, 1):
        log.record(event(f"asked {days_ago} days ago", ts=now - days_ago * 86400))
    log.flush()
    frame = log.frame(since=now - 30 * 86400)
    assert list(frame["id"]) == sorted(frame["id"]) and len(frame) == 2
    assert str(frame["ts"].dtype) == "datetime64[ns]" and frame["abstained"].dtype == bool
    assert len(log.frame(until=now - 30 * 86400)) == 2 and log.count() == 4
    assert log.revision() == (4, int(log.frame()["id"].max()))
    assert log.prune(older_than_days=180) == 2 and log.count() == 2
    assert log.prune(older_than_days=180) == 0
    assert id_at(now - 86400) < int(log.frame()["id"].max())
    assert log.revision() == (2, int(log.frame()["id"].max()))
    first, last = log.span()
    assert (first, last) == pytest.approx((now - 10 * 86400, now - 86400))
    texts = log.texts(list(log.frame()["id"]))
    assert sorted(texts.values()) == ["asked 1 days ago", "asked 10 days ago"]
    assert set(log.top_ids(list(texts))) == set(texts)


def test_many_threads_log_every_row(log):
    def work(worker: int) -> None:
        for n in range(250):
            log.record(event(f"question {worker}-{n}", session=str(worker)))

    threads = [threading.Thread(target=work, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert log.flush() and log.count() == 2000 and log.dropped == 0
    assert len(set(log.frame()["id"])) == 2000


def test_a_log_that_cannot_be_opened_never_fails_the_query(tmp_path, caplog):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the log's folder should be")
    broken = QueryLog(blocked / "query_log.sqlite", b"k")
    assert broken.record(event()) is not None  # queued: the write fails later, on the writer thread
    assert broken.flush() and broken.dropped == 1
    assert "searches are unaffected" in caplog.text
    assert broken.record(event(vector="not a vector")) is not None  # a bad event is dropped by the writer alone
    assert broken.flush() and broken.dropped == 2


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_postgresql_server_that_is_down_never_fails_the_query(tmp_path, caplog):
    """Nothing listens at the store's address: every row is dropped with a warning that names the server (never the
    password), queries go on, and a reader says what is wrong."""
    url = f"postgresql://sherlock:s3cret@127.0.0.1:{free_port()}/sherlock"
    settings = load_settings(home=tmp_path, demo=False, store_url=url, store_connect_timeout_s=2)
    log = query_log(settings)
    assert log is not None and not (tmp_path / "query_log.sqlite").exists()
    caplog.set_level(logging.WARNING, "sherlock.monitoring")
    assert log.record(event()) is not None and log.record(event("again")) is not None
    assert log.flush(30) and log.dropped == 2
    assert "searches are unaffected" in caplog.text and "127.0.0.1" in caplog.text and "s3cret" not in caplog.text
    response = type("Response", (), {"query": "q", "strategy": "hybrid", "abstained": False, "took_ms": 1.0,
                                     "settings": {}, "confidence": None, "evidence": {}, "results": []})()
    assert isinstance(log_search(settings, response, channel="api"), int)  # queued: the query is answered
    with pytest.raises(StoreUnavailableError, match=r"cannot reach PostgreSQL at 127\.0\.0\.1"):
        log.count()
    log.close()


@pytest.mark.postgres
def test_a_store_that_goes_away_while_logging_drops_rows_with_a_warning(postgres_url, tmp_path, caplog):
    """The database is dropped under a writer with pooled connections: the next batches are dropped, not raised."""
    admin = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute('CREATE DATABASE "going_away"')
    url = f"{postgres_url.rsplit('/', 1)[0]}/going_away"
    engine = open_url(url)
    upgrade(engine)
    engine.dispose()
    settings = load_settings(home=tmp_path, demo=False, store_url=url)
    log = QueryLog(settings.query_log_path, b"k", settings=settings)
    try:
        log.record(event("before"))
        assert log.flush() and log.count() == 1 and log.dropped == 0
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute('DROP DATABASE "going_away" WITH (FORCE)')
        assert log.record(event("after")) is not None
        assert log.flush(30) and log.dropped == 1 and "searches are unaffected" in caplog.text
    finally:
        log.close()
        forget_shared_engines()


def test_the_process_wide_log_follows_the_settings(tmp_path, migrated_url):
    settings = load_settings(home=tmp_path, demo=False)
    assert query_log(settings) is query_log(settings)
    assert query_log(load_settings(home=tmp_path, demo=False, query_log=False)) is None
    shared = query_log(load_settings(home=tmp_path, demo=False, store_url=migrated_url))
    assert shared is not None and shared is not query_log(settings)
    assert shared is query_log(load_settings(home=tmp_path, demo=False, store_url=migrated_url))
    used = {"weights": (0.2, 0.5, 0.3), "method": "rrf", "k": 10, "fusion": "rrf"}
    resolved = ranking_settings(settings, used)
    assert resolved["weights"] == [0.2, 0.5, 0.3] and resolved["fusion"] == "rrf" and "k" not in resolved
    assert resolved["norm"] == settings.norm and resolved["embedder"] == "minilm"


KILLED_WRITER = """
import sys, time
from sherlock.config import Settings
from sherlock.monitoring.querylog import QueryLog
from sherlock.monitoring.events import QueryEvent
settings = Settings(home=sys.argv[2], store_url=sys.argv[3] or None)
log = QueryLog(sys.argv[1], b"k", settings=settings)
for n in range(10**9):
    log.record(QueryEvent("app", "search", f"question {n}", "hybrid", False, 1.0, {"w": 1}))
    if n == 2000:
        log.flush()
        print("flushed", flush=True)
    if n % 100 == 0:
        time.sleep(0.001)
"""


def test_kill_9_while_logging_leaves_a_usable_log(settings):
    path = settings.query_log_path
    writer = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(path), str(settings.home),
                               settings.store_url or ""], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "flushed"
        time.sleep(0.3)  # killed mid-stream, with rows queued and a write likely under way
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait(30)
    reopened = QueryLog(path, b"k", settings=settings)
    written = reopened.count()
    assert written >= 2001
    if not settings.store_url:
        with reopened.read() as connection:
            assert connection.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    reopened.record(event("after the crash"))
    reopened.flush()
    assert reopened.count() == written + 1
    reopened.close()


def test_the_workspace_log_redacts_cards_and_credentials_before_storing_or_hashing(tmp_path):
    settings = load_settings(home=tmp_path, demo=False)
    log = query_log(settings)
    assert log is not None
    log.record(event("card 4111 1111 1111 1111 declined, password=hunter2"))
    log.flush()
    [row] = rows(log)
    assert "4111 1111 1111 1111" not in row["query"] and "hunter2" not in row["query"]
    assert "1111" in row["query"] and "[redacted:password]" in row["query"]
    assert row["query_key"] == query_key(row["query"], hash_key(settings))
    raw = (tmp_path / "query_log.sqlite").read_bytes() + (tmp_path / "query_log.sqlite-wal").read_bytes()
    assert b"hunter2" not in raw and b"4111 1111 1111 1111" not in raw


TWO_WRITERS = """
import sys
from sherlock.config import Settings
from sherlock.monitoring.events import QueryEvent
from sherlock.monitoring.querylog import QueryLog
url, home, n, number = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
settings = Settings(home=home, store_url=url)
log = QueryLog(settings.query_log_path, b"k", settings=settings, batch_interval_s=0.005)
# go
ids = [log.record(QueryEvent("api", "search", f"question {number}-{i}", "hybrid", i % 3 == 0, 1.0 + i,
                             {"version": "shared" if i % 2 else number}, session=number)) for i in range(n)]
assert log.flush(60) and log.dropped == 0, log.dropped
log.close()
print(" ".join(map(str, ids)))
"""


def test_two_processes_log_to_one_shared_store(migrated_url, tmp_path, run_together):
    """Two writers (two app servers) log at once into one database, in many small batches: every row lands once,
    under the id its writer returned, and a settings version both use is stored once."""
    settings = load_settings(home=tmp_path / "home", demo=False, store_url=migrated_url)
    outputs = run_together(TWO_WRITERS, migrated_url, settings.home, 400)
    returned = [int(row_id) for out in outputs for row_id in out.split()]
    log = QueryLog(settings.query_log_path, b"k", settings=settings)
    try:
        frame = log.frame()
        assert log.count() == len(frame) == 800 and sorted(returned) == list(frame["id"])
        assert frame.groupby("session")["abstained"].sum().to_dict() == {"0": 134, "1": 134}
        assert frame.groupby("session")["latency_ms"].sum().to_dict() == {"0": 80_200.0, "1": 80_200.0}
        versions = {version: found["settings"] for version, found in log.settings_versions().items()}
        assert sorted(versions.values(), key=str) == [{"version": "0"}, {"version": "1"}, {"version": "shared"}]
        assert frame["settings_hash"].value_counts().to_dict() == {
            settings_hash({"version": "shared"}): 400, settings_hash({"version": "0"}): 200,
            settings_hash({"version": "1"}): 200}
        assert sorted(log.texts(returned).values()) == sorted(f"question {p}-{i}" for p in "01" for i in range(400))
    finally:
        log.close()
    assert not settings.query_log_path.exists()  # with store_url set, no query_log.sqlite is written
