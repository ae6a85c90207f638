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


class MetricsCatalogueSchema(Schema):
    metrics = fields.List(fields.Nested(MetricInfoSchema))
