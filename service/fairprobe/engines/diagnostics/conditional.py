"""Legitimate factors: the disparity within each stratum of a factor held fixed, and pooled across strata.

A gap that vanishes within strata of a legitimate factor (a risk band, product eligibility) is explained by it;
one that survives is not. Pooled measures are Mantel–Haenszel's: the risk difference with Sato's variance
(Sato 1989; Greenland & Robins 1985), the risk ratio with Greenland–Robins' variance of its log, and the
Cochran–Mantel–Haenszel test of no association given the strata. SageMaker Clarify's conditional demographic
disparity (CDD) is reported alongside.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats as sps

from fairprobe.domain.audit import LABEL, PREDICTION, WEIGHT, AuditRequest
from fairprobe.domain.diagnostics import Section, SectionName
from fairprobe.domain.groups import GroupKey
from fairprobe.domain.policy import Bound, Policy, Rule
from fairprobe.engines.catalogue import favorable_cells, favorable_label_cells
from fairprobe.engines.diagnostics.common import finite, judged, make_candidate, rules_for, wilson_row
from fairprobe.engines.groups import Partition
from fairprobe.engines.policy import Candidate
from fairprobe.errors import ValidationFailed
from fairprobe.stats import proportions
from fairprobe.stats.bounds import Normal, RateDifference, RateRatio
from fairprobe.stats.counts import CountsTable, encode, tabulate

__all__ = ["conditional"]

METHOD = ("Within each stratum (every combination of the conditioning columns' values or bands), each group's "
          "favorable rate against the reference's: Newcombe / MOVER-R intervals, pooled z or Fisher test. Pooled "
          "over strata holding both groups: Mantel-Haenszel risk difference (Sato's variance, Wald interval) and "
          "risk ratio (Greenland-Robins variance of its log), the Cochran-Mantel-Haenszel test (no continuity "
          "correction), and Clarify's CDD = sum_k n_k DD_k / n with DD_k = the group's share of unfavorable outcomes "
          "minus its share of favorable ones in stratum k (no interval). Within-stratum findings use the policy's "
          "statistical parity and disparate impact rules as advice; the pooled ones are judged by "
          "conditional_statistical_parity_difference and conditional_disparate_impact.")

WITHIN_DEFAULTS = (Rule("statistical_parity_difference", Bound.MAX_ABS, 0.1), Rule("disparate_impact", Bound.MIN, 0.8))
LABEL_WITHIN = {"label_statistical_parity_difference": "statistical_parity_difference",
                "label_disparate_impact": "disparate_impact"}


def _within_rules(policy: Policy, predicted: bool) -> list[tuple[Rule, str]]:
    """The policy's rules on the favorable rate, each with the comparison it makes (difference or ratio)."""
    names = ("statistical_parity_difference", "disparate_impact") if predicted else tuple(LABEL_WITHIN)
    own = [r for r in policy.rules if r.metric in names]
    rules = own or ([Rule(m, r.bound, r.threshold) for m, r in zip(names, WITHIN_DEFAULTS, strict=True)])
    return [(r, "ratio" if r.metric.endswith("disparate_impact") else "difference") for r in rules]


def _strata_table(request: AuditRequest) -> tuple[CountsTable, tuple[str, ...]]:
    assert request.extra is not None
    frame, extra = request.frame, request.extra
    coded = [encode(frame[a.name], a.bins) for a in request.protected]
    coded += [encode(extra[c.name], c.bins) for c in request.diagnostics.conditioning]
    names = tuple(a.name for a in request.protected) + tuple(c.name for c in request.diagnostics.conditioning)
    weights = frame[WEIGHT].to_numpy(dtype=float)
    table = tabulate([c for c, _ in coded], [lv for _, lv in coded], names, frame[LABEL].to_numpy(dtype=np.int64),
                     frame[PREDICTION].to_numpy(dtype=np.int64), people=weights) if request.kind.value == "counts" \
        else tabulate([c for c, _ in coded], [lv for _, lv in coded], names, frame[LABEL].to_numpy(dtype=np.int64),
                      frame[PREDICTION].to_numpy(dtype=np.int64), None if not request.roles.weight else weights)
    return table, tuple(c.name for c in request.diagnostics.conditioning)


def _favorable(table: CountsTable, fav_pos: bool, predicted: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row of the table: effective favorable successes, effective size (Kish) and weighted size."""
    cells = (favorable_cells if predicted else favorable_label_cells)(fav_pos)
    num = sum(table.weight[:, y, p] for y, p in cells.numerator)
    den = table.weight.sum(axis=(1, 2))
    den2 = table.weight_sq.sum(axis=(1, 2))
    n_eff = np.where(den2 > 0, den**2 / np.maximum(den2, 1e-300), 0.0)
    return np.asarray(num, float) / np.maximum(den, 1e-300) * n_eff, n_eff, den


def conditional(request: AuditRequest, parts: Sequence[Partition]) -> Section:
    policy, alpha = request.policy, request.policy.alpha
    fav_pos = request.roles.favorable_is_positive
    table, strata_names = _strata_table(request)
    within_rules = _within_rules(policy, request.predicted)
    strata_rows: list[dict[str, Any]] = []
    pooled_rows: list[dict[str, Any]] = []
    within: list[tuple[Candidate, bool]] = []
    pooled: list[tuple[Candidate, bool]] = []
    notes: list[str] = []
    for part in (p for p in parts if len(p.attributes) == 1):
        attribute = part.attributes[0]
        sub = table.collapse((attribute, *strata_names))
        successes, n_eff, _ = _favorable(sub, fav_pos, request.predicted)
        groups, strata = sub.codes[:, 0], [tuple(int(c) for c in row) for row in sub.codes[:, 1:]]
        ref_code = part.cells[part.reference][0]
        ref_value = part.keys[part.reference].values[0]
        by_stratum: dict[tuple[int, ...], list[int]] = {}
        for r, s in enumerate(strata):
            by_stratum.setdefault(s, []).append(r)
        stacks: dict[int, list[tuple[float, float, float, float]]] = {}
        for s, members in by_stratum.items():
            values = tuple(sub.levels[1 + j][c] for j, c in enumerate(s))
            label = " & ".join(f"{n}={v}" for n, v in zip(strata_names, values, strict=True))
            if len(members) == 1:
                raise ValidationFailed.on("conditioning", f"the stratum {label} holds only one group of {attribute!r}: "
                                                          "nothing can be compared within it; merge strata (bins)")
            ref_rows = [r for r in members if groups[r] == ref_code]
            if not ref_rows:
                notes.append(f"the stratum {label} holds no one of the reference group {attribute}={ref_value}; "
                             "its groups are not compared")
                continue
            r0 = ref_rows[0]
            low, high = wilson_row(successes[members], n_eff[members], alpha)
            for j, r in enumerate(members):
                value = sub.levels[0][groups[r]]
                key = GroupKey((attribute, *strata_names), (value, *values))  # type: ignore[arg-type]
                rate = successes[r] / n_eff[r] if n_eff[r] > 0 else None
                ref_rate = successes[r0] / n_eff[r0] if n_eff[r0] > 0 else None
                row = {"attribute": attribute, "stratum": dict(zip(strata_names, values, strict=True)),
                       "group": {attribute: value}, "is_reference": r == r0, "n": int(round(sub.people[r].sum())),
                       "favorable_rate": finite(rate), "ci_low": finite(low[j]), "ci_high": finite(high[j]),
                       "ci_level": 1 - alpha}
                if r != r0 and rate is not None and ref_rate is not None:
                    spd = float(rate - ref_rate)
                    di = float(rate / ref_rate) if ref_rate > 0 else None
                    row["statistical_parity_difference"], row["disparate_impact"] = spd, di
                    four = (successes[r], n_eff[r], successes[r0], n_eff[r0])
                    stacks.setdefault(int(groups[r]), []).append(four)
                    arrays = [np.array([x]) for x in four]
                    test = proportions.compare_rates(arrays[0], arrays[1], arrays[2], arrays[3], alpha)[2]
                    reference = GroupKey((attribute, *strata_names), (ref_value, *values))  # type: ignore[arg-type]
                    for rule, compare in within_rules:
                        within_measure = (RateRatio if compare == "ratio" else RateDifference)(*arrays)
                        within.append((make_candidate(
                            rule, key, reference, sub.people[r].sum(), sub.people[r0].sum(),
                            di if compare == "ratio" else spd,
                            within_measure, alpha, parity_p=finite(test.p_value[0]), parity_test=str(test.test[0]),
                            sizes=(float(n_eff[r]), float(n_eff[r0])), higher_favours=True,
                            parity_value=1.0 if compare == "ratio" else 0.0), False))
                strata_rows.append(row)
        cdd = _cdd(groups, successes, n_eff, by_stratum)
        for code, stack in stacks.items():
            value = sub.levels[0][code]
            result = _mantel_haenszel(np.array(stack, float))
            key, reference = GroupKey((attribute,), (value,)), GroupKey((attribute,), (ref_value,))  # type: ignore[arg-type]
            i = part.keys.index(key) if key in part.keys else None
            marginal = _marginal(part, i, fav_pos, request.predicted)
            z = float(sps.norm.isf(alpha / 2))
            pooled_rows.append({
                "attribute": attribute, "group": {attribute: value}, "reference": {attribute: ref_value},
                "strata": len(stack), "marginal_statistical_parity_difference": marginal,
                "mantel_haenszel_risk_difference": result["rd"],
                "rd_ci_low": finite(result["rd"] - z * result["rd_se"]),
                "rd_ci_high": finite(result["rd"] + z * result["rd_se"]),
                "mantel_haenszel_risk_ratio": finite(result["rr"]),
                "rr_ci_low": _ratio_limit(result, -z),
                "rr_ci_high": _ratio_limit(result, z),
                "ci_level": 1 - alpha, "cmh_p_value": finite(result["cmh_p"]), "test": "cochran_mantel_haenszel",
                "conditional_demographic_disparity": cdd.get(code),
            })
            n_group = float(sum(f[1] for f in stack))
            n_ref = float(sum(f[3] for f in stack))
            subject = f"Group {key.label} against {reference.label} within {len(stack)} strata of " \
                      f"{', '.join(strata_names)} (Mantel-Haenszel)"
            for metric, log in (("conditional_statistical_parity_difference", 0.0),
                                ("conditional_disparate_impact", 1.0)):
                point = result["rd"] if log == 0 else result["rr"]
                se = result["rd_se"] if log == 0 else result["log_rr_se"]
                measure = Normal(np.array([point]), np.array([se]), np.array([log]))
                ok = np.isfinite(point) and np.isfinite(se) and (log == 0 or point > 0)
                for rule, counts in rules_for(policy, metric):
                    pooled.append((make_candidate(
                        rule, key, reference, n_group, n_ref, float(point) if ok else None, measure if ok else None,
                        alpha, parity_p=finite(result["cmh_p"]), parity_test="cochran_mantel_haenszel",
                        sizes=(n_group, n_ref), higher_favours=True, parity_value=float(log), subject=subject), counts))
    findings = judged(pooled, policy) + judged(within, policy)
    return Section(SectionName.CONDITIONAL, METHOD, {"strata": tuple(strata_rows), "pooled": tuple(pooled_rows)},
                   findings, tuple(notes))


def _marginal(part: Partition, i: int | None, fav_pos: bool, predicted: bool) -> float | None:
    if i is None:
        return None
    successes, n_eff, _ = _favorable(part.table, fav_pos, predicted)
    r = part.reference
    return finite(successes[i] / n_eff[i] - successes[r] / n_eff[r])


def _ratio_limit(result: dict[str, float], z: float) -> float | None:
    """A limit of the Mantel-Haenszel risk ratio's log-normal interval (None when the ratio is 0)."""
    if not result["rr"] > 0:
        return None
    return finite(np.exp(np.log(result["rr"]) + z * result["log_rr_se"]))


def _mantel_haenszel(four: np.ndarray) -> dict[str, float]:
    """Pooled risk difference and ratio over strata of (a, n1, c, n0): group successes and size, reference's."""
    a, n1, c, n0 = four.T
    total = n1 + n0
    w = n1 * n0 / total
    rd = float(np.sum(w * (a / n1 - c / n0)) / np.sum(w))
    # Sato's variance of the MH risk difference, valid in sparse and large strata alike
    p = np.sum((n1**2 * c - n0**2 * a + n1 * n0 * (n0 - n1) / 2) / total**2)
    q = np.sum((a * (n0 - c) + c * (n1 - a)) / (2 * total))
    rd_var = (rd * p + q) / np.sum(w) ** 2
    r_num, r_den = np.sum(a * n0 / total), np.sum(c * n1 / total)
    rr = float(r_num / r_den) if r_den > 0 else float("nan")
    gr = np.sum((n1 * n0 * (a + c) - a * c * total) / total**2)
    log_rr_var = gr / (r_num * r_den) if r_num > 0 and r_den > 0 else float("nan")
    # Cochran-Mantel-Haenszel: observed group successes against their expectation given each stratum's margins
    m1 = a + c
    expected = n1 * m1 / total
    var = n1 * n0 * m1 * (total - m1) / (total**2 * np.maximum(total - 1, 1e-12))
    stat = (np.sum(a - expected)) ** 2 / np.sum(var) if np.sum(var) > 0 else float("nan")
    return {"rd": rd, "rd_se": float(np.sqrt(max(rd_var, 0.0))), "rr": rr,
            "log_rr_se": float(np.sqrt(max(log_rr_var, 0.0))) if np.isfinite(log_rr_var) else float("nan"),
            "cmh_p": float(sps.chi2.sf(stat, 1)) if np.isfinite(stat) else float("nan")}


def _cdd(groups: np.ndarray, successes: np.ndarray, n_eff: np.ndarray,
         by_stratum: dict[tuple[int, ...], list[int]]) -> dict[int, float]:
    """Clarify's conditional demographic disparity per group code (on effective counts)."""
    failures = n_eff - successes
    total = float(n_eff.sum())
    out: dict[int, float] = {}
    for code in np.unique(groups):
        acc = 0.0
        for members in by_stratum.values():
            m = np.array(members)
            rej, fav = failures[m].sum(), successes[m].sum()
            mine = m[groups[m] == code]
            d_rej = failures[mine].sum() / rej if rej > 0 else 0.0
            d_fav = successes[mine].sum() / fav if fav > 0 else 0.0
            acc += n_eff[m].sum() * (d_rej - d_fav)
        out[int(code)] = float(acc / total)
    return out
