"""Continuous outcomes (offer value, discount, credit limit, touchpoints, spend, click-through, a score):
per group mean and median, and against the reference the difference and ratio of means, the standardized
mean difference, quantile gaps and distribution tests, judged by the one decision rule."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from fairprobe.domain.audit import WEIGHT, AuditRequest, DataKind
from fairprobe.domain.diagnostics import Section
from fairprobe.domain.outputs import OutputKind
from fairprobe.engines.diagnostics.common import judged
from fairprobe.engines.groups import Partition
from fairprobe.engines.outputs.means import Comparison, compare_means, moment_sums

__all__ = ["OUTCOME_METRICS", "fold", "outcomes"]

#: the outcome's policy metrics and how each compares a group with its reference
OUTCOME_METRICS: dict[str, Comparison] = {
    "outcome_mean_difference": "difference",
    "outcome_mean_ratio": "ratio",
    "outcome_mean": "relative_gap",
    "outcome_standardized_mean_difference": "smd",
}

METHOD = ("Per group: the mean with Student's t interval (Kish's effective size under sample weights); with rows, "
          "the median with its distribution-free order-statistic interval and the 10th and 90th percentiles. "
          "Against the reference: the difference of means (Welch's t interval and test), the ratio of means (delta "
          "method on the log scale), Hedges' g (normal interval), and with rows the Mann-Whitney U and two-sample "
          "Kolmogorov-Smirnov tests and the gaps at the 10th, 50th and 90th percentiles (unweighted). Rules: "
          "outcome_mean_difference, outcome_mean_ratio, outcome_mean (max_relative_gap: |ratio - 1|) and "
          "outcome_standardized_mean_difference.")


def fold(sums: np.ndarray, groups_of_cells: np.ndarray, size: int) -> np.ndarray:
    """Per-cell sums (cells x columns) summed onto a partition's groups."""
    return np.stack([np.bincount(groups_of_cells, weights=sums[:, j], minlength=size)
                     for j in range(sums.shape[1])], axis=1)


def outcomes(request: AuditRequest, parts: Sequence[Partition], cells: np.ndarray,
             cell_groups: Sequence[np.ndarray], n_cells: int) -> Section:
    """The outcomes section; ``cells`` maps each row to its counts-table combination, ``cell_groups`` each
    combination to its group in every partition."""
    spec, outputs = request.outputs.outcome_spec, request.outputs
    assert spec is not None
    notes: list[str] = []
    weight = request.frame[WEIGHT].to_numpy(dtype=float)
    rows = None
    if request.kind is DataKind.COUNTS:
        assert outputs.outcome_sum is not None and outputs.outcome_sum_sq is not None
        sums = np.stack([np.bincount(cells, weights=c, minlength=n_cells)
                         for c in (weight, weight, weight, outputs.outcome_sum, outputs.outcome_sum_sq)], axis=1)
        notes.append("a counts table carries per-cell sums and sums of squares: means, their differences and "
                     "ratios and the standardized mean difference are exact; medians, quantiles and the "
                     "Mann-Whitney and Kolmogorov-Smirnov tests need one row per person")
    else:
        assert outputs.outcome is not None
        sums = moment_sums(cells, n_cells, outputs.outcome, weight)
        rows = (outputs.outcome, [g[cells] for g in cell_groups])
        if request.roles.weight:
            notes.append("sample weights apply to means and their comparisons; medians, quantiles and the "
                         "distribution tests count each row once")
    by_part = [fold(sums, g, len(part.keys)) for part, g in zip(parts, cell_groups, strict=True)]
    groups, comparisons, candidates = compare_means(
        spec.column or spec.sum_column or "outcome", by_part, parts, request.policy, OUTCOME_METRICS,
        higher_favours=spec.higher_favours, rows=rows)
    return Section(OutputKind.OUTCOMES, METHOD, {"groups": tuple(groups), "comparisons": tuple(comparisons)},
                   judged(candidates, request.policy), tuple(notes), needs_rows=False)
