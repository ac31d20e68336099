"""The audit log: who did what to the workspace, to which target, when and from where — one row per guarded action
that changes it (ingest, sync, delete, applied weights, online experiments started and stopped), in
``<home>/audit.sqlite``. Rows are only ever added.

    record(settings, "alice@acme.com", "apply_weights", "search: 0.5/0.4/0.1 wsum minmax", "app 10.0.0.7")
    entries(settings)[0].actor  # 'alice@acme.com'
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import NamedTuple

from sherlock.access import ACTIONS
from sherlock.config import Settings
from sherlock.registry import lookup
from sherlock.storage.sqlite import SQLiteFile

SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    source TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_at ON audit (at);
"""

#: The actor recorded when the app runs without sign-in (one person on their own machine).
LOCAL_ACTOR = "local"


class AuditEntry(NamedTuple):
    """One audited action: when (UTC, ISO 8601), who (an e-mail address, or ``local``), what (a key of
    :data:`sherlock.access.ACTIONS`), to what, and from where (``app 10.0.0.7``, ``cli``, ``api``)."""

    at: str
    actor: str
    action: str
    target: str
    source: str


def _open(settings: Settings) -> SQLiteFile:
    return SQLiteFile(settings.audit_path, SCHEMA, what="audit log",
                      remedy="move it aside to start a new one (keep the old file: it is the record)")


def record(settings: Settings, actor: str, action: str, target: str = "", source: str = "app") -> AuditEntry:
    """Add one row to the workspace's audit log and return it. ``action`` must be a key of
    :data:`sherlock.access.ACTIONS` (``ValueError`` listing them otherwise); ``actor`` must not be empty. The app
    records the signed-in user; the CLI the operating-system user (``cli <host>``); the API the token's name
    (``api <client address>``)."""
    lookup(ACTIONS, action, "action")
    if not actor.strip():
        raise ValueError(f"an audit entry needs an actor (an e-mail address, or {LOCAL_ACTOR!r} without sign-in)")
    entry = AuditEntry(datetime.now(UTC).isoformat(timespec="seconds"), actor.strip(), action, target, source)
    db = _open(settings)
    try:
        with db.connection() as connection, connection:
            connection.execute("INSERT INTO audit (at, actor, action, target, source) VALUES (?, ?, ?, ?, ?)", entry)
    finally:
        db.close()
    return entry


def entries(settings: Settings, limit: int = 200) -> list[AuditEntry]:
    """The newest ``limit`` rows of the audit log, newest first; empty when nothing was recorded yet."""
    if not settings.audit_path.exists():
        return []
    db = _open(settings)
    try:
        with db.connection() as connection:
            rows = connection.execute("SELECT at, actor, action, target, source FROM audit ORDER BY id DESC LIMIT ?",
                                      (limit,)).fetchall()
    finally:
        db.close()
    return [AuditEntry(*row) for row in rows]


def record_quietly(settings: Settings, actor: str, action: str, target: str = "", source: str = "cli") -> bool:
    """:func:`record` for callers whose action has already happened (the CLI, the API): a log that cannot be written
    is a warning on the ``sherlock.audit`` logger, not a failed ingest or delete; returns whether it was written."""
    try:
        record(settings, actor, action, target[:500], source)
        return True
    except Exception:  # the change itself succeeded: say that its record is missing
        logging.getLogger("sherlock.audit").warning("the audit log at %s could not be written for %s by %s",
                                                    settings.audit_path, action, actor, exc_info=True)
        return False
