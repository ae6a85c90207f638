"""Probe reports and name-bank listings as JSON."""

from __future__ import annotations

from marshmallow import fields

from fairprobe.schemas.fast_dump import FastDumpSchema
from fairprobe.schemas.report import (
    AccountingSchema,
    DisparitySchema,
    EstimateSchema,
    GroupField,
    PolicyOutSchema,
    VerdictSchema,
)

__all__ = ["AccountingSchema", "NameBankSchema", "NameBankSummarySchema", "ProbeReportSchema"]


class ProbeGroupSchema(FastDumpSchema):
    group = GroupField(attribute="key", metadata={"type": "object"})
    label = fields.Function(lambda g: g.key.label)
    is_reference = fields.Boolean()
    profiles = fields.Integer(metadata={"description": "profiles with at least one answer"})
    probes = fields.Integer()
    answered = fields.Integer()
    names = fields.List(fields.String(), metadata={"description": "the sampled names (from the bank)"})
    metrics = fields.Dict(keys=fields.String(), values=fields.Nested(EstimateSchema))


class ProfileGapSchema(FastDumpSchema):
    profile_id = fields.String()
    score_difference = fields.Float(allow_none=True)
    decision_changes = fields.Float(metadata={
        "description": "share of this profile's name slots whose decision changed"})


class ComparisonSchema(FastDumpSchema):
    group = GroupField(metadata={"type": "object"})
    reference = GroupField(metadata={"type": "object"})
    label = fields.Function(lambda c: f"{c.group.label} vs {c.reference.label}")
    n = fields.Integer(metadata={"description": "profiles paired (answered under both)"})
    excluded = fields.Integer(metadata={"description": "profiles left out: no answer under one side"})
    metrics = fields.Dict(keys=fields.String(), values=fields.Nested(DisparitySchema))
    worst = fields.List(fields.Nested(ProfileGapSchema))


class ProbeRecordSchema(FastDumpSchema):
    request_id = fields.String()
    created_at = fields.String()
    kind = fields.String()
    endpoint_format = fields.String()
    profiles = fields.Integer()
    names_per_group = fields.Integer(allow_none=True)
    bank = fields.String(allow_none=True)
    policy = fields.Nested(PolicyOutSchema)
    seed = fields.Integer()
    versions = fields.Dict(keys=fields.String(), values=fields.String())


class ProbeReportSchema(VerdictSchema):
    groups = fields.List(fields.Nested(ProbeGroupSchema))
    comparisons = fields.List(fields.Nested(ComparisonSchema))
    accounting = fields.Nested(AccountingSchema)
    probe = fields.Nested(ProbeRecordSchema)


class NameSchema(FastDumpSchema):
    name = fields.String()
    share = fields.Float(allow_none=True, metadata={"description": "the group's share of people with this name"})
    count = fields.Integer(allow_none=True, metadata={"description": "people with the name in the source"})


class NameGroupSummarySchema(FastDumpSchema):
    id = fields.String()
    attributes = fields.Dict(keys=fields.String(), values=fields.String())
    first_names = fields.Function(lambda g: len(g.first_names))
    last_names = fields.Function(lambda g: len(g.last_names))


class NameGroupSchema(NameGroupSummarySchema):
    # the full bank lists the names where the summary counts them
    first_names = fields.List(fields.Nested(NameSchema))  # type: ignore[assignment]
    last_names = fields.List(fields.Nested(NameSchema))  # type: ignore[assignment]


class NameBankSummarySchema(FastDumpSchema):
    id = fields.String()
    title = fields.String()
    thresholds = fields.Dict(keys=fields.String(), values=fields.Float())
    sources = fields.List(fields.String())
    licence = fields.String()
    groups = fields.List(fields.Nested(NameGroupSummarySchema), metadata={"description": "sizes per group"})


class NameBankSchema(NameBankSummarySchema):
    groups = fields.List(fields.Nested(NameGroupSchema))
