"""``POST /v1/probes/name-swap`` and ``POST /v1/probes/flip``: the requests and what they become."""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validate, validates_schema

from fairprobe.domain.endpoint import EndpointSpec
from fairprobe.domain.names import Name, NameBank, NameGroup
from fairprobe.domain.policy import Bound, Rule
from fairprobe.domain.probes import AttributeFlip, FlipRequest, NameSlots, NameSwapRequest, Profiles
from fairprobe.endpoints.formats import carried_fields
from fairprobe.engines.counterfactual import FLIP_RATE, MEAN_SCORE_DIFFERENCE, NAME_SLOTS
from fairprobe.namebanks import BANKS, load_banks
from fairprobe.schemas.audit import DataSchema
from fairprobe.schemas.endpoint import EndpointSchema, slots_used
from fairprobe.schemas.limits import check_probe_budget
from fairprobe.schemas.policy import ProbePolicySchema, build_policy
from fairprobe.schemas.scalar import Scalar
from fairprobe.schemas.table import checked_frame, records_of

__all__ = ["DEFAULT_PROBE_RULES", "FlipRequestSchema", "NameSwapRequestSchema", "carried", "profiles_from"]

CUSTOM = "custom"
#: applied when a probe request brings no policy (the issue's example: 1% flips, a 0.02 mean score gap)
DEFAULT_PROBE_RULES: tuple[Rule, ...] = (
    Rule(FLIP_RATE, Bound.MAX, 0.01),
    Rule(MEAN_SCORE_DIFFERENCE, Bound.MAX_ABS, 0.02),
)
MAX_VALUES = 20


def profiles_from(data: dict[str, Any], id_field: str | None, field: str = "profiles") -> Profiles:
    """Rows of the request's data as records; the id field is kept aside and never sent to the model."""
    frame = checked_frame(data, field)
    if id_field is not None:
        if id_field not in frame:
            raise ValidationError(f"no column {id_field!r} in {field}", "id_field")
        ids = frame[id_field].astype(str)
        if ids.duplicated().any():
            raise ValidationError("profile ids must be unique", "id_field")
        frame = frame.drop(columns=[id_field])
        id_list = tuple(ids)
    else:
        id_list = tuple(str(i) for i in range(len(frame)))
    return Profiles(ids=id_list, records=records_of(frame))


def _require_fields(profiles: Profiles, names: list[tuple[str, str]]) -> None:
    present = set(profiles.records[0]) if profiles.records else set()
    for field, where in names:
        if field not in present:
            raise ValidationError(f"the profiles have no field {field!r}", where)


def carried(endpoint: EndpointSpec, fields_: list[str]) -> tuple[set[str], str]:
    """Which of ``fields_`` reach the model through the endpoint's format, and the option that decides it."""
    return carried_fields(endpoint.format, endpoint.options, fields_)


def _check_names_reach_the_model(endpoint: EndpointSpec, profiles: Profiles, slots: NameSlots) -> None:
    """Refuse a name swap whose requests would be identical for every group: no name reaches the model.

    A name reaches the model through a carried first/last/full-name field, or a carried text field whose
    value has a ``{first_name}``-style slot. Every profile must carry one, or its answers could not differ.
    """
    present = list(profiles.records[0]) if profiles.records else []
    sent, decided_by = carried(endpoint, present)
    name_fields = {f for f in (slots.first_name, slots.last_name, slots.full_name) if f} & sent
    text_fields = [f for f in slots.text_fields if f in sent]
    if name_fields:
        return
    if not text_fields:
        named = sorted({f for f in (slots.first_name, slots.last_name, slots.full_name) if f} | set(slots.text_fields))
        raise ValidationError(f"none of the name fields {named} is sent to the model, so every group would get "
                              "the same request; send them (or a {first_name} slot)", decided_by)
    blind = [profiles.ids[i] for i, r in enumerate(profiles.records)
             if not any(NAME_SLOTS.search(str(r.get(f) or "")) for f in text_fields)]
    if blind:
        raise ValidationError(f"{len(blind)} profiles have no {{first_name}}, {{last_name}} or {{full_name}} slot "
                              f"in the text fields {text_fields} sent to the model (first: profile "
                              f"{blind[0]!r}), so their requests would not change with the name", "profiles")


def _check_endpoint_slots(endpoint: EndpointSpec, profiles: Profiles) -> None:
    present = set(profiles.records[0]) if profiles.records else set()
    missing = sorted(slots_used(endpoint) - present)
    if missing:
        raise ValidationError(f"slots {missing} are not profile fields", "endpoint")
    for field in endpoint.options.fields or ():
        if field not in present:
            raise ValidationError(f"the profiles have no field {field!r}", "endpoint.fields")


class NameFieldsSchema(Schema):
    class Meta:
        unknown = RAISE

    first_name = fields.String(metadata={"description": "Profile field holding the first name"})
    last_name = fields.String(metadata={"description": "Profile field holding the last name"})
    full_name = fields.String(metadata={"description": "Profile field holding 'First Last'"})
    text_fields = fields.List(fields.String(), load_default=list, metadata={
        "description": "Text fields whose {first_name}, {last_name} and {full_name} slots are filled"})

    @validates_schema
    def _some(self, data: dict[str, Any], **_: Any) -> None:
        if not any(data.get(k) for k in ("first_name", "last_name", "full_name", "text_fields")):
            raise ValidationError("name at least one field or text field where the name goes", "first_name")


class CustomGroupSchema(Schema):
    class Meta:
        unknown = RAISE

    id = fields.String(required=True, validate=validate.Length(min=1, max=100))
    attributes = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict,
                             metadata={"description": "e.g. {'race': 'black', 'sex': 'female'}; default {'group': id}"})
    first_names = fields.List(fields.String(validate=validate.Length(min=1, max=100)), required=True,
                              validate=validate.Length(min=1, max=10_000))
    last_names = fields.List(fields.String(validate=validate.Length(min=1, max=100)), load_default=list,
                             validate=validate.Length(max=10_000))

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> NameGroup:
        return NameGroup(
            id=data["id"], attributes=data["attributes"] or {"group": data["id"]},
            first_names=tuple(Name(n, None, None) for n in data["first_names"]),
            last_names=tuple(Name(n, None, None) for n in data["last_names"]),
        )


def _custom_bank(groups: list[NameGroup]) -> NameBank:
    seen: dict[str, str] = {}
    keys = [tuple(sorted(g.attributes)) for g in groups]
    if len(set(keys)) > 1:
        raise ValidationError("every group must name the same attributes", "custom_groups")
    for i, group in enumerate(groups):
        for name in (*group.first_names, *group.last_names):
            other = seen.setdefault(name.name.casefold(), group.id)
            if other != group.id:
                raise ValidationError(f"{name.name!r} is in groups {other!r} and {group.id!r}; a name may "
                                      "belong to one group only", f"custom_groups[{i}]")
    if len({g.id for g in groups}) != len(groups):
        raise ValidationError("group ids must be unique", "custom_groups")
    return NameBank(id=CUSTOM, title="names brought by the request", groups=tuple(groups), thresholds={},
                    sources=("the request",), licence="the caller's")


class NameSwapRequestSchema(Schema):
    """Send each profile with only its name changed to names of each group; compare with the reference."""

    class Meta:
        unknown = RAISE

    endpoint = fields.Nested(EndpointSchema, required=True)
    profiles = fields.Nested(DataSchema, required=True)
    id_field = fields.String(metadata={
        "description": "Profile id column (never sent to the model); default the row number"})
    name_fields = fields.Nested(NameFieldsSchema, required=True)
    bank = fields.String(load_default="bertrand-mullainathan-2004", validate=validate.OneOf([*BANKS, CUSTOM]))
    custom_groups = fields.List(fields.Nested(CustomGroupSchema), validate=validate.Length(min=2, max=50),
                                metadata={"description": "With bank 'custom': your own name lists"})
    groups = fields.List(fields.String(), validate=validate.Length(min=2, max=50),
                         metadata={"description": "Group ids to compare (default: every group of the bank)"})
    reference = fields.String(required=True, metadata={"description": "The group every other is compared with"})
    names_per_group = fields.Integer(strict=True, load_default=5, validate=validate.Range(1, 100))
    policy = fields.Nested(ProbePolicySchema, metadata={
        "description": "Default: flip_rate max 0.01, mean_score_difference max_abs 0.02"})
    seed = fields.Integer(strict=True, load_default=0, validate=validate.Range(0, 2**32 - 1))
    worst = fields.Integer(strict=True, load_default=5, validate=validate.Range(0, 100),
                           metadata={"description": "How many profiles (by id) with the largest gaps to list"})

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> NameSwapRequest:
        if data["bank"] == CUSTOM:
            if "custom_groups" not in data:
                raise ValidationError("bank 'custom' needs custom_groups", "custom_groups")
            bank = _custom_bank(data["custom_groups"])
        else:
            if "custom_groups" in data:
                raise ValidationError("custom_groups need bank 'custom'", "bank")
            bank = load_banks()[data["bank"]]
        ids = data.get("groups") or [g.id for g in bank.groups]
        for i, gid in enumerate(ids):
            if bank.group(gid) is None:
                raise ValidationError(f"bank {bank.id!r} has no group {gid!r}; it has "
                                      f"{[g.id for g in bank.groups]}", f"groups[{i}]")
        if len(set(ids)) != len(ids):
            raise ValidationError("each group may appear once", "groups")
        if data["reference"] not in ids:
            raise ValidationError(f"must be one of the compared groups {ids}", "reference")
        groups = tuple(g for gid in ids if (g := bank.group(gid)) is not None)
        k = data["names_per_group"]
        smallest = min(groups, key=lambda g: len(g.first_names))
        if k > len(smallest.first_names):
            raise ValidationError(f"group {smallest.id!r} has only {len(smallest.first_names)} first names",
                                  "names_per_group")
        profiles = profiles_from(data["profiles"], data.get("id_field"))
        slots = data["name_fields"]
        _require_fields(profiles, [(slots[k_], f"name_fields.{k_}") for k_ in ("first_name", "last_name", "full_name")
                                   if slots.get(k_)]
                        + [(f, f"name_fields.text_fields[{i}]") for i, f in enumerate(slots["text_fields"])])
        _check_endpoint_slots(data["endpoint"], profiles)
        name_slots = NameSlots(first_name=slots.get("first_name"), last_name=slots.get("last_name"),
                               full_name=slots.get("full_name"), text_fields=tuple(slots["text_fields"]))
        _check_names_reach_the_model(data["endpoint"], profiles, name_slots)
        check_probe_budget(len(profiles.records) * len(groups) * k, "names_per_group")
        attributes = {a for g in groups for a in g.attributes}
        return NameSwapRequest(
            endpoint=data["endpoint"], profiles=profiles,
            slots=name_slots,
            bank=bank.id, groups=groups, reference=data["reference"], names_per_group=k,
            policy=build_policy(data.get("policy"), DEFAULT_PROBE_RULES, attributes),
            seed=data["seed"], worst=data["worst"],
        )


class FlipSchema(Schema):
    class Meta:
        unknown = RAISE

    attribute = fields.String(required=True, validate=validate.Length(min=1))
    values = fields.List(Scalar(), validate=validate.Length(min=2, max=MAX_VALUES), metadata={
        "description": "Values to flip among (default: every value in the profiles)"})
    proxies = fields.Dict(keys=fields.String(), values=fields.Dict(keys=fields.String(), values=Scalar()),
                          load_default=dict, metadata={
        "description": "Proxy field -> {attribute value: proxy value}; proxies change with the attribute"})


class FlipRequestSchema(Schema):
    """Send each profile as it is and with a protected attribute (and its proxies) flipped; compare."""

    class Meta:
        unknown = RAISE

    endpoint = fields.Nested(EndpointSchema, required=True)
    profiles = fields.Nested(DataSchema, required=True)
    id_field = fields.String()
    flips = fields.List(fields.Nested(FlipSchema), required=True, validate=validate.Length(min=1, max=8))
    policy = fields.Nested(ProbePolicySchema, metadata={
        "description": "Default: flip_rate max 0.01, mean_score_difference max_abs 0.02"})
    seed = fields.Integer(strict=True, load_default=0, validate=validate.Range(0, 2**32 - 1))
    worst = fields.Integer(strict=True, load_default=5, validate=validate.Range(0, 100))

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> FlipRequest:
        profiles = profiles_from(data["profiles"], data.get("id_field"))
        _check_endpoint_slots(data["endpoint"], profiles)
        flips, probes = [], len(profiles.records)
        for i, flip in enumerate(data["flips"]):
            name = flip["attribute"]
            _require_fields(profiles, [(name, f"flips[{i}].attribute")])
            present = list(dict.fromkeys(r[name] for r in profiles.records if r[name] is not None))
            values = flip.get("values") or present
            if len(values) < 2:
                raise ValidationError(f"the profiles hold only {present}; a flip needs two values",
                                      f"flips[{i}].values")
            if len(values) > MAX_VALUES:
                raise ValidationError(f"has {len(values)} values; at most {MAX_VALUES}", f"flips[{i}].values")
            if len(set(map(str, values))) != len(values):
                raise ValidationError("values must be distinct", f"flips[{i}].values")
            for proxy, by_value in flip["proxies"].items():
                _require_fields(profiles, [(proxy, f"flips[{i}].proxies")])
                missing = [v for v in values if str(v) not in by_value]
                if missing:
                    raise ValidationError(f"proxy {proxy!r} gives no value for {missing}", f"flips[{i}].proxies")
            sent, decided_by = carried(data["endpoint"], list(profiles.records[0]))
            if not ({name, *flip["proxies"]} & sent):
                raise ValidationError(f"flip {i} changes {sorted({name, *flip['proxies']})}, none of which is sent "
                                      "to the model, so every variant would get the same request", decided_by)
            counts = {str(v): 0 for v in values}
            for r in profiles.records:
                if str(r[name]) in counts and r[name] in values:
                    counts[str(r[name])] += 1
            probes += sum(counts.values()) * (len(values) - 1)
            flips.append(AttributeFlip(attribute=name, values=tuple(values), proxies=flip["proxies"]))
        if len({f.attribute for f in flips}) != len(flips):
            raise ValidationError("each attribute may be flipped once", "flips")
        check_probe_budget(probes, "flips")
        return FlipRequest(
            endpoint=data["endpoint"], profiles=profiles, flips=tuple(flips),
            policy=build_policy(data.get("policy"), DEFAULT_PROBE_RULES, [f.attribute for f in flips]),
            seed=data["seed"], worst=data["worst"],
        )
