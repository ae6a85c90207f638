"""Two models on the same people: how every disparity changes from production (the audit's prediction) to a
candidate, with paired intervals, and whether the candidate makes any gap worse by more than a margin.

The people are the same, so each change is computed on per-person differences ``d = f(candidate) -
f(production)`` (``f``: the decision the rate counts, e.g. "favorable" for statistical parity, "positive
among label positives" for the true positive rate): a change in a rate gap is the group's mean of ``d``
minus the reference's, two independent means (Welch, weighted with Kish's effective size), and the
average odds change is the mean of the two. A gap gets *worse* when it grows in the direction production's
gap already runs (``s * change``, ``s`` the sign of production's gap, + when it is 0): non-inferiority is
``s * change <= margin``, judged by the one decision rule (pass: the data show it; fail: the data show the
candidate is worse by more than the margin). Ratios (disparate impact) are not compared here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from fairprobe.domain.audit import LABEL, PREDICTION, WEIGHT, AuditRequest, DataKind
from fairprobe.domain.diagnostics import Section, SectionName
from fairprobe.domain.policy import Bound, Rule
from fairprobe.engines.diagnostics.common import finite, judged, make_candidate, row_groups
from fairprobe.engines.groups import Partition
from fairprobe.engines.policy import Candidate, verdict
from fairprobe.stats.bounds import WelchMean, signed_limits, z_for

__all__ = ["CHANGES", "comparison"]

#: each compared disparity: the rows it counts (all, label positives, label negatives) and what it counts
CHANGES: dict[str, tuple[tuple[str, str], ...]] = {
    "statistical_parity_difference": (("all", "favorable"),),
    "equal_opportunity_difference": (("positives", "positive"),),
    "false_positive_rate_difference": (("negatives", "positive"),),
    "false_negative_rate_difference": (("positives", "negative"),),
    "average_odds_difference": (("negatives", "positive"), ("positives", "positive")),
}


def _moments(values: np.ndarray, weight: np.ndarray, groups: np.ndarray, size: int
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per group: weighted mean and variance of ``values`` and Kish's effective size."""
    w = np.bincount(groups, weights=weight, minlength=size)
    w2 = np.bincount(groups, weights=weight * weight, minlength=size)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.bincount(groups, weights=weight * values, minlength=size) / w
        second = np.bincount(groups, weights=weight * values * values, minlength=size) / w
        n_eff = w * w / w2
        var = np.maximum(second - mean * mean, 0.0) * n_eff / np.maximum(n_eff - 1, 1e-12)
    return mean, var, n_eff


def comparison(request: AuditRequest, parts: Sequence[Partition]) -> Section:
    candidate = request.diagnostics.candidate
    assert candidate is not None
    frame, alpha = request.frame, request.policy.alpha
    fav_pos = request.roles.favorable_is_positive
    label = frame[LABEL].to_numpy(dtype=bool)
    production = frame[PREDICTION].to_numpy(dtype=bool)
    challenger = np.asarray(candidate.decisions, dtype=bool)
    weight = frame[WEIGHT].to_numpy(dtype=float)
    assert request.kind is DataKind.ROWS  # the schema refuses a candidate with a counts table
    subsets = {"all": np.ones(len(frame), dtype=bool), "positives": label, "negatives": ~label}

    def counted(decisions: np.ndarray, what: str) -> np.ndarray:
        favorable = decisions if fav_pos else ~decisions
        return {"favorable": favorable, "positive": decisions, "negative": ~decisions}[what].astype(float)

    rule = Rule("candidate_gap_increase", Bound.MAX, candidate.margin)
    rows: list[dict[str, Any]] = []
    candidates: list[tuple[Candidate, bool]] = []
    z = np.array([z_for(alpha / 2)])
    for part in parts:
        groups = row_groups(request, part)
        size, r = len(part.keys), part.reference
        for metric, terms in CHANGES.items():
            pieces = []
            for subset, what in terms:
                rows_in = subsets[subset] & (groups >= 0)
                g = groups[rows_in]
                d = counted(challenger[rows_in], what) - counted(production[rows_in], what)
                prod = counted(production[rows_in], what)
                pieces.append((_moments(d, weight[rows_in], g, size), _moments(prod, weight[rows_in], g, size)[0]))
            k = len(pieces)
            for i, key in enumerate(part.keys):
                if i == r:
                    continue
                change = sum(m[0][i] - m[0][r] for (m, _) in pieces) / k
                gap = sum(p[i] - p[r] for (_, p) in pieces) / k
                # the averaged change's variance: sum over its terms of var / n, over k^2, per side
                se2_g = sum(m[1][i] / m[2][i] for (m, _) in pieces) / k**2
                se2_r = sum(m[1][r] / m[2][r] for (m, _) in pieces) / k**2
                n_g = min(float(m[2][i]) for (m, _) in pieces)
                n_r = min(float(m[2][r]) for (m, _) in pieces)
                defined = bool(np.isfinite(change) and np.isfinite(gap) and np.isfinite(se2_g + se2_r)
                               and n_g >= 2 and n_r >= 2)
                measure = WelchMean(np.array([change]), np.array([se2_g * n_g]), np.array([n_g]),
                                    np.array([se2_r * n_r]), np.array([n_r])) if defined else None
                low = high = None
                if measure is not None:
                    lo, hi = signed_limits(measure, z)
                    low, high = finite(lo[0]), finite(hi[0])
                sign = -1.0 if gap < 0 else 1.0
                rows.append({"metric": metric, "attributes": list(part.attributes), "group": key.as_dict(),
                             "reference": part.keys[r].as_dict(), "production": finite(gap),
                             "candidate": finite(gap + change) if defined else None, "change": finite(change),
                             "ci_low": low, "ci_high": high, "ci_level": 1 - alpha,
                             "ci_method": "welch_t_on_per_person_differences",
                             "worse_if": "higher" if sign > 0 else "lower"})
                if measure is not None:
                    harm = WelchMean(np.array([sign * change]), measure.var1, measure.n1, measure.var2, measure.n2)
                    candidates.append((make_candidate(
                        rule, key, part.keys[r], n_g, n_r, float(sign * change), harm, alpha,
                        sizes=(n_g, n_r), higher_favours=False,
                        subject=f"{metric} of {key.label} against {part.keys[r].label}: candidate "
                                f"{candidate.column!r} against production (positive: the gap grows)"),
                        candidate.margin_given))
    findings = judged(candidates, request.policy)
    summary = {"candidate": candidate.column, "margin": candidate.margin, "non_inferiority": verdict(findings).value,
               "compared": len(findings)}
    return Section(SectionName.COMPARISON, _METHOD, {"changes": tuple(rows), "verdict": (summary,)}, findings,
                   needs_rows=True)


_METHOD = __doc__.split("\n\n", 1)[1].replace("\n", " ").strip() if __doc__ else ""
