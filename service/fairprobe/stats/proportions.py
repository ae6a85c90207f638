"""Intervals and tests for rates and for the difference or ratio of two rates.

All functions take arrays (one element per comparison) of *effective* counts: with sample weights a
rate ``p`` over Kish effective size ``n_eff`` is treated as ``p * n_eff`` successes in ``n_eff`` trials.
Undefined results (a zero denominator) come back as NaN and are turned into ``null`` with a reason by
the caller; nothing here warns or raises on them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special
from scipy import stats as sps

from fairprobe.stats.bounds import z_for
from fairprobe.stats.intervals import mover_ratio, mover_sum, newcombe
from fairprobe.stats.intervals import wilson as wilson_limits

__all__ = [
    "FISHER",
    "MOVER_AVERAGE",
    "NEWCOMBE",
    "POOLED_Z_AVERAGE",
    "RATIO_MOVER",
    "WILSON",
    "Z_TEST",
    "Interval",
    "TestResult",
    "average_of_differences",
    "compare_rates",
    "fisher_two_sided",
    "wilson",
]

WILSON = "wilson"
NEWCOMBE = "newcombe_hybrid_score"
RATIO_MOVER = "mover_r_wilson"
MOVER_AVERAGE = "mover_newcombe"
POOLED_Z_AVERAGE = "pooled_z_average_of_differences"
Z_TEST = "two_proportion_z_pooled"
FISHER = "fisher_exact"

#: Cochran's rule: use Fisher's exact test when an expected cell count of the 2x2 table is below this.
MIN_EXPECTED_FOR_Z = 5.0


@dataclass(frozen=True, slots=True)
class Interval:
    low: np.ndarray
    high: np.ndarray
    method: np.ndarray  # one method name per element


@dataclass(frozen=True, slots=True)
class TestResult:
    p_value: np.ndarray
    test: np.ndarray


def wilson(successes: np.ndarray, n: np.ndarray, alpha: float) -> Interval:
    """Wilson score interval for ``successes / n``; NaN where ``n == 0``."""
    successes, n = np.asarray(successes, float), np.asarray(n, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        low, high = wilson_limits(successes, n, z_for(alpha / 2))
    return Interval(low, high, np.full(n.shape, WILSON, dtype=object))


def _difference_interval(c1: np.ndarray, n1: np.ndarray, c2: np.ndarray, n2: np.ndarray, alpha: float) -> Interval:
    with np.errstate(divide="ignore", invalid="ignore"):
        low, high = newcombe(c1, n1, c2, n2, z_for(alpha / 2))
    return Interval(low, high, np.full(n1.shape, NEWCOMBE, dtype=object))


def _ratio_interval(c1: np.ndarray, n1: np.ndarray, c2: np.ndarray, n2: np.ndarray, alpha: float) -> Interval:
    """MOVER-R Wilson interval for p1/p2 (finite at a zero count in the group; undefined when p2 = 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        low, high = mover_ratio(c1, n1, c2, n2, z_for(alpha / 2))
    return Interval(low, high, np.full(n1.shape, RATIO_MOVER, dtype=object))


def _test(c1: np.ndarray, n1: np.ndarray, c2: np.ndarray, n2: np.ndarray) -> TestResult:
    """H0: p1 == p2. Fisher's exact test when an expected count is below 5, else the pooled z test."""
    p_value = np.full(n1.shape, np.nan)
    test = np.full(n1.shape, None, dtype=object)
    ok = (n1 > 0) & (n2 > 0)
    total = n1 + n2
    successes = c1 + c2
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = np.minimum.reduce([
            n1 * successes / total, n1 * (total - successes) / total,
            n2 * successes / total, n2 * (total - successes) / total,
        ])
    # all successes or all failures in both groups: the rates are equal, nothing to test
    degenerate = ok & ((successes <= 0) | (successes >= total))
    p_value[degenerate] = 1.0
    test[degenerate] = Z_TEST
    small = ok & ~degenerate & (expected < MIN_EXPECTED_FOR_Z)
    large = ok & ~degenerate & ~small
    if large.any():
        # the pooled two-proportion z (score) test: statsmodels' test_proportions_2indep(method="score",
        # correction=False), in closed form; the tests check the two agree
        a, m, b, k = c1[large], n1[large], c2[large], n2[large]
        pooled = (a + b) / (m + k)
        z = (a / m - b / k) / np.sqrt(pooled * (1 - pooled) * (1 / m + 1 / k))
        p_value[large] = 2 * special.ndtr(-np.abs(z))
        test[large] = Z_TEST
    if small.any():
        index = np.flatnonzero(small)
        p_value[index] = fisher_two_sided(*(np.rint(a[index]).astype(np.int64) for a in (c1, n1, c2, n2)))
        test[index] = FISHER
    return TestResult(p_value, test)


def fisher_two_sided(c1: np.ndarray, n1: np.ndarray, c2: np.ndarray, n2: np.ndarray) -> np.ndarray:
    """Fisher's exact two-sided p-value for each 2x2 table ``[[c1, n1 - c1], [c2, n2 - c2]]``, vectorized.

    The sum of the hypergeometric probabilities of the tables with the observed margins that are no more
    likely than the observed one (with scipy's relative tolerance of 1e-7), as ``scipy.stats.fisher_exact``
    computes it table by table; all tables are evaluated in one array over their padded supports.
    """
    successes = c1 + c2
    start = np.maximum(0, successes - n2)
    stop = np.minimum(successes, n1)
    width = int((stop - start).max()) + 1
    support = start[:, None] + np.arange(width)[None, :]
    valid = support <= stop[:, None]
    log_pmf = sps.hypergeom.logpmf(np.where(valid, support, start[:, None]), (n1 + n2)[:, None], n1[:, None],
                                   successes[:, None])
    observed = sps.hypergeom.logpmf(c1, n1 + n2, n1, successes)
    keep = valid & (log_pmf <= observed[:, None] + np.log1p(1e-7))
    return np.asarray(np.minimum(1.0, np.where(keep, np.exp(log_pmf), 0.0).sum(axis=1)))


def compare_rates(
    c1: np.ndarray, n1: np.ndarray, c2: np.ndarray, n2: np.ndarray, alpha: float
) -> tuple[Interval, Interval, TestResult]:
    """Difference interval, ratio interval and test for group rates ``c1/n1`` against ``c2/n2``."""
    arrays = (np.asarray(c1, dtype=float), np.asarray(n1, dtype=float), np.asarray(c2, dtype=float),
              np.asarray(n2, dtype=float))
    # statsmodels also computes odds ratios it does not return; a rate of 0 or 1 makes those divide by zero
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return (
            _difference_interval(*arrays, alpha),
            _ratio_interval(*arrays, alpha),
            _test(*arrays),
        )


def average_of_differences(
    first: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    second: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    alpha: float,
) -> tuple[np.ndarray, Interval, TestResult]:
    """``((p1a - p2a) + (p1b - p2b)) / 2``: MOVER over the two Newcombe intervals, and a pooled z test.

    This is AIF360's average odds difference: the two terms are the FPR and TPR differences, computed on
    disjoint people (label negatives and label positives), so they are independent. The test of parity
    pools each term's rate under its own null, so its variance does not vanish when a group's rate is 0
    or 1 (an unpooled Wald variance does, and then calls 4 of 4 against 60% "significant").
    """
    z = z_for(alpha / 2)
    points, limits, variance = [], [], np.zeros(np.asarray(first[0]).shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        for c1, n1, c2, n2 in (first, second):
            c1, n1, c2, n2 = (np.asarray(a, float) for a in (c1, n1, c2, n2))
            points.append(c1 / n1 - c2 / n2)
            limits.append(newcombe(c1, n1, c2, n2, z))
            pooled = (c1 + c2) / (n1 + n2)
            variance = variance + pooled * (1 - pooled) * (1 / n1 + 1 / n2) / 4
        value = (points[0] + points[1]) / 2
        low, high = mover_sum(points, limits)
        se = np.sqrt(variance)
        p_value = np.where(se > 0, 2 * special.ndtr(-np.abs(value) / se), np.where(value == 0, 1.0, np.nan))
    undefined = ~np.isfinite(value)
    low, high = low / 2, high / 2
    low[undefined] = high[undefined] = p_value[undefined] = np.nan
    method = np.full(value.shape, MOVER_AVERAGE, dtype=object)
    tests = np.full(value.shape, POOLED_Z_AVERAGE, dtype=object)
    return value, Interval(low, high, method), TestResult(p_value, tests)
