"""Drift of the questions people ask: how far they sit from the corpus, and whether their topics moved.

* **Out of corpus** — the share of hybrid queries whose most similar incident (the top dense cosine) is below the
  abstention similarity ``abstain_min_dense``: questions the memory has nothing close to.
* **Shift** — the unbiased squared maximum mean discrepancy between the query embeddings of a period and of the one
  before it (Gretton, Borgwardt, Rasch, Schölkopf & Smola 2012, "A Kernel Two-Sample Test", JMLR 13:723–773,
  eq. 3: MMD²_u = Σ_{i≠j} k(x_i,x_j)/(m(m−1)) + Σ_{i≠j} k(y_i,y_j)/(n(n−1)) − 2 Σ_{i,j} k(x_i,y_j)/(mn)), with a
  Gaussian kernel whose bandwidth is the median distance in the pooled sample (their section 8), and a permutation
  p-value. The embeddings are the log's 32-number random projections (distances kept approximately), sampled with a
  fixed seed: at most :data:`SAMPLE_SIZE` a side for the latest period, fewer for the earlier ones
  (:func:`history_size`).

The permutation loop is written here, not taken from ``scipy.stats.permutation_test``: relabelling the pooled sample
leaves the kernel matrix unchanged, so it is computed once and every permutation is a 0/1 membership vector ``p`` —
``p·K·p``, ``p·K·1`` and ``1·K·1`` give the three sums of MMD²_u — and all permutations are one matrix product.
``permutation_test`` would call the statistic on resampled raw vectors, recomputing the kernel (O(N²d)) for every
permutation. The p-value is (1 + #{permuted ≥ observed}) / (1 + permutations), never 0 (Phipson & Smyth 2010,
"Permutation P-values Should Never Be Zero", SAGMB 9(1)).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
from sqlalchemy import Connection, Integer, literal, select

from sherlock.monitoring.aggregate import Rows, out_of_corpus
from sherlock.monitoring.events import PROJECTED_DIM
from sherlock.monitoring.querylog import QueryLog
from sherlock.monitoring.window import Window
from sherlock.storage.db.reads import driver_rows
from sherlock.storage.db.tables import queries

#: Vectors sampled per period, permutations per test, the fewest vectors a side needs, and the p below which the
#: topics are said to have shifted.
SAMPLE_SIZE = 300
PERMUTATIONS = 500
MIN_VECTORS = 10
SHIFT_P = 0.01
#: The vectors the tests of all periods but the latest share, and the fewest a side each gets (see history_size):
#: the cost of a test grows with the square of its sample, and a chart of earlier periods needs less than the
#: headline test of the latest one.
HISTORY_BUDGET = 12 * SAMPLE_SIZE // 2
HISTORY_MIN = 50
#: Rows are sampled in SQL by a hash of their id: (millisecond + SPREAD × the id's 12-bit counter) mod BUCKETS (a
#: prime), kept when below rate × BUCKETS. A row's millisecond is arbitrary and consecutive rows of one process step
#: the counter, which SPREAD scatters over every bucket, so even evenly spaced traffic is sampled evenly.
BUCKETS = 1009
SPREAD = 613
#: How many rows of a scan one lookup by id costs (about), and the ids looked up per statement (SQLite allows 32,766
#: parameters).
LOOKUP_COST = 10
LOOKUPS_PER_QUERY = 10_000


class MMDTest(NamedTuple):
    """The unbiased MMD² of two samples, its permutation p-value and the sample sizes."""

    mmd2: float
    p_value: float
    n_x: int
    n_y: int


def median_bandwidth(squared_distances: np.ndarray) -> float:
    """The median distance between distinct points of the pooled sample (1.0 when they all coincide), from their
    squared distances (a symmetric matrix with a zero diagonal)."""
    n = squared_distances.shape[0]
    pairs = n * n - n  # every pair twice, which leaves the median as it is
    if not pairs:
        return 1.0
    # the n diagonal zeros sort first, so the off-diagonal middle is at n + pairs/2 (one partition, no copy of the
    # triangle): O(n²)
    middle = n + pairs // 2
    low, high = np.partition(squared_distances.ravel(), [middle - 1, middle])[[middle - 1, middle]]
    median = float(np.sqrt(max((float(low) + float(high)) / 2.0, 0.0)))
    return median if median > 0 else 1.0


def gaussian_kernel(pooled: np.ndarray) -> np.ndarray:
    """``exp(−‖a−b‖² / (2σ²))`` over the pooled sample (float32), σ the median distance (:func:`median_bandwidth`)."""
    pooled = np.asarray(pooled, dtype=np.float32)
    norms = (pooled ** 2).sum(axis=1)
    squared = np.maximum(norms[:, None] + norms[None, :] - 2.0 * pooled @ pooled.T, 0.0)
    np.fill_diagonal(squared, 0.0)
    sigma = median_bandwidth(squared)
    return np.exp(squared * np.float32(-1.0 / (2.0 * sigma ** 2)))


def mmd2_of_memberships(kernel: np.ndarray, members: np.ndarray) -> np.ndarray:
    """MMD²_u for each row of ``members`` (0/1, one row per labelling; 1 marks the first sample) over a Gaussian
    kernel matrix (whose diagonal is 1)."""
    members = np.atleast_2d(members).astype(kernel.dtype)
    m = float(members[0].sum())
    n = kernel.shape[0] - m
    row_sums = kernel.sum(axis=1, dtype=np.float64)
    total = row_sums.sum()
    within_x = ((members @ kernel) * members).sum(axis=1, dtype=np.float64)
    to_all = members.astype(np.float64) @ row_sums
    between = to_all - within_x
    within_y = total - 2.0 * to_all + within_x
    return (within_x - m) / (m * (m - 1)) + (within_y - n) / (n * (n - 1)) - 2.0 * between / (m * n)


def mmd_test(x: np.ndarray, y: np.ndarray, permutations: int = PERMUTATIONS, seed: int = 0) -> MMDTest:
    """The two-sample test of the module docstring on ``x`` (m × d) and ``y`` (n × d); each needs 2 rows or more."""
    m, n = len(x), len(y)
    if m < 2 or n < 2:
        raise ValueError(f"an MMD test needs at least 2 vectors a side, got {m} and {n}")
    kernel = gaussian_kernel(np.vstack([x, y]))
    observed = float(mmd2_of_memberships(kernel, np.r_[np.ones(m), np.zeros(n)])[0])
    # each permutation's first sample: the m smallest of fresh uniform keys (a uniformly random m-subset)
    keys = np.random.default_rng(seed).random((permutations, m + n))
    cut = np.partition(keys, m - 1, axis=1)[:, m - 1:m]
    permuted = mmd2_of_memberships(kernel, (keys <= cut).astype(kernel.dtype))
    # a tolerance (float32 sums), so a permutation equal to the observed split still counts as at least as large
    exceed = int((permuted >= observed - 1e-6 * max(1.0, abs(observed))).sum())
    return MMDTest(observed, (1 + exceed) / (1 + permutations), m, n)


def sample_vectors(log: QueryLog | None, window: Window, hybrid_counts: list[int], size: int = SAMPLE_SIZE,
                   seed: int = 0, ids: np.ndarray | None = None) -> list[np.ndarray]:
    """At most ``size`` projected query embeddings of each period (``hybrid_counts``: about how many each has).

    About three times ``size`` rows are kept by a hash of their ids (:data:`BUCKETS`), so a busy period is never read
    whole; a seeded choice then takes ``size`` of them. With ``ids`` (the window's row ids in order, which the report
    has read already) the hash is taken in numpy and only the kept rows are looked up; without, the database scans
    each period for them. Both read the same rows in the same order."""
    edges = window.edge_ids()
    found: list[np.ndarray] = []
    if log is None or not any(hybrid_counts):
        return [np.zeros((0, PROJECTED_DIM), dtype=np.float32) for _ in hybrid_counts]
    with log.read() as connection:
        for i, count in enumerate(hybrid_counts):
            if not count:
                found.append(np.zeros((0, PROJECTED_DIM), dtype=np.float32))
                continue
            keep = min(BUCKETS, math.ceil(3 * size / count * BUCKETS))
            blobs = _kept_vectors(connection, int(edges[i]), int(edges[i + 1]), keep, ids)
            if len(blobs) > size:
                chosen = np.random.default_rng((seed, i)).choice(len(blobs), size=size, replace=False)
                blobs = [blobs[j] for j in sorted(chosen)]
            vectors = np.frombuffer(b"".join(blobs), dtype=np.float16) if blobs else np.zeros(0, dtype=np.float16)
            found.append(vectors.reshape(len(blobs), -1).astype(np.float32) if blobs else
                         np.zeros((0, PROJECTED_DIM), dtype=np.float32))
    return found


def _kept_vectors(connection: Connection, low: int, high: int, keep: int, ids: np.ndarray | None) -> list[bytes]:
    """The vectors of the rows ``low <= id < high`` whose hash is below ``keep``, in id order."""
    vectors = select(queries.c.vector).where(queries.c.vector.is_not(None)).order_by(queries.c.id)
    if ids is not None:
        period = ids[np.searchsorted(ids, low):np.searchsorted(ids, high)]
        kept = period[((period >> 20) + SPREAD * (period & 4095)) % BUCKETS < keep]
        # a lookup by id costs about ten times a row of a scan: worth it for a sample, not for most of a period
        if len(kept) * LOOKUP_COST < len(period):
            chosen = [int(row_id) for row_id in kept]
            blobs: list[bytes] = []
            for start in range(0, len(chosen), LOOKUPS_PER_QUERY):
                chunk = chosen[start:start + LOOKUPS_PER_QUERY]
                blobs += [row[0] for row in driver_rows(connection, vectors.where(queries.c.id.in_(chunk)))]
            return blobs
    row_id = queries.c.id
    # PostgreSQL shifts a bigint by an int only: the shift is an integer literal, not a bigint parameter
    bucket = (row_id.bitwise_rshift(literal(20, Integer)) + SPREAD * row_id.bitwise_and(4095)) % BUCKETS
    return [row[0] for row in driver_rows(connection, vectors.where(row_id >= low, row_id < high, bucket < keep))]


def drift_report(log: QueryLog | None, window: Window, rows: Rows, slices: list[slice], threshold: float,
                 permutations: int = PERMUTATIONS, seed: int = 0) -> dict[str, Any]:
    """The ``drift`` part of the monitoring report: for every period its out-of-corpus rate and its MMD² against the
    period before (on :func:`history_size` vectors a side), and the latest period with query vectors against the
    one before it (on up to :data:`SAMPLE_SIZE` a side; its ``by_period`` entry is that test)."""
    labels = window.labels
    rates = [out_of_corpus(rows, part) for part in slices]
    counts = [int((rows.corpus[part] != 0).sum()) for part in slices]
    vectors = sample_vectors(log, window, counts, seed=seed, ids=rows.ids)
    with_vectors = [i for i, sample in enumerate(vectors) if len(sample)]
    with_rows = [i for i, part in enumerate(slices) if part.stop > part.start]
    latest = (with_vectors or with_rows or [len(labels) - 1])[-1]
    previous = latest - 1 if latest else None
    rng = np.random.default_rng(seed)
    size = history_size(len(labels))
    history = [sample[np.sort(rng.choice(len(sample), size, replace=False))] if len(sample) > size else sample
               for sample in vectors]
    by_period: list[dict[str, Any]] = []
    for i, label in enumerate(labels):
        samples = vectors if i == latest else history
        test = None
        if i and min(len(samples[i]), len(samples[i - 1])) >= MIN_VECTORS:
            test = mmd_test(samples[i], samples[i - 1], permutations, seed)
        by_period.append({"period": label, "out_of_corpus_rate": rates[i],
                          "mmd2": None if test is None else round(test.mmd2, 6),
                          "p_value": None if test is None else round(test.p_value, 4), "n": len(samples[i])})
    chosen = by_period[latest]
    return {"threshold": threshold, "period": labels[latest],
            "previous_period": None if previous is None else labels[previous],
            "out_of_corpus_rate": rates[latest], "previous_out_of_corpus_rate": None if previous is None else
            rates[previous], "statistic": "mmd2", "value": chosen["mmd2"], "p_value": chosen["p_value"],
            "n": len(vectors[latest]), "n_previous": 0 if previous is None else len(vectors[previous]),
            "shifted": chosen["p_value"] is not None and chosen["p_value"] < SHIFT_P, "by_period": by_period}


def history_size(periods: int) -> int:
    """Vectors a side for the tests of the earlier periods: half :data:`SAMPLE_SIZE` up to 12 periods, then fewer,
    so that 84 daily periods cost no more than 12 weekly ones (never under :data:`HISTORY_MIN`)."""
    return max(HISTORY_MIN, min(SAMPLE_SIZE, HISTORY_BUDGET // max(1, periods)))
