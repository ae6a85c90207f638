"""The one decision rule: judge a policy's rules against measured comparisons, for every engine.

Audits, probes, stress tests and searches all hand :func:`judge` a list of :class:`Candidate` (a rule, a
group, its reference, the reported value and a :class:`~fairprobe.stats.bounds.Measure`), and get back
findings with a status each. A release gate can make two mistakes, and the rule controls both against the
policy's *bound*, not against perfect parity:

``pass`` — the data show the bound is met.
    Two one-sided tests at ``alpha`` (TOST, the equivalence test of bioequivalence): the interval at level
    ``1 - 2 alpha`` lies inside the bound. A one-sided bound (``min``, ``max``) needs one of the two.
    A verdict of ``pass`` needs *every* counted finding to pass; by the intersection–union principle
    (Berger 1982) that verdict errs with probability at most ``alpha`` whichever findings truly break
    their bound, so the pass side needs no multiplicity adjustment.

``fail`` — the data show the bound is broken.
    A test of "the value is inside the bound" against "outside": the one-sided test at the nearer side of
    the bound, plus, for a two-sided bound, the probability of erring at the far side (which makes a
    ``max_abs`` of 0 the two-sided parity test). Its p-values are adjusted by Benjamini–Hochberg across
    every tested finding of the report, so the share of false fails among a report's fails stays at or
    below ``alpha`` however many groups and rules it judges.

``inconclusive`` — otherwise: the interval crosses the bound, or the fail test does not survive the
    adjustment, or the group is too small to judge. Each such finding says how many people per group would
    decide it at the observed rates (``n_to_decide``, at the policy's ``power``).

Which findings count towards the verdict: a finding on a group whose *rate's own denominator* (label
positives for a TPR, everyone for a selection rate) is below ``min_group_size`` is not judged. Under the
default ``small_groups: skip_intersections`` such a finding on a single-attribute group keeps the verdict
from passing — a group the policy names was not assessed — while one on an intersection does not: crossing
attributes makes sparse cells by design, and letting any one of them make every verdict inconclusive would
make intersectional auditing useless in practice. ``block`` and ``skip`` are the two extremes. Every such
finding is listed either way, marked ``in_verdict``.

The classical rule stays available as ``decision_rule: parity``: pass when the estimate is inside the
bound, fail when it is outside and differs significantly from parity after BH. Its false-pass rate is not
controlled (a small biased sample passes whenever its estimate lands inside), which is why it is not the
default.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy import special

from fairprobe.domain.findings import Disparity, Favoured, Finding, Reason, Status
from fairprobe.domain.groups import GroupKey
from fairprobe.domain.policy import Bound, DecisionRule, Policy, Rule, SmallGroups
from fairprobe.engines.explain import explain
from fairprobe.stats.bounds import Measure, scale_to_reach, signed_limits, tails, z_for
from fairprobe.stats.fdr import benjamini_hochberg

__all__ = ["DEFAULT_RULES", "LABEL_RULES", "Candidate", "judge", "verdict"]

#: applied when a request brings no policy: the four-fifths rule and 10-point gaps, every attribute
DEFAULT_RULES: tuple[Rule, ...] = (
    Rule("disparate_impact", Bound.MIN, 0.8),
    Rule("statistical_parity_difference", Bound.MAX_ABS, 0.1),
    Rule("equal_opportunity_difference", Bound.MAX_ABS, 0.1),
    Rule("average_odds_difference", Bound.MAX_ABS, 0.1),
)
#: a data-only audit's default (labels, no model): the same two bounds on the labels' favorable rate
LABEL_RULES: tuple[Rule, ...] = (
    Rule("label_disparate_impact", Bound.MIN, 0.8),
    Rule("label_statistical_parity_difference", Bound.MAX_ABS, 0.1),
)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A rule about to be judged for one group against its reference.

    ``value`` is the reported value (AIF360's for audits); ``measure`` holds one comparison and tests it
    against the bound (``None`` when the value is undefined); ``parity`` is the value's interval and test
    against parity at ``1 - alpha``, used by the parity rule. ``sizes`` are the (effective) denominators of
    the compared rates; ``offset`` maps the measured quantity to the reported one (``ratio - 1`` for a
    relative gap). ``higher_favours`` says whether a higher value is to the group's advantage (``None``:
    it depends on nobody's benefit, e.g. a PPV gap). ``paired``: the reference is the same profiles.
    """

    rule: Rule
    group: GroupKey
    reference: GroupKey
    n: int
    reference_n: int
    value: float | None
    measure: Measure | None
    parity: Disparity
    sizes: tuple[float, float] | None = None
    offset: float = 0.0
    parity_value: float = 0.0
    higher_favours: bool | None = None
    paired: bool = False
    reason: Reason | None = None  # why the value is undefined, when it is
    subject: str | None = None  # who is compared, in words, when it is not a group against its reference

    @property
    def intersection(self) -> bool:
        return len(self.group.attributes) > 1


@dataclass(frozen=True, slots=True)
class _Tested:
    """What the bound tests give for one candidate (all in reported units)."""

    ci: tuple[float, float]
    p_fail: float
    p_equivalence: float
    scale: float | None  # the factor on the data that would decide it, None when nothing would


def _finite(x: float | None) -> float | None:
    return float(x) if x is not None and math.isfinite(x) else None


def _small(c: Candidate, policy: Policy) -> Reason | None:
    group_size, reference_size = c.sizes if c.sizes is not None else (float(c.n), float(c.reference_n))
    if group_size < policy.min_group_size:
        return Reason.GROUP_TOO_SMALL
    if reference_size < policy.min_group_size:
        return Reason.REFERENCE_TOO_SMALL
    return None


def _bounds(c: Candidate) -> tuple[float, float]:
    low, high = c.rule.interval()
    return low - c.offset, high - c.offset


def _test_all(candidates: Sequence[Candidate], policy: Policy) -> list[_Tested | None]:
    """Run the bound tests of every candidate with a measure, stacked by measure type (vectorized)."""
    out: list[_Tested | None] = [None] * len(candidates)
    by_type: dict[type[Measure], list[int]] = defaultdict(list)
    for i, c in enumerate(candidates):
        if c.measure is not None and c.value is not None:
            by_type[type(c.measure)].append(i)
    z_ci = z_for(policy.alpha)
    z_decide = z_ci + z_for(1 - policy.power)
    for kind, index in by_type.items():
        measure = kind.stack([candidates[i].measure for i in index])  # type: ignore[misc]
        bounds = np.array([_bounds(candidates[i]) for i in index])
        low, high = bounds[:, 0], bounds[:, 1]
        ci_low, ci_high = signed_limits(measure, np.full(len(index), z_ci))
        point_low, point_high = signed_limits(measure, np.zeros(len(index)))
        point = (point_low + point_high) / 2
        # both sides' tests in one inversion: the comparisons twice, against the low then the high bound
        both = np.concatenate([np.arange(len(index))] * 2)
        greater, less = tails(measure.take(both), np.concatenate([low, high]))
        inside_low, below = greater[:len(index)], less[:len(index)]
        above, inside_high = greater[len(index):], less[len(index):]
        # the fail test runs at the side of the bound nearer the estimate (the other p-value is near 1)
        p_near = np.where((point - low) < (high - point), below, above)
        # a two-sided bound: add the chance of erring at the far side, estimated at the near side's spread
        spread = (ci_high - ci_low) / (2 * z_ci)
        width = high - low
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            far = np.where((spread > 0) & np.isfinite(width),
                           special.ndtr(special.ndtri(p_near) - width / spread), 0.0)
        p_fail = np.minimum(1.0, p_near + np.nan_to_num(far))
        # a pass, or a fail sure to survive BH (p <= alpha / tests, the first step of BH), needs no sample size
        undecided = (np.maximum(inside_low, inside_high) >= policy.alpha) & \
            (p_fail > policy.alpha / max(len(candidates), 1))
        scale = np.full(len(index), np.nan)
        if undecided.any():
            rows = np.flatnonzero(undecided)
            scale[rows] = _scale(measure.take(rows), low[rows], high[rows], point[rows], z_decide,
                                 policy.decision_rule, [candidates[index[j]] for j in rows])
        for j, i in enumerate(index):
            c = candidates[i]
            out[i] = _Tested(
                ci=(float(ci_low[j]) + c.offset, float(ci_high[j]) + c.offset),
                p_fail=float(p_fail[j]),
                p_equivalence=float(np.maximum(inside_low[j], inside_high[j])),
                scale=_finite(float(scale[j])),
            )
    return out


def _scale(measure: Measure, low: np.ndarray, high: np.ndarray, point: np.ndarray, z: float,
           rule: DecisionRule, candidates: Sequence[Candidate]) -> np.ndarray:
    """Per comparison, the factor on the data at which the rule's test would decide at the policy's power:
    the interval at ``z`` (alpha's quantile plus power's) reaches the bound it must clear."""
    if rule is DecisionRule.PARITY:  # the parity test would reject: the near limit passes parity
        parity = np.array([c.parity_value - c.offset for c in candidates])
        return scale_to_reach(measure, z, point > parity, parity)
    inside = (point >= low) & (point <= high)
    below = point < low
    # outside: the near limit must cross the broken side; inside: each finite side must be cleared.
    # Every (comparison, side) searched at once: one root search instead of one per kind of side.
    index, lower, bound = [], [], []
    for wanted, side, target in ((~inside, ~below, np.where(below, low, high)),
                                 (inside & np.isfinite(low), np.ones(len(point), bool), low),
                                 (inside & np.isfinite(high), np.zeros(len(point), bool), high)):
        rows = np.flatnonzero(wanted)
        index.append(rows)
        lower.append(side[rows])
        bound.append(target[rows])
    rows = np.concatenate(index)
    out = np.zeros(len(point))
    if rows.size:
        scales = scale_to_reach(measure.take(rows), z, np.concatenate(lower), np.concatenate(bound))
        # the largest per comparison, a NaN kept: a side that no amount of data clears leaves it undecidable
        with np.errstate(invalid="ignore"):
            np.maximum.at(out, rows, scales)
    return out


def _favoured(c: Candidate) -> Favoured | None:
    if c.value is None or c.higher_favours is None:
        return None
    if c.value == c.parity_value:
        return Favoured.NEITHER
    return Favoured.GROUP if (c.value > c.parity_value) == c.higher_favours else Favoured.REFERENCE


def _counts(c: Candidate, reason: Reason | None, policy: Policy) -> bool:
    """Whether a finding takes part in the verdict (only findings too small to judge may not)."""
    if reason not in (Reason.GROUP_TOO_SMALL, Reason.REFERENCE_TOO_SMALL):
        return True
    if policy.small_groups is SmallGroups.BLOCK:
        return True
    return policy.small_groups is SmallGroups.SKIP_INTERSECTIONS and not c.intersection


def judge(candidates: Sequence[Candidate], policy: Policy) -> tuple[Finding, ...]:
    """Test every candidate against its bound, adjust the fail tests together (BH), give each a status."""
    bound_rule = policy.decision_rule is DecisionRule.BOUND
    if not bound_rule:
        candidates = _with_parity_intervals(candidates, policy.alpha)
    tested = _test_all(candidates, policy)
    blocked: list[Reason | None] = []
    for c, t in zip(candidates, tested, strict=True):
        if c.value is None:
            blocked.append(c.reason or Reason.ZERO_DENOMINATOR)
        elif bound_rule and t is None:
            blocked.append(Reason.ZERO_DENOMINATOR)  # a value without a measure: no interval to judge it by
        else:
            blocked.append(_small(c, policy))
    p_values = np.array([
        np.nan if reason is not None or (bound_rule and t is None)
        else (t.p_fail if bound_rule and t is not None else _nan(c.parity.p_value))
        for c, t, reason in zip(candidates, tested, blocked, strict=True)
    ])
    adjusted = benjamini_hochberg(p_values)
    return tuple(_finding(c, t, reason, _finite(p), _finite(p_adj), policy)
                 for c, t, reason, p, p_adj in zip(candidates, tested, blocked, p_values, adjusted, strict=True))


def _with_parity_intervals(candidates: Sequence[Candidate], alpha: float) -> list[Candidate]:
    """The parity rule reports each value's interval at ``1 - alpha``: a candidate that came without one (the
    diagnostic and output sections) gets its measure's, computed stacked by measure type."""
    out = list(candidates)
    by_type: dict[type[Measure], list[int]] = defaultdict(list)
    for i, c in enumerate(candidates):
        if c.parity.ci_low is None and c.measure is not None and c.value is not None:
            by_type[type(c.measure)].append(i)
    for kind, index in by_type.items():
        measure = kind.stack([candidates[i].measure for i in index])  # type: ignore[misc]
        low, high = signed_limits(measure, np.full(len(index), z_for(alpha / 2)))
        for j, i in enumerate(index):
            c = candidates[i]
            parity = replace(c.parity, ci_low=_finite(float(low[j]) + c.offset),
                             ci_high=_finite(float(high[j]) + c.offset), ci_method=c.measure.method,  # type: ignore[union-attr]
                             ci_level=1 - alpha)
            out[i] = replace(c, parity=parity)
    return out


def _nan(x: float | None) -> float:
    return np.nan if x is None else x


def _finding(c: Candidate, t: _Tested | None, reason: Reason | None, p_raw: float | None, p_adj: float | None,
             policy: Policy) -> Finding:
    status, reason = _status(c, t, reason, p_raw, p_adj, policy)
    ci: tuple[float | None, float | None]
    method: str | None
    test: str | None
    if policy.decision_rule is DecisionRule.BOUND and t is not None and c.measure is not None:
        ci, method, test = t.ci, c.measure.method, c.measure.test
        p_equivalence: float | None = t.p_equivalence
    else:
        ci, method, test = (c.parity.ci_low, c.parity.ci_high), c.parity.ci_method, c.parity.test
        p_equivalence = None
    scale = t.scale if t is not None and status is Status.INCONCLUSIVE else None
    if scale is not None and c.sizes is not None and min(c.sizes) > 0:
        scale = max(scale, policy.min_group_size / min(c.sizes))  # never below the minimum size
    if status is Status.INCONCLUSIVE and reason in (Reason.INTERVAL_CROSSES_BOUND, Reason.NOT_SIGNIFICANT) \
            and t is not None and t.scale is None:
        reason = Reason.AT_BOUND
    finding = Finding(
        rule=c.rule, group=c.group, reference=c.reference, n=c.n, reference_n=c.reference_n,
        value=c.value, ci_low=_finite(ci[0]), ci_high=_finite(ci[1]),
        ci_level=policy.ci_level if _finite(ci[0]) is not None else None, ci_method=method,
        p_value=p_raw, p_value_adjusted=p_adj, equivalence_p_value=p_equivalence, test=test,
        status=status, reason=reason, explanation="",
        denominator_n=c.sizes[0] if c.sizes else float(c.n),
        reference_denominator_n=c.sizes[1] if c.sizes else float(c.reference_n),
        favoured=_favoured(c),
        n_to_decide=math.ceil(scale * c.n) if scale is not None else None,
        reference_n_to_decide=math.ceil(scale * c.reference_n) if scale is not None else None,
        in_verdict=_counts(c, reason, policy),
    )
    # the words are read off the finding itself: written into it once, before anything else sees it (a
    # dataclasses.replace per finding cost more than the words)
    object.__setattr__(finding, "explanation", explain(finding, policy, paired=c.paired, subject=c.subject))
    return finding


def _status(c: Candidate, t: _Tested | None, reason: Reason | None, p_raw: float | None, p_adj: float | None,
            policy: Policy) -> tuple[Status, Reason | None]:
    if reason is not None:
        return Status.INCONCLUSIVE, reason
    alpha = policy.alpha
    if policy.decision_rule is DecisionRule.PARITY:
        low, high = c.rule.interval()
        assert c.value is not None
        if low <= c.value <= high:
            return Status.PASS, None
        if p_adj is not None and p_adj < alpha:
            return Status.FAIL, None
        return Status.INCONCLUSIVE, Reason.NOT_SIGNIFICANT
    assert t is not None
    if t.p_equivalence < alpha:
        return Status.PASS, None
    if p_adj is not None and p_adj < alpha:
        return Status.FAIL, None
    if p_raw is not None and p_raw < alpha:
        return Status.INCONCLUSIVE, Reason.NOT_SIGNIFICANT_AFTER_ADJUSTMENT
    return Status.INCONCLUSIVE, Reason.INTERVAL_CROSSES_BOUND


def verdict(findings: Sequence[Finding]) -> Status:
    """``fail`` if any finding fails; else ``pass`` if every finding in the verdict passes (and there is
    one); else ``inconclusive``. Findings outside the verdict (too small, by ``small_groups``) never pass it
    or block it."""
    counted = [f for f in findings if f.in_verdict]
    if any(f.status is Status.FAIL for f in findings):
        return Status.FAIL
    if counted and all(f.status is Status.PASS for f in counted):
        return Status.PASS
    return Status.INCONCLUSIVE
