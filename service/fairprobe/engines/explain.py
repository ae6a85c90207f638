"""One sentence per finding that a reviewer can paste into a report: the value, its interval at the
level it was computed, which side the gap favours, what the rule decided and why, and — when nothing
was decided — how much data would decide it."""

from __future__ import annotations

from fairprobe.domain.findings import Favoured, Finding, Reason, Status
from fairprobe.domain.policy import Bound, DecisionRule, Policy, Rule

__all__ = ["bound_text", "explain"]


def bound_text(rule: Rule) -> str:
    return {
        Bound.MIN: f"value ≥ {rule.threshold:g}",
        Bound.MAX: f"value ≤ {rule.threshold:g}",
        Bound.MAX_ABS: f"|value| ≤ {rule.threshold:g}",
        Bound.MAX_RELATIVE_GAP: f"|relative gap| ≤ {rule.threshold:g}",
    }[rule.bound]


def _num(x: float | None) -> str:
    return "undefined" if x is None else f"{x:.4g}"


def _level(f: Finding) -> str:
    return f"{(f.ci_level or 0) * 100:.4g}% CI"


def _favour(f: Finding) -> str:
    if f.favoured is Favoured.GROUP:
        return "; the gap favours the group"
    if f.favoured is Favoured.REFERENCE:
        return "; the gap favours the reference"
    if f.favoured is Favoured.NEITHER:
        return "; there is no gap"
    return ""


def _more_data(f: Finding, policy: Policy, *, paired: bool) -> str:
    if f.n_to_decide is None:
        return ""
    power = f"{policy.power * 100:.4g}% power, alpha {policy.alpha:g}"
    if paired:
        return f" About {f.n_to_decide} profiles would decide it at the observed effect ({power})."
    return (f" About {f.n_to_decide} people in the group and {f.reference_n_to_decide} in the reference would "
            f"decide it at the observed rates ({power}).")


def explain(f: Finding, policy: Policy, *, paired: bool = False, subject: str | None = None) -> str:
    """The finding in words; every number printed is one of the finding's fields."""
    metric = f.rule.metric + (" relative gap" if f.rule.bound is Bound.MAX_RELATIVE_GAP else "")
    if subject is not None:
        who = subject
    elif paired:
        who = f"{f.group.label} against {f.reference.label} on the same {f.n} profiles"
    else:
        who = f"Group {f.group.label} (n={f.n}) against {f.reference.label} (n={f.reference_n})"
    more = _more_data(f, policy, paired=paired)
    if f.reason in (Reason.GROUP_TOO_SMALL, Reason.REFERENCE_TOO_SMALL):
        side, size = ("group", f.denominator_n) if f.reason is Reason.GROUP_TOO_SMALL else \
            ("reference", f.reference_denominator_n)
        counted = "" if f.in_verdict else " It does not count towards the verdict (small_groups)."
        return (f"{who}: {metric} rests on {_num(size)} people in the {side}, fewer than the minimum of "
                f"{policy.min_group_size}, too few to judge.{counted}{more}")
    if f.value is None:
        return f"{who}: {metric} is undefined ({f.reason}), so the rule cannot be judged."
    interval = f" ({_level(f)} {_num(f.ci_low)} to {_num(f.ci_high)})" if f.ci_low is not None else ""
    head = f"{who}: {metric} is {_num(f.value)}{interval}{_favour(f)}."
    bound = bound_text(f.rule)
    if policy.decision_rule is DecisionRule.PARITY:
        sig = f"adjusted p = {f.p_value_adjusted:.3g}, {f.test}" if f.p_value_adjusted is not None else "no test"
        if f.status is Status.PASS:
            return f"{head} The estimate is within the bound {bound} (parity rule: the interval is not checked)."
        if f.status is Status.FAIL:
            return f"{head} The estimate is outside the bound {bound} and differs from parity ({sig})."
        return (f"{head} The estimate is outside the bound {bound}, but it does not differ significantly from "
                f"parity at alpha = {policy.alpha:g} ({sig}).{more}")
    if f.status is Status.PASS:
        return (f"{head} The whole interval lies within the bound {bound}: the data show the rule is met "
                f"(equivalence test p = {f.equivalence_p_value:.3g}).")
    if f.status is Status.FAIL:
        return (f"{head} The interval lies outside the bound {bound} and the test against the bound is "
                f"significant (adjusted p = {f.p_value_adjusted:.3g}, {f.test}): the data show the rule is broken.")
    if f.reason is Reason.NOT_SIGNIFICANT_AFTER_ADJUSTMENT:
        return (f"{head} The interval lies outside the bound {bound}, but the test against the bound does not "
                f"survive the Benjamini–Hochberg adjustment across this report (adjusted p = "
                f"{f.p_value_adjusted:.3g}).{more}")
    if f.reason is Reason.AT_BOUND:
        return (f"{head} The estimate sits on the bound {bound}: no amount of data at the observed rates would "
                "decide it.")
    return (f"{head} The interval crosses the bound {bound}: the data show neither that the rule is met nor "
            f"that it is broken.{more}")
