"""A row of each table of the store of record goes in and comes back unchanged, on SQLite and on PostgreSQL: 61-bit
query-log ids, raw bytes, doubles and text beyond ASCII included."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sqlalchemy import select

from sherlock.monitoring.events import new_id
from sherlock.storage.db.engine import open_url, write_transaction
from sherlock.storage.db.migrate import upgrade
from sherlock.storage.db.stores import insert
from sherlock.storage.db.tables import METADATA, STORE_TABLES, queries, sync_state

#: A query-log id as the log makes them: 2026-02-01 09:30 UTC in milliseconds, shifted left 20 bits, plus 20 bits.
LOG_ID = (1_769_938_200_000 << 20) | 0xABCDE
#: The 32-number projection the query log keeps per query: float16 bytes, zeros and 0xFF included.
VECTOR = np.array([0.0, -1.5, 65504.0, 0.000061035] + [0.25] * 28, dtype=np.float16).tobytes()
TEXT = "Zahlungsausfall bei UPI — 支付失败 ✓ (ß, é, emoji 🧾), quotes ' \" and a backslash \\"

#: One row per table, with the values the stores write.
ROWS = {
    "incidents": {"id": "JSP-1052", "record": json.dumps({"id": "JSP-1052", "title": TEXT}, ensure_ascii=False),
                  "content_hash": "9f2c" * 16, "fingerprint": "a1b2c3d4", "service": "UPI", "severity": "SEV1",
                  "category": "payments", "status": "resolved", "created_date": "2025-01-31",
                  "tags": '["Refund", "UPI"]', "revision": 7, "source": "jira"},
    "meta": {"key": "revision", "value": "7"},
    "deleted": {"id": "JSP-0999", "revision": 6},
    "feedback": {"created_at": "2026-02-01T09:30:00.123+00:00", "query": TEXT, "query_key": "zahlungsausfall",
                 "shown_ids": '["JSP-1052", "JSP-1001"]', "helpful": 1, "right_id": "JSP-1052",
                 "settings": '{"weights": [0.6, 0.3, 0.1]}', "provider": "extractive", "session_id": "s-1",
                 "variant": "rrf", "experiment": "fusion-online", "log_id": LOG_ID},
    "pair_feedback": {"created_at": "2026-02-01T09:31:00.000+00:00", "anchor_id": "JSP-1052",
                      "other_id": "JSP-1001", "same_root_cause": 0, "session_id": None},
    "tokens": {"name": "slack-bot", "hash": "e3b0c442" * 8, "scope": "read", "rate": "120/minute",
               "created_at": "2026-02-01T09:30:00+00:00", "revoked_at": None},
    "sync_state": {"source": "jira", "watermark": "2026-02-01T09:30:00+00:00",
                   "progress": '{"cursor": "é/2", "since": null}', "synced_at": "2026-02-01T09:31:00+00:00"},
    "queries": {"id": LOG_ID, "ts": 1_769_938_200.123456, "channel": "app", "kind": "ask", "session": "s-1",
                "query": TEXT, "query_key": "hmac-" + "0f" * 16, "strategy": "hybrid", "abstained": 0,
                "confidence": 0.8125, "dense_top": 0.6123456789012345, "coverage": 1.0,
                "top_ids": '["JSP-1052"]', "n_results": 10, "latency_ms": 43.25, "settings_hash": "5e77",
                "experiment": None, "arm": None, "provider": "gemini", "vector": VECTOR},
    "settings_versions": {"hash": "5e77", "settings": '{"fusion": "wsum"}', "first_seen": 1_769_938_200.5},
    "audit": {"at": "2026-02-01T09:30:00+00:00", "actor": "alice@acme.com", "action": "apply_weights",
              "target": "search: 0.5/0.4/0.1 wsum minmax", "source": "app 10.0.0.7"},
}
#: The tables whose id the database assigns (counting from 1, as SQLite's AUTOINCREMENT does).
AUTOINCREMENT = {"feedback", "pair_feedback", "audit"}


@pytest.fixture
def engine(backend_url):
    engine = open_url(backend_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def test_every_table_has_a_sample_row_and_a_store():
    assert set(ROWS) == set(METADATA.tables)
    assert sorted(table.name for tables in STORE_TABLES.values() for table in tables) == sorted(METADATA.tables)


@pytest.mark.parametrize("name", sorted(ROWS))
def test_a_row_comes_back_as_written(engine, name):
    table = METADATA.tables[name]
    with write_transaction(engine) as connection:
        result = connection.execute(table.insert().values(**ROWS[name]))
        if name in AUTOINCREMENT:
            assert result.inserted_primary_key[0] == 1
    with engine.connect() as connection:
        [row] = connection.execute(select(table)).mappings().all()
    expected = {**ROWS[name], "id": 1} if name in AUTOINCREMENT else ROWS[name]
    assert dict(row) == expected


def test_a_61_bit_id_is_kept_exactly_and_orders_by_time(engine):
    """Two ids of the same second a millisecond apart: both beyond 32 bits and beyond a double's 53-bit mantissa."""
    first, second = new_id(1_769_938_200.000), new_id(1_769_938_200.001)
    assert 2 ** 60 < first < second < 2 ** 61
    rows = [{**ROWS["queries"], "id": log_id} for log_id in (second, first)]
    with write_transaction(engine) as connection:
        connection.execute(queries.insert(), rows)
    with engine.connect() as connection:
        ids = connection.execute(select(queries.c.id).where(queries.c.id >= first).order_by(queries.c.id)).scalars()
        assert list(ids) == [first, second]


def test_an_upsert_inserts_then_updates_on_either_backend(engine):
    with write_transaction(engine) as connection:
        for watermark in ("2026-01-01T00:00:00+00:00", "2026-02-01T00:00:00+00:00"):
            statement = insert(connection, sync_state).values(source="jira", watermark=watermark)
            connection.execute(statement.on_conflict_do_update(
                index_elements=["source"], set_={"watermark": statement.excluded.watermark}))
    with engine.connect() as connection:
        rows = connection.execute(select(sync_state.c.source, sync_state.c.watermark)).all()
    assert [tuple(row) for row in rows] == [("jira", "2026-02-01T00:00:00+00:00")]


def test_a_failed_write_transaction_leaves_nothing(engine):
    with pytest.raises(ZeroDivisionError), write_transaction(engine) as connection:
        connection.execute(sync_state.insert().values(source="jira"))
        raise ZeroDivisionError
    with engine.connect() as connection:
        assert connection.execute(select(sync_state)).all() == []
