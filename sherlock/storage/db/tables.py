"""Every table of the store of record, declared once for SQLite and PostgreSQL (SQLAlchemy Core).

The columns are those of the SQLite schemas the stores created before this package existed, in portable types:
``Text``, ``Integer``, ``Float`` (double precision on PostgreSQL), ``LargeBinary`` (``BLOB`` / ``bytea``), and
``Integer`` 0/1 where the code stores a flag. The query log's ids are 61-bit (milliseconds shifted left 20 bits), so
they and the feedback column that refers to them are ``BIGINT`` on PostgreSQL; on SQLite they stay ``INTEGER`` (64-bit
there), which keeps ``queries.id`` the rowid, as before. Index names are today's.

:data:`STORE_TABLES` says which tables live together: with the default backend each store keeps its own SQLite file
(``store.sqlite``, ``feedback.sqlite``, ...) holding only its tables; with ``store_url`` set, every table lives in one
database. The Alembic migrations (``migrations/versions``) create exactly this schema; a test compares them.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    func,
)

METADATA = MetaData()

#: A 64-bit integer on every backend, and SQLite's plain ``INTEGER`` (so a primary key stays the rowid).
BIG_INTEGER = BigInteger().with_variant(Integer(), "sqlite")

# -- incidents (sherlock/storage/store.py): the incidents, the revision counter in meta, and deletion tombstones ------

incidents = Table(
    "incidents", METADATA,
    Column("id", Text, primary_key=True),
    Column("record", Text, nullable=False),
    Column("content_hash", Text, nullable=False),
    Column("fingerprint", Text, nullable=False),
    Column("service", Text),
    Column("severity", Text),
    Column("category", Text),
    Column("status", Text),
    Column("created_date", Text),
    Column("tags", Text, nullable=False, server_default="[]"),
    Column("revision", Integer, nullable=False),
    Column("source", Text),
)
# a case-insensitive id lookup (``jsp-1052`` finds ``JSP-1052``): SQLite's NOCASE collation, PostgreSQL's lower()
# (both fold ASCII letters only, which is what ids use)
Index("incidents_id_nocase", incidents.c.id.collate("NOCASE")).ddl_if(dialect="sqlite")
Index("incidents_id_lower", func.lower(incidents.c.id)).ddl_if(dialect="postgresql")
Index("incidents_fingerprint", incidents.c.fingerprint)
Index("incidents_revision", incidents.c.revision, incidents.c.id)
# the search filters' columns, each with the id: a filter reads its index, not every record (migration 0002)
for _column in ("service", "severity", "category", "status", "created_date"):
    Index(f"incidents_{_column}", incidents.c[_column], incidents.c.id)

meta = Table(
    "meta", METADATA,
    Column("key", Text, primary_key=True),
    Column("value", Text, nullable=False),
)

deleted = Table(
    "deleted", METADATA,
    Column("id", Text, primary_key=True),
    Column("revision", Integer, nullable=False),
)
Index("deleted_revision", deleted.c.revision)

# -- feedback (sherlock/storage/feedback.py): thumbs and "the right incident was", and pair votes --------------------

feedback = Table(
    "feedback", METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", Text, nullable=False),
    Column("query", Text, nullable=False),
    Column("query_key", Text, nullable=False),
    Column("shown_ids", Text, nullable=False),
    Column("helpful", Integer),  # 1, 0, or NULL (no vote)
    Column("right_id", Text),
    Column("settings", Text, nullable=False, server_default="{}"),
    Column("provider", Text),
    Column("session_id", Text),
    Column("variant", Text),
    Column("experiment", Text),
    Column("log_id", BIG_INTEGER),  # a queries.id
    sqlite_autoincrement=True,
)
Index("feedback_query_key", feedback.c.query_key)

pair_feedback = Table(
    "pair_feedback", METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", Text, nullable=False),
    Column("anchor_id", Text, nullable=False),
    Column("other_id", Text, nullable=False),
    Column("same_root_cause", Integer, nullable=False),  # 1 or 0
    Column("session_id", Text),
    sqlite_autoincrement=True,
)
Index("pair_feedback_pair", pair_feedback.c.anchor_id, pair_feedback.c.other_id)

# -- API tokens (sherlock/storage/tokens.py): only their SHA-256 hashes --------------------------------------------

tokens = Table(
    "tokens", METADATA,
    Column("name", Text, primary_key=True),
    Column("hash", Text, nullable=False),
    Column("scope", Text, nullable=False),
    Column("rate", Text),
    Column("created_at", Text, nullable=False),
    Column("revoked_at", Text),
    UniqueConstraint("hash", name="tokens_hash_key"),
)

# -- sync state (sherlock/sync/watermarks.py) --------------------------------------------------------------------------

sync_state = Table(
    "sync_state", METADATA,
    Column("source", Text, primary_key=True),
    Column("watermark", Text),
    Column("progress", Text),  # JSON
    Column("synced_at", Text),
)

# -- the query log (sherlock/monitoring/querylog.py) ---------------------------------------------------------------

queries = Table(
    "queries", METADATA,
    Column("id", BIG_INTEGER, primary_key=True, autoincrement=False),  # time-ordered, made by the writer
    Column("ts", Float, nullable=False),
    Column("channel", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("session", Text),
    Column("query", Text),
    Column("query_key", Text, nullable=False),
    Column("strategy", Text, nullable=False),
    Column("abstained", Integer, nullable=False),  # 1 or 0
    Column("confidence", Float),
    Column("dense_top", Float),
    Column("coverage", Float),
    Column("top_ids", Text, nullable=False),
    Column("n_results", Integer, nullable=False),
    Column("latency_ms", Float, nullable=False),
    Column("settings_hash", Text, nullable=False),
    Column("experiment", Text),
    Column("arm", Text),
    Column("provider", Text),
    Column("vector", LargeBinary),
)

settings_versions = Table(
    "settings_versions", METADATA,
    Column("hash", Text, primary_key=True),
    Column("settings", Text, nullable=False),
    Column("first_seen", Float, nullable=False),
)

# -- the audit log (sherlock/audit.py) --------------------------------------------------------------------------------

audit = Table(
    "audit", METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", Text, nullable=False),
    Column("actor", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("target", Text, nullable=False),
    Column("source", Text, nullable=False),
    sqlite_autoincrement=True,
)
Index("audit_at", audit.c.at)

#: Which tables each store keeps (in its own SQLite file by default; all in one database with ``store_url``).
STORE_TABLES: dict[str, tuple[Table, ...]] = {
    "incidents": (incidents, meta, deleted),
    "feedback": (feedback, pair_feedback),
    "tokens": (tokens,),
    "sync": (sync_state,),
    "query_log": (queries, settings_versions),
    "audit": (audit,),
}
