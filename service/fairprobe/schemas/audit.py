"""``POST /v1/audits``: the request envelope, and the audit request it becomes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validate, validates_schema

from fairprobe.domain.audit import LABEL, PREDICTION, SCORE, WEIGHT, AuditRequest, ColumnRoles, DataKind, Role
from fairprobe.domain.groups import ProtectedAttribute
from fairprobe.engines.groups import all_combinations
from fairprobe.engines.policy import DEFAULT_RULES
from fairprobe.schemas import columns
from fairprobe.schemas.endpoint import EndpointSchema
from fairprobe.schemas.limits import check_probe_budget, current_limits
from fairprobe.schemas.policy import PolicySchema, build_policy
from fairprobe.schemas.scalar import Bounded, Scalar
from fairprobe.schemas.table import checked_frame, records_of

__all__ = ["AuditRequestSchema", "DataSchema", "ProtectedSchema"]

LARGEST = "largest"
#: every pair of protected attributes is audited unless the request says otherwise
DEFAULT_INTERSECTION_ORDER = 2


class DataSchema(Schema):
    """Exactly one of ``records``, ``columns`` or ``csv``. Rows are checked as columns, not one by one."""

    class Meta:
        unknown = RAISE

    records = fields.Raw(metadata={"type": "array", "items": {"type": "object", "additionalProperties": True},
                                   "description": "One JSON object per row (or per counts-table cell)."})
    columns = fields.Raw(metadata={"type": "object", "additionalProperties": {"type": "array"},
                                   "description": "Column name to list of values, all of one length."})
    csv = fields.Raw(metadata={
        "type": "string", "description": "CSV text with a header row (or send the file to POST /v1/audits/upload)."})


class ProtectedSchema(Schema):
    class Meta:
        unknown = RAISE

    attribute = fields.String(required=True, validate=validate.Length(min=1))
    reference = Scalar(load_default=LARGEST, metadata={
        "description": "The reference group's value (for binned columns a band such as '[25, 45)'), "
                       "or 'largest' for the most frequent group."})
    bins = fields.List(Bounded(), validate=validate.Length(min=1, max=50),
                       metadata={"description": "Bin edges for a numeric column: right-open bands."})

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> ProtectedAttribute:
        bins = tuple(data["bins"]) if data.get("bins") else None
        named = data["reference"] != LARGEST
        return ProtectedAttribute(
            name=data["attribute"], reference_rule="named" if named else "largest",
            reference=data["reference"] if named else None, bins=bins,
        )


class AuditRequestSchema(Schema):
    """A dataset audit: the data, the role of each column, the protected attributes and the policy."""

    class Meta:
        unknown = RAISE

    data = fields.Nested(DataSchema, required=True)
    label = fields.String(required=True, metadata={"description": "Column with the actual outcome."})
    prediction = fields.String(metadata={"description": "Column with the model's decision."})
    score = fields.String(metadata={"description": "Column with the model's probability of the positive label."})
    threshold = fields.Float(allow_nan=False, validate=validate.Range(0, 1), metadata={
        "description": "Without 'prediction': the decision is score >= threshold."})
    weight = fields.String(metadata={"description": "Column with sample weights (> 0)."})
    count = fields.String(metadata={
        "description": "Column with the number of people in each row: the data is a counts table."})
    positive_label = Scalar(load_default=1, metadata={
        "description": "The event the model predicts (defines TPR/FPR). Default 1."})
    negative_label = Scalar(metadata={"description": "The other label value, when there are more than two."})
    favorable = Scalar(metadata={
        "description": "The prediction that benefits the person; sets the direction of SPD and disparate "
                       "impact. Default: positive_label."})
    protected = fields.List(fields.Nested(ProtectedSchema), required=True, validate=validate.Length(min=1, max=8))
    intersections = fields.List(
        fields.List(fields.String(), validate=validate.Length(min=2, max=4)), validate=validate.Length(max=50),
        metadata={"description": "Attribute combinations to audit as intersectional groups."},
    )
    max_intersection_order = fields.Integer(strict=True, validate=validate.Range(1, 4), metadata={
        "description": "Audit every combination of up to this many protected attributes (default 2 unless "
                       "'intersections' lists them; 1 audits each attribute alone)."})
    policy = fields.Nested(PolicySchema, metadata={"description": "Without it the default policy applies."})
    seed = fields.Integer(strict=True, load_default=0, validate=validate.Range(0, 2**32 - 1))
    endpoint = fields.Nested(EndpointSchema, metadata={
        "description": "Instead of a prediction column: score every row through this model endpoint"})
    features = fields.List(fields.String(), validate=validate.Length(min=1, max=1000), metadata={
        "description": "With an endpoint: the columns sent to the model (default: all but label, weight)"})

    @validates_schema
    def _roles(self, data: dict[str, Any], **_: Any) -> None:
        if "endpoint" in data:
            for other in ("prediction", "score", "threshold", "count"):
                if other in data:
                    raise ValidationError("the endpoint gives the predictions; leave this out", other)
        elif "features" in data:
            raise ValidationError("features are what an endpoint is sent; give an endpoint", "features")
        elif "prediction" not in data and not ("score" in data and "threshold" in data):
            raise ValidationError("give a prediction column, a score column with a threshold, or an endpoint",
                                  "prediction")
        if "count" in data and "weight" in data:
            raise ValidationError("a counts table carries counts, not sample weights", "weight")
        if "count" in data and "score" in data:
            raise ValidationError("score metrics need one row per person, not a counts table", "score")
        names = [p.name for p in data.get("protected", [])]
        if len(set(names)) != len(names):
            raise ValidationError("each attribute may appear once", "protected")
        _check_distinct_roles(data)
        for i, combo in enumerate(data.get("intersections", [])):
            unknown = [a for a in combo if a not in names]
            if unknown or len(set(combo)) != len(combo):
                raise ValidationError(
                    f"intersection {combo} must name distinct protected attributes", f"intersections[{i}]"
                )

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> AuditRequest:
        limits = current_limits()
        frame = checked_frame(data["data"], "data")
        positive, negative = data["positive_label"], data.get("negative_label")
        if negative is not None and negative == positive:
            raise ValidationError("must differ from positive_label", "negative_label")
        favorable = data.get("favorable", positive)
        if favorable != positive and negative is not None and favorable != negative:
            raise ValidationError("must be positive_label or negative_label", "favorable")

        out: dict[str | Role, Any] = {}
        for i, attribute in enumerate(data["protected"]):
            series = columns.require_column(frame, attribute.name, f"protected[{i}].attribute")
            columns.check_protected(series, i, attribute.bins, attribute.reference,
                                    attribute.reference_rule == "named", limits.max_levels)
            out[attribute.name] = series
        out[LABEL] = columns.binary_column(
            columns.require_column(frame, data["label"], "label"), "label", positive, negative)
        if "score" in data:
            out[SCORE] = columns.score_column(columns.require_column(frame, data["score"], "score"), "score")
        if "prediction" in data:
            out[PREDICTION] = columns.binary_column(
                columns.require_column(frame, data["prediction"], "prediction"), "prediction", positive, negative)
        elif "threshold" in data:
            out[PREDICTION] = out[SCORE] >= data["threshold"]
        features: tuple[dict[str, Any], ...] = ()
        if "endpoint" in data:
            features = _features(frame, data)
        if "count" in data:
            out[WEIGHT] = columns.nonnegative_column(
                columns.require_column(frame, data["count"], "count"), "count", strictly=False, integers=True)
            if out[WEIGHT].sum() <= 0:
                raise ValidationError("counts add up to no one", "count")
        elif "weight" in data:
            out[WEIGHT] = columns.nonnegative_column(
                columns.require_column(frame, data["weight"], "weight"), "weight", strictly=True, integers=False)
        else:
            out[WEIGHT] = np.ones(len(frame))

        names = tuple(a.name for a in data["protected"])
        intersections = [tuple(c) for c in data.get("intersections", [])]
        # pairs by default: a gap can hide at an intersection when each attribute alone looks fair
        order = data.get("max_intersection_order", DEFAULT_INTERSECTION_ORDER if "intersections" not in data else 1)
        intersections += [c for c in all_combinations(names, order) if c not in intersections]
        policy = build_policy(data.get("policy"), DEFAULT_RULES, names)
        return AuditRequest(
            frame=pd.DataFrame(out, copy=False),
            kind=DataKind.COUNTS if "count" in data else DataKind.ROWS,
            roles=ColumnRoles(
                label=data["label"], prediction=data.get("prediction"), score=data.get("score"),
                threshold=data.get("threshold"), weight=data.get("weight"), count=data.get("count"),
                positive_label=positive, favorable=favorable, favorable_given="favorable" in data,
            ),
            protected=tuple(data["protected"]),
            intersections=tuple(intersections),
            policy=policy,
            seed=data["seed"],
            endpoint=data.get("endpoint"),
            features=features,
        )


ROLE_FIELDS = ("label", "prediction", "score", "weight", "count")


def _check_distinct_roles(data: dict[str, Any]) -> None:
    """One column plays one part: a prediction that is the label column, or a protected attribute that is
    the label, would audit a tautology and pass it. Both fields are named."""
    seen: dict[str, str] = {}
    roles = [(f"protected[{i}].attribute", p.name) for i, p in enumerate(data.get("protected", []))]
    roles += [(field, data[field]) for field in ROLE_FIELDS if field in data]
    for field, column in roles:
        if column in seen:
            first = seen[column]
            message = f"column {column!r} is named by both {first} and {field}; a column can play one part only"
            raise ValidationError({first: [message], field: [message]})
        seen[column] = field


def _features(frame: pd.DataFrame, data: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    """The rows as records for the model: the named feature columns, or every column but label and weight."""
    names = data.get("features") or [c for c in frame.columns if c not in (data["label"], data.get("weight"))]
    for i, name in enumerate(names):
        columns.require_column(frame, name, f"features[{i}]")
    check_probe_budget(len(frame), "data")  # one probe per row
    return records_of(frame[names])
