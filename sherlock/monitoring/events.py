"""What one logged request is (:class:`QueryEvent`) and the small pure pieces of a query log row: time-ordered row
ids, timestamps, the keyed hash of a question, the settings version, and the random projection of the query embedding
(Johnson & Lindenstrauss 1984: distances between queries are kept approximately, in 32 numbers instead of 384).
:mod:`sherlock.monitoring.querylog` writes and reads the rows; :mod:`sherlock.monitoring.record` makes events from
search responses.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import os
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

import numpy as np

from sherlock.config import Settings
from sherlock.storage.feedback import normalise_query

CHANNELS = ("app", "cli", "api")
KINDS = ("search", "ask", "similar")
#: How many numbers of a query embedding are kept (a random projection; see the module docstring).
PROJECTED_DIM = 32
#: How many result ids of a query are kept.
TOP_IDS = 10
#: The settings that decide a ranking: a change of any is a new settings version.
RANKING_SETTINGS = ("weights", "fusion", "norm", "rrf_k", "entity_boost", "entity_multiplier", "coverage_weight",
                    "candidates", "bm25_k1", "bm25_b", "abstain_min_dense", "abstain_min_lexical",
                    "abstain_lexical_alone", "abstain_dense_floor", "embedder", "similar_weights", "similar_fusion",
                    "similar_norm")


@dataclass
class QueryEvent:
    """One logged request (see the module docstring for each field); ``ts`` is seconds since the epoch, UTC."""

    channel: str
    kind: str
    query: str
    strategy: str
    abstained: bool
    latency_ms: float
    settings: dict[str, Any]
    confidence: float | None = None
    dense_top: float | None = None
    coverage: float | None = None
    top_ids: list[str] = field(default_factory=list)
    n_results: int = 0
    session: str | None = None
    experiment: str | None = None
    arm: str | None = None
    provider: str | None = None
    vector: np.ndarray | None = None
    ts: float = field(default_factory=time.time)


#: The low 20 bits of a row id: 8 random bits drawn once per process, then a 12-bit counter. Two rows of one process
#: get the same id only if 4,096 of them carry the same millisecond; two processes collide only when their random
#: bits and their counters meet in the same millisecond (a later row then replaces the earlier one).
_PROCESS_BITS = secrets.randbits(8) << 12
_counter = itertools.count(secrets.randbits(12))


def new_id(ts: float) -> int:
    """A time-ordered 61-bit row id: milliseconds since the epoch shifted left 20 bits, plus the low bits above."""
    return (int(ts * 1000) << 20) | _PROCESS_BITS | (next(_counter) & 0xFFF)


def id_at(when: float) -> int:
    """The smallest id a row logged at ``when`` (seconds since the epoch) can have: ``id >= id_at(t)`` selects the
    rows from ``t`` on."""
    return int(when * 1000) << 20


def timestamp(when: float | date | datetime | None) -> float | None:
    """Seconds since the epoch of a date (its midnight, UTC), a datetime (naive: UTC) or a number, as given."""
    if when is None or isinstance(when, int | float):
        return when
    if not isinstance(when, datetime):
        when = datetime(when.year, when.month, when.day)
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def settings_hash(settings: dict[str, Any]) -> str:
    """A short stable hash of a settings dict (the version name the reports show)."""
    return hashlib.sha1(json.dumps(settings, sort_keys=True, default=str).encode("utf-8")).hexdigest()[:10]


def ranking_settings(settings: Settings, used: dict[str, Any] | None = None) -> dict[str, Any]:
    """The settings that decided one ranking: the searcher's :data:`RANKING_SETTINGS`, with what the request itself
    chose (``used``: a response's ``settings``, whose weights, fusion and norm may be a request's own) on top. The
    result count ``k`` is left out: it does not change what ranks first."""
    resolved = {name: getattr(settings, name) for name in RANKING_SETTINGS}
    resolved.update({key: value for key, value in (used or {}).items() if key in RANKING_SETTINGS})
    resolved["weights"] = [round(float(w), 6) for w in resolved["weights"]]
    resolved["similar_weights"] = [round(float(w), 6) for w in resolved["similar_weights"]]
    return resolved


@cache
def _projection(dim: int) -> np.ndarray:
    rng = np.random.default_rng(20261129)  # fixed: every process projects alike, so periods compare
    return (rng.standard_normal((dim, PROJECTED_DIM)) / np.sqrt(PROJECTED_DIM)).astype(np.float32)


def project(vector: np.ndarray) -> np.ndarray:
    """The :data:`PROJECTED_DIM`-number random projection of one embedding (float32)."""
    vector = np.asarray(vector, dtype=np.float32).ravel()
    return vector @ _projection(vector.shape[0])


def query_key(text: str, key: bytes) -> str:
    """The keyed hash of a query's normalised text (16 hex digits of HMAC-SHA256)."""
    return hmac.new(key, normalise_query(text).encode("utf-8"), hashlib.sha256).hexdigest()[:16]


def hash_key(settings: Settings) -> bytes:
    """The query hash key: the ``query_log_key`` setting, else a random key kept in ``<home>/query_log.key``
    (created, readable by its owner only, the first time it is needed)."""
    if settings.query_log_key is not None and settings.query_log_key.get_secret_value():
        return settings.query_log_key.get_secret_value().encode("utf-8")
    path = settings.home / "query_log.key"
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it meanwhile
        return path.read_bytes().strip()
    with os.fdopen(handle, "w") as file:
        file.write(secrets.token_hex(32))
    return path.read_bytes().strip()
