"""Presets: how records become a request body, and how a response body becomes one value per record.

Each preset's ``encode`` takes the records of one call; ``decode`` returns one raw value (a number or
a class label) or a :class:`ProbeFailure` per record, or raises :class:`AnswerError` when the whole
response is unusable (then the client may retry or split the batch).
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
import re2

from fairprobe.domain.endpoint import Format, FormatOptions, ProbeFailure
from fairprobe.domain.slots import SLOT, fill, slot_names

__all__ = ["BATCHABLE", "AnswerError", "Raw", "carried_fields", "compile_pattern", "count_marker", "decode", "encode",
           "extract", "fill_slots", "first_json_object", "single_record"]

Raw = float | str | bool | tuple[str | float, ...] | ProbeFailure
Record = Mapping[str, Any]

#: formats whose servers accept many records per call
BATCHABLE = frozenset({Format.JSON, Format.MLFLOW, Format.KSERVE_V1, Format.KSERVE_V2, Format.CSV})
RECORDS = "{{records}}"
RECORD = "{{record}}"
#: a chat reply is searched in its first 64 Ki characters; a score is near the start of any real answer
MAX_REPLY_CHARS = 65_536
#: the most items one ranked-list answer may hold
MAX_LIST = 1_000
#: how many ``{`` in a reply may start a JSON object
MAX_JSON_STARTS = 100
DEFAULT_PATTERN = r"(-?\d+(?:\.\d+)?)"
_REPLY_DECODER = json.JSONDecoder()
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # RE2 would print the caller's pattern to stderr
_PATH_TOKEN = re.compile(r"([^.\[\]]+)|\[(\*|-?\d+)\]")


class AnswerError(Exception):
    """The response as a whole cannot be read; ``reason`` says why (``status``: the HTTP status, if any)."""

    def __init__(self, reason: ProbeFailure, detail: str, *, status: int | None = None) -> None:
        super().__init__(detail)
        self.reason = reason
        self.status = status


# ---------------------------------------------------------------- paths and templates


def extract(doc: Any, path: str) -> Any:
    """Follow a path such as ``predictions[*].score`` or ``outputs[0].data``; ``[*]`` maps over a list."""
    tokens = _PATH_TOKEN.findall(path)
    return _walk(doc, [name or index for name, index in tokens])


def _walk(doc: Any, tokens: list[str]) -> Any:
    for k, token in enumerate(tokens):
        if token == "*":
            if not isinstance(doc, list):
                raise TypeError("[*] needs a list")
            return [_walk(item, tokens[k + 1:]) for item in doc]
        if isinstance(doc, list) and re.fullmatch(r"-?\d+", token):
            doc = doc[int(token)]
        elif isinstance(doc, dict):
            doc = doc[token]
        else:
            raise TypeError(f"cannot index {type(doc).__name__} with {token!r}")
    return doc


def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode() if not isinstance(value, str) else value


def fill_slots(text: str, values: Mapping[str, Any]) -> str:
    """Replace ``{name}`` slots with the record's values (``{profile}`` is the record as JSON)."""
    return fill(text, values, _json_text)


def _fill(template: Any, record: Record) -> Any:
    """A record template: ``"{field}"`` alone becomes the typed value (``"{profile}"`` the whole record);
    inside text, its text."""
    return _fill_values(template, {**record, "profile": dict(record)})


def _fill_values(template: Any, values: Mapping[str, Any]) -> Any:
    if isinstance(template, str):
        whole = SLOT.fullmatch(template)
        if whole:
            return values[whole.group(1)]
        return fill_slots(template, values)
    if isinstance(template, list):
        return [_fill_values(t, values) for t in template]
    if isinstance(template, dict):
        return {k: _fill_values(v, values) for k, v in template.items()}
    return template


def _wrap(template: Any, payload: Any, marker: str) -> Any:
    if template == marker:
        return payload
    if isinstance(template, list):
        return [_wrap(t, payload, marker) for t in template]
    if isinstance(template, dict):
        return {k: _wrap(v, payload, marker) for k, v in template.items()}
    return template


def _columns(records: Sequence[Record], options: FormatOptions) -> list[str]:
    return list(options.fields) if options.fields else list(records[0])


def _select(record: Record, options: FormatOptions) -> dict[str, Any]:
    return {k: record[k] for k in options.fields} if options.fields else dict(record)


# ---------------------------------------------------------------- encode


def encode(fmt: Format, options: FormatOptions, records: Sequence[Record]) -> tuple[bytes, str]:
    """The body and content type of one call carrying ``records``."""
    if fmt is Format.CSV:
        out = io.StringIO()
        cols = _columns(records, options)
        writer = csv.writer(out, lineterminator="\n")
        if options.csv_header:
            writer.writerow(cols)
        writer.writerows([r[c] for c in cols] for r in records)
        return out.getvalue().encode(), "text/csv"
    return orjson.dumps(_body(fmt, options, records), option=orjson.OPT_SERIALIZE_NUMPY), "application/json"


def _body(fmt: Format, options: FormatOptions, records: Sequence[Record]) -> Any:
    if fmt is Format.JSON:
        rows = [_fill(options.record_template, r) if options.record_template is not None else _select(r, options)
                for r in records]
        template = options.body_template if options.body_template is not None else {"records": RECORDS}
        if count_marker(template, RECORD):
            return _wrap(template, rows[0], RECORD)
        return _wrap(template, rows, RECORDS)
    if fmt is Format.MLFLOW:
        if options.mlflow_orient == "records":
            return {"dataframe_records": [_select(r, options) for r in records]}
        cols = _columns(records, options)
        return {"dataframe_split": {"columns": cols, "data": [[r[c] for c in cols] for r in records]}}
    if fmt is Format.KSERVE_V1:
        if options.fields:
            return {"instances": [[r[c] for c in options.fields] for r in records]}
        return {"instances": [dict(r) for r in records]}
    if fmt is Format.KSERVE_V2:
        cols = _columns(records, options)
        data = [r[c] for r in records for c in cols]
        numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in data)
        return {"inputs": [{"name": options.input_name, "shape": [len(records), len(cols)],
                            "datatype": "FP64" if numeric else "BYTES",
                            "data": data if numeric else [str(v) for v in data]}]}
    # openai-chat: one record per call
    record = records[0]
    messages = []
    if options.system_prompt:
        messages.append({"role": "system", "content": options.system_prompt})
    slots = {**record, "profile": dict(record)}
    messages.append({"role": "user", "content": fill_slots(options.prompt or "{profile}", slots)})
    body: dict[str, Any] = {"messages": messages, "temperature": options.temperature}
    if options.model:
        body["model"] = options.model
    return body


def count_marker(template: Any, marker: str) -> int:
    """How many times ``marker`` (``{{records}}`` or ``{{record}}``) stands as a value in ``template``."""
    if template == marker:
        return 1
    if isinstance(template, list):
        return sum(count_marker(t, marker) for t in template)
    if isinstance(template, dict):
        return sum(count_marker(v, marker) for v in template.values())
    return 0


def _slots_in(template: Any) -> set[str]:
    if isinstance(template, str):
        return slot_names(template)
    if isinstance(template, list):
        return set().union(*(_slots_in(t) for t in template)) if template else set()
    if isinstance(template, dict):
        return set().union(*(_slots_in(v) for v in template.values())) if template else set()
    return set()


def carried_fields(fmt: Format, options: FormatOptions, record_fields: Sequence[str]) -> tuple[set[str], str]:
    """The record fields whose values reach the model, and the endpoint option that decides it.

    A record template or a chat prompt carries the fields it has slots for (all of them with
    ``{profile}``); otherwise ``fields`` lists what is sent, or every field is.
    """
    every = set(record_fields)
    if fmt is Format.OPENAI_CHAT:
        slots = _slots_in(options.prompt or "{profile}")
        return (every if "profile" in slots else slots & every), "endpoint.prompt"
    if fmt is Format.JSON and options.record_template is not None:
        slots = _slots_in(options.record_template)
        return (every if "profile" in slots else slots & every), "endpoint.record_template"
    if options.fields:
        return set(options.fields) & every, "endpoint.fields"
    return every, "endpoint.format"


def single_record(fmt: Format, options: FormatOptions) -> bool:
    """Whether every call carries exactly one record (chat, or a JSON template with ``{{record}}``)."""
    if fmt is Format.OPENAI_CHAT:
        return True
    return fmt is Format.JSON and options.body_template is not None and count_marker(options.body_template, RECORD) > 0


# ---------------------------------------------------------------- decode


def decode(fmt: Format, options: FormatOptions, body: bytes, n: int) -> list[Raw]:
    """One raw value or failure per record of the call; :class:`AnswerError` if the body is unusable."""
    if fmt is Format.CSV:
        return _check_length(_csv_values(body, n), n)
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise AnswerError(ProbeFailure.INVALID_RESPONSE, "the response is not JSON") from exc
    if fmt is Format.OPENAI_CHAT:
        return [_chat_value(doc, options)]
    try:
        values = _values(fmt, options, doc, n)
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise AnswerError(ProbeFailure.INVALID_RESPONSE, f"the response lacks the expected values ({exc})") from exc
    if n == 1 and not isinstance(values, list):
        values = [values]
    if not isinstance(values, list):
        raise AnswerError(ProbeFailure.INVALID_RESPONSE, "the response path does not lead to a list")
    return _check_length([_scalar(v, options) for v in values], n)


def _values(fmt: Format, options: FormatOptions, doc: Any, n: int) -> Any:
    if options.response_path:
        return extract(doc, options.response_path)
    if fmt is Format.KSERVE_V2:
        outputs = doc["outputs"]
        out = next(o for o in outputs if o["name"] == options.output_name) if options.output_name else outputs[0]
        data, shape = out["data"], out.get("shape") or [len(out["data"])]
        width = math.prod(shape[1:]) if len(shape) > 1 else 1
        if width > 1:
            column = options.output_index if options.output_index is not None else -1
            return [data[i * width:(i + 1) * width][column] for i in range(len(data) // width)]
        return data
    if fmt is Format.JSON:
        return doc["predictions"]
    return doc["predictions"]  # mlflow and kserve-v1


def _scalar(value: Any, options: FormatOptions) -> Raw:
    """A number, a label, or a list of class probabilities (``output_index``, default the last)."""
    if isinstance(value, list) and options.keep_lists:
        if len(value) > MAX_LIST or not all(isinstance(v, str | int | float) and not isinstance(v, bool)
                                            for v in value):
            return ProbeFailure.INVALID_VALUE
        return tuple(value)
    if isinstance(value, list) and value:
        value = value[options.output_index if options.output_index is not None else -1]
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return ProbeFailure.INVALID_VALUE


def _check_length(values: list[Raw], n: int) -> list[Raw]:
    if len(values) != n:
        raise AnswerError(ProbeFailure.WRONG_LENGTH, f"{len(values)} answers for {n} records")
    return values


def _csv_values(body: bytes, n: int) -> list[Raw]:
    try:
        lines = [line.strip() for line in body.decode("utf-8").splitlines() if line.strip()]
    except UnicodeDecodeError as exc:
        raise AnswerError(ProbeFailure.INVALID_RESPONSE, "the response is not UTF-8 text") from exc
    if len(lines) == n + 1:
        lines = lines[1:]  # a header line
    values: list[Raw] = []
    for line in lines:
        try:
            number = float(line)
        except ValueError:
            values.append(line)
            continue
        values.append(number if math.isfinite(number) else ProbeFailure.INVALID_VALUE)
    return values


def _chat_value(doc: Any, options: FormatOptions) -> Raw:
    try:
        content = doc["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError) as exc:
        raise AnswerError(ProbeFailure.INVALID_RESPONSE, "no choices[0].message.content") from exc
    if not isinstance(content, str):
        return ProbeFailure.UNPARSEABLE_REPLY
    content = content[:MAX_REPLY_CHARS]
    if options.extract_json_field:
        found = first_json_object(content)
        try:
            value = extract(found, options.extract_json_field) if found is not None else None
        except (KeyError, IndexError, TypeError):
            value = None
        return ProbeFailure.UNPARSEABLE_REPLY if value is None else _scalar(value, options)
    match = compile_pattern(options.extract_regex or DEFAULT_PATTERN).search(content)
    if match is None:
        return ProbeFailure.UNPARSEABLE_REPLY
    text = match.group(1) if match.re.groups else match.group(0)
    if text is None:
        return ProbeFailure.UNPARSEABLE_REPLY
    try:
        number = float(text)
    except ValueError:
        return str(text).strip()
    return number if math.isfinite(number) else ProbeFailure.UNPARSEABLE_REPLY


def first_json_object(text: str) -> Any:
    """The first JSON object in ``text`` (a model's reply), read with a JSON parser from each ``{`` in turn.

    At most :data:`MAX_JSON_STARTS` starts are tried, so a reply of a million ``{`` costs a million
    character checks, not a regex's quadratic (or worse) backtracking.
    """
    start = text.find("{")
    for _ in range(MAX_JSON_STARTS):
        if start < 0:
            return None
        try:
            value, _end = _REPLY_DECODER.raw_decode(text, start)
        except ValueError:
            value = None
        if isinstance(value, dict):
            return value
        start = text.find("{", start + 1)
    return None


def compile_pattern(pattern: str) -> Any:
    """A caller's pattern compiled by RE2, which runs in time linear in the reply (no backtracking), so
    ``(a+)+$`` cannot hold a worker. Raises ``re2.error`` for patterns RE2 cannot run (back-references)."""
    return re2.compile(pattern, _RE2_OPTIONS)
