"""Score quality per group: ROC AUC, Brier score and expected calibration error, with weights.

Scores are probabilities of the positive label. ``score``, ``label`` and ``weight`` must already be
sorted by score (``score_order`` does that once for all groups).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fairprobe.stats.bounds import z_for

__all__ = ["ECE_BINS", "ScoreSummary", "hanley_mcneil_se", "score_order", "summarize_scores"]

#: equal-width calibration bins on [0, 1]
ECE_BINS = 10


@dataclass(frozen=True, slots=True)
class ScoreSummary:
    auc: float | None
    auc_ci: tuple[float, float] | None
    brier: float | None
    brier_ci: tuple[float, float] | None
    expected_calibration_error: float | None


def score_order(score: np.ndarray) -> np.ndarray:
    """The stable sort order of all scores, computed once and reused for every group."""
    return np.argsort(score, kind="stable")


def _auc(score: np.ndarray, positive: np.ndarray, weight: np.ndarray) -> float | None:
    """P(score of a positive > score of a negative) + half the probability of a tie (weighted)."""
    w_pos = np.where(positive, weight, 0.0)
    w_neg = np.where(positive, 0.0, weight)
    total_pos, total_neg = w_pos.sum(), w_neg.sum()
    if total_pos <= 0 or total_neg <= 0:
        return None
    # runs of equal scores (the input is sorted)
    starts = np.flatnonzero(np.r_[True, score[1:] != score[:-1]])
    run_pos = np.add.reduceat(w_pos, starts)
    run_neg = np.add.reduceat(w_neg, starts)
    neg_below = np.cumsum(run_neg) - run_neg
    return float((run_pos * (neg_below + 0.5 * run_neg)).sum() / (total_pos * total_neg))


def hanley_mcneil_se(auc: float, n_pos: float, n_neg: float) -> float:
    """Hanley & McNeil (1982) standard error of an AUC from ``n_pos`` positives and ``n_neg`` negatives."""
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    var = (auc * (1 - auc) + (n_pos - 1) * (q1 - auc**2) + (n_neg - 1) * (q2 - auc**2)) / (n_pos * n_neg)
    return float(np.sqrt(max(var, 0.0)))


def _hanley_mcneil(auc: float, n_pos: float, n_neg: float, alpha: float) -> tuple[float, float]:
    """The AUC's normal interval with Hanley–McNeil's standard error, clipped to [0, 1]."""
    half = float(z_for(alpha / 2) * hanley_mcneil_se(auc, n_pos, n_neg))
    return max(0.0, auc - half), min(1.0, auc + half)


def summarize_scores(
    score: np.ndarray, positive: np.ndarray, weight: np.ndarray, alpha: float
) -> ScoreSummary:
    """AUC (with Hanley–McNeil interval), Brier score (normal interval) and ECE for one group."""
    total = weight.sum()
    if total <= 0:
        return ScoreSummary(None, None, None, None, None)
    y = positive.astype(float)
    auc = _auc(score, positive, weight)
    auc_ci = None
    if auc is not None:
        n_pos, n_neg = float(positive.sum()), float((~positive).sum())
        auc_ci = _hanley_mcneil(auc, n_pos, n_neg, alpha)
    sq = (score - y) ** 2
    brier = float((weight * sq).sum() / total)
    n_eff = total**2 / float((weight**2).sum())
    spread = float(np.sqrt(max((weight * (sq - brier) ** 2).sum() / total, 0.0) / n_eff))
    z = z_for(alpha / 2)
    brier_ci = (max(0.0, brier - z * spread), min(1.0, brier + z * spread))
    bins = np.minimum((score * ECE_BINS).astype(np.int64), ECE_BINS - 1)
    w_bin = np.bincount(bins, weights=weight, minlength=ECE_BINS)
    s_bin = np.bincount(bins, weights=weight * score, minlength=ECE_BINS)
    y_bin = np.bincount(bins, weights=weight * y, minlength=ECE_BINS)
    used = w_bin > 0
    ece = float((np.abs(s_bin[used] - y_bin[used])).sum() / total)
    return ScoreSummary(auc, auc_ci, brier, brier_ci, ece)
