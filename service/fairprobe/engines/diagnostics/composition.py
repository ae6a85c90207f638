"""Who is in the data and what their labels say: representation (selection bias), label base rates
(historical bias) and SageMaker Clarify's pre-training measures, from the counts table alone."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy import stats as sps

from fairprobe.domain.diagnostics import Section, SectionName
from fairprobe.domain.groups import GroupKey, Label
from fairprobe.domain.policy import Policy
from fairprobe.engines import measures
from fairprobe.engines.catalogue import FAVORABLE_LABEL_RATE
from fairprobe.engines.diagnostics.common import finite, judged, make_candidate, rules_for, wilson_row
from fairprobe.engines.groups import Partition
from fairprobe.engines.policy import Candidate
from fairprobe.stats.bounds import ScaledProportion
from fairprobe.stats.intervals import newcombe

__all__ = ["composition"]

METHOD = ("Shares count people (sample weights are not applied: representation is about who is in the data), "
          "with Wilson intervals; the goodness-of-fit test is Pearson's chi-square against the expected shares. "
          "Label measures use the favorable label. Clarify's measures compare the reference (facet a) with each "
          "group (facet d): CI = (n_a - n_d)/(n_a + n_d) with the Wilson interval of n_d/(n_a + n_d) mapped onto "
          "it; DPL = q_a - q_d with Newcombe's interval; KL(P_a || P_d), JS and KS over the label distribution "
          "(for a binary label KS = |DPL|; KL and JS have no interval).")


def _kl(p: float, q: float) -> float | None:
    """KL divergence of Bernoulli(p) from Bernoulli(q), in nats; None when infinite."""
    total = 0.0
    for a, b in ((p, q), (1 - p, 1 - q)):
        if a > 0:
            if b <= 0:
                return None
            total += a * float(np.log(a / b))
    return total


def composition(parts: Sequence[Partition], expected: Mapping[str, Mapping[Label, float]], policy: Policy,
                favorable_is_positive: bool, unlabelled_note: str | None) -> Section:
    alpha = policy.alpha
    rows: list[dict[str, Any]] = []
    fits: list[dict[str, Any]] = []
    candidates: list[tuple[Candidate, bool]] = []
    z = float(sps.norm.isf(alpha / 2))
    for part in parts:
        people = part.table.people.sum(axis=(1, 2))
        total = float(people.sum())
        share_low, share_high = wilson_row(people, np.full(people.shape, total), alpha)
        counts = measures.effective_counts(part, favorable_is_positive)[FAVORABLE_LABEL_RATE]
        q = np.where(counts.denominator > 0, counts.numerator / np.maximum(counts.denominator, 1e-300), np.nan)
        q_low, q_high = wilson_row(counts.successes, counts.n_eff, alpha)
        ref = part.reference
        single = len(part.attributes) == 1
        shares = expected.get(part.attributes[0]) if single else None
        for i, key in enumerate(part.keys):
            row: dict[str, Any] = {
                "group": key.as_dict(), "label": key.label, "reference": part.keys[ref].as_dict(),
                "is_reference": i == ref, "n": int(people[i]), "share": float(people[i] / total),
                "share_ci_low": finite(share_low[i]), "share_ci_high": finite(share_high[i]),
                "favorable_label_rate": finite(q[i]), "favorable_label_rate_ci_low": finite(q_low[i]),
                "favorable_label_rate_ci_high": finite(q_high[i]), "ci_level": 1 - alpha,
            }
            if shares is not None:
                share = shares.get(key.values[0])
                row["expected_share"] = share
                row["representation_ratio"] = None if share is None else float(people[i] / total / share)
            if i != ref:
                row.update(_clarify(float(people[ref]), float(people[i]), counts, ref, i, z, alpha))
            rows.append(row)
        if shares is not None:
            fits.append(_goodness_of_fit(part, people, shares))
            for rule, counts_in in rules_for(policy, "representation_ratio"):
                for i, key in enumerate(part.keys):
                    share = shares.get(key.values[0])
                    measure = ScaledProportion(np.array([people[i]]), np.array([total]), np.array([share]))
                    candidates.append((make_candidate(
                        rule, key, GroupKey(("population",), ("expected share",)), people[i], total,
                        float(people[i] / total / share), measure, alpha, sizes=(total, total), higher_favours=None,
                        parity_value=1.0, subject=f"Group {key.label} (n={int(people[i])} of {int(total)}, "
                                                  f"expected share {share:g})"), counts_in))
            # expected groups absent from the data: the starkest selection bias, reported as rows of n = 0
            present = {key.values[0] for key in part.keys}
            for value, share in shares.items():
                if value not in present:
                    rows.append({"group": {part.attributes[0]: value}, "label": f"{part.attributes[0]}={value}",
                                 "reference": part.keys[ref].as_dict(), "is_reference": False, "n": 0, "share": 0.0,
                                 "expected_share": share, "representation_ratio": 0.0, "ci_level": 1 - alpha})
    notes = (unlabelled_note,) if unlabelled_note else ()
    return Section(SectionName.COMPOSITION, METHOD, {"groups": tuple(rows), "goodness_of_fit": tuple(fits)},
                   judged(candidates, policy), notes)


def _clarify(n_a: float, n_d: float, counts: measures.RateCounts, a: int, d: int, z: float,
             alpha: float) -> dict[str, Any]:
    """Clarify's pre-training measures of group ``d`` against the reference ``a``."""
    p_d = n_d / (n_a + n_d)
    low, high = wilson_row(np.array([n_d]), np.array([n_a + n_d]), alpha)
    out: dict[str, Any] = {"class_imbalance": 1 - 2 * p_d, "class_imbalance_ci_low": finite(1 - 2 * high[0]),
                           "class_imbalance_ci_high": finite(1 - 2 * low[0])}
    if counts.denominator[a] > 0 and counts.denominator[d] > 0:
        q_a = counts.numerator[a] / counts.denominator[a]
        q_d = counts.numerator[d] / counts.denominator[d]
        # Newcombe's interval of q_d - q_a, negated: DPL = q_a - q_d
        lo, hi = newcombe(np.array([counts.successes[d]]), np.array([counts.n_eff[d]]),
                          np.array([counts.successes[a]]), np.array([counts.n_eff[a]]), np.array([z]))
        kl = _kl(float(q_a), float(q_d))
        mid = (q_a + q_d) / 2
        kl_am, kl_dm = _kl(float(q_a), float(mid)), _kl(float(q_d), float(mid))
        out.update({
            "difference_in_positive_proportions_in_labels": float(q_a - q_d),
            "dpl_ci_low": finite(-hi[0]), "dpl_ci_high": finite(-lo[0]),
            "kl_divergence": kl,
            "js_divergence": None if kl_am is None or kl_dm is None else (kl_am + kl_dm) / 2,
            "ks_distance": float(abs(q_a - q_d)),
        })
    return out


def _goodness_of_fit(part: Partition, people: np.ndarray, shares: Mapping[Label, float]) -> dict[str, Any]:
    observed = {key.values[0]: float(people[i]) for i, key in enumerate(part.keys)}
    values = list(shares)
    counts = np.array([observed.get(v, 0.0) for v in values])
    expected = np.array([shares[v] for v in values]) * counts.sum()
    statistic, p_value = sps.chisquare(counts, expected)
    return {"attribute": part.attributes[0], "test": "pearson_chi_square_goodness_of_fit",
            "statistic": finite(statistic), "df": len(values) - 1, "p_value": finite(p_value),
            "n": int(counts.sum()), "smallest_expected_count": float(expected.min())}
