"""Vendor credentials never leak; name banks are disjoint and match the raw tables; bad probe requests are 4xx."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from demo.adult import FEATURES, ModelApp
from flask.testing import FlaskClient

from fairprobe import Settings, create_app

TOKEN = "sk-live-PLANTED-7f3a9c"


def probe(url: str, profiles: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "endpoint": {"url": url, "format": "json", "response_path": "predictions[*].score",
                     "headers": {"Authorization": f"Bearer {TOKEN}", "X-Api-Key": TOKEN}},
        "profiles": {"records": profiles}, "id_field": "id",
        "name_fields": {"first_name": "first_name"}, "reference": "white_male", "names_per_group": 2,
    }


def test_a_planted_token_reaches_the_model_and_nowhere_else(
        biased_server: str, biased_app: ModelApp, fault_server: str, profiles: list[dict[str, Any]],
        capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, urllib3 included
    client = create_app(Settings(allowed_targets=("127.0.0.1/32",), log_level="DEBUG")).test_client()
    bodies = [
        client.post("/v1/probes/name-swap", json=probe(biased_server + "/score", profiles)),
        client.post("/v1/probes/name-swap", json=probe(fault_server + "/unauthorized", profiles[:5])),
        client.post("/v1/probes/name-swap", json=probe(fault_server + "/error500", profiles[:2])),
        client.post("/v1/probes/name-swap", json=probe("http://169.254.169.254/", profiles)),
        client.post("/v1/probes/name-swap", json={**probe(biased_server, profiles), "reference": "nobody"}),
    ]
    assert [b.status_code for b in bodies] == [200, 502, 502, 422, 422]
    assert bodies[0].get_json()["accounting"]["answered"] == 40 * 4 * 2
    unauthorized = bodies[1].get_json()["accounting"]
    # every probe is accounted for: a few calls got the 401, then the rest were not sent
    assert sum(unauthorized["failures"].values()) == unauthorized["sent"] == 5 * 4 * 2
    assert set(unauthorized["failures"]) <= {"http_error", "abandoned"} and unauthorized["gave_up"]
    for body in bodies:
        assert TOKEN not in body.get_data(as_text=True)
    captured = capsys.readouterr()
    assert TOKEN not in captured.out + captured.err
    assert TOKEN not in caplog.text
    assert '"logger": "fairprobe.access"' in captured.out  # the logs were captured, and they are clean
    assert "urllib3" in caplog.text
    # ...and the credential was passed through to the model
    assert all(h.get("Authorization") == f"Bearer {TOKEN}" for h in biased_app.headers_seen)


def test_a_header_value_is_never_quoted_in_an_error(client: FlaskClient, profiles: list[dict[str, Any]]) -> None:
    body = probe("http://192.0.2.1/", profiles)
    body["endpoint"]["headers"] = {"Authorization": f"Bearer {TOKEN}\r\nX-Injected: 1"}
    response = client.post("/v1/probes/name-swap", json=body)
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "endpoint.headers"
    assert TOKEN not in response.get_data(as_text=True)


def test_the_listing_shows_groups_sizes_thresholds_and_sources(client: FlaskClient) -> None:
    banks = {b["id"]: b for b in client.get("/v1/name-banks").get_json()}
    assert set(banks) == {"bertrand-mullainathan-2004", "tzioumis-census-2010"}
    t = banks["tzioumis-census-2010"]
    assert t["thresholds"]["first_name_min_share"] == 0.6
    assert len(t["groups"]) == 8 and all(g["first_names"] > 0 and g["last_names"] > 0 for g in t["groups"])
    assert any("Tzioumis" in s for s in t["sources"]) and t["licence"]


@pytest.mark.parametrize("bank", ["bertrand-mullainathan-2004", "tzioumis-census-2010"])
def test_no_name_is_in_two_groups(client: FlaskClient, bank: str) -> None:
    detail = client.get(f"/v1/name-banks/{bank}").get_json()
    for kind in ("first_names", "last_names"):
        seen: dict[str, str] = {}
        for group in detail["groups"]:
            for entry in group[kind]:
                assert seen.setdefault(entry["name"], group["id"]) == group["id"], entry["name"]


def test_the_banks_match_the_raw_tables(client: FlaskClient, data_dir: Path) -> None:
    raw = pd.read_csv(data_dir / "names" / "bertrand_mullainathan_2004_names.csv")
    bm = client.get("/v1/name-banks/bertrand-mullainathan-2004").get_json()
    for group in bm["groups"]:
        a = group["attributes"]
        expected = set(raw[(raw["race"] == a["race"]) & (raw["sex"] == a["sex"])]["first_name"])
        assert {n["name"] for n in group["first_names"]} == expected and len(expected) == 9

    # Tzioumis x SSA, recomputed with pandas from the shared (unfiltered) files
    tz = pd.read_csv(data_dir / "names" / "tzioumis2018_firstnames_race.csv")
    ssa = pd.read_csv(data_dir / "names" / "ssa_firstname_sex_counts_1880_2023.csv")
    ssa = ssa.assign(key=ssa["name"].str.upper()).groupby("key")[["count_female", "count_male"]].sum()
    tz = tz.join(ssa, on="firstname", how="inner")
    female = tz["count_female"] / (tz["count_female"] + tz["count_male"])
    census = pd.read_csv(data_dir / "names" / "census2010_surnames_count_ge_1000.csv", keep_default_na=False,
                         na_values=["(S)"])
    census = census[(census["count"] >= 10_000) & (census["name"] != "ALL OTHER NAMES")]
    detail = client.get("/v1/name-banks/tzioumis-census-2010").get_json()
    columns = {"white": "pctwhite", "black": "pctblack", "hispanic": "pcthispanic", "asian_pacific_islander": "pctapi"}
    surnames: dict[str, set[str]] = {}
    for group in detail["groups"]:
        race, sex = group["attributes"]["race"], group["attributes"]["sex"]
        sex_ok = female >= 0.9 if sex == "female" else female <= 0.1
        chosen = tz[(tz[columns[race]] >= 60) & (tz["obs"] >= 30) & sex_ok]
        assert {n["name"].upper() for n in group["first_names"]} == set(chosen["firstname"])
        assert all(n["share"] >= 0.6 for n in group["first_names"])
        surnames.setdefault(race, set()).update(n["name"].upper() for n in group["last_names"])
    for race, names in surnames.items():
        assert names == set(census[census[columns[race]] >= 60]["name"])


BAD: list[tuple[str, dict[str, Any], str]] = [
    ("unknown bank", {"bank": "nope"}, "bank"),
    ("unknown group", {"groups": ["white_male", "martian"]}, "groups[1]"),
    ("reference outside groups", {"reference": "black_female", "groups": ["white_male", "white_female"]}, "reference"),
    ("too many names", {"names_per_group": 10}, "names_per_group"),
    ("missing name field", {"name_fields": {"first_name": "given_name"}}, "name_fields.first_name"),
    ("no name slot", {"name_fields": {}}, "name_fields.first_name"),
    ("bad format", {"endpoint": {"url": "http://192.0.2.1/", "format": "soap"}}, "endpoint.format"),
    ("bad path", {"endpoint": {"url": "http://192.0.2.1/", "format": "json", "response_path": "a..b"}},
     "endpoint.response_path"),
    ("prompt on json", {"endpoint": {"url": "http://192.0.2.1/", "format": "json", "prompt": "{x}"}},
     "endpoint.prompt"),
    ("bad regex", {"endpoint": {"url": "http://192.0.2.1/", "format": "openai-chat", "extract_regex": "("}},
     "endpoint.extract_regex"),
    ("unknown slot", {"endpoint": {"url": "http://192.0.2.1/", "format": "openai-chat", "prompt": "{salary}"}},
     "endpoint"),
    ("template without records", {"endpoint": {"url": "http://192.0.2.1/", "format": "json",
                                               "body_template": {"rows": []}}}, "endpoint.body_template"),
    ("kserve-v2 without fields", {"endpoint": {"url": "http://192.0.2.1/", "format": "kserve-v2"}},
     "endpoint.fields"),
    ("concurrency over the limit", {"endpoint": {"url": "http://192.0.2.1/", "format": "json",
                                                 "concurrency": 1000}}, "endpoint.concurrency"),
    ("host header", {"endpoint": {"url": "http://192.0.2.1/", "format": "json", "headers": {"Host": "x"}}},
     "endpoint.headers"),
    ("probe budget", {"names_per_group": 9,  # 12,000 x 2 groups x 9 names > the default 200,000 probes
                      "profiles": {"records": [{"first_name": "A", "id": i} for i in range(12_000)]}},
     "names_per_group"),
    ("flip rate with max_abs", {"policy": {"rules": [{"metric": "flip_rate", "max_abs": 0.1}]}},
     "policy.rules[0].max_abs"),
    ("audit metric in a probe rule", {"policy": {"rules": [{"metric": "disparate_impact", "min": 0.8}]}},
     "policy.rules[0].metric"),
    ("custom names shared", {"bank": "custom", "reference": "a", "groups": None, "custom_groups": [
        {"id": "a", "first_names": ["Sam", "Lee"]}, {"id": "b", "first_names": ["Lee"]}]}, "custom_groups[1]"),
    ("duplicate ids", {"profiles": {"records": [{"first_name": "A", "id": 1}, {"first_name": "B", "id": 1}]}},
     "id_field"),
]


@pytest.mark.parametrize(("case", "change", "field"), BAD, ids=[b[0] for b in BAD])
def test_bad_probe_requests_name_the_field(client: FlaskClient, case: str, change: dict[str, Any], field: str) -> None:
    body: dict[str, Any] = {
        "endpoint": {"url": "http://192.0.2.1/score", "format": "json"},
        "profiles": {"records": [{"first_name": "Pat", "id": i, "age": 30 + i} for i in range(3)]},
        "id_field": "id", "name_fields": {"first_name": "first_name"}, "reference": "white_male",
        "groups": ["white_male", "black_female"], "names_per_group": 2,
    }
    for key, value in change.items():
        if value is None:
            body.pop(key)
        else:
            body[key] = value
    response = client.post("/v1/probes/name-swap", json=body)
    assert 400 <= response.status_code < 500, case
    assert response.mimetype == "application/problem+json"
    fields = [e["field"] for e in response.get_json().get("errors", [])]
    assert field in fields, (case, response.get_json())


def test_bad_flip_requests_name_the_field(client: FlaskClient) -> None:
    base: dict[str, Any] = {"endpoint": {"url": "http://192.0.2.1/", "format": "kserve-v1", "fields": FEATURES[:1]},
                            "profiles": {"records": [{"age": 30, "sex": "F"}, {"age": 40, "sex": "F"}]}}
    cases: list[tuple[dict[str, Any], str]] = [
        ({"flips": [{"attribute": "sex"}]}, "flips[0].values"),  # only one value present
        ({"flips": [{"attribute": "race"}]}, "flips[0].attribute"),
        ({"flips": [{"attribute": "sex", "values": ["F", "M"], "proxies": {"zip": {"F": "1", "M": "2"}}}]},
         "flips[0].proxies"),
        ({"flips": [{"attribute": "sex", "values": ["F", "M"], "proxies": {"age": {"F": 1}}}]}, "flips[0].proxies"),
    ]
    for change, field in cases:
        response = client.post("/v1/probes/flip", json={**base, **change})
        assert response.status_code == 422, change
        assert field in [e["field"] for e in response.get_json()["errors"]], (change, response.get_json())
