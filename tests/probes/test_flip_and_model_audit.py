"""Attribute flips and model-backed dataset audits against real model servers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from demo.adult import FEATURES, AdultModel, base_profiles, read_adult
from flask.testing import FlaskClient

from fairprobe.domain.endpoint import Accounting, Scored
from fairprobe.domain.policy import Bound, Policy, Rule
from fairprobe.domain.probes import AttributeFlip, FlipRequest, Profiles
from fairprobe.engines.counterfactual import AttributeFlipProbe

ENDPOINT = {"format": "kserve-v2", "fields": FEATURES}


def flip_body(url: str, profiles: list[dict[str, Any]], flips: list[dict[str, Any]]) -> dict[str, Any]:
    return {"endpoint": {**ENDPOINT, "url": url + "/v2/models/adult/infer"}, "profiles": {"records": profiles},
            "id_field": "id", "flips": flips}


def test_flipping_an_attribute_the_model_uses_fails(client: FlaskClient, fair_server: str, fair_model: AdultModel,
                                                    data_dir: Path) -> None:
    # the "fair" model is blind to names but uses sex directly; 150 applicants give >= 30 of each sex
    profiles = base_profiles(data_dir, 150, seed=2)
    report = client.post("/v1/probes/flip", json=flip_body(fair_server, profiles, [{"attribute": "sex"}])).get_json()
    assert report["verdict"] == "fail"
    directions = {(c["reference"]["sex"], c["group"]["sex"]): c for c in report["comparisons"]}
    assert set(directions) == {("Male", "Female"), ("Female", "Male")}
    for (a, b), comparison in directions.items():
        rows = [p for p in profiles if p["sex"] == a]
        change = fair_model.predict([{**p, "sex": b} for p in rows]) - fair_model.predict(rows)
        got = comparison["metrics"]["mean_score_difference"]
        assert comparison["n"] == len(rows)
        assert got["value"] == pytest.approx(change.mean(), abs=1e-12)
        flipped = fair_model.predict([{**p, "sex": b} for p in rows]) >= 0.5
        flips = np.mean(flipped != (fair_model.predict(rows) >= 0.5))
        assert comparison["metrics"]["flip_rate"]["value"] == pytest.approx(flips, abs=1e-12)
    assert report["accounting"]["sent"] == 2 * len(profiles)  # each profile as it is, then flipped once


def test_flipping_an_attribute_the_model_ignores_passes(client: FlaskClient, fair_server: str,
                                                        many_profiles: list[dict[str, Any]]) -> None:
    rows = [{**p, "id": f"r{i}", "region": "north" if i % 2 else "south"} for i, p in enumerate(many_profiles * 2)]
    # region reaches the model (MLflow records carry every field) and the model ignores it
    body = {**flip_body(fair_server, rows, [{"attribute": "region"}]), "policy": {
        "rules": [{"metric": "flip_rate", "max": 0.01}, {"metric": "mean_score_difference", "max_abs": 0.02}],
        "min_group_size": 20}}
    body["endpoint"] = {"url": fair_server + "/invocations", "format": "mlflow", "mlflow_orient": "records"}
    report = client.post("/v1/probes/flip", json=body).get_json()
    assert report["verdict"] == "pass"
    assert all(c["metrics"]["flip_rate"]["value"] == 0 for c in report["comparisons"])


def test_a_flip_of_a_field_that_is_never_sent_is_refused_before_any_call(
        client: FlaskClient, fair_server: str, fair_app: Any, profiles: list[dict[str, Any]]) -> None:
    rows = [{**p, "region": "north" if i % 2 else "south"} for i, p in enumerate(profiles)]
    response = client.post("/v1/probes/flip", json=flip_body(fair_server, rows, [{"attribute": "region"}]))
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert [e["field"] for e in response.get_json()["errors"]] == ["endpoint.fields"]
    assert sum(fair_app.calls.values()) == 0


class RecordingScorer:
    """A scorer double that keeps what it was sent (wiring test: which fields change with a flip)."""

    def __init__(self) -> None:
        self.sent: list[Mapping[str, Any]] = []

    def score(self, records: Sequence[Mapping[str, Any]]) -> Scored:
        self.sent = list(records)
        n = len(records)
        scores = tuple(0.9 if r["zip"] == "10001" else 0.1 for r in records)
        return Scored(scores, tuple(s >= 0.5 for s in scores), (None,) * n,
                      Accounting(n, n, 0, {}, {}, 1, 0, 0.0, 1.0))


def test_proxies_change_together_with_the_attribute() -> None:
    from fairprobe.domain.endpoint import EndpointSpec, Format, FormatOptions, Output

    records = tuple({"sex": "Male" if i % 2 else "Female", "zip": "10001" if i % 2 else "20002", "age": i}
                    for i in range(40))
    request = FlipRequest(
        endpoint=EndpointSpec("http://x/", Format.JSON, FormatOptions(), Output.SCORE, 0.5, 1),
        profiles=Profiles(tuple(str(i) for i in range(40)), records),
        flips=(AttributeFlip("sex", ("Male", "Female"), {"zip": {"Male": "10001", "Female": "20002"}}),),
        policy=Policy((Rule("flip_rate", Bound.MAX, 0.01),), 0.05, 10, "request"), seed=0)
    scorer = RecordingScorer()
    report = AttributeFlipProbe(request_id="t", scorer=scorer).run(request)
    flipped = scorer.sent[40:]
    assert all((r["sex"], r["zip"]) in {("Male", "10001"), ("Female", "20002")} for r in flipped)
    assert [r["age"] for r in flipped] == [r["age"] for r in records if r["sex"] == "Male"] + \
        [r["age"] for r in records if r["sex"] == "Female"]
    assert {c.metrics["flip_rate"].value for c in report.comparisons} == {1.0}
    assert report.verdict.value == "fail"


def test_a_model_backed_audit_equals_the_audit_of_its_predictions(client: FlaskClient, fair_server: str,
                                                                  fair_model: AdultModel, data_dir: Path) -> None:
    test = read_adult(data_dir / "adult" / "adult-test.csv").dropna().head(600)
    rows = [{"age": int(r["age"]), "education_num": int(r["education_num"]),
             "hours_per_week": int(r["hours_per_week"]), "capital_gain": int(r["capital_gain"]), "sex": r["sex"],
             "race": r["race"], "income": r["income"]}
            for r in test.to_dict("records")]
    common = {"label": "income", "positive_label": ">50K", "protected": [{"attribute": "sex"}, {"attribute": "race"}]}
    via_model = client.post("/v1/audits", json={
        **common, "data": {"records": rows}, "features": FEATURES,
        "endpoint": {"url": fair_server + "/invocations", "format": "mlflow", "batch_size": 200},
    })
    assert via_model.status_code == 200, via_model.get_json()
    scores = fair_model.predict([{k: r[k] for k in FEATURES} for r in rows])
    local = [{**r, "score": float(s), "decision": ">50K" if s >= 0.5 else "<=50K"}
             for r, s in zip(rows, scores, strict=True)]
    direct = client.post("/v1/audits", json={**common, "data": {"records": local}, "prediction": "decision",
                                             "negative_label": "<=50K", "score": "score"}).get_json()
    got = via_model.get_json()
    assert got["scoring"]["sent"] == got["scoring"]["answered"] == 600
    assert [f["value"] for f in got["findings"]] == pytest.approx([f["value"] for f in direct["findings"]], abs=1e-12)
    assert [g["metrics"]["auc"]["value"] for g in got["groups"]] == \
        pytest.approx([g["metrics"]["auc"]["value"] for g in direct["groups"]], abs=1e-12)


def test_a_model_that_answers_nothing_is_a_502_problem(client: FlaskClient, fault_server: str) -> None:
    rows = [{"x": i, "sex": "F" if i % 2 else "M", "y": i % 3 == 0} for i in range(40)]
    response = client.post("/v1/audits", json={
        "data": {"records": rows}, "label": "y", "positive_label": True, "protected": [{"attribute": "sex"}],
        "endpoint": {"url": fault_server + "/garbage", "format": "json", "response_path": "predictions[*].score"}})
    assert response.status_code == 502
    assert response.mimetype == "application/problem+json"
    assert "invalid_response: 40" in response.get_json()["detail"]
