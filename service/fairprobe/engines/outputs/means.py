"""Means of a per-person quantity by group, compared with the reference: shared by continuous outcomes and
by the per-person measures of recommendation lists.

The sufficient statistics are per-cell sums of ``(people, w, w², w·x, w·x²)`` over the counts table's
combinations, so a counts table that carries per-cell sums and sums of squares audits exactly as rows do.
With rows, the distribution measures that need every value (median, quantiles, Mann–Whitney, KS) are added.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import stats as sps

from fairprobe.domain.policy import Policy
from fairprobe.engines.diagnostics.common import finite, make_candidate, rules_for
from fairprobe.engines.groups import Partition
from fairprobe.engines.policy import Candidate
from fairprobe.stats.bounds import Measure, Normal, WelchMean, signed_limits, z_for

__all__ = ["Comparison", "MomentSums", "compare_means", "moment_sums"]

Comparison = Literal["difference", "ratio", "relative_gap", "smd"]
#: per-cell sums: people, weight, weight², weight·x, weight·x²
MomentSums = np.ndarray


def moment_sums(cells: np.ndarray, n_cells: int, values: np.ndarray, weight: np.ndarray) -> MomentSums:
    """Per counts-table cell: people (one per row), Σw, Σw², Σw·x, Σw·x²."""
    columns = (np.ones(len(cells)), weight, weight * weight, weight * values, weight * values * values)
    return np.stack([np.bincount(cells, weights=c, minlength=n_cells) for c in columns], axis=1)


@dataclass(frozen=True, slots=True)
class _Group:
    people: float
    mean: float | None
    var: float | None
    n_eff: float


def _groups(sums: np.ndarray) -> list[_Group]:
    out = []
    for people, w, w2, wx, wxx in sums:
        if w <= 0:
            out.append(_Group(float(people), None, None, 0.0))
            continue
        mean = wx / w
        n_eff = w * w / w2 if w2 > 0 else 0.0
        # reliability-weighted variance: the usual n - 1 variance when every weight is 1
        denominator = w * w - w2
        var = max(wxx / w - mean * mean, 0.0) * (w * w / denominator) if denominator > 0 else None
        out.append(_Group(float(people), float(mean), None if var is None else float(var), float(n_eff)))
    return out


def _measure(kind: Comparison, g: _Group, r: _Group) -> tuple[float | None, Measure | None]:
    """The compared value and its measure (None when undefined: an empty group, a zero mean, no spread)."""
    if g.mean is None or r.mean is None or g.var is None or r.var is None or g.n_eff < 2 or r.n_eff < 2:
        return None, None
    if kind == "difference":
        return g.mean - r.mean, WelchMean(np.array([g.mean - r.mean]), np.array([g.var]), np.array([g.n_eff]),
                                          np.array([r.var]), np.array([r.n_eff]))
    if kind in ("ratio", "relative_gap"):
        if g.mean <= 0 or r.mean <= 0:
            return None, None
        ratio = g.mean / r.mean
        se = float(np.sqrt(g.var / (g.n_eff * g.mean**2) + r.var / (r.n_eff * r.mean**2)))
        value = ratio - 1.0 if kind == "relative_gap" else ratio
        return value, Normal(np.array([ratio]), np.array([se]), np.array([1.0]))
    pooled = ((g.n_eff - 1) * g.var + (r.n_eff - 1) * r.var) / (g.n_eff + r.n_eff - 2)
    if pooled <= 0:
        return None, None
    total = g.n_eff + r.n_eff
    hedges = (g.mean - r.mean) / np.sqrt(pooled) * (1 - 3 / (4 * total - 9))
    se = float(np.sqrt(total / (g.n_eff * r.n_eff) + hedges**2 / (2 * total)))
    return float(hedges), Normal(np.array([hedges]), np.array([se]), np.array([0.0]))


def _welch_p(g: _Group, r: _Group) -> float | None:
    _, measure = _measure("difference", g, r)
    if measure is None:
        return None
    up, down = measure.tails(np.array([0.0]))
    return finite(min(1.0, 2 * min(float(up[0]), float(down[0]))))


def _median_ci(x: np.ndarray, alpha: float) -> tuple[float | None, float | None]:
    """Distribution-free interval for the median from order statistics (binomial, Conover 1999)."""
    n = len(x)
    if n < 6:
        return None, None
    k = int(sps.binom.ppf(alpha / 2, n, 0.5))
    return float(x[max(k - 1, 0)]), float(x[min(n - k, n - 1)])


def _by_group(values: np.ndarray, groups: np.ndarray, size: int) -> list[np.ndarray]:
    order = np.argsort(groups, kind="stable")
    bounds = np.searchsorted(groups[order], np.arange(size + 1))
    ordered = values[order]
    return [np.sort(ordered[bounds[i]:bounds[i + 1]]) for i in range(size)]


def compare_means(
    quantity: str, sums_by_part: Sequence[np.ndarray], parts: Sequence[Partition], policy: Policy,
    metrics: Mapping[str, Comparison], *, higher_favours: bool | None,
    rows: tuple[np.ndarray, Sequence[np.ndarray]] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[tuple[Candidate, bool]]]:
    """Per partition: each group's mean (Student's t interval) and, against the reference, the difference
    (Welch), ratio (delta method on the log), standardized mean difference (Hedges' g) and, with ``rows``
    (the per-person values and each partition's group index per person), median, quantiles, Mann–Whitney
    and Kolmogorov–Smirnov. Candidates for every rule on ``metrics`` (a metric name → how it compares)."""
    alpha = policy.alpha
    z = z_for(alpha / 2)
    group_rows: list[dict[str, Any]] = []
    comparison_rows: list[dict[str, Any]] = []
    candidates: list[tuple[Candidate, bool]] = []
    for p, (part, sums) in enumerate(zip(parts, sums_by_part, strict=True)):
        stats = _groups(sums)
        values = _by_group(rows[0], rows[1][p], len(part.keys)) if rows is not None else None
        ref = part.reference
        for i, (key, g) in enumerate(zip(part.keys, stats, strict=True)):
            row: dict[str, Any] = {"quantity": quantity, "attributes": list(part.attributes), "group": key.as_dict(),
                                   "is_reference": i == ref, "n": int(round(g.people)), "mean": g.mean,
                                   "ci_low": None, "ci_high": None, "ci_level": 1 - alpha, "ci_method": "t",
                                   "sd": None if g.var is None else float(np.sqrt(g.var))}
            if g.mean is not None and g.var is not None and g.n_eff >= 2:
                half = float(sps.t.isf(alpha / 2, g.n_eff - 1) * np.sqrt(g.var / g.n_eff))
                row["ci_low"], row["ci_high"] = g.mean - half, g.mean + half
            if values is not None:
                x = values[i]
                row["median"] = float(np.median(x)) if len(x) else None
                row["median_ci_low"], row["median_ci_high"] = _median_ci(x, alpha)
                for q in (10, 90):
                    row[f"p{q}"] = float(np.percentile(x, q)) if len(x) else None
            group_rows.append(row)
            if i == ref:
                continue
            comparison = _comparison(quantity, part, i, g, stats[ref], values, z, alpha)
            comparison_rows.append(comparison)
            for metric, kind in metrics.items():
                for rule, counts in rules_for(policy, metric):
                    if not rule.covers(part.attributes):
                        continue
                    value, measure = _measure(kind, g, stats[ref])
                    candidates.append((make_candidate(
                        rule, key, part.keys[ref], g.people, stats[ref].people, value, measure, alpha,
                        parity_p=comparison["welch_p_value"], parity_test="welch_t", sizes=(g.n_eff, stats[ref].n_eff),
                        higher_favours=higher_favours, parity_value=1.0 if kind == "ratio" else 0.0,
                        offset=-1.0 if kind == "relative_gap" else 0.0), counts))
    return group_rows, comparison_rows, candidates


def _comparison(quantity: str, part: Partition, i: int, g: _Group, r: _Group, values: list[np.ndarray] | None,
                z: float, alpha: float) -> dict[str, Any]:
    row: dict[str, Any] = {"quantity": quantity, "attributes": list(part.attributes), "group": part.keys[i].as_dict(),
                           "reference": part.keys[part.reference].as_dict(), "ci_level": 1 - alpha}
    for name, kind in (("mean_difference", "difference"), ("mean_ratio", "ratio"),
                       ("standardized_mean_difference", "smd")):
        value, measure = _measure(kind, g, r)  # type: ignore[arg-type]
        row[name] = finite(value)
        low = high = None
        if measure is not None:
            lo, hi = signed_limits(measure, np.array([z]))
            low, high = finite(lo[0]), finite(hi[0])
        row[f"{name}_ci_low"], row[f"{name}_ci_high"] = low, high
    row["welch_p_value"] = _welch_p(g, r)
    if values is not None:
        x, y = values[i], values[part.reference]
        if len(x) and len(y):
            mw = sps.mannwhitneyu(x, y, alternative="two-sided", method="asymptotic")
            ks = sps.ks_2samp(x, y)
            row["mann_whitney_u"], row["mann_whitney_p_value"] = float(mw.statistic), finite(float(mw.pvalue))
            row["ks_statistic"], row["ks_p_value"] = float(ks.statistic), finite(float(ks.pvalue))
            for q in (10, 50, 90):
                row[f"p{q}_gap"] = float(np.percentile(x, q) - np.percentile(y, q))
    return row
