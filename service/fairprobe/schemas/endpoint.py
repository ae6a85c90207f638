"""The endpoint spec a request carries: where the model is, its format, and the call limits.

Header values are credentials: they are validated without ever being quoted in an error message.
"""

from __future__ import annotations

import re
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validate, validates_schema

from fairprobe.domain.endpoint import EndpointSpec, Format, FormatOptions, Output
from fairprobe.domain.slots import slot_names
from fairprobe.endpoints.formats import RECORD, RECORDS, compile_pattern, count_marker, single_record
from fairprobe.schemas.limits import current_limits
from fairprobe.schemas.scalar import Bounded, Scalar

__all__ = ["EndpointSchema", "slots_used"]

FORBIDDEN_HEADERS = frozenset({"host", "content-length", "content-type", "transfer-encoding", "connection"})
HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$")
PATH = re.compile(r"^(?:[^.\[\]]+|\[(?:\*|-?\d+)\])(?:\.[^.\[\]]+|\[(?:\*|-?\d+)\])*$")


def _valid_header_value(value: str) -> bool:
    """What an HTTP/1.1 field value may be (RFC 9110 5.5), as the outbound client sends it: Latin-1 text
    without control characters, not starting or ending with whitespace."""
    if len(value) > 8192 or value != value.strip(" \t"):
        return False
    try:
        raw = value.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return not any((b < 0x20 and b != 0x09) or b == 0x7F for b in raw)


def slots_used(spec: EndpointSpec) -> set[str]:
    """The ``{field}`` slots the spec's prompt or record template reads from each record."""
    texts: list[str] = []

    def collect(t: Any) -> None:
        if isinstance(t, str):
            texts.append(t)
        elif isinstance(t, list):
            for x in t:
                collect(x)
        elif isinstance(t, dict):
            for x in t.values():
                collect(x)

    if spec.format is Format.OPENAI_CHAT:
        collect(spec.options.prompt or "")
    if spec.format is Format.JSON:
        collect(spec.options.record_template)
    return {m for text in texts for m in slot_names(text)} - {"profile"}


class EndpointSchema(Schema):
    """A model endpoint. Headers are passed to the model and never logged or echoed."""

    class Meta:
        unknown = RAISE

    url = fields.String(required=True, validate=validate.Length(min=1, max=2048),
                        metadata={"description": "http(s) URL of the model; refused if it resolves to a "
                                                 "loopback, private, link-local or reserved address"})
    method = fields.String(load_default="POST", validate=validate.OneOf(["POST", "PUT"]))
    headers = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict,
                          metadata={"description": "Sent to the model (e.g. Authorization); never logged or echoed"})
    format = fields.Enum(Format, by_value=True, required=True)
    output = fields.Enum(Output, by_value=True, load_default=Output.SCORE,
                         metadata={"description": "'score': a number (decision = score >= threshold); "
                                                  "'label': a class (decision = label == positive_label); "
                                                  "'segment': a segment (decision = placed in a valuable "
                                                  "segment; a changed segment counts as a flip); 'list': a "
                                                  "ranked list of item ids (score = DCG share of high-value "
                                                  "items; overlap and changed lists are compared)"})
    valuable_segments = fields.List(Scalar(), validate=validate.Length(min=1, max=200), metadata={
        "description": "output 'segment': the segments that benefit the person"})
    high_value_items = fields.List(Scalar(), validate=validate.Length(min=1, max=100_000), metadata={
        "description": "output 'list': the item ids that count as high-value (high margin, premium)"})
    threshold = Bounded(load_default=0.5)
    favorable = fields.String(load_default="positive", validate=validate.OneOf(["positive", "negative"]), metadata={
        "description": "Which decision benefits the person: 'positive' (score >= threshold, or the positive "
                       "label; e.g. an approval) or 'negative' (e.g. a risk flag). Sets which side a gap favours."})
    positive_label = Scalar(load_default=1)
    batch_size = fields.Integer(strict=True, load_default=100, validate=validate.Range(1, 1000))
    concurrency = fields.Integer(strict=True, load_default=4, validate=validate.Range(min=1))
    timeout_s = fields.Float(load_default=10.0, allow_nan=False, validate=validate.Range(0, 300, min_inclusive=False))
    deadline_s = fields.Float(load_default=120.0, allow_nan=False, validate=validate.Range(min=0, min_inclusive=False))
    retries = fields.Integer(strict=True, load_default=2, validate=validate.Range(0, 5))
    fields_ = fields.List(fields.String(validate=validate.Length(min=1)), data_key="fields",
                          validate=validate.Length(min=1, max=1000),
                          metadata={"description": "Profile fields sent, in order (columns, tensor order)"})
    body_template = fields.Raw(metadata={"description": "json: body with '{{records}}' (a batch) or '{{record}}'"})
    record_template = fields.Raw(metadata={"description": "json: one record; '{field}' is replaced by its value"})
    response_path = fields.String(validate=validate.Regexp(PATH), metadata={
        "description": "Where the values are, e.g. predictions[*].score"})
    output_index = fields.Integer(strict=True, metadata={
        "description": "Column of a per-record list (class probabilities); default the last"})
    output_name = fields.String(metadata={"description": "kserve-v2: the output tensor to read"})
    input_name = fields.String(load_default="input-0", metadata={"description": "kserve-v2: the input tensor name"})
    mlflow_orient = fields.String(load_default="split", validate=validate.OneOf(["split", "records"]))
    model = fields.String(metadata={"description": "openai-chat: the model name"})
    system_prompt = fields.String(validate=validate.Length(max=20_000))
    prompt = fields.String(validate=validate.Length(min=1, max=20_000), metadata={
        "description": "openai-chat: user message with {field} slots and {profile} (the record as JSON)"})
    extract_regex = fields.String(validate=validate.Length(min=1, max=500), metadata={
        "description": "openai-chat: the score or label is the first group (or the match)"})
    extract_json_field = fields.String(validate=validate.Regexp(PATH), metadata={
        "description": "openai-chat: the reply holds a JSON object; read this path"})
    temperature = fields.Float(load_default=0.0, allow_nan=False, validate=validate.Range(0, 2))
    csv_header = fields.Boolean(load_default=True)

    @validates_schema
    def _check(self, data: dict[str, Any], **_: Any) -> None:
        limits = current_limits()
        if data.get("concurrency", 1) > limits.max_concurrency:
            raise ValidationError(f"at most {limits.max_concurrency} on this service", "concurrency")
        if data.get("deadline_s", 0) > limits.max_deadline_s:
            raise ValidationError(f"at most {limits.max_deadline_s} s on this service", "deadline_s")
        for name, value in data.get("headers", {}).items():
            if not HEADER_NAME.match(name):
                raise ValidationError("a header name is not a valid HTTP token", "headers")
            if name.lower() in FORBIDDEN_HEADERS:
                raise ValidationError(f"header {name} is set by fairprobe", "headers")
            if not _valid_header_value(value):
                # never quote the value: it may be a credential
                raise ValidationError(f"the value of header {name} must be at most 8192 Latin-1 characters with no "
                                      "control characters and no leading or trailing whitespace", "headers")
        fmt = data.get("format")
        output = data.get("output")
        if "valuable_segments" in data and output is not Output.SEGMENT:
            raise ValidationError("only output 'segment' has valuable segments", "valuable_segments")
        if "high_value_items" in data and output is not Output.LIST:
            raise ValidationError("only output 'list' has high-value items", "high_value_items")
        if output is Output.LIST and fmt in (Format.CSV, Format.OPENAI_CHAT):
            raise ValidationError("a ranked list is read from a JSON answer (json, mlflow, kserve-v1)", "output")
        template = data.get("body_template")
        if template is not None:
            if fmt is not Format.JSON:
                raise ValidationError("only the json format takes a body template", "body_template")
            if count_marker(template, RECORDS) + count_marker(template, RECORD) != 1:
                raise ValidationError("must contain '{{records}}' or '{{record}}' exactly once", "body_template")
        if "record_template" in data and fmt is not Format.JSON:
            raise ValidationError("only the json format takes a record template", "record_template")
        if "extract_regex" in data:
            if "extract_json_field" in data:
                raise ValidationError("give extract_regex or extract_json_field, not both", "extract_regex")
            try:
                pattern = compile_pattern(data["extract_regex"])
            except Exception as exc:  # re2.error: not RE2 syntax (e.g. a back-reference)
                raise ValidationError("is not a regular expression RE2 can run in linear time (no back-references "
                                      "or look-arounds)", "extract_regex") from exc
            if pattern.groups > 1:
                raise ValidationError("may have at most one capturing group", "extract_regex")
        chat_only = [k for k in ("prompt", "system_prompt", "extract_regex", "extract_json_field", "model")
                     if k in data]
        if chat_only and fmt is not Format.OPENAI_CHAT:
            raise ValidationError("only the openai-chat format reads this", chat_only[0])
        if fmt is Format.KSERVE_V2 and "fields_" not in data:
            raise ValidationError("kserve-v2 needs the field order of the input tensor", "fields")

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> EndpointSpec:
        options = FormatOptions(
            fields=tuple(data["fields_"]) if data.get("fields_") else None,
            body_template=data.get("body_template"), record_template=data.get("record_template"),
            response_path=data.get("response_path"), output_index=data.get("output_index"),
            output_name=data.get("output_name"), input_name=data["input_name"],
            mlflow_orient=data["mlflow_orient"], model=data.get("model"), system_prompt=data.get("system_prompt"),
            prompt=data.get("prompt"), extract_regex=data.get("extract_regex"),
            extract_json_field=data.get("extract_json_field"), temperature=data["temperature"],
            csv_header=data["csv_header"], keep_lists=data["output"] is Output.LIST,
        )
        batch = 1 if single_record(data["format"], options) else data["batch_size"]
        return EndpointSpec(
            url=data["url"], format=data["format"], options=options, output=data["output"],
            threshold=data["threshold"], positive_label=data["positive_label"], method=data["method"],
            headers=dict(data["headers"]), batch_size=batch, concurrency=data["concurrency"],
            timeout_s=data["timeout_s"], deadline_s=data["deadline_s"], retries=data["retries"],
            favorable=data["favorable"], valuable=tuple(data.get("valuable_segments", ())),
            high_value_items=tuple(data.get("high_value_items", ())),
        )
