"""Missing values by group (real ones in Adult, and planted), label completeness, and bias amplification,
against scipy and hand counts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from flask.testing import FlaskClient
from scipy import stats

from tests.diagnostics.conftest import audit, columns_of, section


def test_adults_missing_occupation_by_sex_matches_scipy(client: FlaskClient, adult: pd.DataFrame) -> None:
    frame = adult[["sex", "income", "occupation", "workclass", "age"]]
    report = audit(client, {"data": {"columns": columns_of(frame)}, "label": "income", "positive_label": ">50K",
                            "negative_label": "<=50K", "protected": [{"attribute": "sex", "reference": "Male"}],
                            "diagnostics": ["missingness"]})
    missing = section(report, "missingness")
    tests = {t["feature"]: t for t in missing["tables"]["tests"]}
    assert set(tests) == {"occupation", "workclass"}  # age has no missing value
    table = pd.crosstab(frame["sex"], frame["occupation"].isna()).to_numpy()
    _, p_value, _, _ = stats.chi2_contingency(table, correction=False)
    assert tests["occupation"]["p_value"] == pytest.approx(p_value, rel=1e-9)
    assert tests["occupation"]["test"] == "pearson_chi_square_independence"
    rows = {(r["feature"], r["group"]["sex"]): r for r in missing["tables"]["groups"]}
    female = frame[frame["sex"] == "Female"]
    assert rows[("occupation", "Female")]["missing_share"] == pytest.approx(female["occupation"].isna().mean())
    assert rows[("occupation", "Female")]["n"] == len(female)


def test_planted_missingness_fails_and_label_completeness_is_counted(client: FlaskClient) -> None:
    rng = np.random.default_rng(3)
    n = 4000
    group = rng.choice(["A", "B"], size=n)
    income = np.where(rng.random(n) < np.where(group == "B", 0.3, 0.02), np.nan, rng.normal(50, 10, n))
    label = np.where(rng.random(n) < np.where(group == "B", 0.25, 0.05), np.nan, (rng.random(n) < 0.5).astype(float))
    frame = pd.DataFrame({"group": group, "income": income, "y": label, "pred": rng.integers(0, 2, n)})
    report = audit(client, {"data": {"columns": columns_of(frame)}, "label": "y", "prediction": "pred",
                            "positive_label": 1.0, "protected": [{"attribute": "group", "reference": "A"}],
                            "missing_labels": "exclude", "diagnostics": ["missingness"],
                            "policy": {"rules": [{"metric": "label_completeness_difference", "max_abs": 0.05},
                                                 {"metric": "statistical_parity_difference", "max_abs": 0.1}]}})
    missing = section(report, "missingness")
    income_finding = next(f for f in missing["findings"] if f["metric"] == "missing_rate_difference")
    assert income_finding["status"] == "fail" and income_finding["in_verdict"] is False
    assert "'income'" in income_finding["explanation"]
    completeness = next(f for f in missing["findings"] if f["metric"] == "label_completeness_difference")
    labelled = ~np.isnan(label)
    expected = labelled[group == "B"].mean() - labelled[group == "A"].mean()
    assert completeness["value"] == pytest.approx(expected)
    # the policy names label completeness: its failure fails the verdict
    assert completeness["status"] == "fail" and completeness["in_verdict"] is True
    assert report["verdict"] == "fail"
    assert report["audit"]["rows"] == int(labelled.sum())
    assert any(f"{int((~labelled).sum())} rows without a label" in w for w in report["warnings"])


def test_amplification_is_the_prediction_gap_minus_the_label_gap(client: FlaskClient) -> None:
    rng = np.random.default_rng(8)
    n = 6000
    group = rng.choice(["A", "B"], size=n)
    label = (rng.random(n) < np.where(group == "B", 0.45, 0.55)).astype(int)  # a 10-point gap in the labels
    # the model copies the label, and also turns down a fifth of group B's positives: the gap grows
    pred = np.where((group == "B") & (label == 1) & (rng.random(n) < 0.2), 0, label)
    frame = pd.DataFrame({"group": group, "y": label, "pred": pred})
    report = audit(client, {"data": {"columns": columns_of(frame)}, "label": "y", "prediction": "pred",
                            "protected": [{"attribute": "group", "reference": "A"}],
                            "diagnostics": ["amplification"]})
    row = section(report, "amplification")["tables"]["groups"][0]
    b, a = frame[frame.group == "B"], frame[frame.group == "A"]
    label_gap, pred_gap = b.y.mean() - a.y.mean(), b.pred.mean() - a.pred.mean()
    assert row["label_gap"] == pytest.approx(label_gap) and row["prediction_gap"] == pytest.approx(pred_gap)
    assert row["amplification"] == pytest.approx(pred_gap - label_gap) and row["amplified"] is True
    d_b, d_a = b.pred - b.y, a.pred - a.y
    welch = stats.ttest_ind(d_b, d_a, equal_var=False)
    assert row["p_value"] == pytest.approx(welch.pvalue, rel=1e-6)
    finding = section(report, "amplification")["findings"][0]
    assert finding["status"] == "fail" and finding["favoured"] == "reference"
