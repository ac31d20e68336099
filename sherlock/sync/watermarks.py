"""Each source's sync state, in ``<home>/sync.sqlite``: its **watermark** — the newest time seen on the axis the
source's API filters by, so the next sync asks only for what changed since (less ``sync_overlap_s``) — and, while a
run is under way, its **progress**: the run's arguments and the resume point after its last stored page, so a run
stopped by an error or a crash starts again there.

    marks = Watermarks(state_path(settings))
    marks.get("jira")                      # SyncState(source="jira", watermark="2025-02-01T09:30:00+00:00", ...)
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sherlock.config import Settings
from sherlock.storage.sqlite import SQLiteFile

SCHEMA = """
CREATE TABLE IF NOT EXISTS sync_state (
    source     TEXT PRIMARY KEY,
    watermark  TEXT,
    progress   TEXT,
    synced_at  TEXT
);
"""


def state_path(settings: Settings) -> Path:
    """Where a workspace keeps its sync state."""
    return settings.home / "sync.sqlite"


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
    """The ``sync_state`` table of one SQLite file (see :class:`sherlock.storage.sqlite.SQLiteFile`)."""

    def __init__(self, path: str | Path) -> None:
        self._file = SQLiteFile(path, SCHEMA, what="sync state",
                                remedy="move it aside: the next sync of each source then starts from scratch")

    def close(self) -> None:
        self._file.close()

    def get(self, source: str) -> SyncState:
        """The state of ``source`` (an empty one when it never synced)."""
        with self._file.connection() as connection:
            row = connection.execute("SELECT watermark, progress, synced_at FROM sync_state WHERE source = ?",
                                     (source,)).fetchone()
        if row is None:
            return SyncState(source)
        return SyncState(source, row[0], json.loads(row[1]) if row[1] else None, row[2])

    def all(self) -> list[SyncState]:
        """Every source that has synced or is part-way, by name."""
        with self._file.connection() as connection:
            names = [row[0] for row in connection.execute("SELECT source FROM sync_state ORDER BY source")]
        return [self.get(name) for name in names]

    def save_progress(self, source: str, progress: dict[str, Any]) -> None:
        """Record where an unfinished run stands (after each stored batch); the watermark is left as it was."""
        with self._file.connection() as connection, connection:
            connection.execute("INSERT INTO sync_state (source, progress) VALUES (?, ?) ON CONFLICT(source) DO "
                               "UPDATE SET progress = excluded.progress", (source, json.dumps(progress)))

    def finish(self, source: str, watermark: str | None) -> None:
        """A run completed: set the watermark (unless None: nothing was seen), drop the progress."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._file.connection() as connection, connection:
            connection.execute("INSERT INTO sync_state (source, watermark, progress, synced_at) VALUES (?, ?, NULL, ?)"
                               " ON CONFLICT(source) DO UPDATE SET watermark = COALESCE(excluded.watermark, "
                               "sync_state.watermark), progress = NULL, synced_at = excluded.synced_at",
                               (source, watermark, now))
