"""Bias amplification: the model's gap against the gap already in the labels, for the same people."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from fairprobe.domain.diagnostics import Section, SectionName
from fairprobe.domain.policy import Policy
from fairprobe.engines.diagnostics.common import finite, judged, make_candidate, rules_for
from fairprobe.engines.groups import Partition
from fairprobe.engines.policy import Candidate
from fairprobe.stats.bounds import WelchMean, signed_limits, z_for

__all__ = ["amplification"]

METHOD = ("Per person, d = [prediction is favorable] - [label is favorable]; a group's mean of d is its "
          "favorable-prediction rate minus its favorable-label rate. Bias amplification is the group's mean d "
          "minus the reference's: the statistical parity difference of the predictions minus that of the labels "
          "(positive: the model moves the gap in the group's favour). Welch's t interval and test (the same people "
          "give both rates, so d carries their pairing); with sample weights, weighted moments and Kish's "
          "effective size.")


def _moments(part: Partition, favorable_is_positive: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per group: the weighted mean and variance of d, and Kish's effective size."""
    w, w2 = part.table.weight, part.table.weight_sq
    up, down = (w[:, 0, 1], w[:, 1, 0]) if favorable_is_positive else (w[:, 1, 0], w[:, 0, 1])
    total = w.sum(axis=(1, 2))
    n_eff = total**2 / w2.sum(axis=(1, 2))
    mean = (up - down) / total
    second = (up + down) / total
    var = np.maximum(second - mean**2, 0.0) * n_eff / np.maximum(n_eff - 1, 1e-12)
    return mean, var, n_eff


def amplification(parts: Sequence[Partition], policy: Policy, favorable_is_positive: bool) -> Section:
    alpha = policy.alpha
    rows: list[dict[str, Any]] = []
    candidates: list[tuple[Candidate, bool]] = []
    rules = rules_for(policy, "bias_amplification")
    for part in parts:
        mean, var, n_eff = _moments(part, favorable_is_positive)
        w = part.table.weight
        total = w.sum(axis=(1, 2))
        fav_label = (w[:, 1, :].sum(axis=1) if favorable_is_positive else w[:, 0, :].sum(axis=1)) / total
        fav_pred = (w[:, :, 1].sum(axis=1) if favorable_is_positive else w[:, :, 0].sum(axis=1)) / total
        r = part.reference
        others = np.array([i for i in range(len(part.keys)) if i != r], dtype=np.int64)
        if not others.size:
            continue
        # every group of the partition against the reference at once: one interval and test call
        stacked = WelchMean(mean[others] - mean[r], var[others], n_eff[others], np.full(others.size, var[r]),
                            np.full(others.size, n_eff[r]))
        lows, highs = signed_limits(stacked, np.full(others.size, z_for(alpha / 2)))
        ups, downs = stacked.tails(np.zeros(others.size))
        for j, i in enumerate(others):
            key = part.keys[i]
            label_gap, pred_gap = fav_label[i] - fav_label[r], fav_pred[i] - fav_pred[r]
            value = float(pred_gap - label_gap)
            p_parity = finite(min(1.0, 2 * min(ups[j], downs[j])))
            rows.append({
                "group": key.as_dict(), "label": key.label, "reference": part.keys[r].as_dict(),
                "n": int(round(part.people(i))), "reference_n": int(round(part.people(r))),
                "label_gap": float(label_gap), "prediction_gap": float(pred_gap), "amplification": value,
                "ci_low": finite(lows[j]), "ci_high": finite(highs[j]), "ci_level": 1 - alpha,
                "p_value": p_parity, "test": "welch_t_two_sided", "amplified": bool(abs(pred_gap) > abs(label_gap)),
            })
            for rule, counts in rules:
                candidates.append((make_candidate(
                    rule, key, part.keys[r], part.people(i), part.people(r), value, stacked.take(np.array([j])),
                    alpha, parity_p=p_parity, parity_test="welch_t", sizes=(float(n_eff[i]), float(n_eff[r])),
                    higher_favours=True), counts))
    return Section(SectionName.AMPLIFICATION, METHOD, {"groups": tuple(rows)}, judged(candidates, policy))
