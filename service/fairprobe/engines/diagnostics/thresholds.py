"""Per-group decision thresholds on the model's scores that would meet a fairness constraint, with what each
costs, re-audited against the policy: advice for when a model cannot be retrained.

For each single protected attribute and each constraint, one threshold per group: *demographic parity* gives
every group the same selection rate ``t``, *equal opportunity* the same true positive rate ``t`` (a group's
threshold is the score quantile that selects that share, of everyone or of its label positives); ``t`` is
the value on a grid of 201 that maximizes accuracy. Unlike Fairlearn's ThresholdOptimizer the thresholds are
deterministic (no randomization between two thresholds), so a rate can miss the common one by the share of
tied scores. Equalized odds needs thresholds randomized between two values (Hardt et al. 2016) and is not
offered. The Pareto front gives, for allowed gaps of 0 to 0.2, the best accuracy with every group's selection
rate within the gap of the reference's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from fairprobe.domain.audit import LABEL, SCORE, AuditRequest
from fairprobe.domain.findings import AuditReport
from fairprobe.engines.diagnostics.common import row_groups
from fairprobe.engines.groups import Partition

__all__ = ["Reaudit", "calibration", "thresholds"]

#: audits the request's rows with other decisions (the thresholded scores)
Reaudit = Callable[[np.ndarray], AuditReport]
GRID = np.linspace(0.0, 1.0, 201)
GAPS = (0.0, 0.02, 0.05, 0.1, 0.2)


class _Sorted:
    """One group's scores, highest first, with the running count of label positives: the accuracy of any
    threshold on the group is then two look-ups."""

    def __init__(self, scores: np.ndarray, label: np.ndarray) -> None:
        order = np.argsort(-scores, kind="stable")
        self.scores, self.label = scores[order], label[order]
        self.positives = np.concatenate([[0], np.cumsum(self.label)])
        self.n, self.n_pos = len(scores), int(self.label.sum())
        self.pos_scores = self.scores[self.label]

    def cut_for_share(self, share: np.ndarray, among_positives: bool) -> np.ndarray:
        """Thresholds selecting about ``share`` of the group (or of its label positives)."""
        pool = self.pos_scores if among_positives else self.scores
        k = np.rint(np.asarray(share) * len(pool)).astype(np.int64)
        cuts = np.where(k > 0, pool[np.clip(k - 1, 0, max(len(pool) - 1, 0))] if len(pool) else np.inf, np.inf)
        return np.asarray(cuts, float)

    def correct(self, cuts: np.ndarray) -> np.ndarray:
        """People decided right at each threshold (selected when score >= threshold)."""
        k = np.searchsorted(-self.scores, -np.asarray(cuts, float), side="right")
        true_pos = self.positives[k]
        return np.asarray(true_pos + (self.n - self.n_pos) - (k - true_pos))


def _single_attributes(request: AuditRequest, parts: Sequence[Partition]
                       ) -> Iterator[tuple[str, Partition, np.ndarray]]:
    """Each single protected attribute's partition, with every row's group in it (advice is per attribute)."""
    for part in parts:
        if len(part.attributes) == 1:
            yield part.attributes[0], part, row_groups(request, part)


def _decide(scores: np.ndarray, groups: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    return np.asarray(scores >= cuts[groups], dtype=bool)


def _summary(decisions: np.ndarray, label: np.ndarray, groups: np.ndarray, size: int) -> dict[str, Any]:
    rates, tpr, fpr = [], [], []
    for g in range(size):
        member = groups == g
        rates.append(float(decisions[member].mean()) if member.any() else None)
        pos, neg = member & label, member & ~label
        tpr.append(float(decisions[pos].mean()) if pos.any() else None)
        fpr.append(float(decisions[neg].mean()) if neg.any() else None)
    return {"accuracy": float((decisions == label).mean()), "selection_rate": float(decisions.mean()),
            "group_selection_rate": rates, "group_true_positive_rate": tpr, "group_false_positive_rate": fpr}


def thresholds(request: AuditRequest, parts: Sequence[Partition], reaudit: Reaudit) -> list[dict[str, Any]]:
    """Threshold options per single protected attribute: unconstrained (the given threshold), demographic
    parity, equal opportunity; each with its cost and the verdict of the policy re-audited on its decisions."""
    frame = request.frame
    scores = frame[SCORE].to_numpy(dtype=float)
    label = frame[LABEL].to_numpy(dtype=bool)
    given = request.roles.threshold if request.roles.threshold is not None else 0.5
    out: list[dict[str, Any]] = []
    for attribute, part, groups in _single_attributes(request, parts):
        size = len(part.keys)
        sorted_groups = [_Sorted(scores[groups == g], label[groups == g]) for g in range(size)]
        options: dict[str, np.ndarray] = {"unconstrained": np.full(size, float(given))}
        for name, among_positives in (("demographic_parity", False), ("equal_opportunity", True)):
            cuts = np.stack([s.cut_for_share(GRID, among_positives) for s in sorted_groups])  # groups x grid
            correct = sum(s.correct(cuts[g]) for g, s in enumerate(sorted_groups))
            options[name] = cuts[:, int(np.argmax(correct))]
        for name, cuts in options.items():
            decisions = _decide(scores, groups, cuts)
            report = reaudit(decisions)
            out.append({"attribute": attribute, "constraint": name,
                        "thresholds": {str(k.values[0]): float(c) if np.isfinite(c) else None
                                       for k, c in zip(part.keys, cuts, strict=True)},
                        **_summary(decisions, label, groups, size), "groups": [k.as_dict() for k in part.keys],
                        "policy_verdict": report.verdict.value,
                        "policy_failing": sum(f.status.value == "fail" for f in report.findings)})
        out += _pareto(sorted_groups, scores, label, groups, part.reference, attribute, float(given))
    return out


def _pareto(sorted_groups: list[_Sorted], scores: np.ndarray, label: np.ndarray, groups: np.ndarray,
            reference: int, attribute: str, given: float) -> list[dict[str, Any]]:
    """For each gap, the best accuracy with every group's selection rate within the gap of the reference's:
    the reference's rate on the grid, each other group's rate clipped into the band around it, nearest the
    rate the given threshold gives it."""
    free = np.array([float((s.scores >= given).mean()) if s.n else 0.0 for s in sorted_groups])
    rows = []
    for gap in GAPS:
        rates = np.clip(free[:, None], GRID[None, :] - gap, GRID[None, :] + gap)  # groups x grid
        rates[reference] = GRID
        cuts = np.stack([s.cut_for_share(rates[g], False) for g, s in enumerate(sorted_groups)])
        correct = sum(s.correct(cuts[g]) for g, s in enumerate(sorted_groups))
        best = int(np.argmax(correct))
        decisions = _decide(scores, groups, cuts[:, best])
        rates_out = [float(decisions[groups == g].mean()) for g in range(len(sorted_groups))]
        spread = max(abs(r - rates_out[reference]) for r in rates_out)
        rows.append({"attribute": attribute, "constraint": f"pareto_gap_{gap:g}", "max_selection_rate_gap": gap,
                     "achieved_gap": spread, "accuracy": float((decisions == label).mean())})
    return rows


def calibration(request: AuditRequest, parts: Sequence[Partition]) -> list[dict[str, Any]]:
    """Per group and single protected attribute, Platt scaling of the scores (a logistic regression of the
    label on logit(score), scikit-learn, no penalty) with the expected calibration error (10 equal-width bins)
    before and after, measured on the same rows the parameters were fitted on (an optimistic "after")."""
    frame = request.frame
    scores = np.clip(frame[SCORE].to_numpy(dtype=float), 1e-6, 1 - 1e-6)
    label = frame[LABEL].to_numpy(dtype=bool)
    logit = np.log(scores / (1 - scores))
    out: list[dict[str, Any]] = []
    for attribute, part, groups in _single_attributes(request, parts):
        for g, key in enumerate(part.keys):
            member = groups == g
            row: dict[str, Any] = {"attribute": attribute, "group": key.as_dict(), "n": int(member.sum()),
                                   "method": "platt", "ece_before": _ece(scores[member], label[member])}
            if len(np.unique(label[member])) < 2:
                out.append({**row, "slope": None, "intercept": None, "ece_after": None,
                            "note": "one label only: nothing to calibrate against"})
                continue
            fit = LogisticRegression(penalty=None, max_iter=1000).fit(logit[member, None], label[member])
            calibrated = fit.predict_proba(logit[member, None])[:, 1]
            out.append({**row, "slope": float(fit.coef_[0, 0]), "intercept": float(fit.intercept_[0]),
                        "ece_after": _ece(calibrated, label[member])})
    return out


def _ece(scores: np.ndarray, label: np.ndarray, bins: int = 10) -> float | None:
    if not scores.size:
        return None
    which = np.minimum((scores * bins).astype(np.int64), bins - 1)
    gap = np.bincount(which, weights=scores, minlength=bins) - np.bincount(which, weights=label.astype(float),
                                                                            minlength=bins)
    return float(np.abs(gap).sum() / scores.size)
