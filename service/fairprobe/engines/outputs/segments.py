"""Segment assignment (each person placed in one of k segments): shares by group, a test of independence
with Cramér's V, representation of each group in each segment, and segment coverage.

Placement in a *valuable* segment is the audit's decision itself (the schema makes it the prediction), so
disparate impact and statistical parity of that placement are the audit's own findings; this section adds
what a yes/no view cannot show. The sufficient statistic is a (counts-table cell x segment) table of
people and weights, so a counts table with a segment column audits exactly as rows do.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats as sps

from fairprobe.domain.audit import WEIGHT, AuditRequest, DataKind
from fairprobe.domain.diagnostics import Section
from fairprobe.domain.groups import GroupKey
from fairprobe.domain.outputs import OutputKind
from fairprobe.engines.diagnostics.common import finite, judged, make_candidate, rules_for, wilson_row
from fairprobe.engines.groups import Partition
from fairprobe.engines.outputs.outcomes import fold
from fairprobe.engines.policy import Candidate
from fairprobe.stats import proportions
from fairprobe.stats.bounds import EffectSize, RateDifference, ScaledProportion

__all__ = ["MONTE_CARLO_TABLES", "segments"]

#: random tables drawn for the Monte Carlo test of independence when an expected count is below 5
MONTE_CARLO_TABLES = 2_000

METHOD = ("Shares of each group among its people assigned to a segment, with Wilson intervals (Kish's effective "
          "size under weights). Independence of group and segment per attribute and intersection: Pearson's "
          "chi-square on people, Monte Carlo over 2,000 random tables with the same margins (seeded) when an "
          "expected count is below 5, the G test beside it, and Cramér's V with its noncentral chi-square "
          "interval. Representation ratio: a group's share in a segment over the segment's share of everyone "
          "(P(segment | group) / P(segment)), Clopper-Pearson divided by the population share (held fixed). "
          "Coverage: the share of each group assigned to any segment (a missing segment), Newcombe against the "
          "reference. Placement in valuable segments is the audit's decision: its findings are the audit's own.")


def _independence(table: np.ndarray, seed: int) -> dict[str, Any]:
    """Chi-square (Monte Carlo when sparse) and G tests of a groups x segments table of people."""
    table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
    r, c = table.shape
    out: dict[str, Any] = {"groups": int(r), "segments": int(c), "n": int(round(table.sum()))}
    if r < 2 or c < 2:
        return {**out, "chi_square": None, "df": None, "p_value": None, "test": None}
    chi2, p, df, expected = sps.chi2_contingency(table, correction=False)
    g_stat, g_p, _, _ = sps.chi2_contingency(table, correction=False, lambda_="log-likelihood")
    out.update({"chi_square": float(chi2), "df": int(df), "p_value": float(p), "test": "pearson_chi_square",
                "g_statistic": float(g_stat), "g_p_value": float(g_p)})
    if (expected < 5).any():
        draws = sps.random_table(table.sum(axis=1).round().astype(np.int64),
                                 table.sum(axis=0).round().astype(np.int64), seed=seed).rvs(MONTE_CARLO_TABLES)
        expected_draw = np.asarray(expected)[None]
        with np.errstate(divide="ignore", invalid="ignore"):
            simulated = ((draws - expected_draw) ** 2 / expected_draw).sum(axis=(1, 2))
        out["p_value"] = float((1 + np.sum(simulated >= chi2 - 1e-9)) / (MONTE_CARLO_TABLES + 1))
        out["test"] = "monte_carlo_chi_square"
    return out


def segments(request: AuditRequest, parts: Sequence[Partition], cells: np.ndarray,
             cell_groups: Sequence[np.ndarray], n_cells: int) -> Section:
    spec, codes = request.outputs.segment_spec, request.outputs.segment
    assert spec is not None and codes is not None
    policy, alpha = request.policy, request.policy.alpha
    k = len(spec.levels)
    w = request.frame[WEIGHT].to_numpy(dtype=float)
    people = w if request.kind is DataKind.COUNTS else np.ones(len(w))
    w2 = w if request.kind is DataKind.COUNTS else w * w
    slot = cells * (k + 1) + codes + 1  # slot 0: no segment assigned
    per_cell = [np.bincount(slot, weights=v, minlength=n_cells * (k + 1)).reshape(n_cells, k + 1)
                for v in (people, w)]
    w2_cell = np.bincount(cells, weights=w2, minlength=n_cells)
    total_w = per_cell[1][:, 1:].sum(axis=0)
    population = total_w / total_w.sum()
    valuable = {spec.levels.index(v) for v in spec.valuable}
    share_rows: list[dict[str, Any]] = []
    tests: list[dict[str, Any]] = []
    coverage_rows: list[dict[str, Any]] = []
    candidates: list[tuple[Candidate, bool]] = []
    unassigned = bool(per_cell[0][:, 0].sum() > 0)
    for p, part in enumerate(parts):
        g_people = fold(per_cell[0], cell_groups[p], len(part.keys))
        g_w = fold(per_cell[1], cell_groups[p], len(part.keys))
        g_w2 = np.bincount(cell_groups[p], weights=w2_cell, minlength=len(part.keys))
        assigned_w = g_w[:, 1:].sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            n_eff = np.where(g_w2 > 0, g_w.sum(axis=1) ** 2 / g_w2, 0.0)
            n_eff_assigned = n_eff * assigned_w / g_w.sum(axis=1)
            shares = g_w[:, 1:] / assigned_w[:, None]
        test = _independence(g_people[:, 1:], request.seed)
        tests.append({"attributes": list(part.attributes), **test, **_cramers_v(test, alpha)})
        candidates += _association(policy, part, test)
        for i, key in enumerate(part.keys):
            low, high = wilson_row(shares[i] * n_eff_assigned[i], np.full(k, n_eff_assigned[i]), alpha)
            for s in range(k):
                share_rows.append({
                    "attributes": list(part.attributes), "group": key.as_dict(), "segment": spec.levels[s],
                    "valuable": s in valuable, "n": int(round(g_people[i, s + 1])), "share": finite(shares[i, s]),
                    "ci_low": finite(low[s]), "ci_high": finite(high[s]), "ci_level": 1 - alpha,
                    "population_share": float(population[s]),
                    "representation_ratio": finite(shares[i, s] / population[s]) if population[s] > 0 else None})
                for rule, counts in rules_for(policy, "segment_representation_ratio"):
                    if rule.covers(part.attributes) and population[s] > 0:
                        measure = ScaledProportion(np.array([shares[i, s] * n_eff_assigned[i]]),
                                                   np.array([n_eff_assigned[i]]), np.array([population[s]]))
                        candidates.append((make_candidate(
                            rule, GroupKey((*part.attributes, "segment"), (*key.values, spec.levels[s])),
                            GroupKey(("segment",), (spec.levels[s],)), g_people[i, 1:].sum(),
                            float(per_cell[0][:, 1:].sum()), finite(shares[i, s] / population[s]), measure, alpha,
                            sizes=(float(n_eff_assigned[i]), float(n_eff_assigned[i])),
                            higher_favours=True if s in valuable else None, parity_value=1.0,
                            subject=f"Group {key.label} (n={int(round(g_people[i, 1:].sum()))}) in segment "
                                    f"{spec.levels[s]!r}, against the segment's share of everyone"), counts))
        if unassigned:
            coverage_rows += _coverage(part, g_people, g_w, n_eff, alpha)
            candidates += _coverage_candidates(policy, part, g_people, g_w, n_eff, alpha)
    tables = {"shares": tuple(share_rows), "independence": tuple(tests), "coverage": tuple(coverage_rows)}
    notes = () if unassigned else ("every person is assigned a segment: coverage is 1 for every group",)
    return Section(OutputKind.SEGMENTS, METHOD, tables, judged(candidates, policy), notes)


def _cramers_v(test: dict[str, Any], alpha: float) -> dict[str, Any]:
    if test.get("chi_square") is None:
        return {"cramers_v": None, "cramers_v_ci_low": None, "cramers_v_ci_high": None}
    m = float(min(test["groups"], test["segments"]) - 1)
    measure = _v_measure(test)
    low, high = measure.limits(np.array([float(sps.norm.isf(alpha / 2))]))
    return {"cramers_v": float(np.sqrt(test["chi_square"] / (test["n"] * m))), "cramers_v_ci_low": finite(low[0]),
            "cramers_v_ci_high": finite(high[0]), "ci_level": 1 - alpha}


def _v_measure(test: dict[str, Any]) -> EffectSize:
    m = float(min(test["groups"], test["segments"]) - 1)
    return EffectSize(np.array([test["chi_square"]]), np.array([float(test["df"])]), np.array([np.inf]),
                      np.array([float(test["n"])]), np.array([m]))


def _association(policy: Any, part: Partition, test: dict[str, Any]) -> list[tuple[Candidate, bool]]:
    out = []
    for rule, counts in rules_for(policy, "segment_association"):
        if not rule.covers(part.attributes):
            continue
        defined = test.get("chi_square") is not None
        value = float(np.sqrt(test["chi_square"] / (test["n"] * (min(test["groups"], test["segments"]) - 1)))) \
            if defined else None
        out.append((make_candidate(
            rule, GroupKey(part.attributes, tuple("(every group)" for _ in part.attributes)),
            GroupKey(("segment",), ("(every segment)",)), test["n"], test["n"], value,
            _v_measure(test) if defined else None, policy.alpha, parity_p=test.get("p_value"),
            parity_test=test.get("test"), sizes=(float(test["n"]), float(test["n"])),
            subject=f"Association of {' x '.join(part.attributes)} with the segment (n={test['n']})"), counts))
    return out


def _coverage(part: Partition, g_people: np.ndarray, g_w: np.ndarray, n_eff: np.ndarray,
              alpha: float) -> list[dict[str, Any]]:
    coverage = g_w[:, 1:].sum(axis=1) / g_w.sum(axis=1)
    low, high = wilson_row(coverage * n_eff, n_eff, alpha)
    return [{"attributes": list(part.attributes), "group": key.as_dict(), "n": int(round(g_people[i].sum())),
             "assigned": int(round(g_people[i, 1:].sum())), "coverage": finite(coverage[i]),
             "ci_low": finite(low[i]), "ci_high": finite(high[i]), "ci_level": 1 - alpha}
            for i, key in enumerate(part.keys)]


def _coverage_candidates(policy: Any, part: Partition, g_people: np.ndarray, g_w: np.ndarray, n_eff: np.ndarray,
                         alpha: float) -> list[tuple[Candidate, bool]]:
    coverage = g_w[:, 1:].sum(axis=1) / g_w.sum(axis=1)
    r = part.reference
    out = []
    for rule, counts in rules_for(policy, "segment_coverage_difference"):
        if not rule.covers(part.attributes):
            continue
        for i, key in enumerate(part.keys):
            if i == r:
                continue
            four = [np.array([x]) for x in (coverage[i] * n_eff[i], n_eff[i], coverage[r] * n_eff[r], n_eff[r])]
            test = proportions.compare_rates(four[0], four[1], four[2], four[3], alpha)[2]
            out.append((make_candidate(
                rule, key, part.keys[r], float(g_people[i].sum()), float(g_people[r].sum()),
                finite(coverage[i] - coverage[r]), RateDifference(*four), alpha,
                parity_p=finite(test.p_value[0]), parity_test=str(test.test[0]),
                sizes=(float(n_eff[i]), float(n_eff[r])), higher_favours=True), counts))
    return out
