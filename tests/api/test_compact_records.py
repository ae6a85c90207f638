"""A large body of JSON records is parsed without a dict per record (``api.parser._compact_decoder``): the
request it yields, and the DataFrame its records become, are those of the plain parser, value for value and
type for type (1 and true, 0.0 and -0.0, null and a missing key, keys in another order, nested values); a key
given twice is refused the same way; and the parsed rows take a fraction of the memory."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from flask.testing import FlaskClient
from hypothesis import given, settings
from hypothesis import strategies as st

from fairprobe.api import parser
from fairprobe.errors import InvalidRequest
from fairprobe.schemas.table import RecordRows, frame_from_data
from tests.answers import json_of
from tests.api.test_fast_readers import _comparable


@pytest.fixture
def compact(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every body holding "records" parsed by the compact decoder, however small."""
    monkeypatch.setattr(parser, "COMPACT_BYTES", 0)


def _plain(raw: bytes) -> Any:
    return parser._DECODER.decode(raw.decode())


def _as_dicts(value: Any) -> Any:
    """The parsed request with RecordRows written out as the list of dicts they stand for."""
    if isinstance(value, RecordRows):
        return value.dicts()
    if isinstance(value, dict):
        return {k: _as_dicts(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_dicts(v) for v in value]
    return value


def _frame_or_error(data: dict[str, Any], read: list[str] | None) -> Any:
    try:
        frame = frame_from_data(data, read)
    except Exception as exc:  # the two parsers must fail alike, whatever the error
        return repr(exc)
    names, dtypes, values = _comparable(frame)
    return names, dtypes, [[repr(v) for v in row] for row in values], str(frame.columns.dtype)


def _same_as_plain(records: list[Any]) -> None:
    raw = json.dumps({"data": {"records": records}, "label": "y"}).encode()
    plain, compact = _plain(raw), parser._json(raw, "body")
    # json.dumps tells 1 from true and 0.0 from -0.0, which == does not
    assert json.dumps(_as_dicts(compact)) == json.dumps(plain)
    for read in (None, ["b"], ["c", "a"], ["z"]):  # every column, some of them, none that exists
        assert _frame_or_error(compact["data"], read) == _frame_or_error(plain["data"], read)


CASES = {
    "one key order": [{"a": "x", "b": 1}, {"a": "y", "b": 2}, {"a": "x", "b": 1}],
    "keys in another order": [{"a": "x", "b": 1}, {"b": 2, "a": "y"}],
    "a missing key": [{"a": "x", "b": 1}, {"a": "y"}],
    "true and 1": [{"a": "x", "b": True}, {"a": "x", "b": 1}, {"a": "x", "b": 1.0}],
    "0.0 and -0.0": [{"a": 0.0, "b": "x"}, {"a": -0.0, "b": "x"}, {"a": 0, "b": "x"}],
    "nulls": [{"a": None, "b": 1}, {"a": "x", "b": None}],
    "only nulls": [{"a": None, "b": None}, {"a": None, "b": None}],
    "scores": [{"a": "x", "b": 1.5}, {"a": "x", "b": 2.5}],
    "a nested value": [{"a": "x", "b": [1]}, {"a": "y", "b": 2}],
    "a nested object": [{"a": "x", "b": {"c": 1}}, {"a": "y", "b": 2}],
    "an empty record": [{"a": "x"}, {}],
    "beyond 64 bits": [{"a": 2**70}, {"a": 1}],
    "not ascii": [{"é": "ü", "b": False}],
    "not objects": [{"a": 1}, 2],
}


@pytest.mark.usefixtures("compact")
@pytest.mark.parametrize("records", CASES.values(), ids=CASES.keys())
def test_compact_records_read_as_plain_records(records: list[Any]) -> None:
    _same_as_plain(records)


_SCALARS = st.one_of(st.sampled_from(["a", "b", "é", ""]), st.integers(-2, 2), st.booleans(), st.none(),
                     st.sampled_from([0.0, -0.0, 1.0, 0.5, 1e300]))
_VALUES = st.one_of(_SCALARS, st.lists(_SCALARS, max_size=2), st.dictionaries(st.sampled_from("ab"), _SCALARS,
                                                                               max_size=2))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from(["a", "b", "c"]), _VALUES, max_size=3), min_size=1, max_size=8))
def test_any_records_read_as_plain_records(records: list[dict[str, Any]]) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(parser, "COMPACT_BYTES", 0)
        _same_as_plain(records)


@pytest.mark.usefixtures("compact")
@pytest.mark.parametrize("raw", [
    b'{"data": {"records": [{"a": 1, "a": 2}]}}',
    b'{"data": {"records": [{"a": 1, "b": 2}, {"a": 1, "b": 2, "a": 3}]}}',
    b'{"data": {"records": [{"a": 1}]}, "data": 2}',
])
def test_a_key_given_twice_is_refused_as_by_the_plain_parser(raw: bytes) -> None:
    with pytest.raises(InvalidRequest) as compact:
        parser._json(raw, "body")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(parser, "COMPACT_BYTES", 1 << 60)
        with pytest.raises(InvalidRequest) as plain:
            parser._json(raw, "body")
    assert "twice" in str(compact.value) and str(compact.value) == str(plain.value)


@pytest.mark.usefixtures("compact")
def test_only_rows_where_a_request_holds_data_stay_rows() -> None:
    rows = [{"a": "x", "b": 1}, {"a": "y", "b": 2}]
    raw = json.dumps({"data": {"records": rows}, "profiles": {"records": rows},
                      "generator": {"reference": {"data": {"records": rows}}},
                      "endpoint": {"body_template": {"data": {"records": rows}}}, "records": rows}).encode()
    parsed = parser._json(raw, "body")
    for rows_kept in (parsed["data"]["records"], parsed["profiles"]["records"],
                      parsed["generator"]["reference"]["data"]["records"]):
        assert isinstance(rows_kept, RecordRows)
    assert parsed["endpoint"]["body_template"]["data"]["records"] == rows
    assert parsed["records"] == rows


def test_the_record_paths_are_where_the_api_takes_data() -> None:
    """RECORD_PATHS is every place a request body holds a Data object (read from the OpenAPI document)."""
    spec = yaml.safe_load((Path(__file__).parents[2] / "openapi" / "openapi.yaml").read_text())
    schemas, found = spec["components"]["schemas"], set()

    def walk(schema: Any, path: tuple[str, ...]) -> None:
        if not isinstance(schema, dict) or len(path) > 8:
            return
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[1]
            if name == "Data":
                found.add((*path, "records"))
            else:
                walk(schemas[name], path)
        for choice in ("allOf", "anyOf", "oneOf"):
            for option in schema.get(choice, []):
                walk(option, path)
        for key, member in (schema.get("properties") or {}).items():
            walk(member, (*path, key))
        walk(schema.get("items"), (*path, "[]"))

    for operation in (op for ops in spec["paths"].values() for op in ops.values() if isinstance(op, dict)):
        walk(operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema"), ())
    assert found == set(parser.RECORD_PATHS)


def _parsed_bytes(raw: bytes, compact_from: int) -> int:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(parser, "COMPACT_BYTES", compact_from)
        tracemalloc.start()
        try:
            parsed = parser._json(raw, "body")
            held = tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
    assert parsed["label"] == "y"
    return held


@pytest.mark.parametrize("score", [False, True], ids=["categories", "scores"])
def test_parsed_records_take_a_fraction_of_the_memory(score: bool) -> None:
    n = 50_000
    races, sexes = ["African-American", "Caucasian", "Hispanic", "Other"], ["Female", "Male"]
    records = [{"race": races[i % 4], "sex": sexes[i % 2], "y": i % 3 % 2,
                "p": (i % 997) / 997 if score else i % 5 % 2} for i in range(n)]
    raw = json.dumps({"data": {"records": records}, "label": "y"}).encode()
    plain, compact = _parsed_bytes(raw, 1 << 60), _parsed_bytes(raw, 0)
    # a dict and two fresh strings per record, against a shared row (or a tuple of a float and shared strings)
    assert compact < plain / (8 if not score else 2.5), (compact, plain)


def test_a_large_records_audit_answers_as_the_plain_parser(client: FlaskClient, compas: pd.DataFrame) -> None:
    rows = pd.DataFrame({"race": compas.race, "sex": compas.sex, "age": compas.age.astype(float),
                         "recid": compas.two_year_recid, "high": (compas.decile_score >= 5).astype(int)})
    body = {"data": {"records": rows.to_dict("records")}, "label": "recid", "prediction": "high", "favorable": 0,
            "protected": [{"attribute": "race", "reference": "Caucasian"}, {"attribute": "sex"}]}
    answers = []
    for compact_from in (0, 1 << 60):
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(parser, "COMPACT_BYTES", compact_from)
            answer = client.post("/v1/audits", json=body)
        assert answer.status_code == 200, answer.get_data(as_text=True)[:500]
        answers.append(json_of(answer))
    compact, plain = answers
    assert compact["findings"] == plain["findings"] and compact["groups"] == plain["groups"]
    assert compact["audit"]["input_sha256"] == plain["audit"]["input_sha256"]
    fpr = next(g for g in compact["groups"] if g["label"] == "race=African-American")
    assert round(100 * fpr["metrics"]["false_positive_rate"]["value"], 2) == 44.85  # ProPublica
