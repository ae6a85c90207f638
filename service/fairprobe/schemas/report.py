"""The audit report as JSON: the schemas that dump domain findings (and document them)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from marshmallow import fields

from fairprobe.domain.findings import Favoured, Finding, Status
from fairprobe.domain.groups import GroupKey
from fairprobe.domain.policy import DecisionRule, SmallGroups
from fairprobe.schemas.fast_dump import FastDumpSchema

__all__ = ["AccountingSchema", "AuditReportSchema", "VerdictSchema", "summarize"]

Number = fields.Float(allow_none=True)


def _group(key: GroupKey) -> dict[str, Any]:
    return key.as_dict()


class GroupField(fields.Field[GroupKey]):
    """A group as ``{"race": "African-American", "sex": "Male"}``."""

    def _serialize(self, value: GroupKey | None, attr: Any, obj: Any, **kwargs: Any) -> Any:
        return None if value is None else _group(value)


class EstimateSchema(FastDumpSchema):
    value = fields.Float(allow_none=True, metadata={"description": "null when undefined; see reason"})
    ci_low = fields.Float(allow_none=True)
    ci_high = fields.Float(allow_none=True)
    ci_method = fields.String(allow_none=True)
    numerator = fields.Float(allow_none=True, metadata={"description": "weighted count of people"})
    denominator = fields.Float(allow_none=True, metadata={"description": "weighted count of people"})
    reason = fields.String(allow_none=True)
    ci_level = fields.Float(allow_none=True, metadata={"description": "the interval's confidence level"})


class DisparitySchema(FastDumpSchema):
    value = fields.Float(allow_none=True)
    ci_low = fields.Float(allow_none=True)
    ci_high = fields.Float(allow_none=True)
    ci_method = fields.String(allow_none=True)
    p_value = fields.Float(allow_none=True, metadata={
        "description": "unadjusted test against parity; findings carry the tests against the policy's bound"})
    test = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    ci_level = fields.Float(allow_none=True, metadata={"description": "the interval's confidence level"})


class GroupReportSchema(FastDumpSchema):
    group = GroupField(attribute="key", metadata={"type": "object"})
    label = fields.Function(lambda g: g.key.label)
    reference = GroupField(metadata={"type": "object"})
    is_reference = fields.Boolean()
    n = fields.Integer(metadata={"description": "people in the group"})
    weighted_n = fields.Float()
    share = fields.Float(metadata={"description": "share of all (weighted) people"})
    metrics = fields.Dict(keys=fields.String(), values=fields.Nested(EstimateSchema))
    disparities = fields.Dict(keys=fields.String(), values=fields.Nested(DisparitySchema))


class IndexSchema(FastDumpSchema):
    attributes = fields.List(fields.String())
    reference = GroupField(metadata={"type": "object"})
    groups = fields.Integer()
    metrics = fields.Dict(keys=fields.String(), values=fields.Float(allow_none=True))


class RuleOutSchema(FastDumpSchema):
    id = fields.Function(lambda r: r.rule_id)
    metric = fields.String()
    bound = fields.Function(lambda r: r.bound.value)
    threshold = fields.Float()
    attributes = fields.List(fields.String(), allow_none=True)
    intersections = fields.Boolean()


class PolicyOutSchema(FastDumpSchema):
    rules = fields.List(fields.Nested(RuleOutSchema))
    alpha = fields.Float()
    min_group_size = fields.Integer()
    source = fields.String(metadata={"description": "'request' or 'default'"})
    decision_rule = fields.Enum(DecisionRule, by_value=True)
    small_groups = fields.Enum(SmallGroups, by_value=True)
    power = fields.Float()
    ci_level = fields.Float(metadata={"description": "the level of the findings' intervals"})


class FindingSchema(FastDumpSchema):
    rule = fields.Function(lambda f: f.rule.rule_id)
    metric = fields.Function(lambda f: f.rule.metric)
    bound = fields.Function(lambda f: f.rule.bound.value)
    threshold = fields.Function(lambda f: f.rule.threshold)
    group = GroupField(metadata={"type": "object"})
    reference = GroupField(metadata={"type": "object"})
    n = fields.Integer()
    reference_n = fields.Integer()
    n_denominator = fields.Float(attribute="denominator_n", allow_none=True, metadata={
        "description": "(effective) people the group's compared rate is computed on, e.g. label positives for "
                       "a TPR: what min_group_size is checked against"})
    reference_n_denominator = fields.Float(attribute="reference_denominator_n", allow_none=True)
    value = fields.Float(allow_none=True)
    ci_low = fields.Float(allow_none=True)
    ci_high = fields.Float(allow_none=True)
    ci_level = fields.Float(allow_none=True, metadata={
        "description": "1 - 2 alpha under the bound rule (two one-sided tests at alpha), 1 - alpha under parity"})
    ci_method = fields.String(allow_none=True)
    p_value = fields.Float(allow_none=True, metadata={
        "description": "test that the bound is broken (bound rule) or of parity (parity rule), unadjusted"})
    p_value_adjusted = fields.Float(allow_none=True, metadata={"description": "Benjamini–Hochberg across the report"})
    equivalence_p_value = fields.Float(allow_none=True, metadata={
        "description": "two one-sided tests that the value lies inside the bound (pass when below alpha)"})
    test = fields.String(allow_none=True)
    status = fields.Enum(Status, by_value=True)
    reason = fields.String(allow_none=True)
    favoured = fields.Enum(Favoured, by_value=True, allow_none=True, metadata={
        "description": "which side the gap favours: group, reference or neither; null when no side benefits"})
    n_to_decide = fields.Integer(allow_none=True, metadata={
        "description": "inconclusive findings: people in the group that would decide it at the observed rates "
                       "(at the policy's power and alpha)"})
    reference_n_to_decide = fields.Integer(allow_none=True)
    in_verdict = fields.Boolean(metadata={
        "description": "false when the group is too small to judge and small_groups leaves it out of the verdict"})
    explanation = fields.String()


class AccountingSchema(FastDumpSchema):
    """Every probe sent is answered or failed with a reason: sent == answered + failed."""

    sent = fields.Integer()
    answered = fields.Integer()
    failed = fields.Integer()
    # a field named like Schema's own `partial` option: marshmallow keeps them apart, mypy cannot tell
    partial = fields.Boolean(  # type: ignore[assignment]
        metadata={"description": "true when some probes failed: the result covers the rest"})
    failures = fields.Dict(keys=fields.String(), values=fields.Integer(),
                           metadata={"description": "failed probes by reason"})
    http_statuses = fields.Dict(keys=fields.String(), values=fields.Integer(),
                                metadata={"description": "HTTP calls by final status code"})
    requests = fields.Integer(metadata={"description": "HTTP calls made, retries included"})
    retries = fields.Integer()
    retries_denied = fields.Integer(metadata={
        "description": "retries not made because the request's retry budget (10 + 1 per 5 batches) was spent"})
    gave_up = fields.String(allow_none=True, metadata={
        "description": "why the remaining probes were not sent (failures reason 'abandoned'), if they were not"})
    elapsed_s = fields.Float()
    deadline_s = fields.Float()


class PartitionSchema(FastDumpSchema):
    attributes = fields.Function(lambda p: list(p[0]), metadata={"type": "array", "items": {"type": "string"}})
    reference = fields.Function(lambda p: _group(p[1]), metadata={"type": "object",
                                                                   "description": "the reference group"})


class AuditRecordSchema(FastDumpSchema):
    request_id = fields.String()
    created_at = fields.String()
    versions = fields.Dict(keys=fields.String(), values=fields.String())
    input_sha256 = fields.String()
    rows = fields.Integer()
    people = fields.Float()
    data_kind = fields.String()
    columns = fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True), metadata={
        "description": "the column of each role: label, prediction, score, threshold, weight, count"})
    positive_label = fields.Raw(metadata={"description": "the event the model predicts"})
    favorable = fields.Raw(metadata={"description": "the prediction that benefits the person"})
    favorable_defaulted = fields.Boolean(metadata={"description": "true when favorable was not given"})
    partitions = fields.List(fields.Nested(PartitionSchema), metadata={
        "description": "every attribute and intersection audited, with its reference group"})
    policy = fields.Nested(PolicyOutSchema)
    seed = fields.Integer()


class SummarySchema(FastDumpSchema):
    findings = fields.Integer()
    passed = fields.Integer(data_key="pass")
    failed = fields.Integer(data_key="fail")
    inconclusive = fields.Integer()
    not_in_verdict = fields.Integer(metadata={"description": "inconclusive findings left out of the verdict"})


class VerdictSchema(FastDumpSchema):
    """What every report starts with: the verdict, counts of findings by status, and the findings."""

    verdict = fields.Enum(Status, by_value=True)
    summary = fields.Method("_summary", metadata={
        "description": "counts by status of the findings, and of the section findings that count towards the verdict"})
    findings = fields.List(fields.Nested(FindingSchema))

    def _summary(self, report: Any) -> dict[str, int]:
        # an audit's diagnostic and output sections add the findings the policy's rules made count
        counted = [f for section in (*getattr(report, "diagnostics", ()), *getattr(report, "outputs", ()))
                   for f in section.findings if f.in_verdict]
        return summarize([*report.findings, *counted])


class SectionSchema(FastDumpSchema):
    """A diagnostic section: why a gap exists. Its tables' rows are described in GET /v1/metrics."""

    name = fields.Function(lambda s: s.name.value, metadata={
        "type": "string", "description": "composition, missingness, amplification, conditional, proxies, subgroups; "
                                     "segments, outcomes or rankings"})
    method = fields.String(metadata={"description": "how the section measured, tested and judged, in words"})
    needs_rows = fields.Boolean(metadata={"description": "true when the section cannot run from a counts table"})
    tables = fields.Dict(keys=fields.String(), values=fields.List(fields.Raw(metadata={
        "type": "object", "additionalProperties": True})), metadata={
        "description": "the section's measurements, one object per row (groups, tests, strata, associations, ...)"})
    findings = fields.List(fields.Nested(FindingSchema), metadata={
        "description": "judged by the decision rule, one Benjamini-Hochberg family per section; in_verdict is "
                       "false for advice (the section's default rules, when the policy has none on the metric)"})
    notes = fields.List(fields.String())


class SkippedSchema(FastDumpSchema):
    name = fields.Function(lambda s: s.name.value, metadata={"type": "string"})
    reason = fields.String()


class AuditReportSchema(VerdictSchema):
    groups = fields.List(fields.Nested(GroupReportSchema))
    indices = fields.List(fields.Nested(IndexSchema))
    overall = fields.Dict(keys=fields.String(), values=fields.Float(allow_none=True))
    audit = fields.Nested(AuditRecordSchema)
    scoring = fields.Nested(AccountingSchema, allow_none=True, metadata={
        "description": "When the audit scored the data through a model endpoint: what happened to each row"})
    warnings = fields.List(fields.String(), metadata={"description": "things the caller should check"})
    diagnostics = fields.List(fields.Nested(SectionSchema), metadata={
        "description": "Why a gap exists: the diagnostic sections that ran (see the request's 'diagnostics')"})
    skipped = fields.List(fields.Nested(SkippedSchema), metadata={
        "description": "diagnostic sections that did not run, with the reason"})
    outputs = fields.List(fields.Nested(SectionSchema), metadata={
        "description": "What the audited system outputs beyond a yes/no decision: the segments, outcomes and "
                       "rankings sections the request named"})


def summarize(findings: Sequence[Finding]) -> dict[str, int]:
    """Counts of findings by status."""
    statuses = [f.status for f in findings]
    return {
        "findings": len(statuses),
        "pass": statuses.count(Status.PASS),
        "fail": statuses.count(Status.FAIL),
        "inconclusive": statuses.count(Status.INCONCLUSIVE),
        "not_in_verdict": sum(not f.in_verdict for f in findings),
    }


