"""The audit log: who did what to the workspace, to which target, when and from where — one row per guarded action
that changes it (ingest, sync, delete, applied weights, online experiments started and stopped). Rows are only ever
added.

The log is kept in the store of record (:mod:`sherlock.storage.db`): by default in the workspace's own SQLite file
``<home>/audit.sqlite``, as it always has been; with ``SHERLOCK_STORE_URL`` set, in that shared database, so the
actions of every app server, API worker and CLI of a team are in one log.

    record(settings, "alice@acme.com", "apply_weights", "search: 0.5/0.4/0.1 wsum minmax", "app 10.0.0.7")
    entries(settings)[0].actor  # 'alice@acme.com'
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import NamedTuple

from sqlalchemy import Engine, insert, select

from sherlock.access import ACTIONS
from sherlock.config import Settings
from sherlock.registry import lookup
from sherlock.storage.db.engine import write_transaction
from sherlock.storage.db.stores import open_store, store_exists
from sherlock.storage.db.tables import STORE_TABLES, audit
from sherlock.storage.db.urls import redact

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


def log_location(settings: Settings) -> str:
    """Where the audit log is kept, for messages: ``<home>/audit.sqlite``, or the shared store's URL (password
    hidden)."""
    return redact(settings.store_url) if settings.store_url else str(settings.audit_path)


@contextmanager
def _opened(settings: Settings) -> Iterator[Engine]:
    """The engine of the workspace's audit log for one call: a new one on ``audit.sqlite``, disposed of afterwards,
    or the process's engine on the shared store."""
    engine, shared = open_store(settings, STORE_TABLES["audit"], settings.audit_path, what="audit log",
                                remedy="move it aside to start a new one (keep the old file: it is the record)")
    try:
        yield engine
    finally:
        if not shared:
            engine.dispose()


def record(settings: Settings, actor: str, action: str, target: str = "", source: str = "app") -> AuditEntry:
    """Add one row to the workspace's audit log and return it. ``action`` must be a key of
    :data:`sherlock.access.ACTIONS` (``ValueError`` listing them otherwise); ``actor`` must not be empty. The app
    records the signed-in user; the CLI the operating-system user (``cli <host>``); the API the token's name
    (``api <client address>``)."""
    lookup(ACTIONS, action, "action")
    if not actor.strip():
        raise ValueError(f"an audit entry needs an actor (an e-mail address, or {LOCAL_ACTOR!r} without sign-in)")
    entry = AuditEntry(datetime.now(UTC).isoformat(timespec="seconds"), actor.strip(), action, target, source)
    with _opened(settings) as engine, write_transaction(engine) as connection:
        connection.execute(insert(audit).values(entry._asdict()))
    return entry


def entries(settings: Settings, limit: int = 200) -> list[AuditEntry]:
    """The newest ``limit`` rows of the audit log, newest first; empty when nothing was recorded yet (a workspace
    without a ``store_url`` whose ``audit.sqlite`` does not exist yet: reading does not create it)."""
    if not store_exists(settings, settings.audit_path):
        return []
    with _opened(settings) as engine, engine.connect() as connection:
        rows = connection.execute(select(audit.c.at, audit.c.actor, audit.c.action, audit.c.target, audit.c.source)
                                  .order_by(audit.c.id.desc()).limit(limit)).all()
    return [AuditEntry(*row) for row in rows]


def record_quietly(settings: Settings, actor: str, action: str, target: str = "", source: str = "cli") -> bool:
    """:func:`record` for callers whose action has already happened (the CLI, the API): a log that cannot be written
    is a warning on the ``sherlock.audit`` logger, not a failed ingest or delete; returns whether it was written."""
    try:
        record(settings, actor, action, target[:500], source)
        return True
    except Exception:  # the change itself succeeded: say that its record is missing
        logging.getLogger("sherlock.audit").warning("the audit log at %s could not be written for %s by %s",
                                                    log_location(settings), action, actor, exc_info=True)
        return False
