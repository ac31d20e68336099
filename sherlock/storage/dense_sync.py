"""Bringing the vector index (Chroma) up to the store: embed what changed, delete what is gone.

Incremental by default: the incidents changed and deleted since the revision Chroma was last synced to
(:meth:`sherlock.storage.store.Store.changes_since`) are upserted and deleted, so the cost follows the change, not the
corpus; a re-run after a crash upserts them again (idempotent; their vectors come from the embedding cache). A full
content-hash diff of the whole store against the whole collection is the fallback: when that revision is unknown,
when Chroma cannot be read (it is then rebuilt), or when the two disagree on the count afterwards.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from sherlock.storage.store import Store

log = logging.getLogger(__name__)

#: ``progress(stage, done, total)``, as :data:`sherlock.storage.workspace.Progress`.
Progress = Callable[[str, int, int], None]


def sync_dense(store: Store, dense: Any, since: int, progress: Progress | None = None) -> tuple[int, int]:
    """Make ``dense`` (a :class:`sherlock.retrievers.dense.DenseRetriever`) hold a vector for every stored incident
    at its current content hash and nothing else, given that it did at store revision ``since`` (-1: unknown).
    Returns ``(embedded, deleted)``. Upserts are idempotent, so an interrupted sync is completed by running it
    again from the same ``since``."""
    if since < 0 or since > store.revision():
        return _full(store, dense, progress)
    changed, deleted = store.changes_since(since)
    try:
        # no read of what Chroma holds first (a get by id costs as much as the upsert): deleting an id it does not
        # hold is a no-op, and upserting one it holds is idempotent, its vector a hit in the embedding cache
        dense.delete(sorted(deleted))
        _embed(store, dense, changed, progress)
        count = dense.count()
    except Exception as exc:  # noqa: BLE001 - a damaged derived index is rebuilt, never fatal
        log.warning("vector index unreadable (%s); rebuilding it from the store", exc)
        dense.drop()
        return _full(store, dense, progress)
    if count != store.count():  # something changed the collection behind the store's back
        log.warning("the vector index holds %d vectors for %d incidents; comparing every content hash", count,
                    store.count())
        embedded, removed = _full(store, dense, progress)
        return len(changed) + embedded, len(deleted) + removed
    return len(changed), len(deleted)


def _full(store: Store, dense: Any, progress: Progress | None) -> tuple[int, int]:
    """Diff every content hash of the store against every one of Chroma's (O(corpus))."""
    wanted = store.hashes()
    try:
        have = dense.hashes()
    except Exception as exc:  # noqa: BLE001 - a damaged derived index is rebuilt, never fatal
        log.warning("vector index unreadable (%s); rebuilding it from the store", exc)
        dense.drop()
        have = {}
    stale = sorted(set(have) - set(wanted))
    todo = sorted(i for i, content_hash in wanted.items() if have.get(i) != content_hash)
    dense.delete(stale)
    _embed(store, dense, todo, progress)
    return len(todo), len(stale)


def _embed(store: Store, dense: Any, todo: Sequence[str], progress: Progress | None) -> None:
    """Embed and upsert the incidents ``todo``, 1024 read from the store at a time."""
    done = 0
    if progress and todo:
        progress("embedding", 0, len(todo))  # the stage starts now: its pace (and time left) counts from here
    for start in range(0, len(todo), 1024):
        incidents = store.get_many(todo[start:start + 1024])
        # shortest text first, so each model batch pads its texts to about the same length (the embedder sorts
        # only within one call, and a call is one batch here so that progress moves every batch)
        batch = sorted((incidents[i] for i in todo[start:start + 1024] if i in incidents),
                       key=lambda incident: len(incident.text()))

        def tick(n: int) -> None:
            nonlocal done
            done += n
            if progress:
                progress("embedding", done, len(todo))

        dense.upsert(batch, progress=tick)
