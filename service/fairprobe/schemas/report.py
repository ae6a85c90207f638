"""The audit report as JSON: the schemas that dump domain findings (and document them)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from marshmallow import Schema, fields

from fairprobe.domain.findings import Finding, Status
from fairprobe.domain.groups import GroupKey

__all__ = ["AccountingSchema", "AuditReportSchema", "VerdictSchema", "summarize"]

Number = fields.Float(allow_none=True)


def _group(key: GroupKey) -> dict[str, Any]:
    return key.as_dict()


class GroupField(fields.Field):
    """A group as ``{"race": "African-American", "sex": "Male"}``."""

    def _serialize(self, value: GroupKey | None, attr: Any, obj: Any, **kwargs: Any) -> Any:
        return None if value is None else _group(value)


class EstimateSchema(Schema):
    value = fields.Float(allow_none=True, metadata={"description": "null when undefined; see reason"})
    ci_low = fields.Float(allow_none=True)
    ci_high = fields.Float(allow_none=True)
    ci_method = fields.String(allow_none=True)
    numerator = fields.Float(allow_none=True, metadata={"description": "weighted count of people"})
    denominator = fields.Float(allow_none=True, metadata={"description": "weighted count of people"})
    reason = fields.String(allow_none=True)


class DisparitySchema(Schema):
    value = fields.Float(allow_none=True)
    ci_low = fields.Float(allow_none=True)
    ci_high = fields.Float(allow_none=True)
    ci_method = fields.String(allow_none=True)
    p_value = fields.Float(allow_none=True, metadata={"description": "unadjusted; findings carry BH-adjusted"})
    test = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)


class GroupReportSchema(Schema):
    group = GroupField(attribute="key", metadata={"type": "object"})
    label = fields.Function(lambda g: g.key.label)
    reference = GroupField(metadata={"type": "object"})
    is_reference = fields.Boolean()
    n = fields.Integer(metadata={"description": "people in the group"})
    weighted_n = fields.Float()
    share = fields.Float(metadata={"description": "share of all (weighted) people"})
    metrics = fields.Dict(keys=fields.String(), values=fields.Nested(EstimateSchema))
    disparities = fields.Dict(keys=fields.String(), values=fields.Nested(DisparitySchema))


class IndexSchema(Schema):
    attributes = fields.List(fields.String())
    reference = GroupField(metadata={"type": "object"})
    groups = fields.Integer()
    metrics = fields.Dict(keys=fields.String(), values=fields.Float(allow_none=True))


class RuleOutSchema(Schema):
    id = fields.Function(lambda r: r.rule_id)
    metric = fields.String()
    bound = fields.Function(lambda r: r.bound.value)
    threshold = fields.Float()
    attributes = fields.List(fields.String(), allow_none=True)
    intersections = fields.Boolean()


class PolicyOutSchema(Schema):
    rules = fields.List(fields.Nested(RuleOutSchema))
    alpha = fields.Float()
    min_group_size = fields.Integer()
    source = fields.String(metadata={"description": "'request' or 'default'"})


class FindingSchema(Schema):
    rule = fields.Function(lambda f: f.rule.rule_id)
    metric = fields.Function(lambda f: f.rule.metric)
    bound = fields.Function(lambda f: f.rule.bound.value)
    threshold = fields.Function(lambda f: f.rule.threshold)
    group = GroupField(metadata={"type": "object"})
    reference = GroupField(metadata={"type": "object"})
    n = fields.Integer()
    reference_n = fields.Integer()
    value = fields.Float(allow_none=True)
    ci_low = fields.Float(allow_none=True)
    ci_high = fields.Float(allow_none=True)
    ci_method = fields.String(allow_none=True)
    p_value = fields.Float(allow_none=True)
    p_value_adjusted = fields.Float(allow_none=True, metadata={"description": "Benjamini–Hochberg"})
    test = fields.String(allow_none=True)
    status = fields.Enum(Status, by_value=True)
    reason = fields.String(allow_none=True)
    explanation = fields.String()


class AccountingSchema(Schema):
    """Every probe sent is answered or failed with a reason: sent == answered + failed."""

    sent = fields.Integer()
    answered = fields.Integer()
    failed = fields.Integer()
    partial = fields.Boolean(metadata={"description": "true when some probes failed: the result covers the rest"})
    failures = fields.Dict(keys=fields.String(), values=fields.Integer(),
                           metadata={"description": "failed probes by reason"})
    http_statuses = fields.Dict(keys=fields.String(), values=fields.Integer(),
                                metadata={"description": "HTTP calls by final status code"})
    requests = fields.Integer(metadata={"description": "HTTP calls made, retries included"})
    retries = fields.Integer()
    elapsed_s = fields.Float()
    deadline_s = fields.Float()


class AuditRecordSchema(Schema):
    request_id = fields.String()
    created_at = fields.String()
    versions = fields.Dict(keys=fields.String(), values=fields.String())
    input_sha256 = fields.String()
    rows = fields.Integer()
    people = fields.Float()
    data_kind = fields.String()
    policy = fields.Nested(PolicyOutSchema)
    seed = fields.Integer()


class SummarySchema(Schema):
    findings = fields.Integer()
    passed = fields.Integer(data_key="pass")
    failed = fields.Integer(data_key="fail")
    inconclusive = fields.Integer()


class VerdictSchema(Schema):
    """What every report starts with: the verdict, counts of findings by status, and the findings."""

    verdict = fields.Enum(Status, by_value=True)
    summary = fields.Method("_summary")
    findings = fields.List(fields.Nested(FindingSchema))

    def _summary(self, report: Any) -> dict[str, int]:
        return summarize(report.findings)


class AuditReportSchema(VerdictSchema):
    groups = fields.List(fields.Nested(GroupReportSchema))
    indices = fields.List(fields.Nested(IndexSchema))
    overall = fields.Dict(keys=fields.String(), values=fields.Float(allow_none=True))
    audit = fields.Nested(AuditRecordSchema)
    scoring = fields.Nested(AccountingSchema, allow_none=True, metadata={
        "description": "When the audit scored the data through a model endpoint: what happened to each row"})


def summarize(findings: Sequence[Finding]) -> dict[str, int]:
    """Counts of findings by status."""
    statuses = [f.status for f in findings]
    return {
        "findings": len(statuses),
        "pass": statuses.count(Status.PASS),
        "fail": statuses.count(Status.FAIL),
        "inconclusive": statuses.count(Status.INCONCLUSIVE),
    }


