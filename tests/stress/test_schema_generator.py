"""The schema generator: declared fields, names from the banks, a ground-truth rule; and bad specs."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from fairprobe.namebanks import load_banks

FIELDS: list[dict[str, Any]] = [
    {"name": "month", "type": "integer", "min": 4, "max": 72, "distribution": "normal", "mean": 21, "sd": 12},
    {"name": "credit_amount", "type": "number", "min": 250, "max": 20000, "distribution": "lognormal",
     "mean": 7.8, "sd": 0.8},
    {"name": "age", "type": "integer", "min": 19, "max": 75},
    {"name": "investment_as_income_percentage", "type": "integer", "min": 1, "max": 4},
    {"name": "residence_since", "type": "integer", "min": 1, "max": 4},
    {"name": "number_of_credits", "type": "integer", "min": 1, "max": 4},
    {"name": "sex", "type": "category", "protected": True,
     "categories": [{"value": "female", "weight": 0.3}, {"value": "male", "weight": 0.7}]},
    {"name": "race", "type": "category", "protected": True,
     "categories": [{"value": "white"}, {"value": "black"}, {"value": "hispanic"}]},
    {"name": "purpose", "type": "category", "optional": True,
     "categories": [{"value": "car", "weight": 5}, {"value": "education", "weight": 1}]},
    {"name": "applied_on", "type": "date", "start": "2024-01-01", "end": "2024-12-31"},
    {"name": "full_name", "type": "name"},
    {"name": "note", "type": "text", "template": "{full_name} asks for {credit_amount} over {month} months"},
]
TRUTH = [{"field": "month", "op": "<=", "value": 24}, {"field": "age", "op": ">=", "value": 25}]


def body(url: str, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "endpoint": {"url": f"{url}/blind", "format": "json", "response_path": "predictions[*].score"},
        "generator": {"schema": {"fields": FIELDS, "truth": TRUTH}},
        "groups": [{"name": "men", "where": {"sex": "male"}},
                   {"name": "older black women", "where": {"sex": "female", "race": "black", "age": {"min": 65}}}],
        "reference": "men", "profiles_per_group": 150, "edge_profiles_per_group": 10, "seed": 9,
    }
    out.update(extra)
    return out


def test_a_schema_stress_test_with_truth_names_and_edge_cases(client: FlaskClient, credit_server: str) -> None:
    report = client.post("/v1/stress", json=body(credit_server)).get_json()
    groups = {g["name"]: g for g in report["groups"]}
    women = groups["older black women"]
    assert women["group"] == {"sex": "female", "race": "black", "age": ">= 65"}
    assert women["profiles"] == 150 and women["marginals"] == "schema"
    # the truth rule needs age >= 25 and short loans; error rates are reported against it
    assert {"true_positive_rate", "false_positive_rate"} <= set(women["metrics"])
    assert "false_positive_rate_difference" in women["disparities"]
    edges = {e["family"]: e for e in report["edge_cases"]}
    assert set(edges) == {"boundary_values", "missing_optional", "rare_categories", "long_names", "non_ascii_names"}
    assert all(e["applicable"] for e in edges.values())
    # the credit server refuses nothing but a missing month; purpose (optional) may be missing
    assert edges["missing_optional"]["failed"] == 0
    assert report["accounting"]["sent"] == 2 * 150 + 5 * 2 * 10 == report["accounting"]["answered"]
    again = client.post("/v1/stress", json=body(credit_server)).get_json()
    assert again["groups"] == report["groups"] and again["findings"] == report["findings"]  # the seed reproduces


def test_names_come_from_the_bank_group_of_the_profile() -> None:
    import numpy as np

    from fairprobe.domain.stress import Condition
    from fairprobe.engines.synthesis import SchemaSampler
    from fairprobe.schemas.stress import FieldSpecSchema

    specs = [FieldSpecSchema().load(f) for f in FIELDS]
    sampler = SchemaSampler(specs)
    profiles = sampler.sample({"sex": Condition("female"), "race": Condition("black"), "age": Condition(low=65)}, 200,
                              np.random.default_rng(0))
    bank = load_banks()["tzioumis-census-2010"]
    group = bank.group("black_female")
    assert group is not None
    firsts = {n.name for n in group.first_names}
    lasts = {n.name for n in group.last_names}
    assert all(p["full_name"].split()[0] in firsts and p["full_name"].split()[1] in lasts for p in profiles)
    assert all(65 <= p["age"] <= 75 and isinstance(p["age"], int) for p in profiles)
    assert all(p["note"].startswith(p["full_name"] + " asks for ") for p in profiles)
    assert all(4 <= p["month"] <= 72 for p in profiles)
    assert all("2024-01-01" <= p["applied_on"] <= "2024-12-31" for p in profiles)


def _with(index: int, **change: Any) -> list[dict[str, Any]]:
    fields = [dict(f) for f in FIELDS]
    fields[index].update(change)
    return fields


BAD: list[tuple[str, dict[str, Any], str]] = [
    ("min above max", {"generator": {"schema": {"fields": _with(2, min=80)}}}, "generator.schema.fields[2].min"),
    ("empty categories", {"generator": {"schema": {"fields": _with(6, categories=[])}}},
     "generator.schema.fields[6].categories"),
    ("unknown type", {"generator": {"schema": {"fields": _with(0, type="complex")}}},
     "generator.schema.fields[0].type"),
    ("normal without sd", {"generator": {"schema": {"fields": _with(1, sd=None)}}}, "generator.schema.fields[1].sd"),
    ("unknown template slot", {"generator": {"schema": {"fields": _with(11, template="{salary}")}}},
     "generator.schema.fields[11].template"),
    ("unknown truth field", {"generator": {"schema": {"fields": FIELDS, "truth": [
        {"field": "salary", "op": ">", "value": 1}]}}}, "generator.schema.truth[0].field"),
    ("both generators", {"generator": {"schema": {"fields": FIELDS}, "reference": {
        "data": {"records": [{"a": 1}]}, "protected": ["a"]}}}, "generator.schema"),
    ("unknown group field", {"groups": [{"name": "a", "where": {"sex": "male"}},
                                        {"name": "b", "where": {"height": 2}}]}, "groups[1].where.height"),
    ("impossible range", {"groups": [{"name": "a", "where": {"sex": "male"}},
                                     {"name": "b", "where": {"age": {"min": 90}}}]}, "groups[1].where.age"),
    ("reversed range", {"groups": [{"name": "a", "where": {"sex": "male"}},
                                   {"name": "b", "where": {"age": {"min": 40, "max": 30}}}]}, "groups[1].where.age"),
    ("unknown category", {"groups": [{"name": "a", "where": {"sex": "male"}},
                                     {"name": "b", "where": {"sex": "other"}}]}, "groups[1].where.sex"),
    ("reference not a group", {"reference": "nobody"}, "reference"),
    ("budget over the limit", {"profiles_per_group": 100_000}, "profiles_per_group"),
    ("unknown edge family", {"edge_cases": ["zalgo"]}, "edge_cases[0]"),
]


@pytest.mark.parametrize(("case", "change", "field"), BAD, ids=[b[0] for b in BAD])
def test_bad_generator_specs_name_the_field(client: FlaskClient, case: str, change: dict[str, Any],
                                           field: str) -> None:
    response = client.post("/v1/stress", json=body("http://192.0.2.1", **change))
    assert 400 <= response.status_code < 500, case
    assert response.mimetype == "application/problem+json"
    assert field in [e["field"] for e in response.get_json().get("errors", [])], (case, response.get_json())


def test_bad_search_specs_name_the_field(client: FlaskClient) -> None:
    # a reserved address: a request that passed validation would be refused, not sent
    base: dict[str, Any] = {"endpoint": {"url": "http://192.0.2.1/", "format": "json"},
            "generator": {"schema": {"fields": FIELDS}}}
    cases: list[tuple[dict[str, Any], str]] = [
        ({"max_probes": 10_000_000}, "max_probes"),
        ({"max_probes": 100_000, "methods": ["directed"]}, "max_probes"),  # x3 with the random baseline
        ({"protected": {"age": [30]}}, "protected.age.value"),  # one value cannot be varied
        ({"protected": {"height": ["a", "b"]}}, "protected.height"),
        ({"protected": {"sex": ["female", "male"], "race": ["white", "black", "hispanic"]}, "max_probes": 5},
         "max_probes"),
        ({"methods": ["exhaustive"]}, "methods[0]"),
    ]
    for change, field in cases:
        response = client.post("/v1/stress/discrimination", json={**base, **change})
        assert 400 <= response.status_code < 500, change
        assert field in [e["field"] for e in response.get_json().get("errors", [])], (change, response.get_json())
