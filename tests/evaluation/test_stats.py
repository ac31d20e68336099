"""sherlock.evaluation.stats: oracle tests against scipy.stats, hand-worked values, and the degenerate cases (nan in
scipy)."""

from __future__ import annotations

import itertools
import json
import math
import warnings

import numpy as np
import pytest
from scipy import stats as sps

from sherlock.evaluation import stats

# Twelve hand-chosen per-query scores (baseline A, variant B): B is mostly better, two queries slightly worse.
A = [0.50, 0.62, 0.41, 0.73, 0.55, 0.38, 0.69, 0.47, 0.60, 0.52, 0.44, 0.66]
B = [0.58, 0.61, 0.49, 0.80, 0.57, 0.45, 0.75, 0.46, 0.71, 0.59, 0.50, 0.70]


def large_shift(n: int = 100, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    # Narrow baseline spread so that Welch, which ignores the pairing, is also overwhelmingly significant.
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.2, 0.6, n)
    return a, a + 0.2 + rng.normal(0.0, 0.02, n)


# p-values against the scipy calls -------------------------------------------------------------------------------------

def test_paired_t_equals_ttest_rel():
    expected = sps.ttest_rel(A, B).pvalue
    assert stats.paired_t(A, B) == pytest.approx(expected, rel=1e-12)
    assert 0.0 < stats.paired_t(A, B) < 0.01


def test_wilcoxon_equals_scipy():
    expected = sps.wilcoxon(A, B, zero_method="wilcox").pvalue
    assert stats.wilcoxon(A, B) == pytest.approx(expected, rel=1e-12)
    assert 0.0 < expected < 0.05


def test_wilcoxon_drops_zero_differences():
    a = [0.5, 0.6, 0.4, 0.7, 0.5, 0.3, 0.6, 0.4, 0.6, 0.5, 0.4, 0.6]
    b = [0.5, 0.6, 0.4, 0.9, 0.8, 0.5, 0.9, 0.2, 0.8, 0.9, 0.7, 0.5]  # three exact ties, two losses
    expected = sps.wilcoxon(a, b, zero_method="wilcox").pvalue
    assert stats.wilcoxon(a, b) == pytest.approx(expected, rel=1e-12)
    assert expected != pytest.approx(sps.wilcoxon(a, b, zero_method="pratt").pvalue, rel=1e-6)


def test_welch_equals_ttest_ind_unequal_var():
    expected = sps.ttest_ind(A, B, equal_var=False).pvalue
    assert stats.welch(A, B) == pytest.approx(expected, rel=1e-12)
    assert expected != pytest.approx(sps.ttest_ind(A, B).pvalue, rel=1e-9)  # really the unequal-variance variant


def test_permutation_is_the_exact_sign_flip_test_for_small_n():
    # 2**12 = 4096 <= 10,000 resamples, so scipy enumerates every sign pattern; enumerate them here too.
    d = np.subtract(B, A)
    null = np.array([np.mean(d * signs) for signs in itertools.product((1, -1), repeat=d.size)])
    observed, tol = d.mean(), 1e-12
    expected = min(1.0, 2 * min(np.mean(null <= observed + tol), np.mean(null >= observed - tol)))
    assert stats.permutation(A, B) == pytest.approx(expected, rel=1e-12)
    assert stats.permutation(A, B, seed=123) == stats.permutation(A, B)  # exact: the seed plays no part
    scipy_p = sps.permutation_test((d,), np.mean, permutation_type="samples", vectorized=True).pvalue
    assert stats.permutation(A, B) == pytest.approx(scipy_p, rel=1e-12)


def test_bootstrap_ci_equals_scipy_bca_with_the_same_seed():
    d = np.subtract(B, A)
    ref = sps.bootstrap((d,), np.mean, n_resamples=10_000, method="BCa",
                        rng=np.random.default_rng(5)).confidence_interval
    assert stats.bootstrap_ci(d, seed=5) == pytest.approx((ref.low, ref.high), rel=1e-12)
    low, high = stats.bootstrap_ci(d, seed=5)
    assert low < d.mean() < high


def test_bootstrap_ci_falls_back_to_percentile_when_bca_is_nan():
    # With one resample the BCa bias correction is ndtri(0 or 1) = ±inf, so BCa is nan.
    d = [0.0, 1.0, 2.0, 3.0, 5.0]
    with warnings.catch_warnings():  # the oracle's standard error of one resample is 0/0; only the oracle's
        warnings.simplefilter("ignore", RuntimeWarning)
        ref = sps.bootstrap((np.array(d),), np.mean, n_resamples=1, method="percentile",
                            rng=np.random.default_rng(0)).confidence_interval
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the fallback handles the nan itself, so nothing may leak to the caller
        low, high = stats.bootstrap_ci(d, resamples=1)
    assert math.isfinite(low) and math.isfinite(high)
    assert (low, high) == pytest.approx((ref.low, ref.high))


def test_bootstrap_ci_of_identical_diffs_is_a_point():
    assert stats.bootstrap_ci([0.3] * 7) == (0.3, 0.3)


# Effect size, win/tie/loss, Holm --------------------------------------------------------------------------------------

def test_cohens_d_by_hand():
    # means 2 and 4, variances (ddof=1) 1 and 4: d = 2 / sqrt(2.5)
    assert stats.cohens_d([1, 2, 3], [2, 4, 6]) == pytest.approx(2 / math.sqrt(2.5))
    # means 2.5 and 4.5, both variances 5/3: d = 2 / sqrt(5/3)
    assert stats.cohens_d([1, 2, 3, 4], [3, 4, 5, 6]) == pytest.approx(1.5491933384829668)
    assert stats.cohens_d([3, 4, 5, 6], [1, 2, 3, 4]) == pytest.approx(-1.5491933384829668)


def test_cohens_d_with_zero_spread():
    assert stats.cohens_d([2, 2, 2], [2, 2, 2]) == 0.0
    assert stats.cohens_d([1, 1, 1], [2, 2, 2]) == math.inf
    assert stats.cohens_d([2, 2, 2], [1, 1, 1]) == -math.inf


def test_win_tie_loss_with_tolerance():
    a = [0.5, 0.5, 0.5, 0.5, 0.5]
    b = [0.6, 0.5, 0.5 + 1e-15, 0.4, 0.52]
    assert stats.win_tie_loss(a, b) == (2, 2, 1)
    assert stats.win_tie_loss(a, b, tolerance=0.05) == (1, 3, 1)


def test_holm_hand_worked():
    # sorted: x 0.01*3 = 0.03; z 0.03*2 = 0.06; y 0.04*1 = 0.04 -> raised to 0.06 (step-down monotonicity)
    adjusted = stats.holm({"x": 0.01, "y": 0.04, "z": 0.03})
    assert list(adjusted) == ["x", "y", "z"]
    assert adjusted == pytest.approx({"x": 0.03, "y": 0.06, "z": 0.06})


def test_holm_caps_at_one_and_is_monotone():
    assert stats.holm({"a": 0.4, "b": 0.9, "c": 0.7}) == {"a": 1.0, "b": 1.0, "c": 1.0}
    raw = dict(zip("abcdefghij", np.random.default_rng(3).uniform(0, 0.2, 10)))
    adjusted = stats.holm(raw)
    order = sorted(raw, key=raw.get)
    assert all(adjusted[k] >= raw[k] for k in raw)
    assert all(adjusted[i] <= adjusted[j] for i, j in itertools.pairwise(order))
    assert stats.holm({}) == {}
    assert stats.holm({"only": 0.02}) == {"only": 0.02}


def test_holm_rejects_values_that_are_not_p_values():
    with pytest.raises(ValueError, match=r"'bad'.*\[0, 1\]"):
        stats.holm({"ok": 0.1, "bad": float("nan")})
    with pytest.raises(ValueError, match="'big'"):
        stats.holm({"big": 1.5})


# A/A, large difference, reproducibility -------------------------------------------------------------------------------

def test_a_a_comparison_is_null():
    rows = stats.compare_metrics({"ndcg@10": A, "mrr": B}, {"ndcg@10": list(A), "mrr": list(B)})
    assert list(rows) == ["ndcg@10", "mrr"]
    for row in rows.values():
        assert row["diff"] == 0.0 and row["ci95"] == [0.0, 0.0]
        assert [row[k] for k in ("p_paired_t", "p_wilcoxon", "p_permutation", "p_welch", "p_holm")] == [1.0] * 5
        assert row["cohens_d"] == 0.0 and (row["wins"], row["ties"], row["losses"]) == (0, 12, 0)
        assert row["significant"] is False


def test_large_difference_is_significant():
    a, b = large_shift()
    rows = stats.compare_metrics({"ndcg@10": a, "recall@5": a}, {"ndcg@10": b, "recall@5": b}, resamples=10_000)
    for row in rows.values():
        assert all(row[k] < 1e-6 for k in ("p_paired_t", "p_wilcoxon", "p_welch"))
        # Monte Carlo floor of a two-sided randomisation test: scipy doubles the one-sided (0 + 1) / (R + 1).
        assert row["p_permutation"] == pytest.approx(2 / 10_001)
        assert row["p_holm"] == pytest.approx(2 * 2 / 10_001) and row["significant"] is True
        assert row["ci95"][0] < row["diff"] < row["ci95"][1] and 0.19 < row["diff"] < 0.21
        assert row["wins"] == 100 and row["n"] == 100 and row["cohens_d"] > 1


def test_significance_uses_the_holm_adjusted_permutation_p():
    weak = [0.52, 0.61, 0.45, 0.74, 0.56, 0.41, 0.71, 0.46, 0.63, 0.53, 0.47, 0.65]  # exact p = 118/4096
    null = [0.49, 0.63, 0.40, 0.74, 0.54, 0.39, 0.68, 0.48, 0.61, 0.51, 0.45, 0.65]  # exact p = 3592/4096
    rows = stats.compare_metrics({"strong": A, "weak": A, "null": A}, {"strong": B, "weak": weak, "null": null})
    assert [rows[m]["p_permutation"] * 4096 for m in rows] == pytest.approx([10, 118, 3592])
    # Holm: 3 * 10 = 30, 2 * 118 = 236, 1 * 3592 (all / 4096); "weak" passes 0.05 raw but not after adjustment.
    assert [rows[m]["p_holm"] * 4096 for m in rows] == pytest.approx([30, 236, 3592])
    assert [rows[m]["significant"] for m in rows] == [True, False, False]


def test_seeded_results_are_reproducible():
    rng = np.random.default_rng(11)
    a = rng.uniform(0, 1, 30)
    b = a + rng.normal(0.02, 0.1, 30)  # 2**30 sign patterns: the permutation test is Monte Carlo, so seeded
    first = stats.compare_paired(a, b, resamples=2000, seed=1)
    assert stats.compare_paired(a, b, resamples=2000, seed=1) == first
    other = stats.compare_paired(a, b, resamples=2000, seed=2)
    assert other["ci95"] != first["ci95"]
    assert other["p_paired_t"] == first["p_paired_t"]  # the analytic tests do not depend on the seed


def test_bootstrap_ci_covers_the_true_mean_about_95_percent_of_the_time():
    # Exponential(scale=1) is skewed with known mean 1. 2,000 resamples (not the default 10,000) make the 300 BCa
    # intervals ~4x cheaper (about 0.5 s, so no `slow` mark); the resample count moves coverage far less than the
    # 300-trial binomial noise (sd about 1.3 points). With this seed coverage is 92.7% (93.7% at 10,000).
    rng = np.random.default_rng(2024)
    trials = 300
    covered = 0
    for trial in range(trials):
        low, high = stats.bootstrap_ci(rng.exponential(1.0, 40), resamples=2000, seed=trial)
        covered += low <= 1.0 <= high
    assert 0.90 <= covered / trials <= 0.98


# Report shape and validation ------------------------------------------------------------------------------------------

def test_compare_paired_returns_plain_json_types():
    row = stats.compare_paired(A, B)
    assert set(row) == {"a", "b", "diff", "ci95", "p_paired_t", "p_wilcoxon", "p_permutation", "p_welch",
                        "cohens_d", "wins", "ties", "losses", "n"}
    assert json.loads(json.dumps(row)) == row
    assert all(type(row[k]) is float for k in ("a", "b", "diff", "p_paired_t", "p_permutation", "cohens_d"))
    assert all(type(row[k]) is int for k in ("wins", "ties", "losses", "n"))
    assert row["diff"] == pytest.approx(np.mean(B) - np.mean(A))
    assert (row["wins"], row["ties"], row["losses"]) == (10, 0, 2)


@pytest.mark.parametrize(("a", "b", "message"), [
    ([0.1, 0.2, 0.3], [0.1, 0.2], "same length.*len\\(a\\) = 3, len\\(b\\) = 2"),
    ([0.1], [0.2], "at least 2"),
    ([0.1, 0.2, 0.3, 0.4], [0.1, 0.2, 0.3, float("nan")], "b\\[3\\] is nan"),
    ([0.1, float("inf"), 0.3], [0.1, 0.2, 0.3], "a\\[1\\] is inf"),
])
def test_compare_paired_rejects_bad_samples(a, b, message):
    with pytest.raises(ValueError, match=message):
        stats.compare_paired(a, b)


def test_bad_resamples_and_confidence_are_rejected():
    with pytest.raises(ValueError, match="resamples must be >= 1"):
        stats.bootstrap_ci(A, resamples=0)
    with pytest.raises(ValueError, match="resamples must be >= 1"):
        stats.permutation(A, B, resamples=0)
    with pytest.raises(ValueError, match="confidence"):
        stats.bootstrap_ci(A, confidence=95)


def test_compare_metrics_names_the_missing_metric():
    with pytest.raises(ValueError, match="'mrr' is missing from b"):
        stats.compare_metrics({"ndcg@10": A, "mrr": A}, {"ndcg@10": B})
    with pytest.raises(ValueError, match="'map' is missing from a"):
        stats.compare_metrics({"ndcg@10": A}, {"ndcg@10": B, "map": B})
    with pytest.raises(ValueError, match=r"metric 'mrr': .*a\[0\] is nan"):
        stats.compare_metrics({"mrr": [float("nan"), 0.1]}, {"mrr": [0.2, 0.1]})


# Proportions ----------------------------------------------------------------------------------------------------------

def test_wilson_ci_by_hand():
    # 3/10, z = 1.95996: centre (0.3 + z²/20) / (1 + z²/10) = 0.35550, half-width 0.24771
    assert stats.wilson_ci(3, 10) == pytest.approx((0.10779, 0.60322), abs=1e-5)
    assert stats.wilson_ci(0, 0) == (0.0, 1.0)
    low, high = stats.wilson_ci(0, 10)
    assert low == 0.0 and high == pytest.approx(0.27753, abs=1e-5)


def test_two_proportion_small_counts_use_fisher():
    result = stats.two_proportion(3, 5, 1, 6)  # expected successes 20/11 and 24/11 are < 5
    assert result["test"] == "fisher"
    assert result["p"] == pytest.approx(sps.fisher_exact([[3, 2], [1, 5]]).pvalue, rel=1e-12)
    assert result["rate_a"] == 0.6 and result["rate_b"] == pytest.approx(1 / 6)
    assert result["diff"] == pytest.approx(1 / 6 - 0.6)


def test_two_proportion_large_counts_use_the_z_test():
    result = stats.two_proportion(120, 200, 90, 200)
    assert result["test"] == "z"
    expected = sps.chi2_contingency([[120, 80], [90, 110]], correction=False).pvalue
    assert result["p"] == pytest.approx(expected, rel=1e-10)
    assert result["diff"] == pytest.approx(-0.15)


def test_two_proportion_newcombe_interval_matches_the_paper():
    # Newcombe (1998) Table II, example (a): 56/70 vs 48/80, method 10 gives 0.0524 to 0.3339 for a difference of 0.2.
    result = stats.two_proportion(48, 80, 56, 70)
    assert result["diff"] == pytest.approx(0.2)
    assert result["ci95"] == pytest.approx([0.0524, 0.3339], abs=5e-5)
    swapped = stats.two_proportion(56, 70, 48, 80)
    assert swapped["ci95"] == pytest.approx([-0.3339, -0.0524], abs=5e-5)


def test_two_proportion_with_an_empty_side():
    result = stats.two_proportion(0, 0, 4, 10)
    assert result == {"rate_a": 0.0, "rate_b": 0.4, "diff": 0.4, "ci95": [-1.0, 1.0], "test": "fisher", "p": 1.0}


@pytest.mark.parametrize(("args", "message"), [
    ((-1, 5, 1, 5), "counts must be >= 0.*successes_a = -1"),
    ((1, 5, 1, -5), "counts must be >= 0.*n_b = -5"),
    ((6, 5, 1, 5), "successes_a = 6 exceeds n_a = 5"),
    ((1, 5, 9, 8), "successes_b = 9 exceeds n_b = 8"),
])
def test_two_proportion_rejects_bad_counts(args, message):
    with pytest.raises(ValueError, match=message):
        stats.two_proportion(*args)


def test_wilson_ci_rejects_bad_input():
    with pytest.raises(ValueError, match="successes = 4 exceeds n = 3"):
        stats.wilson_ci(4, 3)
    with pytest.raises(ValueError, match="confidence"):
        stats.wilson_ci(1, 3, confidence=1.0)
