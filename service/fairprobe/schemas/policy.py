"""The fairness policy a request may carry."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validate, validates_schema

from fairprobe.domain.outputs import OutputKind
from fairprobe.domain.policy import Bound, DecisionRule, Policy, Rule, SmallGroups
from fairprobe.engines.catalogue import DIAGNOSTIC_METRICS, DISPARITIES, LABEL_DISPARITIES, RATES, RELATIVE_GAP_METRICS
from fairprobe.engines.counterfactual import FLIP_RATE, PROBE_METRICS, RANK_BIASED_OVERLAP
from fairprobe.engines.discrimination import SEARCH_METRICS
from fairprobe.engines.policy import DEFAULT_RULES, LABEL_RULES
from fairprobe.engines.stress import STRESS_METRICS
from fairprobe.schemas.limits import current_limits
from fairprobe.schemas.scalar import Bounded

__all__ = [
    "PolicySchema",
    "ProbePolicySchema",
    "ProbeRuleSchema",
    "RuleSchema",
    "SearchPolicySchema",
    "StressPolicySchema",
    "StressRuleSchema",
    "build_policy",
    "check_rules_apply",
    "default_rules",
]

#: decisions without labels (segment placement, a decision log): the four-fifths rule and a 10-point gap
DECISION_RULES: tuple[Rule, ...] = (
    Rule("disparate_impact", Bound.MIN, 0.8),
    Rule("statistical_parity_difference", Bound.MAX_ABS, 0.1),
)
#: what each output kind is judged by when the request brings no policy
OUTPUT_RULES: dict[OutputKind, tuple[Rule, ...]] = {
    OutputKind.SEGMENTS: (),  # placement in valuable segments is judged by the decision rules
    OutputKind.OUTCOMES: (Rule("outcome_mean", Bound.MAX_RELATIVE_GAP, 0.2),),
    OutputKind.RANKINGS: (Rule("high_value_exposure_ratio", Bound.MIN, 0.8),
                          Rule("distinct_categories_ratio", Bound.MIN, 0.8)),
}
#: the rates and disparities that need only decisions, or only labels
DECISION_ONLY = frozenset({"selection_rate", "statistical_parity_difference", "disparate_impact"})
LABEL_ONLY = frozenset({"base_rate", *LABEL_DISPARITIES})

BOUNDS = [b.value for b in Bound]
RULE_METRICS = sorted(DISPARITIES) + sorted(RATES) + sorted(DIAGNOSTIC_METRICS)
ERR_ONE_BOUND = "give exactly one of min, max, max_abs or max_relative_gap"
ERR_RATE_BOUND = "a rate such as {metric} takes max_relative_gap; disparities take min, max or max_abs"
ERR_DISPARITY_BOUND = "a disparity such as {metric} takes min, max or max_abs; rates take max_relative_gap"


class RuleSchema(Schema):
    class Meta:
        unknown = RAISE

    metric = fields.String(required=True, validate=validate.OneOf(RULE_METRICS), metadata={
        "description": "A disparity metric, a rate for max_relative_gap, or a diagnostic section's measure "
                       "(its findings then count towards the verdict)."})
    min = Bounded(metadata={"description": "value >= min"})
    max = Bounded(metadata={"description": "value <= max"})
    max_abs = Bounded(validate=validate.Range(min=0),
                           metadata={"description": "|value| <= max_abs"})
    max_relative_gap = Bounded(
        validate=validate.Range(min=0),
        metadata={"description": "|rate(group) / rate(reference) - 1| <= max_relative_gap"},
    )
    attributes = fields.List(fields.String(), validate=validate.Length(min=1),
                             metadata={"description": "Only groups of these attributes (default: all)."})
    intersections = fields.Boolean(load_default=True,
                                   metadata={"description": "Judge intersectional groups too."})

    @validates_schema
    def _one_bound(self, data: dict[str, Any], **_: Any) -> None:
        bounds = [b for b in BOUNDS if b in data]
        if len(bounds) != 1:
            raise ValidationError(ERR_ONE_BOUND, "metric")
        metric = data.get("metric")
        relative = metric in RATES or metric in RELATIVE_GAP_METRICS
        if relative and bounds[0] != Bound.MAX_RELATIVE_GAP:
            raise ValidationError(ERR_RATE_BOUND.format(metric=metric), bounds[0])
        if not relative and bounds[0] == Bound.MAX_RELATIVE_GAP:
            raise ValidationError(ERR_DISPARITY_BOUND.format(metric=metric), bounds[0])

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> Rule:
        bound = next(Bound(b) for b in BOUNDS if b in data)
        attributes = data.get("attributes")
        return Rule(
            metric=data["metric"], bound=bound, threshold=float(data[bound.value]),
            attributes=tuple(attributes) if attributes else None, intersections=data["intersections"],
        )


class PolicySchema(Schema):
    class Meta:
        unknown = RAISE

    rules = fields.List(fields.Nested(RuleSchema), required=True, validate=validate.Length(min=1, max=200))
    alpha = fields.Float(allow_nan=False, validate=validate.Range(0, 1, min_inclusive=False, max_inclusive=False),
                         metadata={"description": "Significance level after BH adjustment (default from settings)."})
    min_group_size = fields.Integer(strict=True, validate=validate.Range(min=1), metadata={
        "description": "A finding whose rate rests on fewer people (its own denominator, e.g. label positives "
                       "for a TPR) in the group or the reference is not judged (default: settings)."})
    decision_rule = fields.Enum(DecisionRule, by_value=True, load_default=DecisionRule.BOUND, metadata={
        "description": "'bound' (default): pass when the interval at 1 - 2 alpha lies inside the bound "
                       "(equivalence), fail when a test against the bound is significant after BH. 'parity': the "
                       "classical rule, pass when the estimate is inside, fail when it also differs from parity."})
    small_groups = fields.Enum(SmallGroups, by_value=True, load_default=SmallGroups.SKIP_INTERSECTIONS, metadata={
        "description": "Whether findings too small to judge keep the verdict from passing: 'block', "
                       "'skip_intersections' (default: only single-attribute groups block) or 'skip'."})
    power = fields.Float(load_default=0.8, validate=validate.Range(0.5, 1, max_inclusive=False), metadata={
        "description": "The power at which an inconclusive finding's n_to_decide would decide it."})

    @validates_schema
    def _consistent(self, data: dict[str, Any], **_: Any) -> None:
        _check_consistent_rules(data.get("rules") or [])


class ProbeRuleSchema(RuleSchema):
    """A rule over a probe's paired comparisons."""

    metric = fields.String(required=True, validate=validate.OneOf(sorted(PROBE_METRICS)),
                           metadata={"description": "flip_rate (max), rank_biased_overlap (min; list outputs), "
                                                    "or mean_score_difference / positive_rate_difference (min, max "
                                                    "or max_abs)"})

    @validates_schema
    def _one_bound(self, data: dict[str, Any], **_: Any) -> None:
        bounds = [b for b in BOUNDS if b in data]
        if len(bounds) != 1 or bounds[0] == Bound.MAX_RELATIVE_GAP:
            raise ValidationError("give exactly one of min, max or max_abs", "metric")
        if data.get("metric") == FLIP_RATE and bounds[0] != Bound.MAX:
            raise ValidationError("flip_rate takes max (the largest share of changed decisions allowed)", bounds[0])
        if data.get("metric") == RANK_BIASED_OVERLAP and bounds[0] != Bound.MIN:
            raise ValidationError("rank_biased_overlap takes min (the least overlap allowed)", bounds[0])


class ProbePolicySchema(PolicySchema):
    rules = fields.List(fields.Nested(ProbeRuleSchema), required=True, validate=validate.Length(min=1, max=200))


def _check_consistent_rules(rules: list[Rule]) -> None:
    """Refuse two rules on the same quantity of some group that no value could meet together
    (``DI >= 0.8`` and ``DI <= 0.5``), naming the later rule."""
    for i, rule in enumerate(rules):
        low, high = rule.interval()
        for j, other in enumerate(rules[:i]):
            same_quantity = other.metric == rule.metric and \
                (other.bound is Bound.MAX_RELATIVE_GAP) == (rule.bound is Bound.MAX_RELATIVE_GAP)
            overlap = rule.attributes is None or other.attributes is None or \
                bool(set(rule.attributes) & set(other.attributes))
            other_low, other_high = other.interval()
            if same_quantity and overlap and max(low, other_low) > min(high, other_high):
                raise ValidationError(
                    f"contradicts policy.rules[{j}]: no value of {rule.metric} meets both", f"rules[{i}]")


def build_policy(data: dict[str, Any] | None, default_rules: tuple[Rule, ...],
                 attributes: Collection[str]) -> Policy:
    """The request's policy (or the default), with the service's alpha and minimum group size as defaults.

    ``attributes`` are the names a rule's ``attributes`` may scope to.
    """
    limits = current_limits()
    given = data or {}
    policy = Policy(
        rules=tuple(given.get("rules", default_rules)),
        alpha=given.get("alpha", limits.alpha),
        min_group_size=given.get("min_group_size", limits.min_group_size),
        source="request" if data is not None else "default",
        decision_rule=given.get("decision_rule", DecisionRule.BOUND),
        small_groups=given.get("small_groups", SmallGroups.SKIP_INTERSECTIONS),
        power=given.get("power", 0.8),
    )
    for i, rule in enumerate(policy.rules):
        unknown = [a for a in rule.attributes or () if a not in attributes]
        if unknown:
            raise ValidationError(f"rule names attributes that are not protected: {unknown}",
                                  f"policy.rules[{i}].attributes")
    return policy


class StressRuleSchema(RuleSchema):
    """A rule over a stress test's group comparisons."""

    metric = fields.String(required=True, validate=validate.OneOf(sorted(STRESS_METRICS)),
                           metadata={"description": "disparate_impact, or a difference (min, max or max_abs)"})

    @validates_schema
    def _one_bound(self, data: dict[str, Any], **_: Any) -> None:
        bounds = [b for b in BOUNDS if b in data]
        if len(bounds) != 1 or bounds[0] == Bound.MAX_RELATIVE_GAP:
            raise ValidationError("give exactly one of min, max or max_abs", "metric")


class StressPolicySchema(PolicySchema):
    rules = fields.List(fields.Nested(StressRuleSchema), required=True, validate=validate.Length(min=1, max=200))


class SearchRuleSchema(RuleSchema):
    """A rule over a discrimination search's rate."""

    metric = fields.String(required=True, validate=validate.OneOf(sorted(SEARCH_METRICS)),
                           metadata={"description": "causal_discrimination_rate (max)"})

    @validates_schema
    def _one_bound(self, data: dict[str, Any], **_: Any) -> None:
        bounds = [b for b in BOUNDS if b in data]
        if bounds != [Bound.MAX.value]:
            raise ValidationError("causal_discrimination_rate takes max (the largest share allowed)", "metric")


class SearchPolicySchema(PolicySchema):
    rules = fields.List(fields.Nested(SearchRuleSchema), required=True, validate=validate.Length(min=1, max=20))


def default_rules(labelled: bool, predicted: bool, kinds: Collection[OutputKind], endpoint: bool) -> tuple[Rule, ...]:
    """The default policy for what the request gives: labels and decisions, either alone, and its outputs."""
    decided = predicted or endpoint
    rules = DEFAULT_RULES if labelled and decided else LABEL_RULES if labelled else DECISION_RULES if decided else ()
    return rules + tuple(r for kind in kinds for r in OUTPUT_RULES[kind])


def check_rules_apply(rules: Collection[Rule], *, labelled: bool, predicted: bool,
                      kinds: Collection[OutputKind]) -> None:
    """Every rule measures something the request gives: decisions, labels, or one of its outputs."""
    for i, rule in enumerate(rules):
        field = f"policy.rules[{i}].metric"
        metric = rule.metric
        if metric in DIAGNOSTIC_METRICS:
            section = DIAGNOSTIC_METRICS[metric].section
            if isinstance(section, OutputKind) and section not in kinds:
                raise ValidationError(f"{metric} measures the {section.value} output, which this audit does not "
                                      f"name (give '{section.value.rstrip('s')}')", field)
            continue
        needs_label = metric not in DECISION_ONLY
        needs_decision = metric not in LABEL_ONLY
        if needs_label and not labelled:
            raise ValidationError(f"{metric} needs the actual outcome; this audit has no label column", field)
        if needs_decision and not predicted:
            raise ValidationError(
                f"{metric} needs the model's decisions; this audit has none (no prediction, score, endpoint or "
                f"valuable segments): use {', '.join(LABEL_DISPARITIES)} or base_rate on labels", field)
