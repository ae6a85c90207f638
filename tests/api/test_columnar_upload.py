"""Arrow IPC and Parquet uploads audit exactly as the CSV of the same rows: the same findings, groups and
fingerprint; a file that is not what it says, or a column of lists, is a 422 naming the field."""

from __future__ import annotations

import io
import json
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.ipc as pa_ipc
import pyarrow.parquet as pq
import pytest
from flask.testing import FlaskClient

from tests.answers import json_of

FIELDS = {"label": "recid", "prediction": "high", "favorable": 0,
          "protected": [{"attribute": "race", "reference": "Caucasian"}, {"attribute": "sex"}]}


def _rows(compas: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"race": compas.race, "sex": compas.sex, "recid": compas.two_year_recid,
                         "high": (compas.decile_score >= 5).astype(int)})


def _upload(client: FlaskClient, payload: bytes, filename: str, mimetype: str) -> Any:
    return client.post("/v1/audits/upload", content_type="multipart/form-data", data={
        "request": (io.BytesIO(json.dumps(FIELDS).encode()), "request.json", "application/json"),
        "data": (io.BytesIO(payload), filename, mimetype)})


def _arrow(frame: pd.DataFrame) -> bytes:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    # text as dictionary-encoded columns, as warehouses export it
    table = table.set_column(0, "race", pa.compute.dictionary_encode(table.column("race")))
    sink = pa.BufferOutputStream()
    with pa_ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def _parquet(frame: pd.DataFrame) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), sink)
    return bytes(sink.getvalue().to_pybytes())


@pytest.mark.parametrize(("kind", "filename", "mimetype"), [
    ("arrow", "compas.arrow", "application/vnd.apache.arrow.stream"),
    ("arrow", "compas.arrows", "application/octet-stream"),
    ("parquet", "compas.parquet", "application/vnd.apache.parquet"),
])
def test_columnar_uploads_audit_as_the_csv_does(client: FlaskClient, compas: pd.DataFrame, kind: str, filename: str,
                                               mimetype: str) -> None:
    rows = _rows(compas)
    csv = json_of(_upload(client, rows.to_csv(index=False).encode(), "compas.csv", "text/csv"))
    payload = _arrow(rows) if kind == "arrow" else _parquet(rows)
    answer = _upload(client, payload, filename, mimetype)
    assert answer.status_code == 200, answer.get_data(as_text=True)[:500]
    columnar = json_of(answer)
    assert columnar["findings"] == csv["findings"]
    assert columnar["groups"] == csv["groups"]
    assert columnar["audit"]["rows"] == len(rows)
    assert columnar["audit"]["input_sha256"] == csv["audit"]["input_sha256"]
    fpr = next(g for g in columnar["groups"] if g["label"] == "race=African-American")
    assert round(100 * fpr["metrics"]["false_positive_rate"]["value"], 2) == 44.85  # ProPublica


@pytest.mark.parametrize(("payload", "filename", "field"), [
    (b"not arrow at all", "x.arrow", "data.arrow"),
    (b"PAR1 nope", "x.parquet", "data.parquet"),
])
def test_a_file_that_is_not_what_it_says_is_refused(client: FlaskClient, payload: bytes, filename: str,
                                                    field: str) -> None:
    answer = _upload(client, payload, filename, "application/octet-stream")
    assert answer.status_code == 422
    assert field in [e["field"] for e in json_of(answer)["errors"]]


def test_a_column_of_lists_is_refused(client: FlaskClient) -> None:
    table = pa.table({"race": ["a", "b"] * 20, "recid": [0, 1] * 20, "high": [1, 0] * 20, "sex": ["f", "m"] * 20,
                      "tags": [[1, 2]] * 40})
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    answer = _upload(client, bytes(sink.getvalue().to_pybytes()), "x.parquet", "application/vnd.apache.parquet")
    assert answer.status_code == 422
    errors = json_of(answer)["errors"]
    assert errors[0]["field"] == "data.parquet" and "tags" in errors[0]["message"]


@pytest.mark.parametrize("kind", ["csv", "arrow", "parquet"])
def test_the_file_itself_as_the_body_audits_as_the_multipart_upload(client: FlaskClient, compas: pd.DataFrame,
                                                                     kind: str) -> None:
    """A direct upload (the file as the body, the fields as the query parameter 'request') reads no multipart
    framing and answers what the multipart upload of the same file does."""
    rows = _rows(compas)
    payload, mimetype = {"csv": (rows.to_csv(index=False).encode(), "text/csv"),
                         "arrow": (_arrow(rows), "application/vnd.apache.arrow.stream"),
                         "parquet": (_parquet(rows), "application/vnd.apache.parquet")}[kind]
    multipart = json_of(_upload(client, payload, f"compas.{kind}", mimetype))
    answer = client.post("/v1/audits/upload", data=payload, content_type=mimetype,
                         query_string={"request": json.dumps(FIELDS)})
    assert answer.status_code == 200, answer.get_data(as_text=True)[:500]
    direct = json_of(answer)
    assert direct["findings"] == multipart["findings"] and direct["groups"] == multipart["groups"]
    assert direct["audit"]["input_sha256"] == multipart["audit"]["input_sha256"]


@pytest.mark.parametrize(("query", "status", "field"), [
    ({}, 422, "request"),
    ({"request": "{not json"}, 400, "request"),
    ({"request": "[1, 2]"}, 422, "request"),
    ({"request": json.dumps({**FIELDS, "data": {"csv": "a,b\n"}})}, 422, "data"),
    ({"request": json.dumps({**FIELDS, "label": "nope"})}, 422, "label"),
])
def test_a_direct_upload_without_usable_fields_is_refused(client: FlaskClient, query: dict[str, str], status: int,
                                                          field: str) -> None:
    answer = client.post("/v1/audits/upload", data=b"race,sex,recid,high\nCaucasian,f,1,0\n",
                         content_type="text/csv", query_string=query)
    assert answer.status_code == status
    assert field in [e["field"] for e in json_of(answer)["errors"]]
