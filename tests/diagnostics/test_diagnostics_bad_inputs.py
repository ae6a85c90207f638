"""Every malformed diagnostics request is a 4xx problem naming the field; a section that cannot run on the
given inputs says why instead of running on nothing."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.answers import json_of

ROWS = [{"race": r, "band": b, "zip": z, "const": 1, "y": y, "pred": p, "n": 5}
        for r, b, z, y, p in [("a", "low", "1", 1, 1), ("b", "low", "2", 0, 1), ("a", "high", "1", 1, 0),
                              ("b", "high", "2", 0, 0), ("a", "low", "3", 0, 0), ("b", "high", "3", 1, 1)]]
BASE: dict[str, Any] = {"data": {"records": ROWS}, "label": "y", "prediction": "pred",
                        "protected": [{"attribute": "race", "reference": "a"}]}

CASES: list[tuple[str, dict[str, Any], str]] = [
    ("unknown conditioning column", {"conditioning": [{"attribute": "nope"}]}, "conditioning[0].attribute"),
    ("conditioning on the protected column", {"conditioning": [{"attribute": "race"}]}, "conditioning[0].attribute"),
    ("conditioning on the label", {"conditioning": [{"attribute": "y"}]}, "conditioning[0].attribute"),
    ("conditioning column twice", {"conditioning": [{"attribute": "band"}, {"attribute": "band"}]},
     "conditioning[1].attribute"),
    ("binning text", {"conditioning": [{"attribute": "band", "bins": [1, 2]}]}, "conditioning[0].bins"),
    ("a stratum with one group", {"data": {"records": [{**r, "band": "solo" if r["race"] == "a" and r["zip"] == "3"
                                                        else r["band"]} for r in ROWS]},
                                  "conditioning": [{"attribute": "band"}], "diagnostics": ["conditional"]},
     "conditioning"),
    ("a feature with a single value", {"features": ["zip", "const"]}, "features[1]"),
    ("an unknown feature", {"features": ["nope"]}, "features[0]"),
    ("an unknown section", {"diagnostics": ["astrology"]}, "diagnostics[0]"),
    ("a section twice", {"diagnostics": ["proxies", "proxies"]}, "diagnostics[1]"),
    ("proxies from a counts table", {"count": "n", "diagnostics": ["proxies"]}, "diagnostics[0]"),
    ("missingness from a counts table", {"count": "n", "diagnostics": ["missingness"]}, "diagnostics[0]"),
    ("amplification without predictions", {"prediction": None, "diagnostics": ["amplification"]}, "diagnostics[0]"),
    ("conditional without conditioning", {"diagnostics": ["conditional"]}, "diagnostics[0]"),
    ("expected shares not adding up", {"expected_shares": {"race": {"a": 0.5, "b": 0.2}}}, "expected_shares.race"),
    ("expected shares of a non-protected column", {"expected_shares": {"zip": {"1": 1.0}}}, "expected_shares.zip"),
    ("expected shares leaving a group out", {"expected_shares": {"race": {"a": 1.0}}}, "expected_shares.race"),
    ("a share out of range", {"expected_shares": {"race": {"a": 1.5, "b": -0.5}}}, "expected_shares.race"),
    ("a model rule in a data-only audit",
     {"prediction": None, "policy": {"rules": [{"metric": "equal_opportunity_difference", "max_abs": 0.1}]}},
     "policy.rules[0].metric"),
    ("a relative gap on a diagnostic", {"policy": {"rules": [{"metric": "proxy_auc", "max_relative_gap": 0.1}]}},
     "policy.rules[0].max_relative_gap"),
    ("scan too deep", {"scan": {"max_depth": 4}}, "scan.max_depth"),
    ("scan support of zero", {"scan": {"min_support": 0}}, "scan.min_support"),
    ("a tiny proxy sample", {"proxy_sample": 10}, "proxy_sample"),
    ("unknown missing-label rule", {"missing_labels": "impute"}, "missing_labels"),
    ("no labelled row", {"data": {"records": [{**r, "y": None} for r in ROWS]}, "missing_labels": "exclude"},
     "label"),
    ("missing labels refused by default", {"data": {"records": [{**r, "y": None if i == 0 else r["y"]}
                                                                for i, r in enumerate(ROWS)]}}, "label"),
]


def _body(changes: dict[str, Any]) -> dict[str, Any]:
    out = {**BASE, **changes}
    return {k: v for k, v in out.items() if v is not None}


@pytest.mark.parametrize(("changes", "field"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_diagnostics_input_is_a_problem_naming_the_field(client: FlaskClient, changes: dict[str, Any],
                                                             field: str) -> None:
    response = client.post("/v1/audits", json=_body(changes))
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    fields = [e["field"] for e in json_of(response).get("errors", [])]
    assert field in fields, fields


def test_sections_the_inputs_cannot_feed_are_skipped_with_a_reason(client: FlaskClient) -> None:
    report = json_of(client.post("/v1/audits", json=_body({"count": "n"})))
    skipped = {s["name"]: s["reason"] for s in report["skipped"]}
    assert set(skipped) == {"missingness", "proxies", "conditional", "windows", "comparison"}
    assert "counts table" in skipped["proxies"]
    ran = [s["name"] for s in report["diagnostics"]]
    assert ran == ["composition", "amplification", "subgroups", "mitigation"]
    assert "protected attributes only" in next(s for s in report["diagnostics"] if s["name"] == "subgroups")["notes"][0]


def test_an_empty_list_runs_no_section(client: FlaskClient) -> None:
    report = json_of(client.post("/v1/audits", json=_body({"diagnostics": []})))
    assert report["diagnostics"] == [] and report["skipped"] == []


def test_the_catalogue_lists_every_measure_a_section_reports(client: FlaskClient) -> None:
    """Every metric a finding can carry, and every Clarify measure of the composition tables, has its formula."""
    from fairprobe.engines.catalogue import DIAGNOSTIC_METRICS

    listed = {m["name"]: m for m in json_of(client.get("/v1/metrics"))["metrics"]}
    wanted = set(DIAGNOSTIC_METRICS) | {"label_statistical_parity_difference", "label_disparate_impact",
                                        "class_imbalance", "difference_in_positive_proportions_in_labels",
                                        "kl_divergence", "js_divergence", "ks_distance",
                                        "conditional_demographic_disparity"}
    assert wanted <= set(listed)
    assert all(listed[name]["definition"] for name in wanted)
