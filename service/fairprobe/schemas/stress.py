"""``POST /v1/stress`` and ``POST /v1/stress/discrimination``: generators, target groups, budgets."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validate, validates_schema

from fairprobe.domain.policy import Bound, Policy, Rule
from fairprobe.domain.slots import slot_names
from fairprobe.domain.stress import (
    Condition,
    DiscriminationRequest,
    EdgeFamily,
    FieldSpec,
    FieldType,
    Generator,
    StressRequest,
    TargetGroup,
    TruthRule,
)
from fairprobe.endpoints.formats import carried_fields
from fairprobe.engines.discrimination import CAUSAL_RATE
from fairprobe.engines.stress import OPERATORS
from fairprobe.engines.synthesis import condition_mask, is_numeric
from fairprobe.namebanks import BANKS, load_banks
from fairprobe.schemas.audit import DataSchema
from fairprobe.schemas.endpoint import EndpointSchema
from fairprobe.schemas.limits import check_probe_budget, current_limits
from fairprobe.schemas.policy import SearchPolicySchema, StressPolicySchema, build_policy
from fairprobe.schemas.scalar import MAX_MAGNITUDE, Bounded, Scalar
from fairprobe.schemas.table import checked_frame

__all__ = ["DEFAULT_STRESS_RULES", "DiscriminationRequestSchema", "StressRequestSchema"]

DEFAULT_STRESS_RULES: tuple[Rule, ...] = (
    Rule("disparate_impact", Bound.MIN, 0.8),
    Rule("positive_rate_difference", Bound.MAX_ABS, 0.1),
)
#: a search's default: at most 1% of profiles change decision with their protected values (as for flips)
DEFAULT_SEARCH_RULES: tuple[Rule, ...] = (Rule(CAUSAL_RATE, Bound.MAX, 0.01),)
NUMERIC = (FieldType.NUMBER, FieldType.INTEGER)


class CategorySchema(Schema):
    class Meta:
        unknown = RAISE

    value = Scalar(required=True)
    weight = Bounded(load_default=1.0, validate=validate.Range(min=0))


class FieldSpecSchema(Schema):
    class Meta:
        unknown = RAISE

    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    type = fields.Enum(FieldType, by_value=True, required=True)
    min = Bounded()
    max = Bounded()
    distribution = fields.String(load_default="uniform", validate=validate.OneOf(["uniform", "normal", "lognormal"]))
    mean = Bounded()
    sd = Bounded(validate=validate.Range(min=0, min_inclusive=False))
    categories = fields.List(fields.Nested(CategorySchema), validate=validate.Length(max=1000))
    start = fields.String(metadata={"description": "date fields: first day, ISO 8601"})
    end = fields.String(metadata={"description": "date fields: last day, ISO 8601"})
    template = fields.String(validate=validate.Length(min=1, max=10_000),
                             metadata={"description": "text fields: a template with {field} slots"})
    name_part = fields.String(load_default="full", validate=validate.OneOf(["first", "last", "full"]))
    bank = fields.String(load_default="tzioumis-census-2010", validate=validate.OneOf(BANKS), metadata={
        "description": "name fields: names come from the bank group matching the profile's protected values"})
    protected = fields.Boolean(load_default=False)
    optional = fields.Boolean(load_default=False, metadata={"description": "may be missing (an edge-case family)"})

    @validates_schema
    def _check(self, data: dict[str, Any], **_: Any) -> None:
        kind = data.get("type")
        if kind in NUMERIC:
            if "min" not in data or "max" not in data:
                raise ValidationError("a numeric field needs min and max", "min")
            if data["min"] >= data["max"]:
                raise ValidationError("must be below max", "min")
            if data["distribution"] != "uniform" and ("mean" not in data or "sd" not in data):
                raise ValidationError(f"a {data['distribution']} field needs mean and sd", "distribution")
        if kind is FieldType.CATEGORY:
            cats = data.get("categories") or []
            if not cats:
                raise ValidationError("a category field needs at least one category", "categories")
            if sum(c["weight"] for c in cats) <= 0:
                raise ValidationError("the weights add up to zero", "categories")
            if len({str(c["value"]) for c in cats}) != len(cats):
                raise ValidationError("categories must be distinct", "categories")
        if kind is FieldType.DATE:
            try:
                start, end = dt.date.fromisoformat(data.get("start", "")), dt.date.fromisoformat(data.get("end", ""))
            except ValueError as exc:
                raise ValidationError("a date field needs start and end as YYYY-MM-DD", "start") from exc
            if start > end:
                raise ValidationError("must not be after end", "start")
        if kind is FieldType.TEXT and "template" not in data:
            raise ValidationError("a text field needs a template", "template")

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> FieldSpec:
        cats = data.get("categories") or []
        bank = load_banks()[data["bank"]]
        return FieldSpec(
            name=data["name"], type=data["type"], low=data.get("min"), high=data.get("max"),
            distribution=data["distribution"], mean=data.get("mean"), sd=data.get("sd"),
            categories=tuple(c["value"] for c in cats), weights=tuple(c["weight"] for c in cats),
            start=data.get("start"), end=data.get("end"), template=data.get("template"),
            name_part=data["name_part"], names=bank.groups if data["type"] is FieldType.NAME else (),
            protected=data["protected"], optional=data["optional"])


class TruthConditionSchema(Schema):
    class Meta:
        unknown = RAISE

    field = fields.String(required=True)
    op = fields.String(required=True, validate=validate.OneOf(sorted(OPERATORS)))
    value = Scalar(required=True)


class SchemaGeneratorSchema(Schema):
    class Meta:
        unknown = RAISE

    fields_ = fields.List(fields.Nested(FieldSpecSchema), data_key="fields", required=True,
                          validate=validate.Length(min=1, max=500))
    truth = fields.List(fields.Nested(TruthConditionSchema), validate=validate.Length(min=1, max=50), metadata={
        "description": "Ground truth: the label is positive when every condition holds (enables error rates)"})


class ReferenceGeneratorSchema(Schema):
    class Meta:
        unknown = RAISE

    data = fields.Nested(DataSchema, required=True)
    protected = fields.List(fields.String(), required=True, validate=validate.Length(min=1, max=10))
    fields_ = fields.List(fields.String(), data_key="fields", validate=validate.Length(min=1, max=500),
                          metadata={"description": "Columns sent to the model (default: every column)"})
    name_fields = fields.List(fields.String(), load_default=list)
    count = fields.String(metadata={"description": "A counts table: the column with each row's number of people"})
    min_group_rows = fields.Integer(strict=True, load_default=30, validate=validate.Range(min=1), metadata={
        "description": "Groups with fewer reference rows borrow the pooled marginals"})


class GeneratorSchema(Schema):
    """Exactly one of ``schema`` (declared fields) or ``reference`` (a dataset to fit)."""

    class Meta:
        unknown = RAISE

    schema = fields.Nested(SchemaGeneratorSchema)
    reference = fields.Nested(ReferenceGeneratorSchema)

    @validates_schema
    def _one(self, data: dict[str, Any], **_: Any) -> None:
        if ("schema" in data) == ("reference" in data):
            raise ValidationError("give exactly one of schema or reference", "schema")

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> Generator:
        if "schema" in data:
            specs = data["schema"]["fields_"]
            names = [f.name for f in specs]
            if len(set(names)) != len(names):
                raise ValidationError("field names must be unique", "schema.fields")
            for i, spec in enumerate(specs):
                slots = slot_names(spec.template or "") if spec.type is FieldType.TEXT else set()
                unknown = sorted(slots - set(names))
                if unknown:
                    raise ValidationError(f"template slots {unknown} are not fields", f"schema.fields[{i}].template")
            truth = data["schema"].get("truth")
            for i, c in enumerate(truth or []):
                if c["field"] not in names:
                    raise ValidationError(f"no field {c['field']!r}", f"schema.truth[{i}].field")
            rule = TruthRule(tuple((c["field"], c["op"], c["value"]) for c in truth)) if truth else None
            return Generator(kind="schema", fields=tuple(specs), truth=rule)
        ref = data["reference"]
        frame = checked_frame(ref["data"], "reference.data")
        wanted = ref.get("fields_") or [c for c in frame.columns if c != ref.get("count")]
        for key, names in (("fields", wanted), ("protected", ref["protected"]), ("name_fields", ref["name_fields"])):
            missing = [c for c in names if c not in frame.columns]
            if missing:
                raise ValidationError(f"no columns {missing} in the reference data", f"reference.{key}")
        missing = [c for c in ref["protected"] if c not in wanted]
        if missing:
            raise ValidationError(f"protected columns {missing} must be among the fields", "reference.protected")
        if "count" in ref:
            if ref["count"] not in frame.columns:
                raise ValidationError("no such column", "reference.count")
            counts = pd.to_numeric(frame[ref["count"]], errors="coerce")
            if counts.isna().any() or (counts < 0).any() or (counts % 1 != 0).any():
                raise ValidationError("counts must be whole numbers >= 0", "reference.count")
            if counts.sum() > current_limits().max_rows:
                raise ValidationError("the counts add up to more rows than this service accepts", "reference.count")
            frame = frame.loc[np.repeat(frame.index.to_numpy(), counts.astype(int).to_numpy())]
        frame = frame[wanted].reset_index(drop=True)
        if len(frame) < 2:
            raise ValidationError("needs at least two rows to fit", "reference.data")
        return Generator(kind="reference", reference=frame, protected=tuple(ref["protected"]),
                         name_fields=tuple(ref["name_fields"]), min_group_rows=ref["min_group_rows"])


def _condition(raw: Any, where: str) -> Condition:
    if isinstance(raw, dict):
        extra = set(raw) - {"min", "max"}
        if extra or not raw:
            raise ValidationError("a range is {'min': x, 'max': y} (either may be left out)", where)
        low, high = raw.get("min"), raw.get("max")
        for bound in (low, high):
            if bound is not None and (not isinstance(bound, int | float) or isinstance(bound, bool)
                                      or not abs(bound) <= MAX_MAGNITUDE):
                raise ValidationError(f"range bounds must be numbers between -{MAX_MAGNITUDE:g} and "
                                      f"{MAX_MAGNITUDE:g}", where)
        if low is not None and high is not None and low >= high:
            raise ValidationError("an impossible range: min must be below max", where)
        return Condition(low=low, high=high)
    try:
        value = Scalar().deserialize(raw)
    except ValidationError as exc:
        raise ValidationError(f"give one value or a range; {exc.messages[0]}", where) from exc
    return Condition(value=value)


def _check_condition(generator: Generator, field: str, condition: Condition, where: str) -> None:
    if generator.kind == "schema":
        spec = next((f for f in generator.fields if f.name == field), None)
        if spec is None:
            raise ValidationError(f"no field {field!r} in the generator", where)
        if condition.is_range:
            if spec.type not in NUMERIC:
                raise ValidationError(f"{field} is not numeric; give a value", where)
            low = max(x for x in (spec.low, condition.low) if x is not None)
            high = min(x for x in (spec.high, condition.high) if x is not None)
            if low >= high:
                raise ValidationError(f"an impossible range: {field} lies in [{spec.low:g}, {spec.high:g}]", where)
        elif spec.type is FieldType.CATEGORY and condition.value not in spec.categories:
            raise ValidationError(f"{condition.value!r} is not a category of {field}", where)
        return
    frame = generator.reference
    assert frame is not None
    if field not in frame.columns:
        raise ValidationError(f"no column {field!r} in the reference data", where)
    if condition.is_range and not is_numeric(frame[field]):
        raise ValidationError(f"{field} is not numeric; give a value", where)
    if not condition_mask(frame[field], condition).any():
        problem = (f"an impossible range: no reference row has {field} in it" if condition.is_range
                   else f"no reference row has {field} = {condition.value!r}")
        raise ValidationError(problem, where)


class TargetGroupSchema(Schema):
    class Meta:
        unknown = RAISE

    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    where = fields.Dict(keys=fields.String(), values=fields.Raw(), required=True,
                        validate=validate.Length(min=1, max=10), metadata={
        "description": "Field -> value, or field -> {'min', 'max'} (right-open); e.g. "
                       "{'age': {'min': 65}, 'sex': 'female'}"})


def _groups(data: dict[str, Any], generator: Generator) -> tuple[TargetGroup, ...]:
    groups = []
    for i, raw in enumerate(data["groups"]):
        where = {f: _condition(v, f"groups[{i}].where.{f}") for f, v in raw["where"].items()}
        for f, c in where.items():
            _check_condition(generator, f, c, f"groups[{i}].where.{f}")
        groups.append(TargetGroup(raw["name"], where))
    if len({g.name for g in groups}) != len(groups):
        raise ValidationError("group names must be unique", "groups")
    if data["reference"] not in {g.name for g in groups}:
        raise ValidationError("must name one of the groups", "reference")
    return tuple(groups)


class StressRequestSchema(Schema):
    """Oversample target groups with synthetic profiles, score them, and compare with the reference group."""

    class Meta:
        unknown = RAISE

    endpoint = fields.Nested(EndpointSchema, required=True)
    generator = fields.Nested(GeneratorSchema, required=True)
    groups = fields.List(fields.Nested(TargetGroupSchema), required=True, validate=validate.Length(min=2, max=50))
    reference = fields.String(required=True, metadata={"description": "The group the others are compared with"})
    profiles_per_group = fields.Integer(strict=True, load_default=200, validate=validate.Range(1, 100_000))
    edge_cases = fields.List(fields.Enum(EdgeFamily, by_value=True), load_default=lambda: list(EdgeFamily))
    edge_profiles_per_group = fields.Integer(strict=True, load_default=20, validate=validate.Range(1, 10_000))
    policy = fields.Nested(StressPolicySchema, metadata={
        "description": "Default: disparate_impact min 0.8, positive_rate_difference max_abs 0.1"})
    seed = fields.Integer(strict=True, load_default=0, validate=validate.Range(0, 2**32 - 1))

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> StressRequest:
        generator: Generator = data["generator"]
        groups = _groups(data, generator)
        families = tuple(dict.fromkeys(data["edge_cases"]))
        probes = len(groups) * (data["profiles_per_group"] + len(families) * data["edge_profiles_per_group"])
        check_probe_budget(probes, "profiles_per_group")
        attributes = {a for g in groups for a in g.where}
        return StressRequest(
            endpoint=data["endpoint"], generator=generator, groups=groups, reference=data["reference"],
            profiles_per_group=data["profiles_per_group"], edge_cases=families,
            edge_profiles_per_group=data["edge_profiles_per_group"],
            policy=build_policy(data.get("policy"), DEFAULT_STRESS_RULES, attributes), seed=data["seed"])


class DiscriminationRequestSchema(Schema):
    """Search for profiles whose decision changes when only their protected attributes change."""

    class Meta:
        unknown = RAISE

    endpoint = fields.Nested(EndpointSchema, required=True)
    generator = fields.Nested(GeneratorSchema, required=True)
    protected = fields.Dict(keys=fields.String(), values=fields.List(Scalar(), validate=validate.Length(min=2, max=50)),
                            metadata={"description": "Field -> the values to vary it over (default: the "
                                                     "generator's protected fields and their categories)"})
    methods = fields.List(fields.String(validate=validate.OneOf(["causal", "directed"])), load_default=["causal"],
                          validate=validate.Length(min=1, max=2))
    precision = fields.Float(load_default=0.01, validate=validate.Range(0, 0.5, min_inclusive=False), metadata={
        "description": "causal: stop when the rate's interval half-width is at most this"})
    max_probes = fields.Integer(strict=True, load_default=10_000, validate=validate.Range(min=1), metadata={
        "description": "Probe budget of each search (directed: also of its random-sampling baseline)"})
    batch_profiles = fields.Integer(strict=True, load_default=50, validate=validate.Range(1, 1000))
    directed_global_share = fields.Float(load_default=0.2, validate=validate.Range(0, 1, min_inclusive=False,
                                                                                   max_inclusive=False))
    examples = fields.Integer(strict=True, load_default=5, validate=validate.Range(0, 50))
    alpha = fields.Float(validate=validate.Range(0, 1, min_inclusive=False, max_inclusive=False), metadata={
        "description": "Deprecated spelling of policy.alpha (intervals of the rates)"})
    policy = fields.Nested(SearchPolicySchema, metadata={
        "description": "Default: causal_discrimination_rate max 0.01"})
    seed = fields.Integer(strict=True, load_default=0, validate=validate.Range(0, 2**32 - 1))

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> DiscriminationRequest:
        generator: Generator = data["generator"]
        values = data.get("protected") or {name: None for name in generator.protected_fields}
        if not values:
            raise ValidationError("name the protected fields to vary (none is marked in the generator)", "protected")
        resolved = {}
        known = ({f.name for f in generator.fields} if generator.kind == "schema"
                 else set(generator.reference.columns) if generator.reference is not None else set())
        for name, given in values.items():
            if name not in known:
                raise ValidationError(f"no field {name!r} in the generator", f"protected.{name}")
            resolved[name] = tuple(given) if given else _categories(generator, name)
        sent, decided_by = carried_fields(data["endpoint"].format, data["endpoint"].options, sorted(known))
        if not set(resolved) & sent:
            raise ValidationError(f"none of the varied fields {sorted(resolved)} is sent to the model, so every "
                                  "variant of a profile would get the same request", decided_by)
        combos = int(np.prod([len(v) for v in resolved.values()]))
        limits = current_limits()
        budget = data["max_probes"] * (3 if "directed" in data["methods"] else 1)
        if budget > limits.max_probes:
            raise ValidationError(f"the searches would send up to {budget} probes; this service allows "
                                  f"{limits.max_probes}", "max_probes")
        if data["max_probes"] < combos:
            raise ValidationError(f"one profile needs {combos} probes (every protected combination)", "max_probes")
        return DiscriminationRequest(
            endpoint=data["endpoint"], generator=generator, protected_values=resolved,
            methods=tuple(dict.fromkeys(data["methods"])), precision=data["precision"],
            max_probes=data["max_probes"], batch_profiles=data["batch_profiles"],
            directed_global_share=data["directed_global_share"], examples=data["examples"],
            policy=_search_policy(data), seed=data["seed"])


def _search_policy(data: dict[str, Any]) -> Policy:
    given = dict(data.get("policy") or {})
    if "alpha" in data:
        if "alpha" in given and given["alpha"] != data["alpha"]:
            raise ValidationError("differs from policy.alpha; give one", "alpha")
        given["alpha"] = data["alpha"]
    policy = build_policy(given or None, DEFAULT_SEARCH_RULES, list(data.get("protected") or []))
    return replace(policy, source="request" if "policy" in data else "default")


def _categories(generator: Generator, name: str) -> tuple[Any, ...]:
    where = f"protected.{name}"
    if generator.kind == "schema":
        spec = next((f for f in generator.fields if f.name == name), None)
        if spec is None:
            raise ValidationError(f"no field {name!r} in the generator", where)
        if spec.type is not FieldType.CATEGORY:
            raise ValidationError("a non-categorical field needs its values listed", where)
        return spec.categories
    frame = generator.reference
    assert frame is not None
    if name not in frame.columns:
        raise ValidationError(f"no column {name!r} in the reference data", where)
    present = frame[name].dropna().unique().tolist()
    if len(present) > 20 or len(present) < 2:
        raise ValidationError(f"has {len(present)} values; list the ones to vary", where)
    return tuple(sorted(present, key=str))
