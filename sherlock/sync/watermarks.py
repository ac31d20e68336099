"""Each source's sync state: its **watermark** — the newest time seen on the axis the source's API filters by, so the
next sync asks only for what changed since (less ``sync_overlap_s``) — and, while a run is under way, its
**progress**: the run's arguments and the resume point after its last stored page, so a run stopped by an error or a
crash starts again there.

The state lives in the ``sync_state`` table of the store of record (:mod:`sherlock.storage.db`): by default in the
workspace's own SQLite file ``<home>/sync.sqlite``, as it always has; with ``SHERLOCK_STORE_URL`` set, in that
shared database, so every machine of a team resumes from the same watermark.

    marks = open_watermarks(settings)      # the backend the settings choose
    marks.get("jira")                      # SyncState(source="jira", watermark="2025-02-01T09:30:00+00:00", ...)
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Row, func, select

from sherlock.config import Settings
from sherlock.storage.db.engine import write_transaction
from sherlock.storage.db.stores import insert, open_store
from sherlock.storage.db.tables import STORE_TABLES, sync_state


def state_path(settings: Settings) -> Path:
    """Where a workspace keeps its sync state when it has no ``store_url``."""
    return settings.home / "sync.sqlite"


def open_watermarks(settings: Settings) -> Watermarks:
    """The workspace's sync state, on the backend ``settings`` choose (``store_url``, else ``<home>/sync.sqlite``)."""
    return Watermarks(state_path(settings), settings)


@dataclass(frozen=True)
class SyncState:
    """One source's state: ``watermark`` (UTC ISO, or None before the first complete sync), ``progress`` (the
    unfinished run's arguments and resume point, or None) and when a sync last completed."""

    source: str
    watermark: str | None = None
    progress: dict[str, Any] | None = None
    synced_at: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Watermarks:
    """The ``sync_state`` table: of the SQLite file ``path`` (created if missing), or — given ``settings`` with a
    ``store_url`` — of that shared database (its schema checked, see :func:`sherlock.storage.db.stores.open_store`).
    Safe to share between threads (each call takes a pooled connection)."""

    def __init__(self, path: str | Path, settings: Settings | None = None) -> None:
        self._engine, self._shared = open_store(
            settings, STORE_TABLES["sync"], path, what="sync state",
            remedy="move it aside: the next sync of each source then starts from scratch")

    def close(self) -> None:
        """Release the SQLite file's connections (a shared store's engine stays open for the process's other
        stores)."""
        if not self._shared:
            self._engine.dispose()

    def get(self, source: str) -> SyncState:
        """The state of ``source`` (an empty one when it never synced)."""
        with self._engine.connect() as connection:
            row = connection.execute(select(sync_state).where(sync_state.c.source == source)).first()
        return SyncState(source) if row is None else _state(row)

    def all(self) -> list[SyncState]:
        """Every source that has synced or is part-way, by name."""
        with self._engine.connect() as connection:
            rows = connection.execute(select(sync_state).order_by(sync_state.c.source)).all()
        return [_state(row) for row in rows]

    def save_progress(self, source: str, progress: dict[str, Any]) -> None:
        """Record where an unfinished run stands (after each stored batch); the watermark is left as it was."""
        with write_transaction(self._engine) as connection:
            statement = insert(connection, sync_state).values(source=source, progress=json.dumps(progress))
            connection.execute(statement.on_conflict_do_update(
                index_elements=[sync_state.c.source], set_={"progress": statement.excluded.progress}))

    def finish(self, source: str, watermark: str | None) -> None:
        """A run completed: set the watermark (unless None: nothing was seen), drop the progress."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with write_transaction(self._engine) as connection:
            statement = insert(connection, sync_state).values(source=source, watermark=watermark, progress=None,
                                                              synced_at=now)
            connection.execute(statement.on_conflict_do_update(index_elements=[sync_state.c.source], set_={
                "watermark": func.coalesce(statement.excluded.watermark, sync_state.c.watermark),
                "progress": None, "synced_at": statement.excluded.synced_at}))


def _state(row: Row[Any]) -> SyncState:
    return SyncState(row.source, row.watermark, json.loads(row.progress) if row.progress else None, row.synced_at)
