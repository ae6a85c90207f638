"""Every malformed request gets a 4xx application/problem+json naming the offending field, never a 500."""

from __future__ import annotations

import copy
import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from fairprobe import Settings, create_app
from tests.answers import json_of

ROWS = [
    {"race": r, "sex": s, "y": y, "pred": p, "score": sc, "n": n}
    for r, s, y, p, sc, n in [
        ("a", "f", 1, 1, 0.9, 3), ("a", "m", 0, 1, 0.6, 2), ("b", "f", 1, 0, 0.2, 4), ("b", "m", 0, 0, 0.1, 5),
        ("a", "f", 0, 0, 0.3, 1), ("b", "m", 1, 1, 0.8, 2),
    ]
]
BASE: dict[str, Any] = {"data": {"records": ROWS}, "label": "y", "prediction": "pred",
                        "protected": [{"attribute": "race", "reference": "a"}]}


def body(**changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(BASE)
    for key, value in changes.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def rows(**column_values: list[Any]) -> dict[str, Any]:
    records = copy.deepcopy(ROWS)
    for column, values in column_values.items():
        for record, value in zip(records, values, strict=True):
            record[column] = value
    return {"records": records}


Send = Callable[[FlaskClient], Any]


def as_json(payload: Any) -> Send:
    return lambda c: c.post("/v1/audits", json=payload)


def as_bytes(raw: bytes, content_type: str = "application/json") -> Send:
    return lambda c: c.post("/v1/audits", data=raw, content_type=content_type)


def as_multipart(csv_bytes: bytes | None, request: dict[str, Any] | None) -> Send:
    def send(c: FlaskClient) -> Any:
        form: dict[str, Any] = {}
        if csv_bytes is not None:
            form["data"] = (io.BytesIO(csv_bytes), "data.csv")
        if request is not None:
            form["request"] = json.dumps(request)
        return c.post("/v1/audits/upload", data=form, content_type="multipart/form-data")
    return send


REQUEST_FOR_CSV = {k: v for k, v in BASE.items() if k != "data"}

CASES: list[tuple[str, Send, int, str]] = [
    ("empty body", as_bytes(b""), 400, "body"),
    ("invalid JSON", as_bytes(b'{"label": '), 400, "body"),
    ("non-UTF-8 bytes in JSON", as_bytes(b'{"label": "\xff\xfe"}'), 400, "body"),
    ("JSON array instead of object", as_json([1, 2]), 422, "body"),
    ("plain-text content type", as_bytes(b"label=y", "text/plain"), 415, "Content-Type"),
    ("missing label", as_json(body(label=None)), 422, "label"),
    ("unknown top-level field", as_json(body(lable="y")), 422, "lable"),
    ("label of wrong type", as_json(body(label=5)), 422, "label"),
    ("unknown label column", as_json(body(label="outcome")), 422, "label"),
    ("unknown prediction column", as_json(body(prediction="decision")), 422, "prediction"),
    ("unknown protected column", as_json(body(protected=[{"attribute": "religion"}])), 422, "protected[0].attribute"),
    ("NaN in a protected column", as_json(body(data=rows(race=["a", None, "b", "b", "a", "b"]))), 422,
     "protected[0].attribute"),
    ("reference group absent from the data", as_json(body(protected=[{"attribute": "race", "reference": "z"}])),
     422, "protected[0].reference"),
    ("labels outside the declared values", as_json(body(data=rows(y=[0, 1, 2, 1, 0, 1]))), 422, "label"),
    ("labels outside declared negative_label", as_json(body(negative_label=2)), 422, "label"),
    ("text predictions with numeric labels", as_json(body(data=rows(pred=["1", "0", "1", "0", "1", "0"]))), 422,
     "prediction"),
    ("missing values in the label", as_json(body(data=rows(y=[1, None, 0, 1, 0, 1]))), 422, "label"),
    ("records and columns together", as_json(body(data={"records": ROWS, "columns": {"y": [1]}})), 422, "data"),
    ("records not a list", as_json(body(data={"records": {"y": 1}})), 422, "data.records"),
    ("a record that is not an object", as_json(body(data={"records": [*ROWS, [1, 2]]})), 422, "data.records"),
    ("columns of different lengths", as_json(body(data={"columns": {"y": [1, 0], "pred": [1], "race": ["a", "b"]}})),
     422, "data.columns"),
    ("no rows", as_json(body(data={"records": []})), 422, "data.records"),
    ("unknown member of data", as_json(body(data={"rows": ROWS})), 422, "data.rows"),
    ("bad CSV", as_multipart(b'race,y,pred\n"a,1,1\nb,0,0\n', REQUEST_FOR_CSV), 422, "data.csv"),
    ("non-UTF-8 CSV", as_multipart(b"race,y,pred\n\xe9,1,1\n", REQUEST_FOR_CSV), 422, "data.csv"),
    ("duplicate CSV columns", as_multipart(b"race,y,y,pred\na,1,1,1\n", REQUEST_FOR_CSV), 422, "data.csv"),
    ("multipart without request part", as_multipart(b"race,y,pred\na,1,1\n", None), 422, "request"),
    ("multipart request part not JSON", lambda c: c.post(
        "/v1/audits/upload", data={"request": "{nope"}, content_type="multipart/form-data"), 400, "request"),
    ("upload without a data part", lambda c: c.post(
        "/v1/audits/upload", data={"request": json.dumps(REQUEST_FOR_CSV)}, content_type="multipart/form-data"),
     422, "data"),
    ("upload with data inside request", as_multipart(b"race,y,pred\na,1,1\n", {**REQUEST_FOR_CSV, "data": {}}),
     422, "data"),
    ("multipart sent to the JSON operation", lambda c: c.post(
        "/v1/audits", data={"request": json.dumps(REQUEST_FOR_CSV)}, content_type="multipart/form-data"),
     415, "Content-Type"),
    ("JSON sent to the upload operation", lambda c: c.post("/v1/audits/upload", json=REQUEST_FOR_CSV), 415,
     "Content-Type"),
    ("unknown answer format", lambda c: c.post("/v1/audits?format=xml", json=REQUEST_FOR_CSV), 400, "format"),
    ("negative counts in a counts table", as_json(body(count="n", data=rows(n=[3, -2, 4, 5, 1, 2]))), 422, "count"),
    ("fractional counts in a counts table", as_json(body(count="n", data=rows(n=[3, 2.5, 4, 5, 1, 2]))), 422,
     "count"),
    ("counts and weights together", as_json(body(count="n", weight="n")), 422, "weight"),
    ("zero sample weight", as_json(body(weight="n", data=rows(n=[3, 0, 4, 5, 1, 2]))), 422, "weight"),
    ("text sample weights", as_json(body(weight="race")), 422, "weight"),
    ("score outside [0, 1]", as_json(body(score="score", data=rows(score=[0.1, 1.5, 0.2, 0.3, 0.4, 0.5]))), 422,
     "score"),
    ("score without threshold or prediction", as_json(body(prediction=None, score="score")), 422, "threshold"),
    ("threshold out of range", as_json(body(prediction=None, score="score", threshold=2)), 422, "threshold"),
    ("protected column mixing types", as_json(body(data=rows(race=["a", 1, "b", "b", "a", "b"]))), 422,
     "protected[0].attribute"),
    ("bins on a text column", as_json(body(protected=[{"attribute": "race", "bins": [1, 2]}])), 422,
     "protected[0].bins"),
    ("bins not increasing", as_json(body(protected=[{"attribute": "n", "bins": [3, 2]}])), 422, "protected[0].bins"),
    ("duplicate protected attribute", as_json(body(protected=[{"attribute": "race"}, {"attribute": "race"}])), 422,
     "protected"),
    ("no protected attribute", as_json(body(protected=[])), 422, "protected"),
    ("intersection of an unprotected attribute", as_json(body(intersections=[["race", "sex"]])), 422,
     "intersections[0]"),
    ("favorable neither label", as_json(body(negative_label=0, favorable=7)), 422, "favorable"),
    ("negative_label equal to positive_label", as_json(body(negative_label=1)), 422, "negative_label"),
    ("negative seed", as_json(body(seed=-1)), 422, "seed"),
    ("policy rule with two bounds", as_json(body(policy={"rules": [
        {"metric": "disparate_impact", "min": 0.8, "max": 1.25}]})), 422, "policy.rules[0].metric"),
    ("policy rule with unknown metric", as_json(body(policy={"rules": [{"metric": "fairness", "min": 0.8}]})), 422,
     "policy.rules[0].metric"),
    ("rate rule with max_abs", as_json(body(policy={"rules": [{"metric": "selection_rate", "max_abs": 0.1}]})), 422,
     "policy.rules[0].max_abs"),
    ("policy alpha out of range", as_json(body(policy={"rules": [{"metric": "disparate_impact", "min": 0.8}],
                                                       "alpha": 1.5})), 422, "policy.alpha"),
    ("policy rule naming an unprotected attribute", as_json(body(policy={"rules": [
        {"metric": "disparate_impact", "min": 0.8, "attributes": ["sex"]}]})), 422, "policy.rules[0].attributes"),
    ("policy without rules", as_json(body(policy={"alpha": 0.05})), 422, "policy.rules"),
]


@pytest.mark.parametrize(("send", "status", "field"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_a_problem_naming_the_field(client: FlaskClient, send: Send, status: int, field: str) -> None:
    response = send(client)
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    problem = json_of(response)
    assert problem["status"] == status
    assert problem["type"].startswith("https://fairprobe.dev/problems/")
    assert problem["request_id"] == response.headers["X-Request-ID"]
    assert field in [e["field"] for e in problem.get("errors", [])], problem


def test_there_are_at_least_25_named_bad_inputs() -> None:
    assert len({c[0] for c in CASES}) == len(CASES) >= 25


def test_the_valid_base_request_is_accepted(client: FlaskClient) -> None:
    """The cases above differ from a request that works: the failures come from the change made."""
    assert client.post("/v1/audits", json=BASE).status_code == 200
    csv = b"race,y,pred\na,1,1\nb,0,0\na,0,1\n"
    assert as_multipart(csv, REQUEST_FOR_CSV)(client).status_code == 200


def test_oversized_body_is_413() -> None:
    app: Flask = create_app(Settings(max_body_bytes=2048))
    response = app.test_client().post("/v1/audits", json=body(data={"records": ROWS * 40}))
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"


def test_oversized_direct_upload_is_413() -> None:
    """The file sent as the body is held to the same limit (read in one piece, not through werkzeug's stream)."""
    app: Flask = create_app(Settings(max_body_bytes=2048))
    csv = b"race,y,pred\n" + b"a,1,1\nb,0,0\n" * 400
    response = app.test_client().post("/v1/audits/upload", data=csv, content_type="text/csv",
                                      query_string={"request": json.dumps(REQUEST_FOR_CSV)})
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"


@pytest.mark.parametrize("path", ["/v1/audits", "/v1/audits/upload"])
def test_a_body_shorter_than_its_declared_length_is_400(client: FlaskClient, path: str) -> None:
    """The client stopped sending: a 400 problem, as werkzeug answers it, never a parse of half a body."""
    raw = json.dumps(BASE).encode() if path == "/v1/audits" else b"race,y,pred\na,1,1\nb,0,0\na,0,1\n"
    response = client.post(path, data=raw, content_type="application/json" if path == "/v1/audits" else "text/csv",
                           query_string={} if path == "/v1/audits" else {"request": json.dumps(REQUEST_FOR_CSV)},
                           environ_overrides={"CONTENT_LENGTH": str(len(raw) + 100)})
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"


def test_too_many_rows_is_422_naming_data() -> None:
    app: Flask = create_app(Settings(max_rows=5))
    response = app.test_client().post("/v1/audits", json=BASE)
    assert response.status_code == 422
    assert json_of(response)["errors"][0]["field"] == "data"


def test_too_many_distinct_values_names_the_attribute(client: FlaskClient) -> None:
    ids = [{"id": i, "y": i % 2, "pred": (i // 2) % 2} for i in range(1200)]
    response = client.post("/v1/audits", json={"data": {"records": ids}, "label": "y", "prediction": "pred",
                                               "protected": [{"attribute": "id"}]})
    assert response.status_code == 422
    assert json_of(response)["errors"][0]["field"] == "protected[0].attribute"
