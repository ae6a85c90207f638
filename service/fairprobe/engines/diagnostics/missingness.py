"""Measurement bias: where values are missing, by group, and whether the missingness concentrates in a group;
and label completeness (the share of people with a recorded outcome) by group."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from fairprobe.domain.audit import AuditRequest
from fairprobe.domain.diagnostics import Section, SectionName
from fairprobe.domain.groups import GroupKey
from fairprobe.engines.diagnostics.common import finite, judged, make_candidate, rules_for, wilson_row
from fairprobe.engines.policy import Candidate
from fairprobe.stats import proportions
from fairprobe.stats.bounds import RateDifference
from fairprobe.stats.counts import encode

__all__ = ["missingness"]

METHOD = ("Per feature with a missing value and per protected attribute: each group's missing share (Wilson "
          "interval) and the test that missingness is independent of the group (Pearson's chi-square; Fisher's "
          "exact test for two groups with an expected count below 5), with Cramér's V. Findings compare each "
          "group's missing share with the reference's (Newcombe interval). People are counted unweighted. Label "
          "completeness (missing_labels: exclude) is the share of each group's rows that carry a label.")


def _independence(table: np.ndarray) -> tuple[float | None, str, float | None]:
    """p-value, test name and Cramér's V for a groups x {present, missing} table."""
    table = table[table.sum(axis=1) > 0]
    if table.shape[0] < 2 or (table.sum(axis=0) == 0).any():
        return None, "none", None
    n = table.sum()
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / n
    chi2 = float(((table - expected) ** 2 / expected).sum())
    v = float(np.sqrt(chi2 / n))  # min(rows, 2) - 1 = 1
    if table.shape[0] == 2 and expected.min() < 5:
        return float(sps.fisher_exact(table)[1]), "fisher_exact", v
    return float(sps.chi2.sf(chi2, table.shape[0] - 1)), "pearson_chi_square_independence", v


def missingness(request: AuditRequest) -> Section:
    policy, alpha = request.policy, request.policy.alpha
    extra = request.extra
    rows: list[dict[str, Any]] = []
    tests: list[dict[str, Any]] = []
    candidates: list[tuple[Candidate, bool]] = []
    indicators: list[tuple[str, str, np.ndarray, pd.DataFrame]] = []
    if extra is not None:
        for name in request.feature_names:
            missing = extra[name].isna().to_numpy()
            if missing.any():
                indicators.append((name, "missing_rate_difference", missing, request.frame))
    if request.unlabelled is not None:
        both = pd.concat([request.frame[[a.name for a in request.protected]], request.unlabelled], ignore_index=True)
        labelled = np.r_[np.ones(len(request.frame), bool), np.zeros(len(request.unlabelled), bool)]
        indicators.append(("(label)", "label_completeness_difference", labelled, both))
    coded: dict[tuple[int, str], tuple[np.ndarray, tuple[object, ...]]] = {}
    for name, metric, flag, frame in indicators:
        for attribute in request.protected:
            key = (id(frame), attribute.name)
            if key not in coded:
                coded[key] = encode(frame[attribute.name], attribute.bins)
            codes, levels = coded[key]
            size = np.bincount(codes, minlength=len(levels)).astype(float)
            hits = np.bincount(codes, weights=flag.astype(float), minlength=len(levels))
            present = np.flatnonzero(size > 0)
            reference = attribute.reference if attribute.reference_rule == "named" else levels[int(np.argmax(size))]
            ref = levels.index(reference) if reference in levels else int(np.argmax(size))
            p_value, test, v = _independence(np.stack([size - hits, hits], axis=1))
            share = "label_completeness" if metric.startswith("label") else "missing_share"
            tests.append({"feature": name, "attribute": attribute.name, "test": test, "p_value": finite(p_value),
                          "cramers_v": finite(v), "n": int(size.sum()), share: float(hits.sum() / size.sum())})
            low, high = wilson_row(hits[present], size[present], alpha)
            for j, g in enumerate(present):
                rows.append({"feature": name, "attribute": attribute.name, "group": {attribute.name: levels[g]},
                             "is_reference": g == ref, "n": int(size[g]), share: float(hits[g] / size[g]),
                             "ci_low": finite(low[j]), "ci_high": finite(high[j]), "ci_level": 1 - alpha})
            for rule, counts in rules_for(policy, metric):
                for g in present:
                    if g == ref:
                        continue
                    four = (hits[g], size[g], hits[ref], size[ref])
                    arrays = [np.array([x]) for x in four]
                    test_g = proportions.compare_rates(arrays[0], arrays[1], arrays[2], arrays[3], alpha)[2]
                    subject = (f"Feature {name!r}: group {attribute.name}={levels[g]} (n={int(size[g])}) against "
                               f"{attribute.name}={levels[ref]} (n={int(size[ref])})") if name != "(label)" else None
                    candidates.append((make_candidate(
                        rule, GroupKey((attribute.name,), (levels[g],)),  # type: ignore[arg-type]
                        GroupKey((attribute.name,), (levels[ref],)), size[g], size[ref],  # type: ignore[arg-type]
                        float(hits[g] / size[g] - hits[ref] / size[ref]),
                        RateDifference(*arrays),
                        alpha, parity_p=finite(test_g.p_value[0]), parity_test=str(test_g.test[0]),
                        sizes=(float(size[g]), float(size[ref])), subject=subject), counts))
    notes = () if indicators else ("no feature has a missing value",)
    return Section(SectionName.MISSINGNESS, METHOD, {"groups": tuple(rows), "tests": tuple(tests)},
                   judged(candidates, policy), notes, needs_rows=True)
