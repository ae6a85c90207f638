"""Stress-test and discrimination-search reports as JSON."""

from __future__ import annotations

from typing import Any

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

__all__ = ["DiscriminationReportSchema", "StressReportSchema"]


class StressGroupSchema(FastDumpSchema):
    name = fields.String()
    group = GroupField(attribute="key", metadata={"type": "object"})
    label = fields.Function(lambda g: g.key.label)
    is_reference = fields.Boolean()
    profiles = fields.Integer(metadata={"description": "synthetic profiles generated"})
    answered = fields.Integer()
    marginals = fields.String(metadata={
        "description": "'schema', 'group' (fitted on the group's reference rows) or 'pooled' (too few rows)"})
    reference_rows = fields.Integer(allow_none=True, metadata={"description": "reference rows in the group"})
    metrics = fields.Dict(keys=fields.String(), values=fields.Nested(EstimateSchema))
    disparities = fields.Dict(keys=fields.String(), values=fields.Nested(DisparitySchema))


class EdgeFamilySchema(FastDumpSchema):
    family = fields.Function(lambda e: e.family.value)
    applicable = fields.Boolean()
    profiles = fields.Integer()
    failed = fields.Integer()
    failure_rate = fields.Nested(EstimateSchema)
    failures_by_group = fields.Dict(keys=fields.String(), values=fields.Integer())
    failures_by_reason = fields.Dict(keys=fields.String(), values=fields.Integer())
    concentration_p_value = fields.Float(allow_none=True, metadata={
        "description": "test that failures are independent of the group"})
    concentration_test = fields.String(allow_none=True)
    concentrated = fields.Boolean()
    note = fields.String()


class RecordSchema(FastDumpSchema):
    request_id = fields.String()
    created_at = fields.String()
    generator = fields.String()
    seed = fields.Integer()
    policy = fields.Nested(PolicyOutSchema, allow_none=True)
    versions = fields.Dict(keys=fields.String(), values=fields.String())


class StressReportSchema(VerdictSchema):
    groups = fields.List(fields.Nested(StressGroupSchema))
    edge_cases = fields.List(fields.Nested(EdgeFamilySchema))
    accounting = fields.Nested(AccountingSchema)
    stress = fields.Nested(RecordSchema)


class VariantSchema(FastDumpSchema):
    protected = fields.Dict(keys=fields.String(), values=fields.Raw(), attribute="0")
    score = fields.Float(allow_none=True, attribute="1")
    decision = fields.Boolean(allow_none=True, attribute="2")


class ExampleSchema(FastDumpSchema):
    profile = fields.Dict(keys=fields.String(), values=fields.Raw(),
                          metadata={"description": "the synthetic profile's other fields"})
    variants = fields.Method("_variants")

    def _variants(self, example: Any) -> list[dict[str, Any]]:
        return [{"protected": dict(p), "score": s, "decision": d} for p, s, d in example.variants]


class CausalSchema(FastDumpSchema):
    rate = fields.Nested(EstimateSchema, metadata={"description": "causal discrimination rate (Themis)"})
    profiles_tested = fields.Integer()
    discriminatory = fields.Integer()
    probes = fields.Integer()
    stopped = fields.String(metadata={
        "description": "'precision', 'budget', 'deadline' or 'endpoint_failing' (calls in a row got no answer)"})
    examples = fields.List(fields.Nested(ExampleSchema))


class DirectedSchema(FastDumpSchema):
    budget = fields.Integer()
    directed_found = fields.Integer(metadata={"description": "distinct discriminating profiles, AEQUITAS search"})
    random_found = fields.Integer(metadata={"description": "distinct discriminating profiles, random sampling"})
    directed_probes = fields.Integer()
    random_probes = fields.Integer()
    directed_rate = fields.Nested(EstimateSchema)
    random_rate = fields.Nested(EstimateSchema)
    ratio = fields.Float(allow_none=True)
    examples = fields.List(fields.Nested(ExampleSchema))
    random_discriminating = fields.Integer(metadata={
        "description": "random-sampling profiles that discriminate, duplicates counted (the rate's numerator)"})
    random_tested = fields.Integer()
    stopped = fields.String(metadata={"description": "'budget', 'deadline' or 'endpoint_failing'"})


class DiscriminationReportSchema(VerdictSchema):
    causal = fields.Nested(CausalSchema, allow_none=True)
    directed = fields.Nested(DirectedSchema, allow_none=True)
    accounting = fields.Nested(AccountingSchema)
    search = fields.Nested(RecordSchema, attribute="stress")
