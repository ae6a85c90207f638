"""Per-group estimates and disparities with intervals and tests, for one partition at a time.

Values are AIF360's (from ``aif360_adapter``); intervals and tests use the same partition's counts.
With sample weights, a rate over cells with weight sum ``W`` and squared-weight sum ``W2`` is
treated as coming from ``W**2 / W2`` people (Kish's effective sample size).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from fairprobe.domain.findings import Disparity, Estimate, Reason
from fairprobe.engines.aif360_adapter import GroupMetrics
from fairprobe.engines.catalogue import (
    DISPARITIES,
    FAVORABLE_LABEL_RATE,
    FAVORABLE_RATE,
    RATES,
    RateDef,
    favorable_cells,
    favorable_label_cells,
)
from fairprobe.engines.groups import Partition
from fairprobe.stats import proportions
from fairprobe.stats.bounds import AverageOdds, Measure, RateDifference, RateRatio
from fairprobe.stats.paired import mean_interval

__all__ = [
    "EffectiveCounts",
    "RateCounts",
    "bound_measure",
    "disparities",
    "effective_counts",
    "estimates",
    "mean_estimate",
    "rate_estimate",
    "relative_gap",
]



class RateCounts(NamedTuple):
    """Per group of a partition, for one rate: effective successes and size, and the weighted sums."""

    successes: np.ndarray
    n_eff: np.ndarray
    numerator: np.ndarray
    denominator: np.ndarray


EffectiveCounts = dict[str, RateCounts]


def _cell_sums(part: Partition, arr: np.ndarray, rate: RateDef) -> tuple[np.ndarray, np.ndarray]:
    groups = arr  # [group, label, prediction]: the partition's table has one row per group
    num = sum(groups[:, y, p] for y, p in rate.numerator)
    den = sum(groups[:, y, p] for y, p in rate.denominator)
    return np.asarray(num, float), np.asarray(den, float)


def effective_counts(part: Partition, favorable_is_positive: bool) -> EffectiveCounts:
    """For each rate: effective successes and n (Kish), and the weighted sums, per group of the partition."""
    out: EffectiveCounts = {}
    rates = dict(RATES)
    rates[FAVORABLE_RATE] = favorable_cells(favorable_is_positive)
    rates[FAVORABLE_LABEL_RATE] = favorable_label_cells(favorable_is_positive)
    for name, rate in rates.items():
        num_w, den_w = _cell_sums(part, part.table.weight, rate)
        _, den_w2 = _cell_sums(part, part.table.weight_sq, rate)
        with np.errstate(divide="ignore", invalid="ignore"):
            n_eff = np.where(den_w2 > 0, den_w**2 / den_w2, 0.0)
            successes = np.where(den_w > 0, num_w / den_w * n_eff, 0.0)
        out[name] = RateCounts(successes, n_eff, num_w, den_w)
    return out


def _finite(x: float) -> float | None:
    return float(x) if x is not None and math.isfinite(x) else None


def estimates(
    part: Partition, values: list[GroupMetrics], counts: EffectiveCounts, alpha: float
) -> list[dict[str, Estimate]]:
    """Every rate of every group: AIF360's value, its Wilson interval, and what it was counted from."""
    out: list[dict[str, Estimate]] = [{} for _ in part.cells]
    groups = len(part.cells)
    # one Wilson call for every rate of every group
    every = proportions.wilson(np.concatenate([counts[name].successes for name in RATES]),
                               np.concatenate([counts[name].n_eff for name in RATES]), alpha)
    for r, name in enumerate(RATES):
        _, _, num_w, den_w = counts[name]
        interval = proportions.Interval(every.low[r * groups:(r + 1) * groups], every.high[r * groups:(r + 1) * groups],
                                        every.method[r * groups:(r + 1) * groups])
        for i, metrics in enumerate(values):
            value = _finite(metrics.rates[name])
            defined = value is not None and den_w[i] > 0
            out[i][name] = Estimate(
                value=value if defined else None,
                ci_low=_finite(interval.low[i]) if defined else None,
                ci_high=_finite(interval.high[i]) if defined else None,
                ci_method=proportions.WILSON if defined else None,
                numerator=float(num_w[i]),
                denominator=float(den_w[i]),
                reason=None if defined else Reason.ZERO_DENOMINATOR,
                ci_level=1 - alpha if defined else None,
            )
    return out


def disparities(
    part: Partition, values: list[GroupMetrics], counts: EffectiveCounts, alpha: float
) -> list[dict[str, Disparity]]:
    """Every disparity of every non-reference group against the partition's reference."""
    ref = part.reference
    others = [i for i in range(len(part.cells)) if i != ref]
    out: list[dict[str, Disparity]] = [{} for _ in part.cells]
    if not others:
        return out
    idx = np.array(others)

    def pair(rate: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        c, n = counts[rate].successes, counts[rate].n_eff
        return c[idx], n[idx], np.full(idx.shape, c[ref]), np.full(idx.shape, n[ref])

    compared: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    rates = sorted({d.rate for d in DISPARITIES.values() if d.compare != "average_odds"})
    pairs = [pair(rate) for rate in rates]
    # one call for every rate: the groups of each rate are a slice of the stacked arrays
    c1, n1, c2, n2 = (np.concatenate([p[k] for p in pairs]) for k in range(4))
    diff_ci, ratio_ci, test = proportions.compare_rates(c1, n1, c2, n2, alpha)
    m = len(others)
    for r, rate in enumerate(rates):
        cut = slice(r * m, (r + 1) * m)
        compared[rate + ":difference"] = (diff_ci.low[cut], diff_ci.high[cut], diff_ci.method[cut])
        compared[rate + ":ratio"] = (ratio_ci.low[cut], ratio_ci.high[cut], ratio_ci.method[cut])
        compared[rate + ":test"] = (test.p_value[cut], test.test[cut], test.test[cut])
    _, aod_ci, aod_test = proportions.average_of_differences(
        pair("false_positive_rate"), pair("true_positive_rate"), alpha
    )
    for name, definition in DISPARITIES.items():
        if definition.compare == "average_odds":
            low, high, method = aod_ci.low, aod_ci.high, aod_ci.method
            p_value, test_name = aod_test.p_value, aod_test.test
        else:
            low, high, method = compared[f"{definition.rate}:{definition.compare}"]
            p_value, test_name, _ = compared[f"{definition.rate}:test"]
        for j, i in enumerate(others):
            value = _finite(values[i].disparities[name])
            if value is None:  # partitions hold non-empty groups: a rate it compares has no denominator
                out[i][name] = Disparity(None, None, None, None, None, None, Reason.ZERO_DENOMINATOR)
                continue
            out[i][name] = Disparity(
                value=value,
                ci_low=_finite(low[j]),
                ci_high=_finite(high[j]),
                ci_method=str(method[j]) if _finite(low[j]) is not None else None,
                p_value=_finite(p_value[j]),
                test=str(test_name[j]) if _finite(p_value[j]) is not None else None,
                ci_level=1 - alpha if _finite(low[j]) is not None else None,
            )
    return out


def relative_gap(
    part: Partition, group: int, rate: str, counts: EffectiveCounts, value: Estimate,
    reference_value: Estimate, alpha: float,
) -> Disparity:
    """``rate(group) / rate(reference) - 1`` with the Katz interval shifted by one, and the same test."""
    if value.value is None or reference_value.value is None or reference_value.value == 0:
        reason = value.reason or reference_value.reason or Reason.ZERO_DENOMINATOR
        return Disparity(None, None, None, None, None, None, reason)
    c, n = counts[rate].successes, counts[rate].n_eff
    ref = part.reference
    _, ratio_ci, test = proportions.compare_rates(
        c[[group]], n[[group]], c[[ref]], n[[ref]], alpha
    )
    low, high = _finite(ratio_ci.low[0]), _finite(ratio_ci.high[0])
    return Disparity(
        value=value.value / reference_value.value - 1,
        ci_low=None if low is None else low - 1,
        ci_high=None if high is None else high - 1,
        ci_method=str(ratio_ci.method[0]) + "_minus_1" if low is not None else None,
        p_value=_finite(test.p_value[0]),
        test=str(test.test[0]) if _finite(test.p_value[0]) is not None else None,
        ci_level=1 - alpha if low is not None else None,
    )



def bound_measure(part: Partition, group: int, metric: str, counts: EffectiveCounts
                  ) -> tuple[Measure, tuple[float, float]]:
    """The measure a rule on ``metric`` is tested with, for ``group`` against the partition's reference,
    and the (effective) denominators of the compared rates (what ``min_group_size`` is checked against).

    ``metric`` is a disparity of the catalogue, or a rate (judged by its relative gap, a ratio).
    """
    ref = part.reference

    def rates(name: str) -> tuple[float, float, float, float]:
        c, n = counts[name].successes, counts[name].n_eff
        return float(c[group]), float(n[group]), float(c[ref]), float(n[ref])

    if metric in RATES:
        c1, n1, c2, n2 = rates(metric)
        return RateRatio(*(np.array([x]) for x in (c1, n1, c2, n2))), (n1, n2)
    definition = DISPARITIES[metric]
    if definition.compare == "average_odds":
        tpr, fpr = rates("true_positive_rate"), rates("false_positive_rate")
        measure = AverageOdds(*(np.array([x]) for x in (*tpr, *fpr)))
        return measure, (min(tpr[1], fpr[1]), min(tpr[3], fpr[3]))
    c1, n1, c2, n2 = rates(definition.rate)
    kind = RateRatio if definition.compare == "ratio" else RateDifference
    return kind(*(np.array([x]) for x in (c1, n1, c2, n2))), (n1, n2)


def rate_estimate(successes: float, n: float, alpha: float, *, method: str = proportions.WILSON,
                  reason: Reason = Reason.EMPTY_GROUP) -> Estimate:
    """``successes / n`` with its Wilson interval (``method`` names how it was counted); null with ``reason``
    when ``n`` is 0."""
    if n == 0:
        return Estimate(None, None, None, None, reason=reason)
    interval = proportions.wilson(np.array([successes]), np.array([n]), alpha)
    return Estimate(successes / n, float(interval.low[0]), float(interval.high[0]), method,
                    numerator=successes, denominator=n, ci_level=1 - alpha)


def mean_estimate(values: np.ndarray, alpha: float) -> Estimate:
    """The mean of ``values`` with its Student-t interval (none for a single value); null when empty."""
    mean, low, high = mean_interval(values, alpha)
    if mean is None:
        return Estimate(None, None, None, None, reason=Reason.EMPTY_GROUP)
    return Estimate(mean, low, high, "t_interval" if low is not None else None, denominator=float(len(values)),
                    ci_level=1 - alpha if low is not None else None)
