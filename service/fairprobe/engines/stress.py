"""Synthetic-profile stress test: oversample target groups, score them, compare with the reference group.

Each target group gets ``profiles_per_group`` synthetic profiles (so small populations and intersections
are measured with the precision the request asks for), plus edge-case profiles per family. Outcomes
are compared unpaired with the reference group: rates with Newcombe/Katz intervals and the z or Fisher
test, mean scores with Welch's t; the policy judges them as in the dataset audit.
"""

from __future__ import annotations

import operator
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from scipy import stats as sps

from fairprobe.domain.endpoint import Scored, Scorer
from fairprobe.domain.findings import Disparity, Estimate, Reason
from fairprobe.domain.stress import (
    EdgeFamily,
    EdgeFamilyReport,
    StressGroup,
    StressRecord,
    StressReport,
    StressRequest,
    TruthRule,
)
from fairprobe.engines.audit import VERSIONS
from fairprobe.engines.counterfactual import answered_at_all
from fairprobe.engines.measures import mean_estimate, rate_estimate
from fairprobe.engines.policy import Candidate, judge, verdict
from fairprobe.engines.synthesis import edge_case, sampler_for
from fairprobe.stats.bounds import Measure, RateDifference, RateRatio, WelchMean
from fairprobe.stats.proportions import FISHER, compare_rates

__all__ = ["STRESS_METRICS", "StressTest", "truth_labels"]

STRESS_METRICS: Mapping[str, str] = {
    "positive_rate_difference": "positive rate(group) - positive rate(reference)",
    "disparate_impact": "positive rate(group) / positive rate(reference)",
    "mean_score_difference": "mean score(group) - mean score(reference), Welch",
    "true_positive_rate_difference": "TPR(group) - TPR(reference), against the schema's truth rule",
    "false_positive_rate_difference": "FPR(group) - FPR(reference), against the schema's truth rule",
}
OPERATORS: Mapping[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq, "!=": operator.ne,
}
WELCH = "welch_t"
CHI2 = "chi_square_independence"
Clock = Callable[[], datetime]


def truth_labels(rule: TruthRule, records: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """The rule's label per record; a missing or incomparable field makes the condition false."""
    out = np.ones(len(records), dtype=bool)
    for i, r in enumerate(records):
        for field, op, value in rule.conditions:
            try:
                ok = r.get(field) is not None and OPERATORS[op](r[field], value)
            except TypeError:
                ok = False
            if not ok:
                out[i] = False
                break
    return out


def _rate_gap(c1: float, n1: float, c2: float, n2: float, alpha: float) -> tuple[Disparity, Disparity]:
    if n1 == 0 or n2 == 0:
        empty = Disparity(None, None, None, None, None, None, reason=Reason.EMPTY_GROUP)
        return empty, empty
    diff, ratio, test = compare_rates(np.array([c1]), np.array([n1]), np.array([c2]), np.array([n2]), alpha)
    p = float(test.p_value[0]) if np.isfinite(test.p_value[0]) else None
    difference = Disparity(c1 / n1 - c2 / n2, float(diff.low[0]), float(diff.high[0]), diff.method[0], p,
                           test.test[0], ci_level=1 - alpha)
    if c2 == 0:
        return difference, Disparity(None, None, None, None, p, test.test[0], reason=Reason.ZERO_DENOMINATOR)
    r = (c1 / n1) / (c2 / n2)
    return difference, Disparity(r, float(ratio.low[0]), float(ratio.high[0]), ratio.method[0], p, test.test[0],
                                 ci_level=1 - alpha)


@dataclass(frozen=True, eq=False)
class _Tested:
    """What a rule on one of a group's disparities is tested with, and the sizes it rests on."""

    measure: Measure | None
    group_size: float
    reference_size: float

    @property
    def sizes(self) -> tuple[float, float]:
        return self.group_size, self.reference_size


def _rates(kind: type[RateDifference] | type[RateRatio], counts: tuple[float, float, float, float]) -> Measure | None:
    if counts[1] == 0 or counts[3] == 0:
        return None
    return kind(*(np.array([x]) for x in counts))


def _welch_measure(a: np.ndarray, b: np.ndarray) -> Measure | None:
    if a.size < 2 or b.size < 2:
        return None
    return WelchMean(*(np.array([x]) for x in (a.mean() - b.mean(), a.var(ddof=1), a.size, b.var(ddof=1), b.size)))


def _welch(a: np.ndarray, b: np.ndarray, alpha: float) -> Disparity:
    if a.size < 2 or b.size < 2:
        return Disparity(None, None, None, None, None, None, reason=Reason.GROUP_TOO_SMALL)
    diff = float(a.mean() - b.mean())
    if a.std() == 0 and b.std() == 0:
        return Disparity(diff, diff, diff, WELCH, 1.0 if diff == 0 else 0.0, WELCH, ci_level=1 - alpha)
    result = sps.ttest_ind(a, b, equal_var=False)
    ci = result.confidence_interval(1 - alpha)
    return Disparity(diff, float(ci.low), float(ci.high), WELCH, float(result.pvalue), WELCH, ci_level=1 - alpha)


class StressTest:
    """Run a stress test against the scorer it is handed; deterministic given the request's seed."""

    def __init__(self, *, request_id: str, scorer: Scorer, clock: Clock = lambda: datetime.now(UTC)) -> None:
        self.request_id = request_id
        self.scorer = scorer
        self.clock = clock

    def run(self, request: StressRequest) -> StressReport:
        rng = np.random.default_rng(request.seed)
        sampler = sampler_for(request.generator)
        protected = set(request.generator.protected_fields)
        batches: list[tuple[str, EdgeFamily | None, list[dict[str, Any]]]] = []
        notes: dict[EdgeFamily, str | None] = {}
        for group in request.groups:
            batches.append((group.name, None, sampler.sample(group.where, request.profiles_per_group, rng)))
        for family in request.edge_cases:
            for group in request.groups:
                base = sampler.sample(group.where, request.edge_profiles_per_group, rng)
                records, note = edge_case(family, sampler, base, set(group.where), protected)
                notes[family] = note
                if note is None:
                    batches.append((group.name, family, records))
        everything = [r for _, _, records in batches for r in records]
        scored = answered_at_all(self.scorer.score(everything))
        spans, start = [], 0
        for name, kind, records in batches:
            spans.append((name, kind, records, slice(start, start + len(records))))
            start += len(records)
        main = {name: (records, span) for name, family, records, span in spans if family is None}
        groups, tested = self._groups(request, sampler, main, scored)
        findings = judge(self._candidates(request, groups, tested), request.policy)
        edges = tuple(self._edge(family, notes[family], [(n, s) for n, f, _, s in spans if f is family], scored,
                                 request.policy.alpha) for family in request.edge_cases)
        return StressReport(
            verdict=verdict(findings), findings=findings, groups=tuple(groups), edge_cases=edges,
            accounting=scored.accounting,
            stress=StressRecord(request_id=self.request_id, created_at=self.clock().isoformat(timespec="seconds"),
                                generator=request.generator.kind, seed=request.seed, policy=request.policy,
                                versions=VERSIONS),
        )

    def _groups(self, request: StressRequest, sampler: Any, main: Mapping[str, tuple[list[dict[str, Any]], slice]],
                scored: Scored) -> tuple[list[StressGroup], dict[str, dict[str, _Tested]]]:
        """Each group's estimates and disparities, and per group and metric what a rule tests."""
        alpha, truth = request.policy.alpha, request.generator.truth
        outcomes = {}
        for name, (records, span) in main.items():
            ok = np.array([f is None for f in scored.failures[span]], dtype=bool)
            scores = np.array([s for s in scored.scores[span] if s is not None], dtype=float)
            decisions = np.array([d for d in scored.decisions[span] if d is not None], dtype=bool)
            labels = truth_labels(truth, records)[ok] if truth else None
            outcomes[name] = (scores, decisions, labels)
        ref_scores, ref_decisions, ref_labels = outcomes[request.reference]
        out, tested = [], {}
        for group in request.groups:
            scores, decisions, labels = outcomes[group.name]
            metrics = {
                "mean_score": mean_estimate(scores, alpha),
                "positive_rate": rate_estimate(float(decisions.sum()), float(decisions.size), alpha),
            }
            counts = (float(decisions.sum()), float(decisions.size), float(ref_decisions.sum()),
                      float(ref_decisions.size))
            difference, ratio = _rate_gap(*counts, alpha)
            disparities = {"positive_rate_difference": difference, "disparate_impact": ratio,
                           "mean_score_difference": _welch(scores, ref_scores, alpha)}
            tested[group.name] = {
                "positive_rate_difference": _Tested(_rates(RateDifference, counts), counts[1], counts[3]),
                "disparate_impact": _Tested(_rates(RateRatio, counts), counts[1], counts[3]),
                "mean_score_difference": _Tested(_welch_measure(scores, ref_scores), scores.size, ref_scores.size),
            }
            if labels is not None and ref_labels is not None:
                for metric, want in (("true_positive_rate", True), ("false_positive_rate", False)):
                    sel, ref_sel = labels == want, ref_labels == want
                    metrics[metric] = rate_estimate(float(decisions[sel].sum()), float(sel.sum()), alpha,
                                                    reason=Reason.ZERO_DENOMINATOR)
                    sub = (float(decisions[sel].sum()), float(sel.sum()), float(ref_decisions[ref_sel].sum()),
                           float(ref_sel.sum()))
                    disparities[metric + "_difference"] = _rate_gap(*sub, alpha)[0]
                    tested[group.name][metric + "_difference"] = _Tested(_rates(RateDifference, sub), sub[1], sub[3])
            rows = sampler.pooled_rows(group.where)
            marginals = ("schema" if rows is None else
                         "group" if rows >= request.generator.min_group_rows else "pooled")
            out.append(StressGroup(key=group.key, name=group.name, is_reference=group.name == request.reference,
                                   profiles=request.profiles_per_group, answered=int(scores.size),
                                   marginals=marginals, reference_rows=rows, metrics=metrics, disparities=disparities))
        return out, tested

    @staticmethod
    def _candidates(request: StressRequest, groups: Sequence[StressGroup],
                    tested: Mapping[str, Mapping[str, _Tested]]) -> list[Candidate]:
        reference = next(g for g in groups if g.is_reference)
        favours = request.endpoint.favorable_is_positive
        out = []
        for rule in request.policy.rules:
            for group in groups:
                if group.is_reference or rule.metric not in group.disparities:
                    continue
                parity = group.disparities[rule.metric]
                t = tested[group.name][rule.metric]
                out.append(Candidate(
                    rule=rule, group=group.key, reference=reference.key, n=group.answered,
                    reference_n=reference.answered, value=parity.value,
                    measure=t.measure if parity.value is not None else None, parity=parity, sizes=t.sizes,
                    parity_value=1.0 if rule.metric == "disparate_impact" else 0.0,
                    higher_favours=favours, reason=parity.reason))
        return out

    @staticmethod
    def _edge(family: EdgeFamily, note: str | None, spans: Sequence[tuple[str, slice]], scored: Scored,
              alpha: float) -> EdgeFamilyReport:
        if note is not None:
            return EdgeFamilyReport(family, False, 0, 0, Estimate(None, None, None, None, reason=Reason.EMPTY_GROUP),
                                    {}, {}, None, None, False, f"not applicable: {note}")
        by_group, reasons, table = {}, Counter[str](), []
        for name, span in spans:
            failures = [f for f in scored.failures[span] if f is not None]
            by_group[name] = len(failures)
            reasons.update(f.value for f in failures)
            table.append([len(failures), span.stop - span.start - len(failures)])
        counts = np.array(table)
        total, failed = int(counts.sum()), int(counts[:, 0].sum())
        p: float | None
        test: str | None
        if failed in (0, total):
            p, test = 1.0, None  # every group alike: nothing concentrates
        elif len(counts) == 2:
            p, test = float(sps.fisher_exact(counts).pvalue), FISHER
        else:
            p, test = float(sps.chi2_contingency(counts).pvalue), CHI2
        concentrated = p is not None and p < alpha
        note_text = (f"{failed} of {total} edge-case probes failed" +
                     ("; failures concentrate in some groups" if concentrated else ""))
        return EdgeFamilyReport(family, True, total, failed, rate_estimate(float(failed), float(total), alpha),
                                by_group, dict(sorted(reasons.items())), p, test, concentrated, note_text)
