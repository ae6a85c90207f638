"""The worst-subgroup scan: a planted intersectional gap involving a non-protected feature is found; on fair
data nothing is flagged (a few fixed seeds here; benchmarks/bench_diagnostics.py simulates many)."""

from __future__ import annotations

import numpy as np
import pytest
from flask.testing import FlaskClient
from scipy import stats

from tests.diagnostics.conftest import audit, section
from tests.diagnostics.simulated import intersectional, scan_body


def test_a_planted_intersectional_gap_is_found(client: FlaskClient) -> None:
    frame = intersectional(4000, seed=3, gap=0.15)
    report = audit(client, scan_body(frame))
    scan = section(report, "subgroups")
    # each protected attribute alone is fair: the main findings do not see it
    race = [f for f in report["findings"] if f["group"] == {"race": "B"}
            and f["metric"] == "statistical_parity_difference"]
    assert race and race[0]["status"] != "fail"
    top = scan["tables"]["subgroups"][0]
    assert top["subgroup"] == {"race": "B", "region": "north"} and top["significant"]
    assert top["p_value_adjusted"] < 0.05 and top["difference"] < -0.1
    # the reported numbers are the subgroup's own: a hand count and the pooled z test
    member = (frame["race"] == "B") & (frame["region"] == "north")
    assert top["n"] == int(member.sum()) and top["rest_n"] == int((~member).sum())
    p_s, p_c = frame["approved"][member].mean(), frame["approved"][~member].mean()
    assert top["favorable_rate"] == pytest.approx(p_s) and top["rest_favorable_rate"] == pytest.approx(p_c)
    pooled = frame["approved"].mean()
    z = (p_s - p_c) / np.sqrt(pooled * (1 - pooled) * (1 / member.sum() + 1 / (~member).sum()))
    assert top["p_value"] == pytest.approx(stats.norm.cdf(z), rel=1e-9)
    info = scan["tables"]["scan"][0]
    # race, sex; region, channel; age in quartile bands: subgroups with at least one protected condition
    assert info["tested"] > 40 and info["significant"] >= 1
    finding = next(f for f in scan["findings"] if f["group"] == top["subgroup"])
    assert finding["metric"] == "subgroup_statistical_parity_difference"
    assert finding["status"] in ("fail", "inconclusive") and finding["in_verdict"] is False


@pytest.mark.parametrize("seed", range(8))
def test_fair_data_flags_no_subgroup(client: FlaskClient, seed: int) -> None:
    report = audit(client, scan_body(intersectional(3000, seed=100 + seed, gap=0.0)))
    scan = section(report, "subgroups")
    assert scan["tables"]["scan"][0]["significant"] == 0
    assert not any(row["significant"] for row in scan["tables"]["subgroups"])


def test_depth_three_and_min_support_are_honoured(client: FlaskClient) -> None:
    frame = intersectional(2000, seed=5, gap=0.0)
    report = audit(client, scan_body(frame, scan={"max_depth": 3, "min_support": 200, "top": 5}))
    scan = section(report, "subgroups")
    assert len(scan["tables"]["subgroups"]) == 5
    assert all(200 <= row["n"] <= len(frame) - 200 for row in scan["tables"]["subgroups"])
    assert scan["tables"]["scan"][0]["max_depth"] == 3


def test_a_count_feature_that_is_mostly_zero_splits_where_it_can() -> None:
    """Quartile bands of a feature whose quartiles are all its minimum must not put everyone in one band (the
    scan would then report a subgroup equal to its protected parent)."""
    import pandas as pd

    from fairprobe.engines.diagnostics.common import code_feature

    codes, levels, how = code_feature(pd.Series([0] * 90 + list(range(1, 21)) + [None]))
    assert how == "quartile_bands"
    assert levels == ("< 1", ">= 1", "(missing)")
    assert np.bincount(codes).tolist() == [90, 20, 1]
    codes, levels, _ = code_feature(pd.Series(np.arange(100.0)))
    assert levels[:4] == ("< 24", "[24, 49)", "[49, 74)", ">= 74") and np.bincount(codes).min() >= 24
