"""The store of record's first schema: incidents (with the revision counter and tombstones), feedback, API tokens,
sync state, the query log and the audit log — the tables the SQLite stores created before migrations existed.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

#: A 64-bit integer, kept SQLite's plain INTEGER there (so a primary key stays the rowid).
BIG_INTEGER = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
#: The case-insensitive index on incident ids, per backend: SQLite's NOCASE collation, PostgreSQL's lower().
CASE_FOLDED_ID = {
    "sqlite": ("incidents_id_nocase", [sa.text('id COLLATE "NOCASE"')]),
    "postgresql": ("incidents_id_lower", [sa.text("lower(id)")]),
}


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("record", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.Text(), nullable=False),
        sa.Column("service", sa.Text()),
        sa.Column("severity", sa.Text()),
        sa.Column("category", sa.Text()),
        sa.Column("status", sa.Text()),
        sa.Column("created_date", sa.Text()),
        sa.Column("tags", sa.Text(), nullable=False, server_default="[]"),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("source", sa.Text()),
    )
    name, expressions = CASE_FOLDED_ID[op.get_bind().dialect.name]
    op.create_index(name, "incidents", expressions)
    op.create_index("incidents_fingerprint", "incidents", ["fingerprint"])
    op.create_index("incidents_revision", "incidents", ["revision", "id"])
    op.create_table(
        "meta",
        sa.Column("key", sa.Text(), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
    )
    op.create_table(
        "deleted",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("revision", sa.Integer(), nullable=False),
    )
    op.create_index("deleted_revision", "deleted", ["revision"])

    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("created_at", sa.Text(), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("query_key", sa.Text(), nullable=False),
        sa.Column("shown_ids", sa.Text(), nullable=False),
        sa.Column("helpful", sa.Integer()),
        sa.Column("right_id", sa.Text()),
        sa.Column("settings", sa.Text(), nullable=False, server_default="{}"),
        sa.Column("provider", sa.Text()),
        sa.Column("session_id", sa.Text()),
        sa.Column("variant", sa.Text()),
        sa.Column("experiment", sa.Text()),
        sa.Column("log_id", BIG_INTEGER),
        sqlite_autoincrement=True,
    )
    op.create_index("feedback_query_key", "feedback", ["query_key"])
    op.create_table(
        "pair_feedback",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("created_at", sa.Text(), nullable=False),
        sa.Column("anchor_id", sa.Text(), nullable=False),
        sa.Column("other_id", sa.Text(), nullable=False),
        sa.Column("same_root_cause", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Text()),
        sqlite_autoincrement=True,
    )
    op.create_index("pair_feedback_pair", "pair_feedback", ["anchor_id", "other_id"])

    op.create_table(
        "tokens",
        sa.Column("name", sa.Text(), primary_key=True),
        sa.Column("hash", sa.Text(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("rate", sa.Text()),
        sa.Column("created_at", sa.Text(), nullable=False),
        sa.Column("revoked_at", sa.Text()),
        sa.UniqueConstraint("hash", name="tokens_hash_key"),
    )

    op.create_table(
        "sync_state",
        sa.Column("source", sa.Text(), primary_key=True),
        sa.Column("watermark", sa.Text()),
        sa.Column("progress", sa.Text()),
        sa.Column("synced_at", sa.Text()),
    )

    op.create_table(
        "queries",
        sa.Column("id", BIG_INTEGER, primary_key=True, autoincrement=False),
        sa.Column("ts", sa.Float(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("session", sa.Text()),
        sa.Column("query", sa.Text()),
        sa.Column("query_key", sa.Text(), nullable=False),
        sa.Column("strategy", sa.Text(), nullable=False),
        sa.Column("abstained", sa.Integer(), nullable=False),
        sa.Column("confidence", sa.Float()),
        sa.Column("dense_top", sa.Float()),
        sa.Column("coverage", sa.Float()),
        sa.Column("top_ids", sa.Text(), nullable=False),
        sa.Column("n_results", sa.Integer(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("settings_hash", sa.Text(), nullable=False),
        sa.Column("experiment", sa.Text()),
        sa.Column("arm", sa.Text()),
        sa.Column("provider", sa.Text()),
        sa.Column("vector", sa.LargeBinary()),
    )
    op.create_table(
        "settings_versions",
        sa.Column("hash", sa.Text(), primary_key=True),
        sa.Column("settings", sa.Text(), nullable=False),
        sa.Column("first_seen", sa.Float(), nullable=False),
    )

    op.create_table(
        "audit",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", sa.Text(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("audit_at", "audit", ["at"])


def downgrade() -> None:
    for table in ("audit", "settings_versions", "queries", "sync_state", "tokens", "pair_feedback", "feedback",
                  "deleted", "meta", "incidents"):
        op.drop_table(table)
