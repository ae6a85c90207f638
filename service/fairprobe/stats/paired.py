"""Paired comparisons: the same profiles answered under two conditions (two names, two attribute values).

The unit is the profile. With several names per group, a profile's score under a group is the mean over
its answered names, and its decision change is the share of name slots whose decision differs; the
tests then treat profiles as independent, which they are (names are sampled, profiles are given).
"""

from __future__ import annotations

import numpy as np
from scipy import stats as sps

from fairprobe.domain.findings import Disparity, Reason
from fairprobe.stats.proportions import wilson

__all__ = [
    "BINOMIAL_VS_BOUND",
    "SIGN_TEST",
    "T_INTERVAL",
    "WILCOXON",
    "flip_rate_test",
    "mean_interval",
    "paired_decisions",
    "paired_scores",
]

T_INTERVAL = "t_interval_paired"
WILCOXON = "wilcoxon_signed_rank"
SIGN_TEST = "exact_sign_test_mcnemar"
BINOMIAL_VS_BOUND = "exact_binomial_one_sided_vs_bound"


def mean_interval(values: np.ndarray, alpha: float) -> tuple[float | None, float | None, float | None]:
    """Mean and Student-t interval; the interval collapses to the mean when every value is equal."""
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        return None, None, None
    mean = float(values.mean())
    if values.size < 2:
        return mean, None, None
    sd = float(values.std(ddof=1))
    half = float(sps.t.ppf(1 - alpha / 2, values.size - 1)) * sd / np.sqrt(values.size)
    return mean, mean - half, mean + half


def paired_scores(treated: np.ndarray, control: np.ndarray, alpha: float) -> Disparity:
    """Mean of ``treated - control`` with a paired t interval; Wilcoxon signed-rank test (zeros dropped).

    With no non-zero difference the two conditions gave identical scores: p = 1.
    """
    d = np.asarray(treated, float) - np.asarray(control, float)
    mean, low, high = mean_interval(d, alpha)
    nonzero = d[d != 0]
    if nonzero.size == 0:
        p = 1.0 if d.size else None
    else:
        p = float(sps.wilcoxon(nonzero, zero_method="wilcox", method="approx" if nonzero.size > 50 else "auto").pvalue)
    return _result(mean, low, high, p, WILCOXON, alpha)


def paired_decisions(treated: np.ndarray, control: np.ndarray, alpha: float) -> Disparity:
    """Difference in positive-decision share with a paired t interval; exact sign test over profiles.

    With one name per group the shares are 0/1 and the sign test is McNemar's exact test.
    """
    d = np.asarray(treated, float) - np.asarray(control, float)
    mean, low, high = mean_interval(d, alpha)
    up, down = int((d > 0).sum()), int((d < 0).sum())
    p = (float(sps.binomtest(up, up + down, 0.5).pvalue) if up + down else 1.0) if d.size else None
    return _result(mean, low, high, p, SIGN_TEST, alpha)


def flip_rate_test(changes: np.ndarray, bound: float, alpha: float) -> Disparity:
    """Share of decisions that change, Wilson interval, and the exact one-sided test of ``rate > bound``.

    ``changes`` holds each profile's share of changed decisions; their sum is the (possibly fractional)
    number of profiles that flip, rounded for the binomial test. With ``bound == 0`` a single flip
    refutes the bound (p = 0).
    """
    changes = np.asarray(changes, float)
    if changes.size == 0:
        return Disparity(None, None, None, None, None, None, reason=Reason.EMPTY_GROUP)
    n, flips = changes.size, float(changes.sum())
    interval = wilson(np.array([flips]), np.array([float(n)]), alpha)
    k = int(round(flips))
    if bound <= 0:
        p = 0.0 if k > 0 else 1.0
    elif bound >= 1:
        p = 1.0
    else:
        p = float(sps.binomtest(k, n, bound, alternative="greater").pvalue)
    return Disparity(flips / n, float(interval.low[0]), float(interval.high[0]), interval.method[0], p,
                     BINOMIAL_VS_BOUND, ci_level=1 - alpha)


def _result(mean: float | None, low: float | None, high: float | None, p: float | None, test: str,
            alpha: float) -> Disparity:
    if mean is None:
        return Disparity(None, None, None, None, None, None, reason=Reason.EMPTY_GROUP)
    return Disparity(mean, low, high, T_INTERVAL if low is not None else None, p, test,
                     ci_level=1 - alpha if low is not None else None)
