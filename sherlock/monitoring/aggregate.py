"""The numbers of a monitoring report, read from the query log in one pass.

One SQL statement (:func:`read_rows`) returns three numbers per logged row of the window — its id (which is its
time), its latency, and one integer of packed flags: abstained, channel, kind, whether its top dense similarity is
below the abstention similarity (out of corpus), and its settings version. Everything else is numpy on those arrays:
counts and rates by ``np.bincount``, exact latency percentiles (linear interpolation, as ``numpy.percentile`` and
``pandas.Series.quantile`` by default) per group. Fetching three numbers per row is what costs (about 1.5 s of CPU
for a million rows on SQLite, read as the driver's tuples: :func:`sherlock.storage.db.reads.driver_rows`); text
columns are never read here. The SQL is the same on SQLite and PostgreSQL but for the name of one function
(:data:`POSITION`).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import select, text

from sherlock.evaluation.stats import wilson_ci
from sherlock.monitoring.events import CHANNELS, KINDS, id_at
from sherlock.monitoring.querylog import QueryLog
from sherlock.monitoring.window import Window
from sherlock.storage.db.reads import driver_rows
from sherlock.storage.db.tables import settings_versions

#: Bit layout of the packed flags: abstained (1 bit), channel (2), kind (2), out of corpus (2), settings (the rest).
CHANNEL_SHIFT, KIND_SHIFT, CORPUS_SHIFT, SETTINGS_SHIFT = 1, 3, 5, 7
#: Out-of-corpus states: no dense similarity (an exact-id lookup), below the abstention similarity, at or above it.
NO_DENSE, BELOW, ABOVE = 0, 1, 2
#: The settings index of a row whose version is not in ``settings_versions``.
UNKNOWN_VERSION = -1
PERCENTILES = {"p50": 50.0, "p95": 95.0, "p99": 99.0}
#: Each backend's ``position(haystack, needle)``: where ``needle`` starts in ``haystack`` (from 1; 0 if absent).
POSITION = {"sqlite": "instr", "postgresql": "strpos"}


@dataclass(frozen=True)
class Rows:
    """The window's rows, oldest first: ``ids``, ``latency`` (ms), ``flags`` (see the module docstring), and the
    settings hash of each version index (``versions``)."""

    ids: np.ndarray
    latency: np.ndarray
    flags: np.ndarray
    versions: list[str]

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def abstained(self) -> np.ndarray:
        return (self.flags & 1).astype(bool)

    @property
    def channel(self) -> np.ndarray:
        return (self.flags >> CHANNEL_SHIFT) & 3

    @property
    def kind(self) -> np.ndarray:
        return (self.flags >> KIND_SHIFT) & 3

    @property
    def corpus(self) -> np.ndarray:
        return (self.flags >> CORPUS_SHIFT) & 3

    @property
    def version(self) -> np.ndarray:
        return self.flags >> SETTINGS_SHIFT


def _code(column: str, names: tuple[str, ...]) -> str:
    """``CASE column WHEN name0 THEN 0 ... ELSE len(names) END`` (the names are the log's own constants)."""
    cases = " ".join(f"WHEN '{name}' THEN {i}" for i, name in enumerate(names))
    return f"(CASE {column} {cases} ELSE {len(names)} END)"


def read_rows(log: QueryLog, window: Window, threshold: float) -> Rows:
    """The window's rows as arrays; ``threshold``: the abstention similarity that out-of-corpus is measured at."""
    with log.read() as connection:
        versions = list(connection.execute(select(settings_versions.c.hash).order_by(
            settings_versions.c.first_seen, settings_versions.c.hash)).scalars())
        # the position of ",hash," in ",h1,h2,...," gives each row's version as a number, in the database: fetching
        # the hash text itself would cost a Python string per row
        joined = "," + ",".join(versions) + ","
        locate = POSITION[connection.dialect.name]
        flags = (f"abstained + ({_code('channel', CHANNELS)} << {CHANNEL_SHIFT}) "
                 f"+ ({_code('kind', KINDS)} << {KIND_SHIFT}) "
                 f"+ ((CASE WHEN dense_top IS NULL THEN {NO_DENSE} WHEN dense_top < :threshold THEN {BELOW} "
                 f"ELSE {ABOVE} END) << {CORPUS_SHIFT}) "
                 f"+ ({locate}(:joined, ',' || settings_hash || ',') << {SETTINGS_SHIFT})")
        statement = text(f"SELECT id, latency_ms, {flags} FROM queries WHERE id >= :since AND id < :until "
                         "ORDER BY id").bindparams(threshold=float(threshold), joined=joined,
                                                   since=id_at(window.since), until=id_at(window.until))
        table = np.fromiter(driver_rows(connection, statement),
                            dtype=np.dtype([("id", "i8"), ("latency", "f8"), ("flags", "i8")]), count=-1)
    position = table["flags"] >> SETTINGS_SHIFT
    offsets = np.cumsum([1] + [len(version) + 1 for version in versions])[:-1]  # where ",hash," starts in joined
    index = np.searchsorted(offsets, position)
    found = (index < len(offsets)) & (offsets[np.minimum(index, len(offsets) - 1)] == position) if versions else \
        np.zeros(len(position), dtype=bool)
    index = np.where(found, index, UNKNOWN_VERSION)
    low = table["flags"] & ((1 << SETTINGS_SHIFT) - 1)
    # contiguous copies: the fields of a structured array are strided views, slower for everything that follows
    return Rows(np.ascontiguousarray(table["id"]), np.ascontiguousarray(table["latency"]),
                low + (index << SETTINGS_SHIFT), versions)


def rate(part: int, whole: int) -> float | None:
    """``part / whole`` to 4 decimals, ``None`` when ``whole`` is 0 (no data is not a rate of 0)."""
    return round(part / whole, 4) if whole else None


def interval(part: int, whole: int) -> list[float] | None:
    """The Wilson 95% interval of ``part / whole`` (:func:`sherlock.evaluation.stats.wilson_ci`), ``None`` when
    ``whole`` is 0."""
    if not whole:
        return None
    low, high = wilson_ci(int(part), int(whole))
    return [round(low, 4), round(high, 4)]


def latency_percentiles(values: np.ndarray, names: tuple[str, ...] = tuple(PERCENTILES)) -> dict[str, float | None]:
    """The named percentiles of ``values`` in ms (2 decimals; ``None`` for no values)."""
    if not len(values):
        return dict.fromkeys(names)
    found = np.percentile(values, [PERCENTILES[name] for name in names])
    return {name: round(float(value), 2) for name, value in zip(names, found, strict=True)}


def traffic(rows: Rows, select: Any = slice(None), names: tuple[str, ...] = tuple(PERCENTILES)) -> dict[str, Any]:
    """``{queries, abstained, abstain_rate, latency_ms}`` of the rows ``select`` picks (a slice or a mask)."""
    abstained = int(rows.abstained[select].sum())
    queries = int(len(rows.ids[select]))
    return {"queries": queries, "abstained": abstained, "abstain_rate": rate(abstained, queries),
            "latency_ms": latency_percentiles(rows.latency[select], names)}


def out_of_corpus(rows: Rows, select: Any = slice(None)) -> float | None:
    """The share of hybrid rows (those with a dense similarity) whose top similarity is below the threshold."""
    corpus = rows.corpus[select]
    return rate(int((corpus == BELOW).sum()), int((corpus != NO_DENSE).sum()))


def period_slices(rows: Rows, window: Window) -> list[slice]:
    """Each period's rows as a slice (rows are in id order, so a period is a contiguous run)."""
    cuts = np.searchsorted(rows.ids, window.edge_ids())
    return [slice(int(start), int(stop)) for start, stop in itertools.pairwise(cuts)]


def by_name(rows: Rows, codes: np.ndarray, names: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """:func:`traffic` (p50 and p95) for each of ``names`` (``codes``: each row's index in ``names``)."""
    return {name: traffic(rows, codes == i, ("p50", "p95")) for i, name in enumerate(names)}


def version_rows(rows: Rows) -> list[dict[str, Any]]:
    """Per settings version seen in the window: ``settings_hash``, ``queries``, ``abstained``, and the ids of its
    first and last row; the newest version (latest first row) first."""
    index = rows.version
    found = []
    for version in np.unique(index):
        positions = np.flatnonzero(index == version)
        found.append({"settings_hash": rows.versions[version] if version >= 0 else "unknown",
                      "queries": int(len(positions)), "abstained": int(rows.abstained[positions].sum()),
                      "first_id": int(rows.ids[positions[0]]), "last_id": int(rows.ids[positions[-1]])})
    return sorted(found, key=lambda row: -row["first_id"])
