"""``POST /v1/audits``: the request envelope, and the audit request it becomes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validate, validates_schema

from fairprobe.domain.audit import LABEL, PREDICTION, SCORE, WEIGHT, AuditRequest, ColumnRoles, DataKind, Role
from fairprobe.domain.diagnostics import (
    NEEDS_ROWS,
    CandidateModel,
    ConditioningColumn,
    DiagnosticsRequest,
    ScanOptions,
    SectionName,
)
from fairprobe.domain.groups import ProtectedAttribute
from fairprobe.engines.groups import all_combinations
from fairprobe.schemas import columns
from fairprobe.schemas.endpoint import EndpointSchema
from fairprobe.schemas.limits import check_probe_budget, current_limits
from fairprobe.schemas.outputs import (
    OUTPUT_FIELDS,
    OutcomeSchema,
    RankingSchema,
    SegmentSchema,
    build_outputs,
    output_columns,
    per_person_frame,
)
from fairprobe.schemas.policy import PolicySchema, build_policy, check_rules_apply, default_rules
from fairprobe.schemas.scalar import Bounded, Scalar
from fairprobe.schemas.table import DELIMITERS, checked_frame, records_of
from fairprobe.schemas.windows import TimeSchema, time_windows

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
    delimiter = fields.String(validate=validate.OneOf(DELIMITERS), metadata={
        "description": "The CSV field separator; when left out, the one that splits the header row into the "
                       "most fields (a comma by default)."})
    arrow = fields.Raw(metadata={
        "type": "string", "description": "Arrow IPC bytes: only as the file part 'data' of POST /v1/audits/upload "
                                         "(media type application/vnd.apache.arrow.stream, or a .arrow file)."})
    parquet = fields.Raw(metadata={
        "type": "string", "description": "Parquet bytes: only as the file part 'data' of POST /v1/audits/upload "
                                         "(media type application/vnd.apache.parquet, or a .parquet file)."})


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


class ConditioningSchema(Schema):
    class Meta:
        unknown = RAISE

    attribute = fields.String(required=True, validate=validate.Length(min=1), metadata={
        "description": "A legitimate factor to hold fixed (a risk band, product eligibility)."})
    bins = fields.List(Bounded(), validate=validate.Length(min=1, max=50),
                       metadata={"description": "Bin edges for a numeric column: right-open bands."})


class CompareSchema(Schema):
    class Meta:
        unknown = RAISE

    prediction = fields.String(required=True, metadata={
        "description": "Column with the candidate model's decision (the same labels as the prediction)."})
    margin = Bounded(validate=validate.Range(min=0, min_inclusive=False), metadata={
        "description": "How much larger a gap the candidate may make than production; stated, the comparison's "
                       "findings count towards the verdict (default 0.02, as advice)."})


class ScanSchema(Schema):
    class Meta:
        unknown = RAISE

    max_depth = fields.Integer(strict=True, load_default=2, validate=validate.Range(1, 3), metadata={
        "description": "Conditions per subgroup (attribute = value), at least one on a protected attribute."})
    min_support = fields.Integer(strict=True, load_default=30, validate=validate.Range(min=1), metadata={
        "description": "The fewest people a subgroup (and its complement) must hold to be tested."})
    top = fields.Integer(strict=True, load_default=10, validate=validate.Range(1, 100), metadata={
        "description": "How many of the worst subgroups to report."})


class AuditRequestSchema(Schema):
    """A dataset audit: the data, the role of each column, the protected attributes and the policy."""

    class Meta:
        unknown = RAISE

    data = fields.Nested(DataSchema, required=True)
    label = fields.String(metadata={"description": "Column with the actual outcome (required unless the audit "
                                                   "measures a segment, an outcome or a ranking)."})
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
        "description": "The feature columns: sent to the model with an endpoint (default: all but label, "
                       "weight), examined by the proxies, missingness and subgroups sections (default: every "
                       "column that plays no other part)"})
    diagnostics = fields.List(fields.String(validate=validate.OneOf([s.value for s in SectionName])),
                              validate=validate.Length(max=len(SectionName)), metadata={
        "description": "The diagnostic sections to run (composition, missingness, amplification, conditional, "
                       "proxies, subgroups). Default: every section the inputs allow; [] runs none."})
    expected_shares = fields.Dict(
        keys=fields.String(), values=fields.Dict(keys=fields.String(), values=Bounded()), metadata={
            "description": "Per protected attribute, each value's expected share of the population (they add "
                           "up to 1): representation is tested against them."})
    conditioning = fields.List(fields.Nested(ConditioningSchema), validate=validate.Length(min=1, max=3), metadata={
        "description": "Legitimate factors: disparities are also measured within each stratum and pooled across "
                       "them (Mantel-Haenszel)."})
    scan = fields.Nested(ScanSchema, metadata={"description": "Options of the worst-subgroup scan."})
    proxy_sample = fields.Integer(strict=True, validate=validate.Range(1_000, 1_000_000), metadata={
        "description": "The most rows the adversarial proxy classifier is trained on (default 20000; a seeded "
                       "subsample above it)."})
    segment = fields.Nested(SegmentSchema, metadata={
        "description": "Segment assignment: shares by group, independence, representation, coverage; placement "
                       "in valuable segments is the favorable decision."})
    outcome = fields.Nested(OutcomeSchema, metadata={
        "description": "A continuous outcome (offer value, touchpoints, spend, click-through, score): means, "
                       "medians, ratios, standardized differences, distribution tests by group."})
    ranking = fields.Nested(RankingSchema, metadata={
        "description": "Recommendation lists as a long table (one row per person, position and item): diversity, "
                       "high-value exposure and coverage by group; provider exposure against a target."})
    compare = fields.Nested(CompareSchema, metadata={
        "description": "A candidate model's decisions on the same rows: every gap's change from production (the "
                       "prediction) with paired intervals, and non-inferiority (the comparison section)."})
    time = fields.Nested(TimeSchema, metadata={
        "description": "Audit every time window too: per-window findings, trends, and drift from a baseline "
                       "window (the windows section)."})
    missing_labels = fields.String(load_default="refuse", validate=validate.OneOf(["refuse", "exclude"]), metadata={
        "description": "'refuse' (default): a missing label is an error. 'exclude': rows without a label leave "
                       "the audit and are counted, by group, as label completeness."})

    @validates_schema
    def _roles(self, data: dict[str, Any], **_: Any) -> None:
        outputs = [f for f in OUTPUT_FIELDS if f in data]
        if "label" not in data and not outputs:
            raise ValidationError("give the label column (or audit a segment, an outcome or a ranking)", "label")
        if data.get("segment", {}).get("valuable"):
            for other in ("prediction", "score", "threshold", "endpoint"):
                if other in data:
                    raise ValidationError("placement in the valuable segments is this audit's decision; leave "
                                          "this out or leave out segment.valuable", other)
        if "ranking" in data:
            for other in ("count", "weight", "endpoint"):
                if other in data:
                    raise ValidationError("a ranking audit reads one row per person, position and item", other)
        if "endpoint" in data:
            for other in ("prediction", "score", "threshold", "count"):
                if other in data:
                    raise ValidationError("the endpoint gives the predictions; leave this out", other)
        elif "score" in data and "threshold" not in data and "prediction" not in data:
            raise ValidationError("a score column needs a threshold (or a prediction column) to make decisions",
                                  "threshold")
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
        frame = checked_frame(data["data"], "data", _columns_read(data))
        positive, negative = data["positive_label"], data.get("negative_label")
        if negative is not None and negative == positive:
            raise ValidationError("must differ from positive_label", "negative_label")
        favorable = data.get("favorable", positive)
        if favorable != positive and negative is not None and favorable != negative:
            raise ValidationError("must be positive_label or negative_label", "favorable")
        lists = None
        if "ranking" in data:
            describing = [(f"protected[{i}].attribute", p.name) for i, p in enumerate(data["protected"])]
            describing += [(f, data[f]) for f in ("label", "prediction", "score") if f in data]
            describing += [(f, c) for f, c in output_columns(data) if f.split(".")[0] != "ranking"]
            frame, lists = per_person_frame(frame, data, describing)
        frame, unlabelled = _split_unlabelled(frame, data)

        out: dict[str | Role, Any] = {}
        for i, attribute in enumerate(data["protected"]):
            series = columns.require_column(frame, attribute.name, f"protected[{i}].attribute")
            columns.check_protected(series, i, attribute.bins, attribute.reference,
                                    attribute.reference_rule == "named", limits.max_levels)
            out[attribute.name] = series
        labelled = "label" in data
        if labelled:
            out[LABEL] = columns.binary_column(
                columns.require_column(frame, data["label"], "label"), "label", positive, negative)
        if "score" in data:
            out[SCORE] = columns.score_column(columns.require_column(frame, data["score"], "score"), "score")
        predicted = True
        counts_given = None
        if "count" in data:
            counts_given = columns.nonnegative_column(
                columns.require_column(frame, data["count"], "count"), "count", strictly=False, integers=True)
        outputs = build_outputs(frame, data, counts_given, lists)
        spec = outputs.segment_spec
        placement = spec is not None and bool(spec.valuable)
        if spec is not None and placement:
            assert outputs.segment is not None
            if favorable != positive:
                raise ValidationError("placement in a valuable segment is the favorable decision", "favorable")
            valuable = [spec.levels.index(v) for v in spec.valuable]
            out[PREDICTION] = np.isin(outputs.segment, valuable)
        elif "prediction" in data:
            out[PREDICTION] = columns.binary_column(
                columns.require_column(frame, data["prediction"], "prediction"), "prediction", positive, negative)
        elif "threshold" in data:
            out[PREDICTION] = out[SCORE] >= data["threshold"]
        elif "endpoint" not in data:
            # a data-only audit: the labels are audited as they are (the table's prediction cells copy them);
            # an audit of outputs only (no label, no decision) keeps every person in one cell
            predicted = False
            out[PREDICTION] = out[LABEL] if labelled else np.zeros(len(frame), dtype=bool)
        if not labelled:  # the table's label cells copy the decisions (nothing label-based is reported)
            out[LABEL] = out[PREDICTION] if PREDICTION in out else np.zeros(len(frame), dtype=bool)
        features: tuple[dict[str, Any], ...] = ()
        if "endpoint" in data:
            features = _features(frame, data)
        if counts_given is not None:
            out[WEIGHT] = counts_given
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
        policy = build_policy(data.get("policy"), default_rules(labelled, predicted, outputs.kinds,
                                                                 "endpoint" in data), names)
        check_rules_apply(policy.rules, labelled=labelled, predicted=predicted or "endpoint" in data,
                          kinds=outputs.kinds)
        counts = "count" in data
        diagnostics = _diagnostics(data, frame, names, counts=counts, predicted=predicted, max_levels=limits.max_levels)
        extra, feature_names = _extra(frame, data, diagnostics, counts=counts)
        return AuditRequest(
            frame=pd.DataFrame(out, copy=False),
            kind=DataKind.COUNTS if counts else DataKind.ROWS,
            roles=ColumnRoles(
                label=data.get("label"), prediction=data.get("prediction"), score=data.get("score"),
                threshold=data.get("threshold"), weight=data.get("weight"), count=data.get("count"),
                positive_label=positive, favorable=favorable,
                favorable_given="favorable" in data or placement or not (predicted or labelled),
            ),
            protected=tuple(data["protected"]),
            intersections=tuple(intersections),
            policy=policy,
            seed=data["seed"],
            endpoint=data.get("endpoint"),
            features=features,
            predicted=predicted,
            labelled=labelled,
            outputs=outputs,
            extra=extra,
            feature_names=feature_names,
            unlabelled=unlabelled,
            diagnostics=diagnostics,
        )


def _split_unlabelled(frame: pd.DataFrame, data: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Under ``missing_labels: exclude``, the rows without a label leave the audit; their protected columns
    are kept to measure label completeness by group."""
    if data["missing_labels"] != "exclude" or data.get("label") not in frame.columns:
        return frame, None
    missing = frame[data["label"]].isna().to_numpy()
    if not missing.any():
        return frame, None
    if missing.all():
        raise ValidationError("no row has a label", "label")
    names = [p.name for p in data["protected"] if p.name in frame.columns]
    unlabelled = frame.loc[missing, names].reset_index(drop=True)
    return frame.loc[~missing].reset_index(drop=True), unlabelled


def _diagnostics(data: dict[str, Any], frame: pd.DataFrame, names: tuple[str, ...], *, counts: bool,
                 predicted: bool, max_levels: int) -> DiagnosticsRequest:
    """The diagnostic sections asked for, checked against what the data can feed."""
    sections = None
    if "diagnostics" in data:
        sections = tuple(SectionName(s) for s in data["diagnostics"])
        for i, section in enumerate(sections):
            if section in sections[:i]:
                raise ValidationError("each section may appear once", f"diagnostics[{i}]")
            if counts and section in NEEDS_ROWS:
                raise ValidationError(f"the {section.value} section needs one row per person (the features); a "
                                      "counts table cannot feed it", f"diagnostics[{i}]")
            if not predicted and section is SectionName.AMPLIFICATION:
                raise ValidationError("amplification compares the model's gap with the labels' gap: give a "
                                      "prediction, a score with a threshold, or an endpoint", f"diagnostics[{i}]")
            if section is SectionName.CONDITIONAL and "conditioning" not in data:
                raise ValidationError("the conditional section needs conditioning columns", f"diagnostics[{i}]")
            if section is SectionName.COMPARISON and "compare" not in data:
                raise ValidationError("the comparison section needs a candidate model ('compare')",
                                      f"diagnostics[{i}]")
            if section is SectionName.WINDOWS and "time" not in data:
                raise ValidationError("the windows section needs a time column ('time')", f"diagnostics[{i}]")
    shares = _expected_shares(data.get("expected_shares", {}), frame, names)
    conditioning = tuple(_conditioning(frame, data, i, c, max_levels)
                         for i, c in enumerate(data.get("conditioning", [])))
    scan = data.get("scan", {})
    return DiagnosticsRequest(
        sections=sections, expected_shares=shares, conditioning=conditioning,
        scan=ScanOptions(scan.get("max_depth", 2), scan.get("min_support", 30), scan.get("top", 10)),
        proxy_sample=data.get("proxy_sample", 20_000),
        time=time_windows(frame, data["time"]) if "time" in data else None,
        candidate=_candidate(frame, data) if "compare" in data else None,
    )


def _candidate(frame: pd.DataFrame, data: dict[str, Any]) -> CandidateModel:
    given = data["compare"]
    if "label" not in data or not ({"prediction", "threshold"} & set(data)):
        raise ValidationError("comparing models needs the label and production's decisions (prediction, or score "
                              "with threshold)", "compare")
    if "count" in data:
        raise ValidationError("comparing models pairs them person by person: one row per person", "compare")
    decisions = columns.binary_column(columns.require_column(frame, given["prediction"], "compare.prediction"),
                                      "compare.prediction", data["positive_label"], data.get("negative_label"))
    return CandidateModel(given["prediction"], decisions, float(given.get("margin", 0.02)), "margin" in given)


def _expected_shares(given: dict[str, dict[str, float]], frame: pd.DataFrame,
                     names: tuple[str, ...]) -> dict[str, dict[Any, float]]:
    """Each attribute's expected shares keyed by the column's own values (JSON keys are text: matched as text)."""
    out: dict[str, dict[Any, float]] = {}
    for attribute, shares in given.items():
        field = f"expected_shares.{attribute}"
        if attribute not in names:
            raise ValidationError("expected shares are given for protected attributes only", field)
        if not shares or any(not 0 < v <= 1 for v in shares.values()):
            raise ValidationError("every share must lie in (0, 1]", field)
        if abs(sum(shares.values()) - 1) > 1e-6:
            raise ValidationError(f"the shares add up to {sum(shares.values()):.6g}, not 1", field)
        observed = {str(v): v for v in pd.unique(frame[attribute])}
        unlisted = [v for k, v in observed.items() if k not in shares]
        if unlisted:
            raise ValidationError(f"values that occur in the data have no expected share: {unlisted[:5]!r}", field)
        out[attribute] = {observed.get(k, k): float(v) for k, v in shares.items()}
    return out


def _conditioning(frame: pd.DataFrame, data: dict[str, Any], i: int, given: dict[str, Any],
                  max_levels: int) -> ConditioningColumn:
    field = f"conditioning[{i}]"
    name = given["attribute"]
    taken = {column for _, column in _role_columns(data)}
    if name in taken:
        raise ValidationError(f"column {name!r} already plays another part; a legitimate factor must be a "
                              "column of its own", f"{field}.attribute")
    if any(c["attribute"] == name for c in data["conditioning"][:i]):
        raise ValidationError("each column may appear once", f"{field}.attribute")
    series = columns.require_column(frame, name, f"{field}.attribute")
    bins = tuple(given["bins"]) if given.get("bins") else None
    columns.check_protected(series, i, bins, None, False, max_levels, field=field)
    return ConditioningColumn(name, bins)


def _extra(frame: pd.DataFrame, data: dict[str, Any], diagnostics: DiagnosticsRequest, *,
           counts: bool) -> tuple[pd.DataFrame | None, tuple[str, ...]]:
    """The feature and conditioning columns the diagnostics read, as given (missing values allowed)."""
    taken = {column for _, column in _role_columns(data)}
    if counts:
        names: list[str] = []
    elif "features" in data:
        names = [c for c in data["features"] if c not in taken]
        for i, name in enumerate(data["features"]):
            series = columns.require_column(frame, name, f"features[{i}]")
            # a model may be sent a constant column; a diagnostic cannot learn anything from one
            if "endpoint" not in data and series.nunique(dropna=False) <= 1:
                raise ValidationError(f"column {name!r} holds a single value: no diagnostic can use it",
                                      f"features[{i}]")
    else:
        names = [str(c) for c in frame.columns if c not in taken]
    strata = [c.name for c in diagnostics.conditioning]
    names = [c for c in names if c not in strata]
    keep = names + strata
    if not keep:
        return None, ()
    return frame[keep].reset_index(drop=True), tuple(names)


ROLE_FIELDS = ("label", "prediction", "score", "weight", "count")


def _role_columns(data: dict[str, Any]) -> list[tuple[str, str]]:
    """(field, column) of every column the request gives a part: protected, roles, outputs, time, candidate."""
    roles = [(f"protected[{i}].attribute", p.name) for i, p in enumerate(data.get("protected", []))]
    roles += [(field, data[field]) for field in ROLE_FIELDS if field in data]
    roles += output_columns(data)
    if "time" in data:
        roles.append(("time.column", data["time"]["column"]))
    if "compare" in data:
        roles.append(("compare.prediction", data["compare"]["prediction"]))
    return roles


#: the sections that read the feature columns (every column without a part, unless ``features`` names them)
READ_FEATURES = frozenset({SectionName.MISSINGNESS, SectionName.PROXIES, SectionName.SUBGROUPS})


def _columns_read(data: dict[str, Any]) -> list[str] | None:
    """The only columns the audit reads, so a file's others are never parsed; None: every column (the default
    diagnostics read every column without a part as a feature, and a model is sent them)."""
    if "endpoint" in data and not data.get("features"):
        return None
    sections = {SectionName(s) for s in data["diagnostics"]} if "diagnostics" in data else None
    if "features" not in data and (sections is None or sections & READ_FEATURES):
        return None
    named = [column for _, column in _role_columns(data)] + list(data.get("features", []))
    named += [c["attribute"] for c in data.get("conditioning", [])]
    return list(dict.fromkeys(named))


def _check_distinct_roles(data: dict[str, Any]) -> None:
    """One column plays one part: a prediction that is the label column, or a protected attribute that is
    the label, would audit a tautology and pass it. Both fields are named."""
    seen: dict[str, str] = {}
    for field, column in _role_columns(data):
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
