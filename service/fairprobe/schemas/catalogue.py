"""``GET /v1/metrics``: the metric catalogue."""

from __future__ import annotations

from marshmallow import Schema, fields

__all__ = ["MetricInfoSchema", "MetricsCatalogueSchema"]


class MetricInfoSchema(Schema):
    name = fields.String()
    kind = fields.String(metadata={"description": "rate, disparity, index or score"})
    definition = fields.String(metadata={"description": "the formula"})
    ideal = fields.Float(allow_none=True)
    worse = fields.String(metadata={"description": "higher, lower or further_from_ideal"})
    aif360 = fields.String(allow_none=True, metadata={"description": "the AIF360 function it comes from"})
    interval = fields.String(allow_none=True)
    test = fields.String(allow_none=True)


class DecisionRuleSchema(Schema):
    name = fields.String(metadata={"description": "the policy's decision_rule value"})
    passes = fields.String(data_key="pass")
    fails = fields.String(data_key="fail")
    inconclusive = fields.String()
    interval_level = fields.String(metadata={"description": "the level of a finding's interval"})


class MetricsCatalogueSchema(Schema):
    metrics = fields.List(fields.Nested(MetricInfoSchema))
    decision_rules = fields.List(fields.Nested(DecisionRuleSchema), metadata={
        "description": "how a finding's status is decided; 'bound' is the default"})
