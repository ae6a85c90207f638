"""JSON records, JSON columns, a CSV upload and a counts table are the same audit; thin data is inconclusive."""

from __future__ import annotations

import io
import json
from typing import Any

import pandas as pd
import pytest
from flask.testing import FlaskClient

from tests.answers import json_of

ROLES = {"label": "y", "prediction": "high", "favorable": 0,
         "protected": [{"attribute": "race", "reference": "Caucasian"}, {"attribute": "sex"}],
         "intersections": [["race", "sex"]]}


@pytest.fixture(scope="module")
def frame(compas: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"race": compas.race, "sex": compas.sex, "y": compas.two_year_recid,
                         "high": (compas.decile_score >= 5).astype(int)})


def _comparable(report: dict[str, Any]) -> Any:
    return [report["verdict"], report["findings"], report["groups"], report["indices"], report["overall"]]


def test_four_inputs_give_the_same_audit(client: FlaskClient, frame: pd.DataFrame) -> None:
    records = json_of(client.post("/v1/audits", json={"data": {"records": frame.to_dict("records")}, **ROLES}))
    columns = json_of(client.post("/v1/audits", json={"data": {"columns": frame.to_dict("list")}, **ROLES}))
    csv = json_of(client.post("/v1/audits/upload", content_type="multipart/form-data", data={
        "data": (io.BytesIO(frame.to_csv(index=False).encode()), "compas.csv"), "request": json.dumps(ROLES)}))
    counts_table = frame.value_counts().rename("n").reset_index()
    assert len(counts_table) < 60  # the aggregate-first input: a few dozen rows instead of 7214
    counts = json_of(client.post("/v1/audits", json={"data": {"records": counts_table.to_dict("records")},
                                             "count": "n", **ROLES}))
    assert _comparable(records) == _comparable(columns) == _comparable(csv) == _comparable(counts)
    # same rows, same fingerprint, whichever way they came
    assert records["audit"]["input_sha256"] == columns["audit"]["input_sha256"] == csv["audit"]["input_sha256"]
    assert counts["audit"]["data_kind"] == "counts" and counts["audit"]["people"] == len(frame)


def test_score_with_threshold_equals_precomputed_prediction(client: FlaskClient, frame: pd.DataFrame,
                                                           compas: pd.DataFrame) -> None:
    scored = frame.assign(score=compas.decile_score / 10)
    by_prediction = json_of(client.post("/v1/audits", json={"data": {"columns": scored.to_dict("list")}, **ROLES}))
    roles = {k: v for k, v in ROLES.items() if k != "prediction"}
    by_threshold = json_of(client.post("/v1/audits", json={
        "data": {"columns": scored.to_dict("list")}, "score": "score", "threshold": 0.5, **roles}))
    assert by_prediction["findings"] == by_threshold["findings"]
    auc = by_threshold["groups"][0]["metrics"]["auc"]
    assert 0.5 < auc["value"] < 1 and auc["ci_low"] < auc["value"] < auc["ci_high"]


def test_thin_groups_are_inconclusive_with_reasons(client: FlaskClient) -> None:
    records = [{"g": "big", "y": i % 2, "p": (i // 2) % 2} for i in range(200)]
    records += [{"g": "one", "y": 1, "p": 1}]  # a one-row group
    records += [{"g": "same", "y": 0, "p": i % 2} for i in range(40)]  # a single label class
    response = client.post("/v1/audits", json={
        "data": {"records": records}, "label": "y", "prediction": "p",
        "protected": [{"attribute": "g", "reference": "big"}]})
    assert response.status_code == 200
    report = json_of(response)
    groups = {g["group"]["g"]: g for g in report["groups"]}
    one = groups["one"]
    assert one["n"] == 1
    assert one["metrics"]["false_positive_rate"] == {
        "value": None, "ci_low": None, "ci_high": None, "ci_method": None, "numerator": 0.0,
        "denominator": 0.0, "reason": "zero_denominator", "ci_level": None}
    same = groups["same"]
    assert same["metrics"]["true_positive_rate"]["value"] is None
    assert same["disparities"]["equal_opportunity_difference"]["reason"] == "zero_denominator"
    findings = {(f["group"]["g"], f["metric"]): f for f in report["findings"]}
    assert findings[("one", "disparate_impact")]["status"] == "inconclusive"
    assert findings[("one", "disparate_impact")]["reason"] == "group_too_small"
    assert findings[("same", "equal_opportunity_difference")]["status"] == "inconclusive"
    assert findings[("same", "equal_opportunity_difference")]["reason"] == "zero_denominator"
    assert report["verdict"] in {"inconclusive", "fail"}
    assert all(f["status"] != "pass" for f in report["findings"] if f["group"]["g"] == "one")


def test_small_tables_use_fisher_exact_under_the_parity_rule(client: FlaskClient) -> None:
    records = [{"g": "a", "y": 1, "p": int(i < 9)} for i in range(10)] + \
              [{"g": "b", "y": 1, "p": int(i < 2)} for i in range(10)]
    body: dict[str, Any] = {"data": {"records": records}, "label": "y", "prediction": "p",
            "protected": [{"attribute": "g", "reference": "a"}],
            "policy": {"rules": [{"metric": "selection_rate", "max_relative_gap": 0.15}], "min_group_size": 5,
                       "decision_rule": "parity"}}
    finding = json_of(client.post("/v1/audits", json=body))["findings"][0]
    assert finding["test"] == "fisher_exact"
    # hand computation: Fisher's exact two-sided p for [[2, 8], [9, 1]] is 0.005477...
    assert abs(finding["p_value"] - 0.0054775) < 1e-6
    assert finding["value"] == pytest.approx(0.2 / 0.9 - 1)
    assert finding["status"] == "fail"
    assert finding["ci_level"] == 0.95

    body["policy"]["decision_rule"] = "bound"
    finding = json_of(client.post("/v1/audits", json=body))["findings"][0]
    assert finding["test"] == "mover_r_wilson_test_vs_bound" and finding["ci_level"] == pytest.approx(0.9)
    # the whole 90% interval of the gap lies below -0.15: shown broken
    assert finding["ci_high"] < -0.15 and finding["status"] == "fail"
