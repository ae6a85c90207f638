"""Known truth: a segmenter that places one group in the premium segment less often, a recommender that shows
one group fewer high-margin items from fewer categories, and their fair twins. A few seeds here;
``benchmarks/bench_outputs.py`` simulates many and prints the rates with their Monte Carlo errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from flask.testing import FlaskClient

from tests.diagnostics.conftest import audit
from tests.outputs.simulated import ranking_body, recommender, segment_body, segmenter

#: a strict policy on placement: the premium rate may differ by one point at most
STRICT = {"rules": [{"metric": "statistical_parity_difference", "max_abs": 0.01}]}


def _output(report: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(s for s in report["outputs"] if s["name"] == name)
    return found


def test_a_five_point_premium_gap_is_caught_and_a_fair_segmenter_passes(client: FlaskClient) -> None:
    caught = sum(audit(client, segment_body(segmenter(2000, 0.05, seed), STRICT))["verdict"] == "fail"
                 for seed in range(20))
    false_alarms = sum(audit(client, segment_body(segmenter(2000, 0.0, 100 + seed), STRICT))["verdict"] == "fail"
                       for seed in range(20))
    assert caught >= 14  # power about 0.9 at this size: 14 of 20 or more with probability > 0.99
    assert false_alarms <= 2  # a fair segmenter fails about 2% of the time under this policy


def test_a_segment_audit_counts_people_by_segment(client: FlaskClient) -> None:
    frame = segmenter(500, 0.1, seed=3)
    report = audit(client, segment_body(frame))
    shares = _output(report, "segments")["tables"]["shares"]
    crosstab = pd.crosstab(frame["group"], frame["segment"])
    for row in shares:
        assert row["n"] == crosstab.loc[row["group"]["group"], row["segment"]]
    finding = next(f for f in report["findings"] if f["metric"] == "statistical_parity_difference")
    rates = frame["segment"].eq("premium").groupby(frame["group"]).mean()
    assert finding["value"] == pytest.approx(rates["B"] - rates["A"], abs=1e-12)


@pytest.mark.parametrize("seed", [1, 2])
def test_a_recommender_that_narrows_one_group_is_caught_on_both_measures(client: FlaskClient, seed: int) -> None:
    report = audit(client, ranking_body(recommender(1500, seed, biased=True)))
    findings = {f["metric"]: f for f in _output(report, "rankings")["findings"] if f["group"] == {"group": "B"}}
    assert findings["high_value_exposure_ratio"]["status"] == "fail"
    assert findings["distinct_categories_ratio"]["status"] == "fail"
    assert findings["intra_list_diversity_difference"]["status"] == "fail"
    assert report["verdict"] == "fail" and report["summary"]["fail"] >= 2


@pytest.mark.parametrize("seed", [3, 4])
def test_a_fair_recommender_passes(client: FlaskClient, seed: int) -> None:
    report = audit(client, ranking_body(recommender(1500, seed, biased=False)))
    assert report["verdict"] == "pass"
    assert {f["metric"] for f in _output(report, "rankings")["findings"] if f["in_verdict"]} == {
        "high_value_exposure_ratio", "distinct_categories_ratio"}


def test_per_person_measures_equal_a_hand_computation(client: FlaskClient) -> None:
    frame = recommender(400, 7, biased=True)
    report = audit(client, ranking_body(frame))
    tables = _output(report, "rankings")["tables"]
    discount = 1 / np.log2(1 + frame["position"].to_numpy(float))
    frame = frame.assign(d=discount, hv=frame["margin"].eq("high") * discount)
    per = frame.groupby("customer").agg(group=("group", "first"), hv=("hv", "sum"), d=("d", "sum"),
                                        distinct=("category", "nunique"))
    per["exposure"] = per["hv"] / per["d"]
    expected = per.groupby("group")[["exposure", "distinct"]].mean()
    rows = {(r["quantity"], r["group"]["group"]): r for r in tables["groups"]}
    for group in ("A", "B"):
        assert rows["high_value_exposure", group]["mean"] == pytest.approx(expected.loc[group, "exposure"], rel=1e-12)
        assert rows["distinct_categories", group]["mean"] == pytest.approx(expected.loc[group, "distinct"], rel=1e-12)
        assert rows["list_length", group]["n"] == int((per["group"] == group).sum())
    coverage = {r["group"]["group"]: r for r in tables["coverage"]}
    shown_b = frame.loc[frame.group == "B", "item"].nunique()
    assert coverage["B"]["items_shown"] == shown_b
    assert coverage["B"]["coverage"] == pytest.approx(shown_b / frame["item"].nunique())


def test_provider_exposure_and_ndkl_equal_a_hand_computation(client: FlaskClient) -> None:
    lists = pd.DataFrame({
        "customer": ["a", "a", "a", "b", "b", "c", "c", "c"],
        "group": ["F", "F", "F", "M", "M", "M", "M", "M"],
        "position": [1, 2, 3, 1, 2, 3, 1, 2],
        "item": ["x", "y", "z", "y", "w", "x", "z", "w"],
        "category": ["k1", "k1", "k2", "k1", "k2", "k1", "k2", "k2"],
        "margin": ["high", "low", "low", "low", "high", "high", "low", "high"],
        "provider": ["P", "Q", "Q", "Q", "P", "P", "Q", "P"],
    })
    body = ranking_body(lists, ranking={"target_shares": {"P": 0.6, "Q": 0.4}})
    body["protected"] = [{"attribute": "group", "reference": "F"}]
    providers = {r["provider"]: r for r in _output(audit(client, body), "rankings")["tables"]["providers"]}
    d = {1: 1.0, 2: 1 / np.log2(3), 3: 0.5}
    exposure_p = d[1] + d[2] + d[3] + d[2]  # a: P at 1; b: P at 2; c: P at 3 and 2
    exposure_q = d[2] + d[3] + d[1] + d[1]  # a: Q at 2, 3; b: Q at 1; c: Q at 1
    share_p = exposure_p / (exposure_p + exposure_q)
    assert providers["P"]["exposure_share"] == pytest.approx(share_p, rel=1e-12)
    assert providers["P"]["exposure_ratio"] == pytest.approx(share_p / 0.6, rel=1e-12)
    assert providers["Q"]["exposure_ratio"] == pytest.approx((1 - share_p) / 0.4, rel=1e-12)
    # NDKL of customer a's list (P, Q, Q) against (0.6, 0.4): sum_i KL(top-i mix || target) / log2(i + 1), normalized
    report = audit(client, body)
    ndkl = {r["group"]["group"]: r for r in _output(report, "rankings")["tables"]["groups"] if r["quantity"] == "ndkl"}

    def kl(p: float) -> float:
        return float(sum(x * np.log(x / t) for x, t in ((p, 0.6), (1 - p, 0.4)) if x > 0))

    a = (kl(1.0) * d[1] + kl(0.5) * d[2] + kl(1 / 3) * d[3]) / (d[1] + d[2] + d[3])
    assert ndkl["F"]["mean"] == pytest.approx(a, rel=1e-12)
