"""Statistics for A/B comparisons: paired per-query metric scores and two proportions.

The paired tests take two equal-length sequences ``a`` (baseline) and ``b`` (variant), one score per query in the same
query order; every difference is ``b - a``, so a positive ``diff`` means the variant is better. The tests themselves
are scipy.stats, imported when a test runs (the monitoring report needs only the Wilson interval and the z-test,
written out here, and does not pay for importing scipy.stats); this module adds validation, the degenerate cases scipy
answers with ``nan`` (identical runs get p = 1.0, a zero-width interval), Holm's correction across metrics, and
Newcombe's interval for two proportions.

The p-value that decides significance is the paired randomisation test (``PRIMARY_TEST``): Smucker, Allan &
Carterette, "A comparison of statistical significance tests for information retrieval evaluation", CIKM 2007,
recommend it for IR; the t, Wilcoxon and Welch p-values are reported beside it for comparison.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from statistics import NormalDist
from typing import Any

import numpy as np

#: A sample of per-query scores: a list, a numpy array or a pandas Series.
Values = Sequence[float] | np.ndarray

PRIMARY_TEST = "p_permutation"


# Validation -----------------------------------------------------------------------------------------------------------

def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1 (e.g. 0.95), got {confidence!r}")


def _check_resamples(resamples: int) -> None:
    if resamples < 1:
        raise ValueError(f"resamples must be >= 1 (10,000 is the default), got {resamples!r}")


def _sample(values: Values, name: str, min_size: int = 2) -> np.ndarray:
    x = np.asarray(values, dtype=float)
    if x.ndim != 1:
        raise ValueError(f"{name} must be a flat sequence of numbers, got an array of shape {x.shape}")
    if x.size < min_size:
        raise ValueError(f"{name} needs at least {min_size} values, got {x.size}")
    bad = np.flatnonzero(~np.isfinite(x))
    if bad.size:
        raise ValueError(f"{name}[{bad[0]}] is {x[bad[0]]}; every score must be a finite number "
                         "(drop or fill that query before comparing)")
    return x


def _pairs(a: Values, b: Values) -> tuple[np.ndarray, np.ndarray]:
    if len(a) != len(b):
        raise ValueError(f"paired samples must have the same length (one score per query, same query order): "
                         f"len(a) = {len(a)}, len(b) = {len(b)}")
    return _sample(a, "a"), _sample(b, "b")


# Paired tests ---------------------------------------------------------------------------------------------------------

def bootstrap_ci(diffs: Values, confidence: float = 0.95, resamples: int = 10_000,
                 seed: int = 0) -> tuple[float, float]:
    """Confidence interval of the mean of ``diffs``: bias-corrected and accelerated bootstrap (Efron 1987, BCa).

    Seeded and reproducible. Identical diffs give the zero-width ``(d, d)``; when BCa is undefined (its bias
    correction is infinite, e.g. with very few resamples) the percentile interval of the same resamples is returned.
    """
    from scipy import stats
    _check_confidence(confidence)
    _check_resamples(resamples)
    d = _sample(diffs, "diffs", min_size=1)
    if np.all(d == d[0]):
        # Every resample has the same mean: the interval is a point (scipy would return nan with a warning).
        return float(d[0]), float(d[0])
    options = dict(confidence_level=confidence, vectorized=True)
    with warnings.catch_warnings():
        # A degenerate BCa (infinite bias correction) comes back as nan with a DegenerateDataWarning and 0/0
        # RuntimeWarnings; we detect the nan and fall back below, so those warnings are noise to the caller.
        warnings.simplefilter("ignore", stats.DegenerateDataWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        # ``rng`` is scipy's (SPEC 7) name for ``random_state``; a Generator behaves identically under either.
        res = stats.bootstrap((d,), np.mean, n_resamples=resamples, method="BCa", rng=np.random.default_rng(seed),
                              **options)
        low, high = res.confidence_interval
        if math.isnan(low) or math.isnan(high):
            # Reuse the same bootstrap distribution, so the fallback is as reproducible as the BCa attempt.
            res = stats.bootstrap((d,), np.mean, n_resamples=0, bootstrap_result=res, method="percentile", **options)
            low, high = res.confidence_interval
    return float(low), float(high)


@contextmanager
def _precision_loss_ignored() -> Iterator[None]:
    """IR metrics are discrete, so an arm's scores (or the differences) are often nearly constant; scipy then warns
    of precision loss in the variance while the p-value it returns is still ~0, as it should be."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Precision loss occurred in moment calculation",
                                category=RuntimeWarning)
        yield


def paired_t(a: Values, b: Values) -> float:
    """Two-sided p of the paired t-test (Student 1908), ``scipy.stats.ttest_rel``; 1.0 when every difference is 0."""
    from scipy import stats
    x, y = _pairs(a, b)
    if np.all(x == y):
        return 1.0
    with _precision_loss_ignored():
        return float(stats.ttest_rel(x, y).pvalue)


def wilcoxon(a: Values, b: Values) -> float:
    """Two-sided p of the Wilcoxon signed-rank test (Wilcoxon 1945); zero differences are dropped (``"wilcox"``).

    1.0 when every difference is 0 (nothing is left to rank).
    """
    from scipy import stats
    x, y = _pairs(a, b)
    if np.all(x == y):
        return 1.0
    return float(stats.wilcoxon(x, y, zero_method="wilcox").pvalue)


def _mean_statistic(d: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(d, axis=axis)


def permutation(a: Values, b: Values, resamples: int = 10_000, seed: int = 0) -> float:
    """Two-sided p of the paired randomisation test of the mean difference (Fisher 1935; Smucker et al. 2007).

    Under the null hypothesis each query's two scores are exchangeable, so every difference may flip its sign:
    ``scipy.stats.permutation_test`` on the differences with ``permutation_type="samples"``. Exact when
    ``2**n <= resamples``; otherwise seeded Monte Carlo, whose smallest two-sided p is ``2 / (resamples + 1)``.
    1.0 when every difference is 0.
    """
    from scipy import stats
    _check_resamples(resamples)
    x, y = _pairs(a, b)
    d = y - x
    if np.all(d == 0):
        return 1.0
    res = stats.permutation_test((d,), _mean_statistic, permutation_type="samples", vectorized=True,
                                 n_resamples=resamples, alternative="two-sided", rng=np.random.default_rng(seed))
    return float(res.pvalue)


# Unpaired summaries ---------------------------------------------------------------------------------------------------

def welch(a: Values, b: Values) -> float:
    """Two-sided p of Welch's unequal-variance t-test (Welch 1947), ``ttest_ind(equal_var=False)``.

    1.0 when both samples are constant and equal (scipy gives nan: 0/0).
    """
    from scipy import stats
    x, y = _sample(a, "a"), _sample(b, "b")
    if np.all(x == x[0]) and np.all(y == x[0]):
        return 1.0
    with _precision_loss_ignored():
        return float(stats.ttest_ind(x, y, equal_var=False).pvalue)


def cohens_d(a: Values, b: Values) -> float:
    """Cohen's d (Cohen 1988): ``(mean(b) - mean(a)) / sqrt((var(a) + var(b)) / 2)``, variances with ddof=1.

    The average-variance pooling is the original SherlockAI's choice. With zero spread: 0.0 when the means are equal,
    otherwise ``±inf`` in the direction of the difference (a deterministic shift is infinitely many sds).
    """
    x, y = _sample(a, "a"), _sample(b, "b")
    diff = float(y.mean() - x.mean())
    sd = math.sqrt((x.var(ddof=1) + y.var(ddof=1)) / 2)
    if sd == 0.0:
        return 0.0 if diff == 0.0 else math.copysign(math.inf, diff)
    return diff / sd


def win_tie_loss(a: Values, b: Values, tolerance: float = 1e-12) -> tuple[int, int, int]:
    """Per-query counts of ``b`` beating ``a`` by more than ``tolerance``, tying within it, and losing by more."""
    if tolerance < 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance!r}")
    x, y = _pairs(a, b)
    wins, losses = int(np.sum(y > x + tolerance)), int(np.sum(y < x - tolerance))
    return wins, x.size - wins - losses, losses


# Multiple comparisons -------------------------------------------------------------------------------------------------

def holm(pvalues: Mapping[str, float]) -> dict[str, float]:
    """Holm–Bonferroni step-down adjusted p-values (Holm 1979, Scand. J. Statist. 6:65–70), same keys.

    Hand-written because scipy.stats.false_discovery_control offers only Benjamini–Hochberg/–Yekutieli, which
    control the false discovery rate, not the family-wise error rate. The i-th smallest of m p-values becomes
    ``max over j <= i of min(1, (m - j + 1) * p_(j))``: monotone in the raw p and capped at 1.
    """
    for key, p in pvalues.items():
        if not 0.0 <= p <= 1.0:  # also rejects nan
            raise ValueError(f"p-value for {key!r} must lie in [0, 1], got {p!r}")
    m = len(pvalues)
    adjusted: dict[str, float] = {}
    running = 0.0
    for rank, key in enumerate(sorted(pvalues, key=pvalues.__getitem__)):
        running = max(running, min(1.0, (m - rank) * float(pvalues[key])))
        adjusted[key] = running
    return {key: adjusted[key] for key in pvalues}


# A/B reports ----------------------------------------------------------------------------------------------------------

def compare_paired(a: Values, b: Values, resamples: int = 10_000, seed: int = 0,
                   confidence: float = 0.95) -> dict[str, Any]:
    """Every paired statistic of variant ``b`` against baseline ``a``, as plain JSON-serialisable numbers.

    ``ci95`` is the BCa bootstrap interval of the mean of ``b - a`` at ``confidence`` (the key keeps its name when
    the level is changed).
    """
    x, y = _pairs(a, b)
    wins, ties, losses = win_tie_loss(x, y)
    return {
        "a": float(x.mean()), "b": float(y.mean()), "diff": float((y - x).mean()),
        "ci95": list(bootstrap_ci(y - x, confidence=confidence, resamples=resamples, seed=seed)),
        "p_paired_t": paired_t(x, y), "p_wilcoxon": wilcoxon(x, y),
        "p_permutation": permutation(x, y, resamples=resamples, seed=seed), "p_welch": welch(x, y),
        "cohens_d": cohens_d(x, y), "wins": wins, "ties": ties, "losses": losses, "n": int(x.size),
    }


def compare_metrics(a: Mapping[str, Values], b: Mapping[str, Values], resamples: int = 10_000,
                    seed: int = 0, alpha: float = 0.05) -> dict[str, dict]:
    """:func:`compare_paired` per metric, plus ``p_holm`` (Holm over ``PRIMARY_TEST`` across the metrics) and
    ``significant`` (``p_holm < alpha``). Metrics keep the order of ``a``."""
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie strictly between 0 and 1 (e.g. 0.05), got {alpha!r}")
    for name in [*a, *b]:
        if name not in a or name not in b:
            side = "a" if name not in a else "b"
            raise ValueError(f"metric {name!r} is missing from {side}; both runs need the same metrics "
                             f"(a has {sorted(a)}, b has {sorted(b)})")
    rows: dict[str, dict] = {}
    for name in a:
        try:
            rows[name] = compare_paired(a[name], b[name], resamples=resamples, seed=seed)
        except ValueError as error:
            raise ValueError(f"metric {name!r}: {error}") from error
    adjusted = holm({name: row[PRIMARY_TEST] for name, row in rows.items()})
    for name, row in rows.items():
        row["p_holm"] = adjusted[name]
        row["significant"] = bool(adjusted[name] < alpha)
    return rows


# Proportions ----------------------------------------------------------------------------------------------------------

def _check_counts(successes: int, n: int, side: str) -> None:
    if n < 0 or successes < 0:
        raise ValueError(f"counts must be >= 0, got successes{side} = {successes}, n{side} = {n}")
    if successes > n:
        raise ValueError(f"successes{side} = {successes} exceeds n{side} = {n}; successes count within the n trials")


def wilson_ci(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion (Wilson 1927), as ``binomtest(...).proportion_ci(method="wilson")``.

    Newcombe's (1998, Stat. Med. 17:857–872, method 3) form, as scipy writes it: ``center ± z/(2(n+z²)) ·
    sqrt(4npq + z²)`` with ``center = (2np + z²)/(2(n+z²))`` and ``z`` the normal quantile at ``(1+confidence)/2``;
    the bound at 0 (at 1) is exactly 0 (1) when there are no successes (failures). Computed here, without scipy, so
    that the monitoring report does not import scipy.stats. ``(0.0, 1.0)`` when ``n == 0``: nothing observed, every
    rate is possible.
    """
    _check_counts(successes, n, "")
    _check_confidence(confidence)
    if n == 0:
        return 0.0, 1.0
    z = NormalDist().inv_cdf(0.5 + 0.5 * confidence)
    p = successes / n
    denom = 2 * (n + z ** 2)
    center = (2 * n * p + z ** 2) / denom
    delta = z / denom * math.sqrt(4 * n * p * (1 - p) + z ** 2)
    return (0.0 if successes == 0 else center - delta), (1.0 if successes == n else center + delta)


def _newcombe_interval(successes_a: int, n_a: int, successes_b: int, n_b: int,
                       confidence: float) -> tuple[float, float]:
    """Newcombe's hybrid score interval for ``rate_b - rate_a`` (Newcombe 1998, Stat. Med. 17:873–890, method 10)."""
    rate_a, rate_b = successes_a / n_a, successes_b / n_b
    low_a, high_a = wilson_ci(successes_a, n_a, confidence)
    low_b, high_b = wilson_ci(successes_b, n_b, confidence)
    diff = rate_b - rate_a
    return (diff - math.sqrt((rate_b - low_b) ** 2 + (high_a - rate_a) ** 2),
            diff + math.sqrt((high_b - rate_b) ** 2 + (rate_a - low_a) ** 2))


def two_proportion(successes_a: int, n_a: int, successes_b: int, n_b: int, confidence: float = 0.95) -> dict[str, Any]:
    """Compare two success rates: ``rate_a``, ``rate_b``, ``diff`` (b - a), its Newcombe ``ci95`` and a two-sided p.

    The test follows Cochran's rule: Fisher's exact test (``scipy.stats.fisher_exact``) when any expected cell of the
    2x2 table is below 5, else the pooled two-proportion z-test (identical to Pearson's chi-squared without Yates's
    correction). When a side has ``n == 0`` its rate is reported as 0.0, nothing can be tested (``p`` = 1.0, ``test``
    "fisher", as an empty row always has an expected count of 0) and ``ci95`` is the uninformative [-1.0, 1.0].
    """
    _check_counts(successes_a, n_a, "_a")
    _check_counts(successes_b, n_b, "_b")
    _check_confidence(confidence)
    rate_a = successes_a / n_a if n_a else 0.0
    rate_b = successes_b / n_b if n_b else 0.0
    result: dict[str, Any] = {"rate_a": rate_a, "rate_b": rate_b, "diff": rate_b - rate_a}
    if n_a == 0 or n_b == 0:
        return {**result, "ci95": [-1.0, 1.0], "test": "fisher", "p": 1.0}
    table = np.array([[successes_a, n_a - successes_a], [successes_b, n_b - successes_b]])
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    if expected.min() < 5:
        from scipy import stats
        test, p = "fisher", float(stats.fisher_exact(table).pvalue)
    else:
        # Expected counts >= 5 in every cell imply 0 < pooled < 1, so the standard error is positive.
        pooled = (successes_a + successes_b) / (n_a + n_b)
        z = (rate_b - rate_a) / math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
        # two-sided normal tail 2·Φ(−|z|) = erfc(|z|/√2), what scipy's norm.sf computes
        test, p = "z", float(math.erfc(abs(z) / math.sqrt(2)))
    low, high = _newcombe_interval(successes_a, n_a, successes_b, n_b, confidence)
    return {**result, "ci95": [low, high], "test": test, "p": p}
