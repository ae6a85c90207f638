"""Hostile and careless input: every spoiled request is a 4xx problem naming the field, never a 5xx; nothing a
request carries reaches the log; small requests cannot blow up time or memory."""

from __future__ import annotations

import io
import json
import logging
import time
import tracemalloc
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from demo.serving import serve
from flask import Flask
from flask.testing import FlaskClient

from fairprobe import Settings, create_app
from fairprobe.domain.endpoint import EndpointSpec, Format, FormatOptions, Output
from fairprobe.endpoints import EndpointClient, TargetGuard
from fairprobe.endpoints.formats import decode
from tests.hostile import ConstantModel, bodies, endpoint, mutations

SECRET = "planted-vendor-key-1234"
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def model() -> Iterator[tuple[str, ConstantModel]]:
    app = ConstantModel()
    with serve(app) as url:
        yield url, app


@pytest.fixture
def settings() -> Settings:
    return Settings(allowed_targets=("127.0.0.1/32",))


def named(response: Any) -> list[str]:
    assert response.status_code >= 400 and response.mimetype == PROBLEM, response.get_data(as_text=True)[:300]
    return [e["field"] for e in response.get_json().get("errors", [])]


# ------------------------------------------------------------------ every path, every spoiler


def test_the_base_requests_are_valid(client: FlaskClient, model: tuple[str, ConstantModel]) -> None:
    for name, (path, body) in bodies(model[0]).items():
        response = client.post(path, json=body)
        assert response.status_code == 200, (name, response.get_json())


@pytest.mark.parametrize("operation", sorted(bodies("http://x")))
def test_no_spoiled_request_is_a_5xx(client: FlaskClient, model: tuple[str, ConstantModel], operation: str,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    path, body = bodies(model[0])[operation]
    for label, spoiled in mutations(body):
        response = client.post(path, json=spoiled)
        # a 502 is the documented answer when the model answered nothing usable (e.g. no response path)
        unavailable = response.status_code == 502 and response.get_json()["type"].endswith("/model-unavailable")
        assert response.status_code < 500 or unavailable, (label, response.get_data(as_text=True)[:500])
        if response.status_code >= 400:
            assert response.mimetype == PROBLEM, label
        assert SECRET not in response.get_data(as_text=True), label
    assert SECRET not in capsys.readouterr().out


# ------------------------------------------------------------------ the classes the issue names


@pytest.mark.parametrize(("change", "field"), [
    ({"positive_label": [1]}, "positive_label"),
    ({"positive_label": {"v": 1}}, "positive_label"),
    ({"favorable": [0, 1]}, "favorable"),
    ({"negative_label": None}, "negative_label"),
    ({"protected": [{"attribute": "race", "reference": ["a"]}]}, "protected[0].reference"),
    ({"protected": [{"attribute": "race", "reference": {"a": 1}}]}, "protected[0].reference"),
    ({"protected": [{"attribute": "race", "bins": [1e16, 1e300]}]}, "protected[0].bins"),
    ({"policy": {"rules": [{"metric": "disparate_impact", "min": 1e300}]}}, "policy.rules[0].min"),
])
def test_a_list_object_or_huge_number_where_one_value_belongs(client: FlaskClient, change: dict[str, Any],
                                                              field: str) -> None:
    body = {**bodies("http://x")["audit_records"][1], **change}
    response = client.post("/v1/audits", json=body)
    assert response.status_code == 422 and any(f.startswith(field) for f in named(response)), named(response)


@pytest.mark.parametrize("column", ["race", "y", "p"])
@pytest.mark.parametrize("bad", [["x"], {"k": 1}])
def test_a_column_holding_lists_or_objects(client: FlaskClient, column: str, bad: Any) -> None:
    body = bodies("http://x")["audit_records"][1]
    body["data"]["records"][3][column] = bad
    response = client.post("/v1/audits", json=body)
    assert response.status_code == 422 and named(response) == ["data.records"]
    columns = {k: [r[k] for r in body["data"]["records"]] for k in body["data"]["records"][0]}
    response = client.post("/v1/audits", json={**body, "data": {"columns": columns}})
    assert response.status_code == 422 and named(response) == ["data.columns"]


def test_profiles_and_stress_reference_data_holding_lists(client: FlaskClient,
                                                          model: tuple[str, ConstantModel]) -> None:
    all_bodies = bodies(model[0])
    swap = all_bodies["name_swap"][1]
    swap["profiles"]["records"][2]["age"] = [1, 2]
    assert named(client.post("/v1/probes/name-swap", json=swap)) == ["profiles.records"]
    stress = all_bodies["stress_reference"][1]
    stress["generator"]["reference"]["data"]["records"][5]["purpose"] = ["car", "tv"]
    assert named(client.post("/v1/stress", json=stress)) == ["generator.reference.data.records"]


@pytest.mark.parametrize(("column", "values"), [("w", [1e308] * 40), ("w", [1e200] * 40), ("n", [1e308] * 4)])
def test_weights_or_counts_that_would_overflow(client: FlaskClient, column: str, values: list[float]) -> None:
    all_bodies = bodies("http://x")
    body = all_bodies["audit_records"][1] if column == "w" else all_bodies["audit_counts"][1]
    if column == "w":
        for record, value in zip(body["data"]["records"], values, strict=True):
            record["w"] = value
    else:
        body["data"]["columns"]["n"] = values
    field = "weight" if column == "w" else "count"
    assert named(client.post("/v1/audits", json=body)) == [field]


@pytest.mark.parametrize(("where", "value"), [
    (("fields", 0, "max"), 1e308), (("fields", 1, "mean"), 1e308), (("fields", 2, "categories", 0, "weight"), 1e308),
])
def test_stress_ranges_and_weights_near_the_double_limit(client: FlaskClient, model: tuple[str, ConstantModel],
                                                         where: tuple[Any, ...], value: float) -> None:
    body = bodies(model[0])["stress_schema"][1]
    holder = body["generator"]["schema"]
    for step in where[:-1]:
        holder = holder[step]
    holder[where[-1]] = value
    response = client.post("/v1/stress", json=body)
    assert response.status_code == 422
    assert any(f.startswith("generator.schema.fields") for f in named(response)), named(response)


def test_a_csv_header_longer_than_the_csv_field_limit(client: FlaskClient) -> None:
    header = "x" * 200_000
    data = f"{header},y,p\na,1,0\nb,0,1\n".encode()
    response = client.post("/v1/audits/upload", data={
        "request": json.dumps({"label": "y", "prediction": "p", "protected": [{"attribute": "x"}]}),
        "data": (io.BytesIO(data), "data.csv")}, content_type="multipart/form-data")
    assert response.status_code == 422 and named(response) == ["data.csv"]


@pytest.mark.parametrize("name", ["__label__", "__prediction__", "__weight__", "__score__", "label", "weight",
                                  "attribute_0", "prediction"])
def test_caller_columns_named_like_internal_ones_are_audited_as_theirs(client: FlaskClient, name: str) -> None:
    """A protected column may be called anything: the audit of it equals the audit under a plain name."""
    body = bodies("http://x")["audit_records"][1]
    plain = client.post("/v1/audits", json=body).get_json()
    renamed = json.loads(json.dumps(body).replace('"race"', json.dumps(name)))
    report = client.post("/v1/audits", json=renamed).get_json()
    assert [f["value"] for f in report["findings"]] == [f["value"] for f in plain["findings"]]
    assert [f["p_value"] for f in report["findings"]] == [f["p_value"] for f in plain["findings"]]


@pytest.mark.parametrize("value", [" Bearer x", "Bearer x ", "Bearer \u20ac", "Bearer \x07x", "Bearer\tx\t"])
def test_endpoint_header_values_an_http_library_refuses(client: FlaskClient, model: tuple[str, ConstantModel],
                                                        value: str) -> None:
    body = bodies(model[0])["name_swap"][1]
    body["endpoint"]["headers"] = {"Authorization": value.replace("x", SECRET)}
    response = client.post("/v1/probes/name-swap", json=body)
    assert response.status_code == 422 and named(response) == ["endpoint.headers"]
    assert SECRET not in response.get_data(as_text=True)


def test_a_header_the_http_library_refuses_is_a_failed_probe_not_a_crash(model: tuple[str, ConstantModel]) -> None:
    """Defence in depth: past the schema, the client turns the library's refusal into a reason."""
    url = model[0] + "/score"
    spec = EndpointSpec(url=url, format=Format.JSON, options=FormatOptions(response_path="predictions[*].score"),
                        output=Output.SCORE, threshold=0.5, positive_label=1, headers={"X-Key": f" {SECRET}"})
    scored = EndpointClient(spec, TargetGuard(["127.0.0.1/32"]).check(url), max_response_bytes=1 << 20).score(
        [{"a": 1}, {"a": 2}])
    assert scored.accounting.failures == {"invalid_request": 2}


# ------------------------------------------------------------------ careless requests


@pytest.mark.parametrize(("change", "fields"), [
    ({"prediction": "y"}, {"label", "prediction"}),
    ({"protected": [{"attribute": "y"}]}, {"label", "protected[0].attribute"}),
    ({"weight": "p"}, {"prediction", "weight"}),
    ({"protected": [{"attribute": "race"}, {"attribute": "p"}]}, {"prediction", "protected[1].attribute"}),
])
def test_one_column_in_two_roles_is_refused(client: FlaskClient, change: dict[str, Any], fields: set[str]) -> None:
    body = {**bodies("http://x")["audit_records"][1], **change}
    body.pop("intersections", None)
    assert set(named(client.post("/v1/audits", json=body))) == fields


@pytest.mark.parametrize("raw", [
    b'{"label": "y", "label": "p"}',
    b'{"data": {"records": [{"g": "a", "g": "b", "y": 1, "p": 1}]}, "label": "y", "prediction": "p", '
    b'"protected": [{"attribute": "g"}]}',
    b'{"policy": {"rules": [], "rules": []}}',
])
def test_duplicate_keys_in_a_json_object_are_refused(client: FlaskClient, raw: bytes) -> None:
    response = client.post("/v1/audits", data=raw, content_type="application/json")
    assert response.status_code == 400 and named(response) == ["body"]
    assert "twice" in response.get_json()["detail"]


@pytest.mark.parametrize("raw", [b'{"a": NaN}', b'{"a": Infinity}', b"[" * 100_000 + b"]" * 100_000,
                                 b'{"a": 1' + b"0" * 5000 + b"}"])
def test_json_that_is_not_json_numbers_or_too_deep(client: FlaskClient, raw: bytes) -> None:
    response = client.post("/v1/audits", data=raw, content_type="application/json")
    assert response.status_code == 400 and named(response) == ["body"]


# ------------------------------------------------------------------ work and memory a small request can cost


def test_many_levels_in_few_rows_build_a_small_table(client: FlaskClient) -> None:
    """5 attributes x 1,000 values in 1,000 rows: dense that was 1000**5 cells; observed it is 1,000."""
    rng = np.random.default_rng(0)
    columns = {f"a{i}": [f"v{x}" for x in rng.integers(0, 1000, 1000)] for i in range(5)}
    columns |= {"y": rng.integers(0, 2, 1000).tolist(), "p": rng.integers(0, 2, 1000).tolist()}
    body = {"data": {"columns": columns}, "label": "y", "prediction": "p",
            "protected": [{"attribute": f"a{i}"} for i in range(5)]}
    tracemalloc.start()
    started = time.monotonic()
    response = client.post("/v1/audits", json=body)
    elapsed = time.monotonic() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    # every value and pair occurs: far more groups than a service should measure in one request
    assert response.status_code == 422 and named(response) == ["protected"]
    assert elapsed < 5 and peak < 100 * 2**20


def test_too_many_intersectional_groups_are_refused_before_any_metric(client: FlaskClient) -> None:
    rng = np.random.default_rng(1)
    columns = {"a": [f"v{x}" for x in rng.integers(0, 300, 2000)], "b": [f"w{x}" for x in rng.integers(0, 300, 2000)],
               "y": rng.integers(0, 2, 2000).tolist(), "p": rng.integers(0, 2, 2000).tolist()}
    body = {"data": {"columns": columns}, "label": "y", "prediction": "p",
            "protected": [{"attribute": "a"}, {"attribute": "b"}]}
    started = time.monotonic()
    response = client.post("/v1/audits", json=body)
    assert response.status_code == 422 and named(response) == ["intersections"]
    assert time.monotonic() - started < 3
    small = create_app(Settings(max_findings=100)).test_client()
    response = small.post("/v1/audits", json={**body, "max_intersection_order": 1})
    assert response.status_code == 422 and named(response) == ["policy.rules"]


@pytest.mark.parametrize("template", ["{}", "{age:%}", "{age:>100000000}", "{age.__class__}", "{0}", "{{age}}",
                                      "{name!r}", "{" * 10_000])
def test_stress_text_templates_have_no_format_specs(client: FlaskClient, model: tuple[str, ConstantModel],
                                                    template: str) -> None:
    body = bodies(model[0])["stress_schema"][1]
    body["generator"]["schema"]["fields"][6]["template"] = template
    tracemalloc.start()
    response = client.post("/v1/stress", json=body)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert response.status_code in (200, 422), response.get_data(as_text=True)[:300]
    assert peak < 100 * 2**20


def test_model_replies_are_parsed_in_linear_time() -> None:
    chat = FormatOptions(extract_json_field="score")
    reply = {"choices": [{"message": {"content": "{" * 1_000_000}}]}
    started = time.monotonic()
    assert decode(Format.OPENAI_CHAT, chat, json.dumps(reply).encode(), 1) == ["unparseable_reply"]
    reply["choices"][0]["message"]["content"] = "a" * 30_000 + "!"  # Python's re would backtrack for ages
    hostile = FormatOptions(extract_regex="(a+)+$")
    assert decode(Format.OPENAI_CHAT, hostile, json.dumps(reply).encode(), 1) == ["unparseable_reply"]
    assert time.monotonic() - started < 2
    good = {"choices": [{"message": {"content": 'Sure. {"score": 0.25, "why": "x"} done'}}]}
    assert decode(Format.OPENAI_CHAT, chat, json.dumps(good).encode(), 1) == [0.25]


@pytest.mark.parametrize("pattern", [r"(a)\1", r"(?<=x)\d+", r"(?=a)a"])
def test_a_reply_pattern_re2_cannot_run_is_refused(client: FlaskClient, model: tuple[str, ConstantModel],
                                                   pattern: str) -> None:
    body = bodies(model[0])["name_swap"][1]
    body["endpoint"] = {**endpoint(model[0]), "format": "openai-chat", "extract_regex": pattern,
                        "prompt": "{profile}"}
    body["endpoint"].pop("response_path")
    assert named(client.post("/v1/probes/name-swap", json=body)) == ["endpoint.extract_regex"]


# ------------------------------------------------------------------ nothing a request carries is logged


def test_a_planted_secret_never_reaches_the_log_on_any_error_path(
        app: Flask, model: tuple[str, ConstantModel], capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    client = app.test_client()
    all_bodies = bodies(model[0])
    swap = all_bodies["name_swap"][1]
    swap["endpoint"]["headers"] = {"Authorization": f" Bearer {SECRET}"}  # leading space: refused
    client.post("/v1/probes/name-swap", json=swap)
    swap["endpoint"]["headers"] = {"Authorization": f"Bearer {SECRET}"}
    swap["endpoint"]["url"] = model[0] + "/nowhere-" + SECRET  # a 404 from the model... and the URL path
    client.post("/v1/probes/name-swap", json=swap)
    # an unexpected error whose message carries the secret: the 500's traceback is logged without messages
    from fairprobe.engines import counterfactual

    def boom(*_: Any, **__: Any) -> Any:
        raise RuntimeError(f"exploded with {SECRET}") from ValueError(f"cause {SECRET}")

    monkeypatch.setattr(counterfactual.NameSwapProbe, "run", boom)
    swap["endpoint"]["url"] = model[0] + "/score"
    response = client.post("/v1/probes/name-swap", json=swap)
    assert response.status_code == 500
    # third-party loggers' arguments are not printed either
    logging.getLogger("urllib3.connectionpool").error("header %s sent", SECRET)
    logging.getLogger("werkzeug").error("request %r", {"Authorization": SECRET})
    out = capsys.readouterr()
    assert SECRET not in out.out + out.err
    lines = [json.loads(line) for line in out.out.splitlines() if line.startswith("{")]
    assert any(line.get("exception") for line in lines)  # the traceback was logged, as types and frames
    assert any(line["logger"] == "urllib3.connectionpool" for line in lines)
