"""Reweighing advice equals AIF360's Reweighing on the raw Adult rows, and balances the labels it reweighs."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from flask.testing import FlaskClient

from tests.diagnostics.conftest import audit, columns_of, section

logging.getLogger().setLevel(logging.ERROR)
from aif360.algorithms.preprocessing import Reweighing  # noqa: E402

from tests.reference import BinaryLabelDataset  # noqa: E402


def test_reweighing_weights_equal_aif360_on_rows(client_module: FlaskClient, adult: pd.DataFrame) -> None:
    frame = adult[["sex", "income"]]
    report = audit(client_module, {"data": {"columns": columns_of(frame)}, "label": "income",
                                   "positive_label": ">50K", "negative_label": "<=50K",
                                   "protected": [{"attribute": "sex", "reference": "Male"}],
                                   "diagnostics": ["mitigation"]})
    mitigation = section(report, "mitigation")
    weights = {(r["group"]["sex"], r["label_favorable"]): r["weight"] for r in mitigation["tables"]["reweighing"]}
    rows = pd.DataFrame({"sex": (frame["sex"] == "Male").astype(float),
                         "y": (frame["income"] == ">50K").astype(float)})
    dataset = BinaryLabelDataset(df=rows, label_names=["y"], protected_attribute_names=["sex"],
                                 favorable_label=1.0, unfavorable_label=0.0)
    transformed = Reweighing(unprivileged_groups=[{"sex": 0.0}], privileged_groups=[{"sex": 1.0}]).fit_transform(
        dataset)
    got = transformed.instance_weights
    for sex, code in (("Male", 1.0), ("Female", 0.0)):
        for favorable, y in ((True, 1.0), (False, 0.0)):
            cell = (rows["sex"] == code).to_numpy() & (rows["y"] == y).to_numpy()
            assert np.allclose(got[cell], weights[sex, favorable], rtol=1e-12)
    effect = mitigation["tables"]["effect"][0]
    assert effect["label_spd_before"] < -0.15 and effect["label_spd_after"] == pytest.approx(0.0, abs=1e-12)
    assert mitigation["findings"] == [] and "advice" in mitigation["notes"][0]
