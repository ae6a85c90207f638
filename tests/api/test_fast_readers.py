"""The fast readers (pyarrow for CSV and JSON columns) give the DataFrame pandas gives for the same bytes, or
stand aside for pandas: checked value by value and type by type on the inputs where the two readers differ,
and end to end on COMPAS (semicolons, CRLF, a BOM and quoted numbers audit as the plain CSV does)."""

from __future__ import annotations

import io
import json
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from flask.testing import FlaskClient
from marshmallow import ValidationError

from fairprobe.domain import ProtectedAttribute
from fairprobe.schemas import table as table_module
from fairprobe.schemas.audit import _columns_read
from fairprobe.schemas.table import _fast_csv, _from_columns, _from_csv
from tests.answers import json_of

#: CSV texts on which pyarrow and pandas could disagree (types, missing values, whitespace, number syntax)
CSV_CASES = {
    "bom, crlf, quoted numbers": b'\xef\xbb\xbfa,b,c\r\n"1",x,2\r\n"2",NA,3\r\n',
    "dates stay text": b"a,t\n1,2020-01-01\n2,2020-01-02\n",
    "timestamps stay text": b"a,t\n1,2020-01-01 10:00:00\n2,2020-01-02T11:00:00Z\n",
    "booleans with a gap": b"a,b\nTrue,1\nFalse,2\n,3\n",
    "integers with a gap": b"a,b\n1,x\n,y\n",
    "beyond int64": b"a,b\n18446744073709551616,x\n1,y\n",
    "uint64": b"a,b\n18446744073709551615,x\n1,y\n",
    "float overflow": b"a,b\n1e400,x\n1,y\n",
    "text and numbers": b"a,b\n1,x\nz,y\n",
    "quoted newline": b'a,b\n"x\ny",1\nz,2\n',
    "ragged row": b"a,b,c\n1,2\n3,4,5\n",
    "missing-value words": b"a,b\nNone,x\nnull,y\n",
    "space after separator": b"a, b\n1, x\n",
    "trailing space": b"a,b\n1 ,x \n",
    "1 and 0": b"a,b\n1,0\n0,1\n",
    "true and 1 mixed": b"a\nTrue\n1\n",
    "yes and no": b"a\nyes\nno\n",
    "leading zeros": b"zip,b\n02134,1\n10001,2\n",
    "empty column": b"a,b\n1,\n2,\n",
    "infinity": b"a\ninf\n-inf\n1\n",
    "hex": b"a\n0x10\n1\n",
    "plus sign": b"a\n+5\n-3\n",
    "exponents": b"a\n1.5e3\n.5\n5.\n",
    "quoted NA": b'a,b\n"NA",1\nx,2\n',
    "unicode": "a,b\nJosé,1\n北京,2\n".encode(),
    "dates with a gap": b"a,t\n1,2020-01-01\n2,\n3,NA\n",
    "nan texts among numbers": b"a,b\n1.5,x\nnan,y\n-nan,z\nNaN,w\n",
    "missing words among integers": b"a,b\n1,x\nNA,y\nnull,z\n",
    "missing words among booleans": b"a\nTrue\nNULL\nFalse\n",
    "only missing words": b"a,b\nNA,1\n,2\n",
}


def _comparable(frame: pd.DataFrame) -> tuple[list[str], list[str], list[list[Any]]]:
    """Column names, dtypes (a categorical as the object column it stands for) and values (missing as None)."""
    plain = frame.copy()
    for name in plain.columns:
        if isinstance(plain[name].dtype, pd.CategoricalDtype):
            plain[name] = plain[name].astype(object)
    values = plain.astype(object).where(pd.notna(plain), None).to_numpy().tolist()  # type: ignore[call-overload]
    return list(plain.columns), [str(t) for t in plain.dtypes], values


@pytest.mark.parametrize("raw", CSV_CASES.values(), ids=CSV_CASES.keys())
def test_fast_csv_reads_as_pandas_or_stands_aside(raw: bytes) -> None:
    expected = pd.read_csv(io.BytesIO(raw), skipinitialspace=True, encoding="utf-8-sig")
    fast = _fast_csv(raw, ",")
    if fast is not None:
        assert _comparable(fast) == _comparable(expected)
    assert _comparable(_from_csv(raw)) == _comparable(expected)  # whichever reader ran


def test_fast_csv_reads_most_files_itself() -> None:
    taken = [name for name, raw in CSV_CASES.items() if _fast_csv(raw, ",") is not None]
    assert len(taken) >= len(CSV_CASES) * 2 // 3  # the fallback is for the odd file, not the common one
    text = pd.DataFrame({"g": ["a", "b"] * 50, "y": [0, 1] * 50}).to_csv(index=False).encode()
    frame = _fast_csv(text, ",")
    assert frame is not None and isinstance(frame["g"].dtype, pd.CategoricalDtype)  # codes, not strings


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_the_separator_is_detected_from_the_header(delimiter: str) -> None:
    raw = f"a{delimiter}b{delimiter}c\n1{delimiter}x{delimiter}2.5\n2{delimiter}y{delimiter}3\n".encode()
    assert _comparable(_from_csv(raw)) == _comparable(pd.DataFrame({"a": [1, 2], "b": ["x", "y"], "c": [2.5, 3.0]}))


JSON_CASES = {
    "integers": [1, 2, 3], "integers with null": [1, None, 3], "numbers": [1.5, 2, None],
    "booleans": [True, False, None], "text": ["a", None, "b"], "mixed": ["a", 1, None], "lists": [[1], 2, 3],
    "objects": [{"a": 1}, 2, 3], "beyond uint64": [2**64, 1, 2], "uint64": [2**63, 1, 2], "nulls": [None] * 3,
    "booleans and integers": [True, 1, 0], "infinity": [float("inf"), 1.0, 2.0], "empty text": ["", "a", "b"],
}


@pytest.mark.parametrize("values", JSON_CASES.values(), ids=JSON_CASES.keys())
def test_json_columns_read_as_pandas(values: list[Any]) -> None:
    fast = _from_columns({"x": values, "y": [1, 2, 3]})
    expected = pd.DataFrame({"x": values, "y": [1, 2, 3]})
    assert _comparable(fast)[:2] == _comparable(expected)[:2]
    assert [repr(v) for v in _comparable(fast)[2]] == [repr(v) for v in _comparable(expected)[2]]


def test_text_columns_encoded_side_by_side_read_as_one_by_one(monkeypatch: pytest.MonkeyPatch) -> None:
    table = pa.table({"a": ["x", "y", None, "x"] * 50, "b": ["é", "", "z", "z"] * 50, "n": list(range(200)),
                      "c": pa.array(["p", "q", "p", "r"] * 50, type=pa.large_string())})
    one_by_one = table_module._to_pandas(table)
    monkeypatch.setattr(table_module, "PARALLEL_ENCODE_ROWS", 0)
    side_by_side = table_module._to_pandas(table)
    pd.testing.assert_frame_equal(side_by_side, one_by_one, check_exact=True)
    assert all(isinstance(side_by_side[n].dtype, pd.CategoricalDtype) for n in ("a", "b", "c"))


FIELDS = {"label": "recid", "prediction": "high", "favorable": 0,
          "protected": [{"attribute": "race", "reference": "Caucasian"}, {"attribute": "sex"}]}


def _upload(client: FlaskClient, raw: bytes, fields: dict[str, Any]) -> dict[str, Any]:
    answer = client.post("/v1/audits/upload", content_type="multipart/form-data", data={
        "request": json.dumps(fields), "data": (io.BytesIO(raw), "compas.csv", "text/csv")})
    assert answer.status_code == 200, answer.get_data(as_text=True)[:500]
    report: dict[str, Any] = json_of(answer)
    return report


def _direct(client: FlaskClient, raw: bytes, fields: dict[str, Any]) -> dict[str, Any]:
    answer = client.post("/v1/audits/upload", data=raw, content_type="text/csv",
                         query_string={"request": json.dumps(fields)})
    assert answer.status_code == 200, answer.get_data(as_text=True)[:500]
    report: dict[str, Any] = json_of(answer)
    return report


def test_semicolons_crlf_bom_and_quotes_audit_as_the_plain_csv(client: FlaskClient, compas: pd.DataFrame) -> None:
    rows = pd.DataFrame({"race": compas.race, "sex": compas.sex, "recid": compas.two_year_recid,
                         "high": (compas.decile_score >= 5).astype(int)})
    plain = _upload(client, rows.to_csv(index=False).encode(), FIELDS)
    odd = b"\xef\xbb\xbf" + rows.to_csv(index=False, sep=";", lineterminator="\r\n", quoting=1).encode()
    detected = _upload(client, odd, FIELDS)
    declared = _upload(client, odd, {**FIELDS, "data": {"delimiter": ";"}})
    for other in (detected, declared):
        assert other["findings"] == plain["findings"] and other["groups"] == plain["groups"]
        assert other["audit"]["input_sha256"] == plain["audit"]["input_sha256"]
    fpr = next(g for g in plain["groups"] if g["label"] == "race=African-American")
    assert round(100 * fpr["metrics"]["false_positive_rate"]["value"], 2) == 44.85  # ProPublica


def test_a_wrong_delimiter_is_named(client: FlaskClient) -> None:
    answer = client.post("/v1/audits", json={"data": {"csv": "g,y\na,1\n", "delimiter": ":"}, "label": "y",
                                             "protected": [{"attribute": "g"}]})
    assert answer.status_code == 422
    assert "data.delimiter" in [e["field"] for e in json_of(answer)["errors"]]
    answer = client.post("/v1/audits", json={"data": {"records": [{"g": "a", "y": 1}], "delimiter": ";"},
                                             "label": "y", "protected": [{"attribute": "g"}]})
    assert answer.status_code == 422
    assert "data.delimiter" in [e["field"] for e in json_of(answer)["errors"]]


@pytest.mark.parametrize("raw", [b"a,b\n\xe9,1\n", b"a,b\n1,\xe9\n", b"a,b\n1,2\nx\xff,3\n", b"a,\xe9\n1,2\n"])
def test_text_that_is_not_utf8_is_refused_wherever_it_is(raw: bytes) -> None:
    with pytest.raises(ValidationError, match=r"is not UTF-8 text \(byte \d+\)"):
        _from_csv(raw)


@pytest.mark.parametrize("last", [b"NA", b"", b"null", b"\xe9t\xe9", b"z"])
def test_text_is_checked_in_every_block_of_a_large_file(last: bytes) -> None:
    """The first read neither checks UTF-8 nor looks for missing-value texts value by value: the distinct
    values of every block are checked after it. A missing value or a stray byte in the last block of a
    file of many blocks reads as pandas reads it (or is refused as it is)."""
    raw = b"a,b\n" + b"x,1\ny,0\n" * 300_000 + last + b",1\n"
    if last == b"\xe9t\xe9":
        with pytest.raises(ValidationError, match=r"is not UTF-8 text \(byte \d+\)"):
            _from_csv(raw)
        return
    fast = _fast_csv(raw, ",")
    assert fast is not None and isinstance(fast["a"].dtype, pd.CategoricalDtype)
    expected = pd.read_csv(io.BytesIO(raw))
    assert fast["a"].isna().sum() == expected["a"].isna().sum() == (last != b"z")
    assert _comparable(fast.iloc[-2:])[2] == _comparable(expected.iloc[-2:])[2]
    assert sorted(fast["a"].cat.categories) == sorted(expected["a"].dropna().unique())


def test_only_the_named_columns_are_read_when_nothing_reads_the_others(client: FlaskClient,
                                                                      compas: pd.DataFrame) -> None:
    """With diagnostics that read no features, the file's other columns are never parsed: a wide file audits
    as the narrow one does, and a column no reader could take (lists) does not stop it."""
    rows = pd.DataFrame({"race": compas.race, "sex": compas.sex, "recid": compas.two_year_recid,
                         "high": (compas.decile_score >= 5).astype(int)})
    wide = rows.assign(**{f"junk{i}": compas.priors_count + i for i in range(30)}, note="x, y")
    fields = {**FIELDS, "diagnostics": ["composition", "amplification"]}
    # sent as the body: werkzeug's test client spools a multipart body over 500 KB to a file it never closes
    narrow_report = _direct(client, rows.to_csv(index=False).encode(), fields)
    wide_report = _direct(client, wide.to_csv(index=False).encode(), fields)
    assert wide_report["findings"] == narrow_report["findings"]
    assert wide_report["audit"]["input_sha256"] == narrow_report["audit"]["input_sha256"]
    table = pa.Table.from_pandas(rows, preserve_index=False).append_column("tags", pa.array([[1, 2]] * len(rows)))
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    parquet = bytes(sink.getvalue().to_pybytes())
    answer = client.post("/v1/audits/upload", data=parquet, content_type="application/vnd.apache.parquet",
                         query_string={"request": json.dumps(fields)})
    assert answer.status_code == 200 and json_of(answer)["findings"] == narrow_report["findings"]
    # the default diagnostics read every column without a part as a feature: then the lists are refused
    answer = client.post("/v1/audits/upload", data=parquet, content_type="application/vnd.apache.parquet",
                         query_string={"request": json.dumps(FIELDS)})
    assert answer.status_code == 422 and "tags" in json_of(answer)["errors"][0]["message"]


def test_which_columns_are_read() -> None:
    base = {"label": "y", "prediction": "p", "protected": [ProtectedAttribute("g", "largest", None)]}
    assert _columns_read(base) is None  # default diagnostics: features are every other column
    assert _columns_read({**base, "diagnostics": ["subgroups"]}) is None
    assert _columns_read({**base, "diagnostics": []}) == ["g", "y", "p"]
    assert _columns_read({**base, "features": ["a"], "conditioning": [{"attribute": "band"}]}) == \
        ["g", "y", "p", "a", "band"]
    assert _columns_read({**base, "diagnostics": [], "endpoint": {}}) is None  # the model is sent every column
