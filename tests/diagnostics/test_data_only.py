"""A data-only audit (labels, no model) of Adult by sex and race against hand counts, AIF360 on the raw rows
and SageMaker Clarify's pre-training formulas computed here with numpy and scipy."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from flask.testing import FlaskClient
from scipy import stats

from tests.diagnostics.conftest import audit, columns_of, section
from tests.reference import BinaryLabelDataset, BinaryLabelDatasetMetric


@pytest.fixture(scope="module")
def report(client_module: FlaskClient, adult: pd.DataFrame) -> dict[str, Any]:
    frame = adult[["sex", "race", "income", "age", "relationship"]]
    return audit(client_module, {
        "data": {"columns": columns_of(frame)}, "label": "income", "positive_label": ">50K",
        "negative_label": "<=50K", "protected": [{"attribute": "sex", "reference": "Male"},
                                                 {"attribute": "race", "reference": "White"}],
        "expected_shares": {"sex": {"Male": 0.49, "Female": 0.51}},
        "diagnostics": ["composition", "subgroups"],
    })


def test_a_data_only_audit_judges_the_labels_by_default(report: dict[str, Any]) -> None:
    assert {f["metric"] for f in report["findings"]} == {"label_disparate_impact",
                                                          "label_statistical_parity_difference"}
    assert report["audit"]["columns"]["prediction"] is None
    assert any("data-only" in w for w in report["warnings"])
    # women earn >50K at about a third of men's rate in this census extract: the labels fail the 4/5 rule
    female = next(f for f in report["findings"] if f["group"] == {"sex": "Female"}
                  and f["metric"] == "label_disparate_impact")
    assert female["status"] == "fail" and female["value"] < 0.4
    assert report["verdict"] == "fail"
    assert all(set(g["metrics"]) == {"base_rate"} for g in report["groups"])
    assert {s["name"] for s in report["skipped"]} == set()  # only what was asked ran
    assert [s["name"] for s in report["diagnostics"]] == ["composition", "subgroups"]


def test_base_rates_and_label_disparities_equal_hand_counts_and_aif360(
    report: dict[str, Any], adult: pd.DataFrame
) -> None:
    positive = adult["income"] == ">50K"
    for attribute, reference in (("sex", "Male"), ("race", "White")):
        rates = positive.groupby(adult[attribute]).mean()
        counts = adult[attribute].value_counts()
        codes = {v: float(i) for i, v in enumerate(sorted(adult[attribute].unique()))}
        df = pd.DataFrame({attribute: adult[attribute].map(codes), "y": positive.astype(float)})
        dataset = BinaryLabelDataset(df=df, label_names=["y"], protected_attribute_names=[attribute],
                                     favorable_label=1.0, unfavorable_label=0.0)
        for group in (g for g in report["groups"] if g["group"].keys() == {attribute}):
            value = group["group"][attribute]
            assert group["n"] == counts[value]
            assert group["metrics"]["base_rate"]["value"] == pytest.approx(rates[value], abs=1e-12)
            if value == reference:
                continue
            metric = BinaryLabelDatasetMetric(dataset, unprivileged_groups=[{attribute: codes[value]}],
                                              privileged_groups=[{attribute: codes[reference]}])
            assert group["disparities"]["label_statistical_parity_difference"]["value"] == \
                pytest.approx(metric.statistical_parity_difference(), abs=1e-12)
            assert group["disparities"]["label_disparate_impact"]["value"] == \
                pytest.approx(metric.disparate_impact(), abs=1e-12)


def test_clarify_pretraining_measures_match_their_formulas(report: dict[str, Any], adult: pd.DataFrame) -> None:
    rows = {(tuple(r["group"].items())): r for r in section(report, "composition")["tables"]["groups"]}
    positive = adult["income"] == ">50K"
    checked = 0
    for attribute, reference in (("sex", "Male"), ("race", "White")):
        n_a = int((adult[attribute] == reference).sum())
        q_a = float(positive[adult[attribute] == reference].mean())
        for value in adult[attribute].unique():
            if value == reference:
                continue
            row = rows[((attribute, value),)]
            n_d = int((adult[attribute] == value).sum())
            q_d = float(positive[adult[attribute] == value].mean())
            p_a, p_d = np.array([1 - q_a, q_a]), np.array([1 - q_d, q_d])
            m = (p_a + p_d) / 2
            assert row["class_imbalance"] == pytest.approx((n_a - n_d) / (n_a + n_d), abs=1e-12)
            assert row["difference_in_positive_proportions_in_labels"] == pytest.approx(q_a - q_d, abs=1e-12)
            assert row["kl_divergence"] == pytest.approx(stats.entropy(p_a, p_d), abs=1e-12)
            assert row["js_divergence"] == pytest.approx((stats.entropy(p_a, m) + stats.entropy(p_d, m)) / 2, abs=1e-12)
            assert row["ks_distance"] == pytest.approx(np.abs(p_a - p_d).max(), abs=1e-12)
            assert row["dpl_ci_low"] < row["difference_in_positive_proportions_in_labels"] < row["dpl_ci_high"]
            assert row["class_imbalance_ci_low"] < row["class_imbalance"] < row["class_imbalance_ci_high"]
            checked += 1
    assert checked == 1 + 4


def test_representation_against_expected_shares(report: dict[str, Any], adult: pd.DataFrame) -> None:
    composition = section(report, "composition")
    fit = composition["tables"]["goodness_of_fit"][0]
    counts = adult["sex"].value_counts()
    observed = np.array([counts["Male"], counts["Female"]])
    expected = np.array([0.49, 0.51]) * len(adult)
    assert fit["p_value"] == pytest.approx(stats.chisquare(observed, expected).pvalue, rel=1e-9, abs=1e-300)
    assert fit["statistic"] == pytest.approx(stats.chisquare(observed, expected).statistic, rel=1e-12)
    # women are a third of this sample against half the population: under-represented, and shown to be
    female = next(f for f in composition["findings"] if f["group"] == {"sex": "Female"})
    assert female["metric"] == "representation_ratio"
    assert female["value"] == pytest.approx(counts["Female"] / len(adult) / 0.51, abs=1e-12)
    assert female["status"] == "fail" and female["in_verdict"] is False  # advice: the policy has no such rule
    male = next(f for f in composition["findings"] if f["group"] == {"sex": "Male"})
    assert male["status"] == "pass"
