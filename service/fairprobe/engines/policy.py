"""Judge a policy's rules against measured groups: findings with adjusted p-values and a verdict.

A finding is ``inconclusive`` when either group is below the minimum size or the value is undefined;
``pass`` when the value meets the rule; ``fail`` when it does not *and* the disparity is significant
after Benjamini–Hochberg adjustment across all findings of the audit; otherwise ``inconclusive``
(outside the bound, but the data cannot tell it from chance).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from fairprobe.domain.findings import Disparity, Finding, Reason, Status
from fairprobe.domain.groups import GroupKey
from fairprobe.domain.policy import Bound, Policy, Rule
from fairprobe.stats.fdr import benjamini_hochberg

__all__ = ["DEFAULT_RULES", "Candidate", "judge", "verdict"]

#: applied when a request brings no policy: the four-fifths rule and 10-point gaps, every attribute
DEFAULT_RULES: tuple[Rule, ...] = (
    Rule("disparate_impact", Bound.MIN, 0.8),
    Rule("statistical_parity_difference", Bound.MAX_ABS, 0.1),
    Rule("equal_opportunity_difference", Bound.MAX_ABS, 0.1),
    Rule("average_odds_difference", Bound.MAX_ABS, 0.1),
)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A rule about to be judged for one group: what was measured, before adjustment."""

    rule: Rule
    group: GroupKey
    reference: GroupKey
    n: int
    reference_n: int
    measured: Disparity


def _within(rule: Rule, value: float) -> bool:
    if rule.bound is Bound.MIN:
        return value >= rule.threshold
    if rule.bound is Bound.MAX:
        return value <= rule.threshold
    return abs(value) <= rule.threshold  # MAX_ABS and MAX_RELATIVE_GAP


def _bound_text(rule: Rule) -> str:
    return {
        Bound.MIN: f"value ≥ {rule.threshold:g}",
        Bound.MAX: f"value ≤ {rule.threshold:g}",
        Bound.MAX_ABS: f"|value| ≤ {rule.threshold:g}",
        Bound.MAX_RELATIVE_GAP: f"|relative gap| ≤ {rule.threshold:g}",
    }[rule.bound]


def _num(x: float | None) -> str:
    return "undefined" if x is None else f"{x:.4g}"


def _explain(c: Candidate, status: Status, reason: Reason | None, p_adj: float | None, alpha: float,
             min_size: int) -> str:
    metric = c.rule.metric + (" relative gap" if c.rule.bound is Bound.MAX_RELATIVE_GAP else "")
    who = f"Group {c.group.label} (n={c.n}) against {c.reference.label} (n={c.reference_n})"
    if reason is Reason.GROUP_TOO_SMALL:
        return f"{who}: the group has fewer than {min_size} people, too few to judge {metric}."
    if reason is Reason.REFERENCE_TOO_SMALL:
        return f"{who}: the reference group has fewer than {min_size} people, too few to judge {metric}."
    m = c.measured
    if m.value is None:
        return f"{who}: {metric} is undefined ({m.reason}), so the rule cannot be judged."
    ci = f" (95% CI {_num(m.ci_low)} to {_num(m.ci_high)})" if m.ci_low is not None else ""
    head = f"{who}: {metric} is {_num(m.value)}{ci}"
    if status is Status.PASS:
        return f"{head}, within the policy bound {_bound_text(c.rule)}."
    sig = f"adjusted p = {p_adj:.3g}, {m.test}" if p_adj is not None else "no test available"
    if status is Status.FAIL:
        return f"{head}, outside the policy bound {_bound_text(c.rule)}; the disparity is significant ({sig})."
    return (f"{head}, outside the policy bound {_bound_text(c.rule)}, but not significant at "
            f"alpha = {alpha:g} ({sig}); more data is needed to decide.")


def judge(candidates: Sequence[Candidate], policy: Policy) -> tuple[Finding, ...]:
    """Adjust all p-values together (BH), then give each candidate its status and explanation."""
    p_values = np.array([np.nan if c.measured.p_value is None else c.measured.p_value for c in candidates])
    adjusted = benjamini_hochberg(p_values)
    findings = []
    for c, p_adj_raw in zip(candidates, adjusted, strict=True):
        p_adj = None if not np.isfinite(p_adj_raw) else float(p_adj_raw)
        reason: Reason | None
        if c.n < policy.min_group_size:
            status, reason = Status.INCONCLUSIVE, Reason.GROUP_TOO_SMALL
        elif c.reference_n < policy.min_group_size:
            status, reason = Status.INCONCLUSIVE, Reason.REFERENCE_TOO_SMALL
        elif c.measured.value is None:
            status, reason = Status.INCONCLUSIVE, c.measured.reason or Reason.ZERO_DENOMINATOR
        elif _within(c.rule, c.measured.value):
            status, reason = Status.PASS, None
        elif p_adj is not None and p_adj < policy.alpha:
            status, reason = Status.FAIL, None
        else:
            status, reason = Status.INCONCLUSIVE, Reason.NOT_SIGNIFICANT
        m = c.measured
        findings.append(Finding(
            rule=c.rule, group=c.group, reference=c.reference, n=c.n, reference_n=c.reference_n,
            value=m.value, ci_low=m.ci_low, ci_high=m.ci_high, ci_method=m.ci_method,
            p_value=m.p_value, p_value_adjusted=p_adj, test=m.test, status=status, reason=reason,
            explanation=_explain(c, status, reason, p_adj, policy.alpha, policy.min_group_size),
        ))
    return tuple(findings)


def verdict(findings: Sequence[Finding]) -> Status:
    """``fail`` if any finding fails; else ``inconclusive`` if any is; else ``pass``."""
    statuses = {f.status for f in findings}
    if Status.FAIL in statuses:
        return Status.FAIL
    if Status.INCONCLUSIVE in statuses or not findings:
        return Status.INCONCLUSIVE
    return Status.PASS


