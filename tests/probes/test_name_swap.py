"""POST /v1/probes/name-swap against real model servers: the gap is found, checked by hand, the fair model passes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from demo.adult import FEATURES, AdultModel, ModelApp
from flask.testing import FlaskClient
from scipy import stats as sps

GROUPS = ["white_male", "white_female", "black_female", "black_male"]


def request_body(url: str, profiles: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "endpoint": {"url": url + "/invocations", "format": "mlflow", "fields": [*FEATURES, "first_name"]},
        "profiles": {"records": profiles},
        "id_field": "id",
        "name_fields": {"first_name": "first_name", "last_name": "last_name"},
        "bank": "bertrand-mullainathan-2004",
        "groups": GROUPS,
        "reference": "white_male",
        "names_per_group": 9,
        "seed": 7,
    }
    body.update(extra)
    return body


def by_group(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["group"]["race"] + "_" + c["group"]["sex"]: c for c in report["comparisons"]}


def test_the_name_sensitive_model_fails_with_significance(client: FlaskClient, biased_server: str,
                                                          biased_model: AdultModel,
                                                          profiles: list[dict[str, Any]]) -> None:
    response = client.post("/v1/probes/name-swap", json=request_body(biased_server, profiles))
    assert response.status_code == 200, response.get_json()
    report = response.get_json()
    assert report["verdict"] == "fail"
    a = report["accounting"]
    assert (a["sent"], a["answered"], a["failed"], a["partial"]) == (40 * 4 * 9, 40 * 4 * 9, 0, False)

    # independent computation: score each profile under the report's names with the model itself
    groups = {g["group"]["race"] + "_" + g["group"]["sex"]: g for g in report["groups"]}
    assert all(len(g["names"]) == 9 for g in groups.values())

    def per_profile(group: str) -> np.ndarray:
        rows = [{**p, "first_name": n} for p in profiles for n in groups[group]["names"]]
        return np.asarray(biased_model.predict(rows).reshape(len(profiles), 9).mean(axis=1))

    reference = per_profile("white_male")
    comparisons = by_group(report)
    for group in ("white_female", "black_female", "black_male"):
        d = per_profile(group) - reference
        got = comparisons[group]["metrics"]["mean_score_difference"]
        assert got["value"] == pytest.approx(d.mean(), abs=1e-12)
        half = sps.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
        assert got["ci_low"] == pytest.approx(d.mean() - half, abs=1e-12)
        assert got["p_value"] == pytest.approx(sps.wilcoxon(d[d != 0]).pvalue, rel=1e-9)
        assert got["test"] == "wilcoxon_signed_rank"
        assert comparisons[group]["n"] == 40

    black_female = next(f for f in report["findings"] if f["group"] == {"race": "black", "sex": "female"}
                        and f["metric"] == "mean_score_difference")
    assert black_female["status"] == "fail"
    assert black_female["value"] < -0.02
    assert black_female["p_value_adjusted"] < 0.05
    assert black_female["n"] == 40
    # the worst profiles are named by id only
    worst = comparisons["black_female"]["worst"]
    assert worst and all(set(w) == {"profile_id", "score_difference", "decision_changes"} for w in worst)
    assert {w["profile_id"] for w in worst} <= {p["id"] for p in profiles}


def test_the_fair_model_passes(client: FlaskClient, fair_server: str, many_profiles: list[dict[str, Any]]) -> None:
    report = client.post("/v1/probes/name-swap", json=request_body(fair_server, many_profiles)).get_json()
    assert report["verdict"] == "pass", report["findings"]
    for comparison in report["comparisons"]:
        assert comparison["metrics"]["mean_score_difference"]["value"] == 0
        assert comparison["metrics"]["mean_score_difference"]["p_value"] == 1
        assert comparison["metrics"]["flip_rate"]["value"] == 0
        assert comparison["worst"] == []
    assert {f["status"] for f in report["findings"]} == {"pass"}
    assert len(report["findings"]) == 3 * 2  # 3 groups x (flip_rate, mean_score_difference)


def test_chat_endpoint_and_surname_bank(client: FlaskClient, biased_server: str, biased_app: ModelApp,
                                        profiles: list[dict[str, Any]]) -> None:
    body = request_body(biased_server, profiles[:30], names_per_group=3, groups=["white_male", "black_female"],
                        endpoint={"url": biased_server + "/v1/chat/completions", "format": "openai-chat",
                                  "model": "m", "prompt": "Applicant profile: {profile}. Give a score.",
                                  "extract_regex": r"score: ([0-9.]+)", "concurrency": 8})
    report = client.post("/v1/probes/name-swap", json=body).get_json()
    assert report["accounting"]["sent"] == 30 * 2 * 3 == report["accounting"]["requests"]
    assert report["comparisons"][0]["metrics"]["mean_score_difference"]["value"] < 0

    body = request_body(biased_server, profiles[:30], bank="tzioumis-census-2010", names_per_group=4,
                        groups=["white_male", "hispanic_female"], reference="white_male", seed=3)
    first = client.post("/v1/probes/name-swap", json=body).get_json()
    again = client.post("/v1/probes/name-swap", json=body).get_json()
    other = client.post("/v1/probes/name-swap", json={**body, "seed": 4}).get_json()
    names = [g["names"] for g in first["groups"]]
    assert names == [g["names"] for g in again["groups"]]  # reproducible from the seed
    assert names != [g["names"] for g in other["groups"]]
    assert all(len(n.split()) == 2 for group in names for n in group)  # first and last names
    assert first["probe"]["seed"] == 3


def test_the_report_echoes_no_customer_fields(client: FlaskClient, biased_server: str,
                                              profiles: list[dict[str, Any]]) -> None:
    planted = [{**p, "last_name": f"Zzplanted{i}"} for i, p in enumerate(profiles)]
    text = client.post("/v1/probes/name-swap", json=request_body(biased_server, planted)).get_data(as_text=True)
    assert "Zzplanted" not in text
    assert "hours_per_week" not in text


def test_text_templates_get_the_names() -> None:
    from fairprobe.domain.probes import NameSlots
    from fairprobe.engines.counterfactual import with_name

    profile = {"bio": "{first_name} {last_name} ({full_name}) applies.", "first": "Pat", "last": "Doe"}
    slots = NameSlots(first_name="first", last_name="last", text_fields=("bio",))
    assert with_name(profile, slots, "Lakisha", None) == {
        "bio": "Lakisha Doe (Lakisha Doe) applies.", "first": "Lakisha", "last": "Doe"}
    swapped = with_name(profile, slots, "Lakisha", "Washington")
    assert swapped["bio"] == "Lakisha Washington (Lakisha Washington) applies."
    slots = NameSlots(full_name="name")
    assert with_name({"name": "Pat Q. Doe"}, slots, "Jamal", None) == {"name": "Jamal Q. Doe"}
    assert with_name({"name": "Pat Doe"}, slots, "Jamal", "Washington") == {"name": "Jamal Washington"}


def test_a_flip_rate_of_0_in_40_is_not_a_pass(client: FlaskClient, fair_server: str,
                                              profiles: list[dict[str, Any]]) -> None:
    """0 flips in 40 profiles: the exact 90% interval reaches 7.2%, far above a 1% bound; the finding says
    how many profiles would decide it."""
    report = client.post("/v1/probes/name-swap", json=request_body(fair_server, profiles)).get_json()
    flips = [f for f in report["findings"] if f["metric"] == "flip_rate"]
    assert flips and all(f["value"] == 0 for f in flips)
    for f in flips:
        assert f["status"] == "inconclusive" and f["reason"] == "interval_crosses_bound"
        assert f["ci_high"] == pytest.approx(1 - 0.05 ** (1 / 40))  # Clopper-Pearson, one-sided 95%
        assert f["equivalence_p_value"] == pytest.approx(0.99 ** 40)  # P(0 flips | rate 0.01)
        assert f["n_to_decide"] >= 299  # 0 of n only shows the bound met from n = 299 on
    assert report["verdict"] == "inconclusive"


@pytest.mark.parametrize(("endpoint", "name_fields", "field"), [
    # the fields sent leave the name out
    ({"format": "mlflow", "fields": FEATURES}, {"first_name": "first_name"}, "endpoint.fields"),
    # a JSON record template without a name slot
    ({"format": "json", "record_template": {"age": "{age}", "sex": "{sex}"}}, {"first_name": "first_name"},
     "endpoint.record_template"),
    # a chat prompt that quotes some fields but not the name
    ({"format": "openai-chat", "prompt": "Age {age}, sex {sex}: score?"}, {"first_name": "first_name"},
     "endpoint.prompt"),
    # the name goes into a text field whose text has no name slot
    ({"format": "mlflow"}, {"text_fields": ["letter"]}, "profiles"),
])
def test_a_name_swap_that_cannot_reach_the_model_is_refused_before_any_call(
        client: FlaskClient, biased_server: str, biased_app: ModelApp, profiles: list[dict[str, Any]],
        endpoint: dict[str, Any], name_fields: dict[str, Any], field: str) -> None:
    rows = [{**p, "letter": "I am applying."} for p in profiles]
    body = request_body(biased_server, rows, endpoint={"url": biased_server + "/invocations", **endpoint},
                        name_fields=name_fields)
    response = client.post("/v1/probes/name-swap", json=body)
    assert response.status_code == 422, response.get_json()
    assert response.mimetype == "application/problem+json"
    assert field in [e["field"] for e in response.get_json()["errors"]]
    assert sum(biased_app.calls.values()) == 0
