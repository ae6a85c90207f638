"""Service behaviour: health, catalogue, API keys, request ids, logs without data, Prometheus, NaN refusal."""

from __future__ import annotations

import dataclasses
import datetime
import json
import math
import threading
import time
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pytest
from flask import Flask
from flask.testing import FlaskClient

from fairprobe import Settings, create_app
from fairprobe.api.work import FifoSlots
from fairprobe.json_provider import StrictJSONProvider
from tests.answers import json_of

SECRET_NAME = "Zebulon-Quattlebaum"
AUDIT = {"data": {"records": [{"name": SECRET_NAME, "g": g, "y": y, "p": p}
                              for g, y, p in [("a", 1, 1), ("b", 0, 1), ("a", 0, 0), ("b", 1, 0)] * 5]},
         "label": "y", "prediction": "p", "protected": [{"attribute": "g"}]}


def test_health_and_readiness(client: FlaskClient) -> None:
    assert json_of(client.get("/healthz")) == {"status": "ok"}
    assert json_of(client.get("/readyz")) == {"status": "ready"}


def test_catalogue_lists_every_reported_metric(client: FlaskClient) -> None:
    metrics = {m["name"]: m for m in json_of(client.get("/v1/metrics"))["metrics"]}
    report = json_of(client.post("/v1/audits", json=AUDIT))
    reported = set(report["groups"][0]["metrics"]) | set(report["groups"][1]["disparities"]) | \
        set(report["indices"][0]["metrics"]) | set(report["overall"])
    assert reported <= set(metrics)
    assert metrics["disparate_impact"]["aif360"] == "aif360.metrics.ClassificationMetric.disparate_impact"
    assert metrics["false_positive_rate"]["definition"] == "FP / (FP + TN)"
    assert metrics["false_positive_rate"]["worse"] == "higher"


@pytest.fixture
def keyed_client() -> FlaskClient:
    return create_app(Settings(api_keys=frozenset({"k-one", "k-two"}))).test_client()


def test_api_keys_guard_everything_but_health_and_docs(keyed_client: FlaskClient) -> None:
    # what holds no data is open: health, the links page, the spec and the docs with their assets
    for path in ("/healthz", "/", "/openapi.json", "/docs", "/docs/assets/swagger-ui-bundle.js"):
        assert keyed_client.get(path).status_code == 200, path
    assert keyed_client.get("/docs/assets/../v1/metrics").status_code == 404  # only the listed assets are open
    for path in ("/v1/metrics", "/metrics", "/v1/name-banks"):
        response = keyed_client.get(path)
        assert response.status_code == 401, path
        assert response.mimetype == "application/problem+json"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert keyed_client.get("/v1/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert keyed_client.get("/v1/metrics", headers={"Authorization": "Basic k-one"}).status_code == 401
    for key in ("k-one", "k-two"):
        assert keyed_client.get("/v1/metrics", headers={"Authorization": f"Bearer {key}"}).status_code == 200


def test_request_id_is_echoed_or_made(client: FlaskClient) -> None:
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] == "abc-123"
    made = client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"}).headers["X-Request-ID"]
    assert made != "bad id with spaces" and len(made) == 32
    report = json_of(client.post("/v1/audits", json=AUDIT, headers={"X-Request-ID": "audit-7"}))
    assert report["audit"]["request_id"] == "audit-7"


def test_one_json_log_line_per_request_without_data(client: FlaskClient, capsys: pytest.CaptureFixture[str]) -> None:
    client.post("/v1/audits", json=AUDIT, headers={"Authorization": "Bearer planted-token"})
    client.post("/v1/audits", json={**AUDIT, "label": "nope"})
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    access = [line for line in lines if line["logger"] == "fairprobe.access"]
    assert [line["status"] for line in access] == [200, 422]
    assert all(line["path"] == "/v1/audits" for line in access)
    text = json.dumps(lines)
    assert SECRET_NAME not in text and "planted-token" not in text


def test_prometheus_counts_requests(client: FlaskClient) -> None:
    client.get("/healthz")
    client.post("/v1/audits", json=AUDIT)
    exposition = client.get("/metrics").get_data(as_text=True)
    assert 'fairprobe_http_requests_total{method="GET",route="/healthz",status="200"} 1.0' in exposition
    assert 'fairprobe_http_request_duration_seconds_count{method="POST",route="/v1/audits"} 1.0' in exposition


def test_json_provider_refuses_nan(app: Flask) -> None:
    provider = StrictJSONProvider(app)
    with pytest.raises(ValueError, match="Out of range float values"):
        provider.dumps({"value": math.nan})
    with pytest.raises(ValueError):
        provider.loads('{"value": NaN}')
    with app.app_context():  # the answer orjson writes refuses them too, however deep, as floats or subclasses
        for value in ({"a": [1.0, {"b": (2.0, math.inf)}]}, [np.float64("nan")], {"x": -math.inf}, math.nan,
                      [[], {}, [{"deep": [[[math.nan]]]}]], ({"e": ("x", 1, True, None, -math.inf)},)):
            with pytest.raises(ValueError, match="Out of range float values"):
                provider.response(value)


def test_answers_written_by_orjson_read_as_those_written_by_dumps(app: Flask, compas: pd.DataFrame) -> None:
    """Plain data is written by orjson, anything else (dates, dataclasses, subclasses, huge integers, keys
    that are not text) by ``dumps``: either way the answer reads back as the same value."""
    client = app.test_client()
    rows = pd.DataFrame({"race": compas.race, "sex": compas.sex, "recid": compas.two_year_recid,
                         "high": (compas.decile_score >= 5).astype(int)})
    answer = client.post("/v1/audits", json={
        "data": {"records": rows.to_dict("records")}, "label": "recid", "prediction": "high", "favorable": 0,
        "protected": [{"attribute": "race", "reference": "Caucasian"}, {"attribute": "sex"}]})
    assert answer.status_code == 200
    report = json.loads(answer.get_data())
    provider = StrictJSONProvider(app)

    @dataclasses.dataclass
    class Point:
        x: float

    class Name(str):
        pass

    odd = [{"when": datetime.date(2026, 12, 5)}, {"point": Point(0.5)}, {"name": Name("Ana")}, {"big": 2**70},
           {1: "one"}, {"ok": [1, 2.5, "é", None, True]}]
    with app.app_context():
        for value in (report, *odd):
            response: Any = provider.response(value)
            assert json.loads(response.get_data()) == json.loads(provider.dumps(value)), value
        written: Any = provider.response(report)
        assert written.get_data() == orjson.dumps(report, option=orjson.OPT_APPEND_NEWLINE)  # orjson wrote it


def test_unexpected_errors_are_generic_500s(app: Flask, capsys: pytest.CaptureFixture[str]) -> None:
    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("secret internals")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert response.mimetype == "application/problem+json"
    assert "secret internals" not in response.get_data(as_text=True)
    out = capsys.readouterr().out
    # the traceback is logged as types and frames, with the request id; its message (which may quote a
    # header value or a row) never is
    line = next(json.loads(x) for x in out.splitlines() if '"unhandled error"' in x)
    assert line["request_id"] == response.headers["X-Request-ID"]
    assert line["exception"][0]["type"] == "builtins.RuntimeError"
    assert any(frame.endswith(" in boom") for frame in line["exception"][0]["frames"])
    assert "secret internals" not in out


def test_audits_wait_for_an_analysis_slot_while_health_answers() -> None:
    """With every analysis slot of the worker taken, an audit waits (it does not compute alongside) and
    /healthz still answers; the audit runs as soon as the slot is free."""
    app = create_app(Settings(analysis_slots=1))
    slots = app.extensions["fairprobe.analysis_slots"]
    results: list[int] = []
    slots.acquire()
    worker = threading.Thread(target=lambda: results.append(app.test_client().post("/v1/audits", json=AUDIT)
                                                            .status_code))
    worker.start()
    try:
        worker.join(timeout=1.0)
        assert worker.is_alive() and results == []  # waiting for the slot
        assert app.test_client().get("/healthz").status_code == 200
    finally:
        slots.release()
    worker.join(timeout=30)
    assert results == [200]
    assert Settings.from_env({"FAIRPROBE_ANALYSIS_SLOTS": "3"}).analysis_slots == 3


def test_analysis_slots_are_served_in_arrival_order() -> None:
    """A freed slot goes to the longest waiter, never to a thread that arrives as it is freed."""
    slots = FifoSlots(1)
    slots.acquire()
    order: list[int] = []
    threads = []

    def take(i: int) -> None:
        slots.acquire()
        order.append(i)
        slots.release()

    for i in range(5):
        thread = threading.Thread(target=take, args=(i,))
        thread.start()
        threads.append(thread)
        time.sleep(0.05)  # each waits before the next arrives
    assert order == []  # all five wait while the slot is held
    slots.release()
    for thread in threads:
        thread.join(timeout=5)
    assert order == [0, 1, 2, 3, 4]
    slots.acquire()  # the last release freed it: taken at once
    slots.release()
