"""Proxies on the real Adult data: a planted proxy is found and ranked first; on the data as published the
known strong associations with sex (relationship, marital status) come out on top. The effect sizes are
checked against scipy's Cramér's V and a hand-computed correlation ratio."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from flask.testing import FlaskClient
from scipy.stats.contingency import association

from tests.diagnostics.conftest import audit, columns_of, section

FEATURES = ["age", "workclass", "education", "marital_status", "occupation", "relationship", "hours_per_week",
            "native_country", "capital_gain"]


def _body(frame: pd.DataFrame, features: list[str]) -> dict[str, Any]:
    return {"data": {"columns": columns_of(frame)}, "label": "income", "positive_label": ">50K",
            "negative_label": "<=50K", "protected": [{"attribute": "sex", "reference": "Male"}],
            "features": features, "diagnostics": ["proxies"], "proxy_sample": 6000}


@pytest.fixture(scope="module")
def planted(client_module: FlaskClient, adult: pd.DataFrame) -> tuple[dict[str, Any], pd.DataFrame]:
    """Adult with 'loyalty_tier': derived from sex, with a random tier for 15% of people (noise)."""
    rng = np.random.default_rng(11)
    frame = adult[["sex", "income", *FEATURES]].copy()
    tier = np.where(frame["sex"] == "Female", "gold", "silver")
    noise = rng.random(len(frame)) < 0.15
    tier[noise] = rng.choice(["gold", "silver", "bronze"], size=int(noise.sum()))
    frame["loyalty_tier"] = tier
    return audit(client_module, _body(frame, [*FEATURES, "loyalty_tier"])), frame


def test_a_planted_proxy_is_found_and_ranked_first(planted: tuple[dict[str, Any], pd.DataFrame]) -> None:
    report, _ = planted
    proxies = section(report, "proxies")
    ranked = proxies["tables"]["associations"]
    assert ranked[0]["feature"] == "loyalty_tier" and ranked[0]["rank"] == 1
    assert ranked[0]["ci_low"] > 0.7
    finding = next(f for f in proxies["findings"] if f["group"] == {"feature": "loyalty_tier"})
    assert finding["metric"] == "proxy_association" and finding["status"] == "fail"
    assert "loyalty_tier" in finding["explanation"] and "sex" in finding["explanation"]
    model = proxies["tables"]["predictability"][0]
    assert model["rows"] == 6000 and model["sampled_from"] == len(planted[1])
    assert model["auc"][0]["auc"] > 0.9 and model["auc"][0]["group"] == {"sex": "Female"}
    # relationship (husband / wife) all but names sex too: the two share the lead, each partly standing in
    # for the other when permuted
    assert "loyalty_tier" in [t["feature"] for t in model["top_features"][:2]]
    auc = next(f for f in proxies["findings"] if f["metric"] == "proxy_auc")
    assert auc["status"] == "fail" and auc["in_verdict"] is False


def test_on_adult_as_published_relationship_and_marital_status_lead(client_module: FlaskClient,
                                                                    adult: pd.DataFrame) -> None:
    report = audit(client_module, _body(adult[["sex", "income", *FEATURES]], FEATURES))
    ranked = section(report, "proxies")["tables"]["associations"]
    assert [r["feature"] for r in ranked[:2]] == ["relationship", "marital_status"]
    for row in ranked:
        assert row["ci_low"] <= row["value"] <= row["ci_high"]
        assert row["ci_level"] == pytest.approx(0.95)
        assert row["measure"] == ("correlation_ratio" if row["feature"] in ("age", "hours_per_week", "capital_gain")
                                  else "cramers_v")


def test_effect_sizes_equal_independent_computations(planted: tuple[dict[str, Any], pd.DataFrame]) -> None:
    report, frame = planted
    rows = {r["feature"]: r for r in section(report, "proxies")["tables"]["associations"]}
    table = pd.crosstab(frame["sex"], frame["relationship"]).to_numpy()
    assert rows["relationship"]["value"] == pytest.approx(association(table, method="cramer"), abs=1e-12)
    # occupation has missing values: they are a category of their own
    occupation = pd.crosstab(frame["sex"], frame["occupation"].fillna("(missing)")).to_numpy()
    assert rows["occupation"]["value"] == pytest.approx(association(occupation, method="cramer"), abs=1e-12)
    x, g = frame["hours_per_week"].to_numpy(float), frame["sex"].to_numpy()
    between = sum((g == v).sum() * (x[g == v].mean() - x.mean()) ** 2 for v in ("Male", "Female"))
    eta = np.sqrt(between / ((x - x.mean()) ** 2).sum())
    assert rows["hours_per_week"]["value"] == pytest.approx(eta, abs=1e-12)
