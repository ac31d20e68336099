"""One writer at a time per workspace, across threads and processes: an exclusive ``flock`` on ``<home>/write.lock``.

Everything that changes the store and brings the indexes after it (ingest, delete, sync, reindex) holds it, so a
reader that finds the store ahead of the indexes can tell the two cases apart: the lock is held — a writer is at work,
serve the last complete snapshot meanwhile — or it is free — a writer died mid-way (``kill -9``), finish its work.

Written on ``fcntl.flock`` rather than the ``filelock`` package: the property needed is that the operating system
drops the lock when its process dies, and ``filelock`` falls back to a soft lock file, which a killed process leaves
behind, where ``flock`` is unavailable. Re-entrant within a thread (a sync inside an ingest takes it again).
"""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path
from types import TracebackType


class WriterLock:
    """``with lock:`` waits for the lock; ``lock.acquire(blocking=False)`` says whether it was free."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._thread = threading.RLock()
        self._depth = 0
        self._fd: int | None = None

    def acquire(self, blocking: bool = True) -> bool:
        if not self._thread.acquire(blocking=blocking):
            return False
        if self._depth == 0:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
            except BlockingIOError:
                os.close(fd)
                self._thread.release()
                return False
            self._fd = fd
        self._depth += 1
        return True

    def release(self) -> None:
        self._depth -= 1
        if self._depth == 0 and self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
        self._thread.release()

    def __enter__(self) -> WriterLock:
        self.acquire()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.release()
