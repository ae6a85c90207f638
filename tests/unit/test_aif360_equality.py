"""Every number fairprobe reports equals AIF360 run on the raw rows (to 1e-9), on Adult and COMPAS.

fairprobe computes on a counts table with the counts as instance weights; here AIF360 runs on every
row, independently, and each group's rates and disparities and each entropy index are compared.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from flask.testing import FlaskClient
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from tests.answers import json_of
from tests.reference import RATES, BinaryLabelDatasetMetric, ClassificationMetric, RowAudit

TOL = 1e-9
DISPARITIES: dict[str, Callable[[Any], float]] = {
    "equal_opportunity_difference": lambda m: m.equal_opportunity_difference(),
    "average_odds_difference": lambda m: m.average_odds_difference(),
    "false_positive_rate_difference": lambda m: m.false_positive_rate_difference(),
    "false_negative_rate_difference": lambda m: m.false_negative_rate_difference(),
    "positive_predictive_value_difference": lambda m: m.difference(m.positive_predictive_value),
    "accuracy_difference": lambda m: m.difference(m.accuracy),
}
RATE_OF = {
    "equal_opportunity_difference": "true_positive_rate", "average_odds_difference": "true_positive_rate",
    "false_positive_rate_difference": "false_positive_rate", "false_negative_rate_difference": "false_negative_rate",
    "positive_predictive_value_difference": "positive_predictive_value", "accuracy_difference": "accuracy",
}
ADULT_COLUMNS = ["age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation",
                 "relationship", "race", "sex", "capital-gain", "capital-loss", "hours-per-week", "native-country",
                 "income"]


def _close(ours: float | None, theirs: float) -> bool:
    if ours is None:
        return not np.isfinite(theirs)
    return abs(ours - theirs) <= TOL


def _rate_matches(estimate: dict[str, Any], theirs: float) -> bool:
    """Equal to AIF360, or null where the denominator is zero.

    AIF360 reports PPV, NPV, FDR, FOR and accuracy as 0.0 when their denominator is zero; fairprobe
    reports null with reason "zero_denominator" instead, since no one can defend that 0.
    """
    if estimate["value"] is None:
        return bool(estimate["denominator"] == 0 and estimate["reason"] == "zero_denominator" and (
            not np.isfinite(theirs) or theirs == 0.0))
    return bool(abs(estimate["value"] - theirs) <= TOL)


def _disparity_matches(disparity: dict[str, Any], theirs: float, rates: list[dict[str, Any]]) -> bool:
    """Equal to AIF360, or null where a rate it compares has a zero denominator (see above)."""
    if disparity["value"] is None:
        return bool(disparity["reason"] in {"zero_denominator", "empty_group"} and any(
            r["value"] is None for r in rates))
    return bool(abs(disparity["value"] - theirs) <= TOL)


def _check_report(report: dict[str, Any], rows: RowAudit) -> int:
    """Compare every group's rates and disparities, and every index; return how many numbers matched."""
    truth, predicted = rows.datasets(1.0)
    fav_truth, fav_predicted = rows.datasets(float(rows.favorable))
    checked = 0
    for group in report["groups"]:
        unpriv = rows.condition(group["group"])
        if group["is_reference"]:
            attr = next(iter(group["group"]))
            priv = [{attr: -1.0}]
        else:
            priv = rows.condition(group["reference"])
        m = ClassificationMetric(truth, predicted, unprivileged_groups=unpriv, privileged_groups=priv)
        d = BinaryLabelDatasetMetric(truth, unprivileged_groups=unpriv, privileged_groups=priv)
        with np.errstate(all="ignore"):
            assert _close(group["metrics"]["base_rate"]["value"], d.base_rate(privileged=False)), group["label"]
            assert group["n"] == round(ClassificationMetric(
                truth, predicted, unprivileged_groups=unpriv, privileged_groups=priv
            ).num_instances(privileged=False)) or rows.with_weights
            for name in RATES:
                theirs = getattr(m, name)(privileged=False)
                assert _rate_matches(group["metrics"][name], theirs), (group["label"], name)
                checked += 1
            if group["is_reference"]:
                continue
            reference = next(g for g in report["groups"] if g["group"] == group["reference"])
            for name, method in DISPARITIES.items():
                rates = [g["metrics"][RATE_OF[name]] for g in (group, reference)]
                assert _disparity_matches(group["disparities"][name], method(m), rates), (group["label"], name)
                checked += 1
            fm = ClassificationMetric(fav_truth, fav_predicted, unprivileged_groups=unpriv, privileged_groups=priv)
            for name in ("statistical_parity_difference", "disparate_impact"):
                assert _close(group["disparities"][name]["value"], getattr(fm, name)()), (group["label"], name)
                checked += 1
            # the label disparities: AIF360's dataset metric on the true labels, favorable label as positive
            fd = BinaryLabelDatasetMetric(fav_truth, unprivileged_groups=unpriv, privileged_groups=priv)
            for name in ("statistical_parity_difference", "disparate_impact"):
                assert _close(group["disparities"]["label_" + name]["value"], getattr(fd, name)()), \
                    (group["label"], name)
                checked += 1
    for index in report["indices"]:
        t, p = rows.datasets(float(rows.favorable), index["attributes"])
        m = ClassificationMetric(t, p)
        expected = {
            "between_group_generalized_entropy_index": m.between_all_groups_generalized_entropy_index(alpha=2),
            "between_group_theil_index": m.between_all_groups_theil_index(),
            "between_group_coefficient_of_variation": m.between_all_groups_coefficient_of_variation(),
        }
        for name, theirs in expected.items():
            assert _close(index["metrics"][name], theirs), (index["attributes"], name)
            checked += 1
    t, p = rows.datasets(float(rows.favorable))
    m = ClassificationMetric(t, p)
    for name in ("generalized_entropy_index", "theil_index", "coefficient_of_variation"):
        assert _close(report["overall"][name], getattr(m, name)()), name
        checked += 1
    return checked


def test_compas_every_metric_equals_aif360_on_rows(client: FlaskClient, compas: pd.DataFrame) -> None:
    frame = pd.DataFrame({"race": compas.race, "sex": compas.sex, "age_cat": compas.age_cat,
                          "y": compas.two_year_recid, "high": (compas.decile_score >= 5).astype(int)})
    body = {"data": {"columns": {c: frame[c].tolist() for c in frame}}, "label": "y", "prediction": "high",
            "favorable": 0, "protected": [{"attribute": "race", "reference": "Caucasian"},
                                          {"attribute": "sex"}, {"attribute": "age_cat"}],
            "intersections": [["race", "sex"]]}
    response = client.post("/v1/audits", json=body)
    assert response.status_code == 200, json_of(response)
    rows = RowAudit(frame, ["race", "sex", "age_cat"], frame.y.to_numpy(), frame.high.to_numpy(), favorable=0)
    assert _check_report(json_of(response), rows) > 350


@pytest.fixture(scope="module")
def adult_scored(data_dir: Path) -> pd.DataFrame:
    """Adult test rows scored by a logistic regression trained on Adult train."""
    def read(name: str) -> pd.DataFrame:
        return pd.read_csv(data_dir / "adult" / name, names=ADULT_COLUMNS, skipinitialspace=True, na_values="?")

    train, test = read("adult-train.csv").dropna(), read("adult-test.csv").dropna()
    numeric = ["age", "education-num", "capital-gain", "capital-loss", "hours-per-week"]
    scaler = StandardScaler().fit(train[numeric])
    model = LogisticRegression(max_iter=500).fit(scaler.transform(train[numeric]), train.income == ">50K")
    scored = test[["race", "sex", "age", "fnlwgt"]].copy()
    scored["income"] = (test.income == ">50K.").astype(int)
    scored["p"] = model.predict_proba(scaler.transform(test[numeric]))[:, 1]
    scored["pred"] = (scored.p >= 0.5).astype(int)
    return scored.reset_index(drop=True)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "fnlwgt-weights"])
def test_adult_model_every_metric_equals_aif360_on_rows(
    client: FlaskClient, adult_scored: pd.DataFrame, weighted: bool
) -> None:
    frame = adult_scored
    body: dict[str, Any] = {
        "data": {"columns": {c: frame[c].tolist() for c in frame}}, "label": "income", "prediction": "pred",
        "protected": [{"attribute": "sex", "reference": "Male"}, {"attribute": "race", "reference": "White"},
                      {"attribute": "age", "bins": [25, 45, 65], "reference": "[25, 45)"}],
        "max_intersection_order": 2,
    }
    if weighted:
        body["weight"] = "fnlwgt"
    response = client.post("/v1/audits", json=body)
    assert response.status_code == 200, json_of(response)
    report = json_of(response)
    banded = frame.assign(age=pd.cut(frame.age, [-np.inf, 25, 45, 65, np.inf], right=False,
                                     labels=["< 25", "[25, 45)", "[45, 65)", ">= 65"]).astype(str))
    rows = RowAudit(banded, ["sex", "race", "age"], frame.income.to_numpy(), frame.pred.to_numpy(), favorable=1,
                    weights=frame.fnlwgt.to_numpy(dtype=float) if weighted else None)
    assert len(report["indices"]) == 6  # three attributes and their three pairs
    assert _check_report(report, rows) > 800
