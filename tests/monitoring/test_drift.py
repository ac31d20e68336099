"""Drift: the MMD² statistic against its formula and its permutation p-value against scipy's permutation test; a
planted shift in the topics of real questions (embedded by the real MiniLM model, logged as the log's projections)
is detected, an unchanged week is not; the out-of-corpus rate against pandas."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial.distance import cdist, pdist

from sherlock.config import load_settings
from sherlock.monitoring.drift import mmd_test, sample_vectors
from sherlock.monitoring.events import QueryEvent
from sherlock.monitoring.querylog import QueryLog
from sherlock.monitoring.report import monitor_report
from sherlock.monitoring.window import resolve_window
from sherlock.storage.demo import load_demo_queries

MONDAY = datetime(2025, 3, 3, tzinfo=UTC).timestamp()
WEEK = 7 * 86400
PER_WEEK = 150


def mmd2_by_formula(x: np.ndarray, y: np.ndarray) -> float:
    """Gretton et al. (2012), eq. 3, written out: Gaussian kernel at the median pairwise distance of the pooled
    sample (scipy's pdist), the within-sample sums without their diagonals."""
    sigma = np.median(pdist(np.vstack([x, y])))
    k = lambda a, b: np.exp(-cdist(a, b, "sqeuclidean") / (2 * sigma ** 2))  # noqa: E731
    m, n = len(x), len(y)
    kxx, kyy = k(x, x), k(y, y)
    return float((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
                 - 2 * k(x, y).mean())


def test_the_statistic_is_gretton_s_unbiased_mmd2():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(23, 4)), rng.normal(0.4, 1.2, size=(31, 4))
    assert mmd_test(x, y).mmd2 == pytest.approx(mmd2_by_formula(x, y), rel=1e-4)
    assert mmd_test(x, x[::-1].copy()).mmd2 == pytest.approx(mmd2_by_formula(x, x), abs=1e-6)


@pytest.mark.parametrize("shift", [0.0, 0.35])
def test_the_p_value_agrees_with_scipy_s_permutation_test(shift):
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(40, 3)), rng.normal(shift, 1.0, size=(35, 3))
    ours = mmd_test(x, y, permutations=2000, seed=3)
    pooled = np.vstack([x, y])

    def statistic(a, b):  # the same statistic recomputed from raw samples on every permutation
        return mmd2_by_formula(pooled[a.astype(int)], pooled[b.astype(int)])

    theirs = stats.permutation_test((np.arange(40), np.arange(40, 75)), statistic, permutation_type="independent",
                                    alternative="greater", n_resamples=2000, rng=np.random.default_rng(4))
    assert ours.mmd2 == pytest.approx(theirs.statistic, rel=1e-4)
    assert abs(ours.p_value - theirs.pvalue) < 0.04  # two Monte Carlo estimates of one p (sd ≈ 0.011 each)


def test_gaussian_samples_same_and_shifted():
    rng = np.random.default_rng(2)
    same = mmd_test(rng.normal(size=(150, 8)), rng.normal(size=(150, 8)))
    moved = mmd_test(rng.normal(size=(150, 8)), rng.normal(0.3, 1.0, size=(150, 8)))
    assert same.p_value > 0.05 and moved.p_value < 0.01 and moved.mmd2 > same.mmd2
    assert moved.p_value >= 1 / 501  # never 0: (1 + exceedances) / (1 + permutations)
    with pytest.raises(ValueError, match="at least 2 vectors"):
        mmd_test(rng.normal(size=(1, 8)), rng.normal(size=(5, 8)))


@pytest.fixture(scope="module")
def shifted_log(juspay_workspace, nfcorpus, tmp_path_factory):
    """Three weeks of real questions: weeks 1 and 2 each drawn afresh from the same payment-incident questions (the
    demo set: one distribution, resampled), week 3 with 40% of its questions on another topic (NFCorpus's nutrition
    questions) — each embedded by the real model and logged."""
    incident = [q.query for q in load_demo_queries()]
    other = sorted(nfcorpus.queries.values())[:120]
    texts = sorted(set(incident) | set(other))
    vectors = dict(zip(texts, juspay_workspace.embedder.embed_queries(texts), strict=True))
    rng = np.random.default_rng(7)
    weeks = [rng.choice(incident, PER_WEEK), rng.choice(incident, PER_WEEK),
             np.r_[rng.choice(incident, PER_WEEK - 60), rng.choice(other, 60)]]
    settings = load_settings(home=tmp_path_factory.mktemp("drift-home"), demo=False)
    log = QueryLog(settings.query_log_path, b"drift-key")
    for week, questions in enumerate(weeks):
        times = np.sort(rng.uniform(MONDAY + week * WEEK, MONDAY + (week + 1) * WEEK, len(questions)))
        log.record_many(QueryEvent(channel="app", kind="search", query=str(text), strategy="hybrid",
                                   abstained=False, latency_ms=30.0, settings={}, vector=vectors[str(text)],
                                   dense_top=float(rng.uniform(0.2, 0.9)), ts=float(ts))
                        for text, ts in zip(questions, times, strict=True))
    assert log.flush()
    yield settings, log
    log.close()


def test_a_planted_topic_shift_is_detected_and_an_unchanged_week_is_not(shifted_log):
    settings, log = shifted_log
    report = monitor_report(settings, date(2025, 3, 3), date(2025, 3, 23), "W", log=log,
                            now=datetime(2025, 6, 1, tzinfo=UTC))
    first, unchanged, shifted = report["drift"]["by_period"]
    assert first["mmd2"] is None and first["n"] == PER_WEEK  # nothing before it to compare with
    assert unchanged["p_value"] > 0.05, unchanged
    assert shifted["p_value"] < 0.01, shifted
    assert shifted["mmd2"] > 5 * max(unchanged["mmd2"], 1e-4)
    drift = report["drift"]
    assert (drift["period"], drift["previous_period"], drift["shifted"]) == ("2025-03-17", "2025-03-10", True)
    assert (drift["value"], drift["p_value"], drift["n"], drift["n_previous"]) == (
        shifted["mmd2"], shifted["p_value"], PER_WEEK, PER_WEEK)
    # the out-of-corpus rate: hybrid queries whose top dense similarity is below abstain_min_dense, as pandas says
    rows = pd.read_sql("SELECT ts, dense_top FROM queries", sqlite3.connect(log.path))
    rows["week"] = pd.to_datetime(rows["ts"], unit="s").dt.to_period("W-SUN").dt.start_time
    expected = (rows["dense_top"] < settings.abstain_min_dense).groupby(rows["week"]).mean().tolist()
    assert [p["out_of_corpus_rate"] for p in report["drift"]["by_period"]] == pytest.approx(expected, abs=5e-5)
    assert drift["out_of_corpus_rate"] == pytest.approx(expected[-1], abs=5e-5)
    assert drift["threshold"] == settings.abstain_min_dense


def test_a_busy_period_is_sampled_repeatably(shifted_log):
    _, log = shifted_log
    window = resolve_window(date(2025, 3, 3), date(2025, 3, 23), "W")
    once = sample_vectors(log, window, [PER_WEEK] * 3, size=40)
    again = sample_vectors(log, window, [PER_WEEK] * 3, size=40)
    assert [len(sample) for sample in once] == [40, 40, 40]
    assert all(np.array_equal(a, b) for a, b in zip(once, again, strict=True))  # seeded: the same log, the same
    whole = sample_vectors(log, window, [PER_WEEK] * 3, size=PER_WEEK)
    assert [len(sample) for sample in whole] == [PER_WEEK] * 3  # a quiet period is read whole
    # the sample is a subset of the week's vectors, and different seeds pick different subsets
    week = {row.tobytes() for row in whole[0]}
    assert {row.tobytes() for row in once[0]} <= week
    other = sample_vectors(log, window, [PER_WEEK] * 3, size=40, seed=1)
    assert not np.array_equal(other[0], once[0])
