"""Probing models whose output is a segment or a ranked list: the Adult models behind a segmenter (premium
from a score of 0.5, standard from 0.2) and a recommender (the list opens with round(10 x score) high-margin
items). The name-sensitive model places Black names in lower segments and shows them fewer high-margin
items; the model without names gives every name the same segment and the same list."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from demo.adult import FEATURES, HIGH_MARGIN_ITEMS, AdultModel, recommended, segment_of
from flask.testing import FlaskClient

from fairprobe.engines.counterfactual import jaccard, rank_biased_overlap
from tests.answers import json_of

GROUPS = ["white_male", "black_male"]


def _body(url: str, profiles: list[dict[str, Any]], endpoint: dict[str, Any], rules: list[dict[str, Any]]
          ) -> dict[str, Any]:
    return {"endpoint": {"url": url, "format": "json", "fields": [*FEATURES, "first_name"], **endpoint},
            "profiles": {"records": profiles}, "id_field": "id",
            "name_fields": {"first_name": "first_name", "last_name": "last_name"},
            "bank": "bertrand-mullainathan-2004", "groups": GROUPS, "reference": "white_male",
            "names_per_group": 9, "seed": 7, "policy": {"rules": rules}}


SEGMENT = {"output": "segment", "response_path": "predictions[*].segment", "valuable_segments": ["premium"]}
LIST = {"output": "list", "response_path": "predictions[*].items", "high_value_items": HIGH_MARGIN_ITEMS}
SEGMENT_RULES = [{"metric": "flip_rate", "max": 0.01}, {"metric": "positive_rate_difference", "max_abs": 0.01}]
LIST_RULES = [{"metric": "rank_biased_overlap", "min": 0.99}, {"metric": "mean_score_difference", "max_abs": 0.005}]


def _post(client: FlaskClient, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/v1/probes/name-swap", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)[:1000]
    answer: dict[str, Any] = json_of(response)
    return answer


def test_a_segmenter_that_demotes_black_names_is_caught(client: FlaskClient, biased_server: str,
                                                        biased_model: AdultModel,
                                                        profiles: list[dict[str, Any]]) -> None:
    report = _post(client, _body(biased_server + "/segment", profiles, SEGMENT, SEGMENT_RULES))
    assert report["verdict"] == "fail"
    flips = next(f for f in report["findings"] if f["metric"] == "flip_rate")
    assert flips["status"] == "fail"
    # the multi-class flip rate equals a recomputation from the model's own scores: per profile, the share of
    # the nine name pairs whose segment differs
    names = {g["label"]: g["names"] for g in report["groups"]}
    white = [n.split()[0] for n in names["race=white & sex=male"]]
    black = [n.split()[0] for n in names["race=black & sex=male"]]
    changed = []
    for profile in profiles:
        ours = biased_model.predict([{**profile, "first_name": n} for n in black])
        theirs = biased_model.predict([{**profile, "first_name": n} for n in white])
        changed.append(np.mean([segment_of(a) != segment_of(b) for a, b in zip(ours, theirs, strict=True)]))
    comparison = report["comparisons"][0]
    assert comparison["metrics"]["flip_rate"]["value"] == pytest.approx(np.mean(changed), abs=1e-12)


def test_a_recommender_that_shows_black_names_fewer_high_margin_items_is_caught(
        client: FlaskClient, biased_server: str, biased_model: AdultModel, profiles: list[dict[str, Any]]) -> None:
    report = _post(client, _body(biased_server + "/recommend", profiles, LIST, LIST_RULES))
    assert report["verdict"] == "fail"
    statuses = {f["metric"]: f["status"] for f in report["findings"]}
    assert statuses["rank_biased_overlap"] == "fail"
    comparison = report["comparisons"][0]["metrics"]
    assert comparison["mean_score_difference"]["value"] < 0  # fewer high-margin items, by DCG exposure
    names = {g["label"]: g["names"] for g in report["groups"]}
    white = [n.split()[0] for n in names["race=white & sex=male"]]
    black = [n.split()[0] for n in names["race=black & sex=male"]]
    rbo, jac = [], []
    for profile in profiles:
        ours = [tuple(recommended(s)) for s in biased_model.predict([{**profile, "first_name": n} for n in black])]
        theirs = [tuple(recommended(s)) for s in biased_model.predict([{**profile, "first_name": n} for n in white])]
        rbo.append(np.mean([rank_biased_overlap(a, b) for a, b in zip(ours, theirs, strict=True)]))
        jac.append(np.mean([jaccard(a, b) for a, b in zip(ours, theirs, strict=True)]))
    assert comparison["rank_biased_overlap"]["value"] == pytest.approx(np.mean(rbo), abs=1e-12)
    assert comparison["jaccard"]["value"] == pytest.approx(np.mean(jac), abs=1e-12)


@pytest.mark.parametrize(("endpoint", "path", "rules"), [(SEGMENT, "/segment", SEGMENT_RULES),
                                                         (LIST, "/recommend", LIST_RULES)], ids=["segment", "list"])
def test_the_same_models_without_names_pass(client: FlaskClient, fair_server: str,
                                            many_profiles: list[dict[str, Any]], endpoint: dict[str, Any], path: str,
                                            rules: list[dict[str, Any]]) -> None:
    # 320 profiles: a flip rate of 0 shows a 1% bound is met (0.99^320 < 0.05)
    body = _body(fair_server + path, many_profiles, endpoint, rules)
    body["names_per_group"] = 3
    report = _post(client, body)
    assert report["verdict"] == "pass", [(f["metric"], f["status"], f["reason"]) for f in report["findings"]]
    assert report["comparisons"][0]["metrics"]["flip_rate"]["value"] == 0


def test_rank_biased_overlap_by_hand() -> None:
    assert rank_biased_overlap(("a", "b", "c"), ("a", "b", "c")) == pytest.approx(1.0)
    # depth 1: 0/1, depth 2: 2/2, depth 3: 3/3 -> (0.1 / (1 - 0.9^3)) * (0 + 0.9 + 0.81)
    assert rank_biased_overlap(("a", "b", "c"), ("b", "a", "c")) == pytest.approx(0.1 * 1.71 / (1 - 0.729))
    assert rank_biased_overlap(("a",), ("b",)) == 0.0
    assert jaccard(("a", "b"), ("b", "c")) == pytest.approx(1 / 3)


@pytest.mark.parametrize(("change", "field"), [
    ({"output": "score", "valuable_segments": ["premium"]}, "endpoint.valuable_segments"),
    ({"output": "segment", "high_value_items": ["h1"]}, "endpoint.high_value_items"),
    ({"output": "list", "format": "csv"}, "endpoint.output"),
])
def test_bad_output_options_are_refused(client: FlaskClient, fair_server: str, profiles: list[dict[str, Any]],
                                        change: dict[str, Any], field: str) -> None:
    body = _body(fair_server + "/segment", profiles[:5], {}, SEGMENT_RULES)
    body["endpoint"].update(change)
    response = client.post("/v1/probes/name-swap", json=body)
    assert response.status_code == 422
    assert field in [e["field"] for e in json_of(response)["errors"]]


def test_a_rank_overlap_rule_needs_min(client: FlaskClient, fair_server: str, profiles: list[dict[str, Any]]) -> None:
    body = _body(fair_server + "/recommend", profiles[:5], LIST, [{"metric": "rank_biased_overlap", "max": 0.9}])
    response = client.post("/v1/probes/name-swap", json=body)
    assert response.status_code == 422
